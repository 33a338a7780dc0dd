-- migsync:revision 5cea17b14a74
-- migsync:down_revision 80116a62366e
-- migsync:message down only

-- migsync:down
DROP TABLE t_5cea17b14a74;
