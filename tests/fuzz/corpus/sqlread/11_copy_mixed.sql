BEGIN;
CREATE INDEX CONCURRENTLY idx ON t ((lower(name)));
COMMENT ON TABLE t IS $c$It's "quoted"; really$c$;
COMMIT;
