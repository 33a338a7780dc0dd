-- migsync:message only
-- migsync:up
SELECT 1;
