CREATE FUNCTION f() RETURNS trigger AS $$
BEGIN
  RAISE NOTICE 'x;y';
  RETURN NEW;
END;
$$ LANGUAGE plpgsql;
DO $body$ BEGIN PERFORM 1; END $body$;
SELECT $1, a$b$, $tag$ $notend$ ; $tag$;
