-- migsync:revision cea3e16fa6ae
-- migsync:down_revision d68fd71da545
-- migsync:message stray statement

SELECT 1;

-- migsync:up
CREATE TABLE t_cea3e16fa6ae (id integer PRIMARY KEY);

-- migsync:down
DROP TABLE t_cea3e16fa6ae;
