-- migsync:revision a
-- migsync:down
DROP TABLE t;
-- migsync:up
CREATE TABLE t();
