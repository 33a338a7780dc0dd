#ifndef MIGSYNC_TARGET_H
#define MIGSYNC_TARGET_H

/*
 * Database targets: an inventory environment expanded to the databases it
 * stands for (its own, a list, or a discovery query for fleets), each with
 * what it takes to connect (libpq conninfo, optional SSH tunnel) and the
 * secrets to scrub from any message about it.
 *
 * Shared by status, plan, approve, apply and the later commands, so that
 * every command reaches a database the same way.
 */

#include <stdbool.h>
#include <stddef.h>

#include <libpq-fe.h>

#include "migsync/error.h"
#include "migsync/inventory.h"
#include "migsync/strbuf.h"
#include "migsync/tunnel.h"
#include "migsync/util.h"

struct db_target {
	const struct environment *env;	/* borrowed from the inventory */
	char *dbname;			/* the database (never NULL once expanded; "" when libpq decides) */
	bool member;			/* named by targets.databases, discover, schemas or discover_schemas */
	char *schema;			/* a tenant schema (targets.schemas), or NULL for a database */
	char *name;			/* a member's name: "tenant_001", or "app/tenant_001" for a schema; else NULL */
	char *label;			/* "prod", or "tenants/tenant_001", "tenants/app/tenant_001" for a member */
	char *describe;			/* "user@host:port/dbname": safe to print */
	char *conninfo;			/* keyword=value string; holds the password: never print */
	bool has_ssh;
	struct tunnel_config ssh;	/* strings borrowed from env */
	struct strvec secrets;		/* literal secrets to scrub from messages */
};

void db_target_init(struct db_target *t);
void db_target_release(struct db_target *t);

/*
 * The targets of one environment, in a stable order: its own database,
 * or targets.databases in the order written, or the databases the
 * targets.discover query returns (sorted by name); with targets.schemas
 * or discover_schemas, each of those databases stands for its tenant
 * schemas, database by database (discover_schemas runs in each database,
 * in parallel; its schemas are sorted by name, as are listed schemas when
 * the databases are discovered). A discovery query runs bounded by
 * connect_timeout and statement_timeout; one that fails fails the whole
 * expansion, naming its database. *out is an array of *nr targets owned by the caller
 * (free with db_targets_free).
 */
int db_targets_expand(struct db_target **out, size_t *nr,
		      const struct environment *env, struct ms_error *err);

/*
 * Sharding: with env->shard.count > 1, db_targets_expand keeps only the
 * targets of shard env->shard.index (the discovery query still runs, on
 * the environment's own database; no target of another shard is
 * connected to). A target's shard is db_shard_of(environment, database,
 * schema, count): the first 64 bits of the SHA-256 of
 * "environment/database" (or "environment/database/schema") modulo
 * count, so it depends on nothing but the target itself: adding or
 * removing other targets never moves it to another shard.
 * db_targets_expand_all ignores the shard (where a fleet keeps its
 * approvals: the first of all its targets).
 */
unsigned db_shard_of(const char *environment, const char *database, const char *schema,
		     unsigned count);
int db_targets_expand_all(struct db_target **out, size_t *nr,
			  const struct environment *env, struct ms_error *err);
void db_targets_free(struct db_target *targets, size_t nr);

/*
 * One target for env and dbname (NULL: the environment's own database).
 * Fails (MS_ERR_CONFIG) only when the connection cannot be described,
 * e.g. password_env names an unset variable. out is initialized here;
 * release it with db_target_release even on failure.
 */
int db_target_for(struct db_target *out, const struct environment *env,
		  const char *dbname, struct ms_error *err);

/*
 * The target for a tenant schema of env's database dbname (NULL: the
 * environment's own): as db_target_for(out, env, dbname, err), a member
 * named "DBNAME/SCHEMA" whose version table is in that schema. Its connections (db_connect and
 * the probe) set migsync.target_schema (DB_TARGET_SCHEMA_SETTING) to the
 * schema, which scopes its ledger rows and its advisory lock.
 */
int db_target_for_schema(struct db_target *out, const struct environment *env,
			 const char *dbname, const char *schema, struct ms_error *err);

/* The session setting that names a connection's tenant schema (ledger rows, lock). */
#define DB_TARGET_SCHEMA_SETTING "migsync.target_schema"

/* Where t's version table is: its tenant schema, else database.version_table_schema. */
const char *db_target_version_schema(const struct db_target *t);

/*
 * A blocking connection for applying migrations: opens the SSH tunnel
 * when the environment has one, connects within connect_timeout (tunnel
 * included; the wait itself never blocks past it), sets
 * application_name=migsync unless database.application_name says
 * otherwise. No statement_timeout is set on this session (a migration
 * may run long): the inventory's statement_timeout is turned off again;
 * callers set one around their own queries. On success *conn and
 * *tunnel (NULL without ssh) belong to the caller: release both with
 * db_disconnect. Returns 0, MS_ERR_IO when no server answered in time
 * (unreachable; the hint says so), MS_ERR_CONFIG when the SSH host was
 * refused for trust reasons, MS_ERR_DB when the server answered but
 * refused (authentication, no such database). Messages name the target,
 * never a secret.
 */
int db_connect(PGconn **conn, struct tunnel **tunnel, const struct db_target *t,
	       struct ms_error *err);
void db_disconnect(PGconn *conn, struct tunnel *tunnel);

/*
 * Set err to `environment "ENV": ...` (`environment "ENV", database "DB":
 * ...` for a member of a fleet) built from fmt, with every secret of t
 * scrubbed, and return code. Pass libpq messages through
 * db_message_one_line first. Any earlier hint on err is dropped.
 */
int db_target_error(struct ms_error *err, int code, const struct db_target *t,
		    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* A libpq error message on one line, trailing newline dropped (caller frees). */
char *db_message_one_line(const char *msg);

/*
 * Set err (MS_ERR_DB, returned) to "WHAT: MESSAGE" or "WHAT: MESSAGE
 * (DETAIL)" for a failed result (res NULL: the connection's message),
 * with the server's hint when it gave one.
 */
int db_result_error(struct ms_error *err, PGconn *conn, const PGresult *res, const char *what);

/*
 * A stable identity for the database behind a connection, for plan
 * hashes: "DESCRIBE oid=OID sysid=ID" with the database's OID and the
 * cluster's system identifier ("DESCRIBE oid=OID" when the role may not
 * run pg_control_system()), then " schema=SCHEMA" for a tenant schema.
 * Caller frees.
 */
int db_identity(char **out, PGconn *conn, const struct db_target *t,
		struct ms_error *err);

#endif
