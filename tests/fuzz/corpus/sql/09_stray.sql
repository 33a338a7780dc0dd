-- migsync:revision a
DROP TABLE x;
-- migsync:up
