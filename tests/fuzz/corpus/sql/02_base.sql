-- migsync:revision 9b2fcf59ac80
-- migsync:down_revision none
-- migsync:message base
-- migsync:up
CREATE SCHEMA app;
-- migsync:down
DROP SCHEMA app;
