CREATE TABLE "A""b".c (x int);
CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS i ON ONLY "A""b".c (x);
ALTER TABLE c ADD y int -- tail
;
SET lock_timeout = 1;
CREATE TABLE U&"d\0061t" (a int);
BEGIN;
DROP TABLE c
