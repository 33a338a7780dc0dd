-- migsync:revision 345f7b524584
-- migsync:down_revision faa6fa0b1419
-- migsync:message second

-- migsync:up
CREATE TABLE t_345f7b524584 (id integer PRIMARY KEY);

-- migsync:down
DROP TABLE t_345f7b524584;
