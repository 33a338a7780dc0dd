-- migsync:revision 3f2a9c1d0b7e
-- migsync:down_revision 9b2fcf59ac80
-- migsync:depends_on 1a2b3c4d5e6f
-- migsync:message add sync tables
-- migsync:transaction false

-- migsync:up
CREATE TABLE sync_tasks (id bigserial primary key, payload jsonb);

-- migsync:down
DROP TABLE sync_tasks;
