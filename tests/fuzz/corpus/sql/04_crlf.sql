-- migsync:revision crlf1
-- migsync:branch_labels expand
-- migsync:up
SELECT 1;
