-- migsync:revision fbf1c0e0c67c
-- migsync:message step 1 of the history

-- migsync:up
CREATE TABLE t_fbf1c0e0c67c (id integer PRIMARY KEY);

-- migsync:down
DROP TABLE t_fbf1c0e0c67c;
