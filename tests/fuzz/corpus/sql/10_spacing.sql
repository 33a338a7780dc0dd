--migsync:revision a
--   migsync:down_revision b
-- migsync:up
INSERT INTO t VALUES (1); -- migsync:down
-- migsync:down
