CREATE TABLE orders (id serial PRIMARY KEY, note text);
INSERT INTO orders (note) VALUES ('a;b'), ('it''s');
ALTER TABLE orders ADD COLUMN total numeric(10, 2)
