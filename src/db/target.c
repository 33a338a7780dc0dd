/*
 * Database targets: from an inventory environment to the databases it
 * stands for, and from a target to a libpq connection (through an SSH
 * tunnel when the environment has one). Every command that talks to a
 * database goes through here, so that connection parameters, secrets
 * and timeouts are handled in one place.
 *
 * The connection is made without blocking so that connect_timeout bounds
 * the whole wait (libpq's own connect_timeout applies per host and only
 * to blocking connects); the connection handed back is in blocking mode.
 */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "migsync/clock.h"
#include "migsync/conn.h"
#include "migsync/sha256.h"
#include "migsync/inventory.h"
#include "migsync/pool.h"
#include "migsync/strbuf.h"
#include "migsync/target.h"
#include "migsync/tunnel.h"

#define DB_DEFAULT_CONNECT_TIMEOUT_S 10
#define DB_DISCOVER_STATEMENT_TIMEOUT_S 30
#define DB_DISCOVER_HINT "targets.discover must be a query returning one database name per row"
#define DB_DISCOVER_SCHEMAS_HINT "targets.discover_schemas must be a query returning one schema name (text) per row"

void db_target_init(struct db_target *t)
{
	memset(t, 0, sizeof(*t));
	strvec_init(&t->secrets);
}

void db_target_release(struct db_target *t)
{
	if (!t)
		return;
	free(t->dbname);
	free(t->schema);
	free(t->name);
	free(t->label);
	free(t->describe);
	conn_free_secret(t->conninfo);
	for (size_t i = 0; i < t->secrets.nr; i++) {
		conn_free_secret(t->secrets.items[i]);
		t->secrets.items[i] = NULL;
	}
	t->secrets.nr = 0;
	strvec_release(&t->secrets);
	db_target_init(t);
}

void db_targets_free(struct db_target *targets, size_t nr)
{
	for (size_t i = 0; targets && i < nr; i++)
		db_target_release(&targets[i]);
	free(targets);
}

static void add_secret(struct db_target *t, const char *s)
{
	if (s && *s && !strvec_contains(&t->secrets, s))
		strvec_push(&t->secrets, s);
}

static int clamp_int(int64_t v)
{
	return v > INT_MAX ? INT_MAX : v < 0 ? 0 : (int)v;
}

static void ssh_config(struct db_target *t, const struct environment *env)
{
	memset(&t->ssh, 0, sizeof(t->ssh));
	t->has_ssh = env->ssh.enabled;
	if (!env->ssh.enabled)
		return;
	t->ssh.host = env->ssh.host;
	t->ssh.port = env->ssh.port;
	t->ssh.user = env->ssh.user;
	t->ssh.identity_file = env->ssh.agent ? NULL : env->ssh.identity;
	t->ssh.passphrase_env = env->ssh.passphrase_env;
	t->ssh.known_hosts = env->ssh.known_hosts;
	t->ssh.connect_timeout_s = clamp_int(env->ssh.connect_timeout);
}

int db_target_for(struct db_target *out, const struct environment *env,
		  const char *dbname, struct ms_error *err)
{
	struct inventory_conninfo ci = INVENTORY_CONNINFO_INIT;
	struct strbuf conninfo = STRBUF_INIT;
	const char *db;
	int ret;

	db_target_init(out);
	out->env = env;
	ret = inventory_conninfo(&ci, env, dbname, err);
	if (ret < 0)
		goto done;

	for (size_t i = 0; i < ci.nr; i++) {
		if (strstr(ci.keywords[i], "password"))
			add_secret(out, ci.values[i]);
		conn_conninfo_add(&conninfo, ci.keywords[i], ci.values[i]);
	}
	add_secret(out, getenv("PGPASSWORD"));
	if (env->ssh.enabled && env->ssh.passphrase_env)
		add_secret(out, getenv(env->ssh.passphrase_env));

	/* what libpq would pick when nothing names the database */
	db = dbname;
	if (!db)
		db = inventory_conninfo_get(&ci, "dbname");
	if (!db && !inventory_conninfo_get(&ci, "service"))
		db = getenv("PGDATABASE");
	if (!db && !inventory_conninfo_get(&ci, "service"))
		db = inventory_conninfo_get(&ci, "user");
	if (!db && !inventory_conninfo_get(&ci, "service"))
		db = getenv("PGUSER");
	out->dbname = xstrdup(db ? db : "");
	out->member = dbname != NULL;
	out->name = dbname ? xstrdup(dbname) : NULL;
	out->label = dbname ? xstrfmt("%s/%s", env->name, dbname) : xstrdup(env->name);
	out->describe = inventory_describe_target(env, dbname);
	out->conninfo = strbuf_detach(&conninfo, NULL);
	ssh_config(out, env);
done:
	inventory_conninfo_release(&ci);
	if (conninfo.buf)
		memset(conninfo.buf, 0, conninfo.len);
	strbuf_release(&conninfo);
	return ret;
}

int db_target_for_schema(struct db_target *out, const struct environment *env,
			 const char *dbname, const char *schema, struct ms_error *err)
{
	int ret = db_target_for(out, env, dbname, err);

	out->member = true;
	out->schema = xstrdup(schema);
	free(out->name);
	out->name = xstrfmt("%s/%s", out->dbname, schema);
	free(out->label);
	out->label = xstrfmt("%s/%s", env->name, out->name);
	return ret;
}

const char *db_target_version_schema(const struct db_target *t)
{
	return t->schema ? t->schema : t->env->database.version_table_schema;
}

int db_target_error(struct ms_error *err, int code, const struct db_target *t,
		    const char *fmt, ...)
{
	struct strbuf raw = STRBUF_INIT, clean = STRBUF_INIT;
	char *subject = ms_error_subject(t->env->name, t->name);
	va_list ap;

	strbuf_addf(&raw, "%s: ", subject);
	free(subject);
	va_start(ap, fmt);
	strbuf_vaddf(&raw, fmt, ap);
	va_end(ap);
	strbuf_trim(&raw);
	conn_redact(&clean, raw.buf, &t->secrets);
	ms_error_set(err, code, "%s", clean.buf);
	strbuf_release(&raw);
	strbuf_release(&clean);
	return code;
}

/* Set a hint on err, scrubbed of t's secrets. */
static void target_hint(struct ms_error *err, const struct db_target *t, const char *hint)
{
	struct strbuf clean = STRBUF_INIT;

	if (hint && *hint) {
		conn_redact(&clean, hint, &t->secrets);
		ms_error_hint(err, "%s", clean.buf);
	}
	strbuf_release(&clean);
}

char *db_message_one_line(const char *msg)
{
	struct strbuf sb = STRBUF_INIT;

	for (const char *p = msg ? msg : ""; *p; p++) {
		if (*p == '\n') {
			if (p[1])
				strbuf_addstr(&sb, "; ");
		} else if (*p != '\t') {
			strbuf_addch(&sb, *p);
		}
	}
	strbuf_trim(&sb);
	/* libpq separates severity and text with two spaces ("FATAL:  ...") */
	for (char *s = strstr(sb.buf, ":  "); s; s = strstr(s, ":  "))
		memmove(s + 1, s + 2, strlen(s + 2) + 1);
	strbuf_setlen(&sb, strlen(sb.buf));
	return strbuf_detach(&sb, NULL);
}

static int connect_failed(struct ms_error *err, int code, const struct db_target *t,
			  const char *what, PGconn *conn)
{
	char *msg = db_message_one_line(conn ? PQerrorMessage(conn) : "out of memory");

	db_target_error(err, code, t, "%scould not connect: %s", what,
			*msg ? msg : "unknown error");
	if (code == MS_ERR_IO)
		ms_error_hint(err, "check that the server is up and reachable from here");
	free(msg);
	return code;
}

/*
 * db_connect with a prefix for messages ("discovery: " or ""). The
 * connection is polled until connect_timeout: a server that never
 * answers cannot hold the caller longer.
 */
static int connect_target(PGconn **out, struct tunnel **tunnel_out, const struct db_target *t,
			  const char *what, struct ms_error *err)
{
	const struct inventory_database *db = &t->env->database;
	int timeout_s = db->connect_timeout > 0 ? clamp_int(db->connect_timeout) :
		DB_DEFAULT_CONNECT_TIMEOUT_S;
	const struct conn_options o = {
		t->has_ssh ? &t->ssh : NULL, clock_mono_ms() + (int64_t)timeout_s * 1000, "environment"
	};
	struct conn_params params;
	struct conn conn = CONN_INIT;
	struct ms_error cerr = MS_ERROR_INIT;
	PGresult *res = NULL;
	int ret = 0;

	*out = NULL;
	*tunnel_out = NULL;
	conn_params_init(&params);
	if (conn_params_parse(&params, t->conninfo) < 0) {
		/* libpq's message may quote the string: never shown */
		ret = db_target_error(err, MS_ERR_CONFIG, t, "%sinvalid connection parameters", what);
		goto done;
	}
	if (!db->application_name)
		conn_params_set(&params, "application_name", CONN_APPLICATION_NAME);

	switch (conn_open(&conn, &params, &o, &cerr)) {
	case CONN_OK:
		break;
	case CONN_TUNNEL_FAILED:
	case CONN_NO_HOST:
		ret = db_target_error(err, cerr.code, t, "%s%s", what, cerr.message);
		target_hint(err, t, cerr.hint);
		goto done;
	case CONN_INVALID:
	case CONN_REFUSED:
		ret = connect_failed(err, MS_ERR_DB, t, what, conn.pg);
		goto done;
	case CONN_NO_DATABASE:
		ret = connect_failed(err, MS_ERR_DB, t, what, conn.pg);
		ms_error_hint(err, "%s", DB_MISSING_HINT);
		goto done;
	case CONN_UNREACHABLE:
		ret = connect_failed(err, MS_ERR_IO, t, what, conn.pg);
		goto done;
	case CONN_TIMEOUT:
		ret = db_target_error(err, MS_ERR_IO, t,
				      "%scould not connect: timeout after %d s", what, timeout_s);
		ms_error_hint(err, "check that the server is up and reachable; database.connect_timeout bounds the wait");
		goto done;
	case CONN_POLL_ERROR:
		ret = db_target_error(err, MS_ERR_IO, t, "%scould not connect: poll failed: %s",
				      what, strerror(errno));
		goto done;
	}

	/* a migration may run long: the inventory's statement_timeout is for probes */
	if (db->statement_timeout > 0) {
		res = PQexec(conn.pg, "SET statement_timeout = 0");
		if (PQresultStatus(res) != PGRES_COMMAND_OK) {
			ret = connect_failed(err, MS_ERR_DB, t, what, conn.pg);
			goto done;
		}
	}
	*out = conn.pg;
	*tunnel_out = conn.tunnel;
	conn.pg = NULL;
	conn.tunnel = NULL;
	ret = 0;
done:
	PQclear(res);
	conn_close(&conn);
	conn_params_release(&params);
	ms_error_release(&cerr);
	return ret;
}

/*
 * A migration can run long. If migsync dies meanwhile (SIGKILL, a lost
 * container), the server would otherwise keep running the statement and
 * hold the session's advisory lock until it ends; since PostgreSQL 14 it
 * can notice the closed client socket and cancel. Best effort: a server
 * that refuses the setting just keeps the old behaviour.
 */
#define DB_CLIENT_CHECK_SQL "SET client_connection_check_interval = '1s'"

/* A failed query's message: the server's primary message, else libpq's. */
static char *result_message(PGconn *conn, const PGresult *res)
{
	const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;

	if (primary)
		return xstrdup(primary);
	return db_message_one_line(PQerrorMessage(conn));
}

/*
 * A tenant schema's connection says which schema it serves, for the
 * ledger's rows and the advisory lock (ledger.c reads the setting).
 */
static int set_target_schema(PGconn *conn, const struct db_target *t, struct ms_error *err)
{
	const char *params[1] = { t->schema };
	PGresult *res = PQexecParams(conn, "SELECT pg_catalog.set_config('"
				     DB_TARGET_SCHEMA_SETTING "', $1, false)",
				     1, NULL, params, NULL, NULL, 0);
	char *msg = NULL;
	int ret = 0;

	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		msg = result_message(conn, res);
		ret = db_target_error(err, MS_ERR_DB, t, "could not set %s: %s",
				      DB_TARGET_SCHEMA_SETTING, msg);
	}
	PQclear(res);
	free(msg);
	return ret;
}

int db_connect(PGconn **conn, struct tunnel **tunnel, const struct db_target *t,
	       struct ms_error *err)
{
	int ret = connect_target(conn, tunnel, t, "", err);

	if (ret == 0 && PQserverVersion(*conn) >= 140000)
		PQclear(PQexec(*conn, DB_CLIENT_CHECK_SQL));
	if (ret == 0 && t->schema) {
		ret = set_target_schema(*conn, t, err);
		if (ret < 0) {
			db_disconnect(*conn, *tunnel);
			*conn = NULL;
			*tunnel = NULL;
		}
	}
	return ret;
}

void db_disconnect(PGconn *conn, struct tunnel *tunnel)
{
	struct conn c = { conn, tunnel };

	conn_close(&c);
}

int db_result_error(struct ms_error *err, PGconn *conn, const PGresult *res, const char *what)
{
	const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	const char *detail = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL) : NULL;
	const char *hint = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_HINT) : NULL;
	char *msg = db_message_one_line(primary ? primary : PQerrorMessage(conn));
	int ret;

	if (detail)
		ret = ms_error_set(err, MS_ERR_DB, "%s: %s (%s)", what, msg, detail);
	else
		ret = ms_error_set(err, MS_ERR_DB, "%s: %s", what, msg);
	if (hint)
		ms_error_hint(err, "%s", hint);
	free(msg);
	return ret;
}

/*
 * Run a discovery query (targets.discover, or targets.discover_schemas
 * when schemas) on the environment's own database and append what it
 * returns to out, sorted and distinct. A failure names the environment,
 * the database and the key, with the server's message.
 */
static int discover(struct strvec *out, const struct db_target *t, bool schemas,
		    struct ms_error *err)
{
	const char *what = "discovery: ";
	const char *key = schemas ? "targets.discover_schemas" : "targets.discover";
	const char *query = schemas ? t->env->targets.discover_schemas : t->env->targets.discover;
	int64_t timeout_s = t->env->database.statement_timeout > 0 ?
		t->env->database.statement_timeout : DB_DISCOVER_STATEMENT_TIMEOUT_S;
	struct tunnel *tunnel = NULL;
	PGconn *conn = NULL;
	PGresult *res = NULL;
	char *msg = NULL, *set_timeout = NULL;
	int ret;

	ret = connect_target(&conn, &tunnel, t, what, err);
	if (ret < 0)
		goto done;
	set_timeout = xstrfmt("SET statement_timeout = %lld", (long long)timeout_s * 1000);
	res = PQexec(conn, set_timeout);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		msg = result_message(conn, res);
		ret = db_target_error(err, MS_ERR_DB, t, "%s%s", what, msg);
		goto done;
	}
	PQclear(res);
	res = PQexec(conn, query);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		msg = result_message(conn, res);
		/* a member database is named by the error's subject already */
		ret = schemas && !t->member ?
			db_target_error(err, MS_ERR_DB, t, "%s in database \"%s\" failed: %s", key,
					t->dbname, msg) :
			schemas ? db_target_error(err, MS_ERR_DB, t, "%s failed: %s", key, msg) :
			db_target_error(err, MS_ERR_DB, t, "discovery query failed: %s", msg);
		ms_error_hint(err, schemas ? DB_DISCOVER_SCHEMAS_HINT : DB_DISCOVER_HINT);
		goto done;
	}
	if (PQnfields(res) < 1) {
		ret = db_target_error(err, MS_ERR_CONFIG, t, "%s returned no column", schemas ? key :
				      "discovery query");
		ms_error_hint(err, schemas ? DB_DISCOVER_SCHEMAS_HINT : DB_DISCOVER_HINT);
		goto done;
	}
	for (int row = 0; row < PQntuples(res); row++) {
		const char *name = PQgetvalue(res, row, 0);

		if (!PQgetisnull(res, row, 0) && *name && !strvec_contains(out, name))
			strvec_push(out, name);
	}
	strvec_sort(out);
done:
	PQclear(res);
	db_disconnect(conn, tunnel);
	free(msg);
	free(set_timeout);
	return ret;
}

unsigned db_shard_of(const char *environment, const char *database, const char *schema,
		     unsigned count)
{
	struct strbuf sb = STRBUF_INIT;
	char hex[SHA256_HEX_LEN + 1];
	uint64_t v = 0;

	if (count <= 1)
		return 0;
	strbuf_addf(&sb, "%s/%s", environment, database ? database : "");
	if (schema)
		strbuf_addf(&sb, "/%s", schema);
	sha256_hex(sb.buf, sb.len, hex);
	for (size_t i = 0; i < 16; i++) {
		char c = hex[i];

		v = v << 4 | (uint64_t)(c <= '9' ? c - '0' : c - 'a' + 10);
	}
	strbuf_release(&sb);
	return (unsigned)(v % count);
}

/* Whether t is in its environment's shard. */
static bool in_shard(const struct db_target *t)
{
	const struct inventory_shard *sh = &t->env->shard;

	return sh->count <= 1 ||
		db_shard_of(t->env->name, t->dbname, t->schema, sh->count) == sh->index;
}

static int expand(struct db_target **out, size_t *nr, const struct environment *env,
		  bool sharded, struct ms_error *err);

int db_targets_expand(struct db_target **out, size_t *nr,
		      const struct environment *env, struct ms_error *err)
{
	return expand(out, nr, env, true, err);
}

int db_targets_expand_all(struct db_target **out, size_t *nr,
			  const struct environment *env, struct ms_error *err)
{
	return expand(out, nr, env, false, err);
}

/* One database's tenant schemas, discovered by a worker of discover_schemas_all. */
struct schema_task {
	const char *dbname;		/* NULL: the environment's own database */
	struct strvec found;
	struct ms_error err;
	int ret;
};

struct schema_tasks {
	const struct environment *env;
	struct schema_task *tasks;
};

static void discover_schemas_work(size_t i, void *ctx)
{
	struct schema_tasks *st = ctx;
	struct schema_task *task = &st->tasks[i];
	struct db_target t;

	task->ret = db_target_for(&t, st->env, task->dbname, &task->err);
	if (task->ret == 0)
		task->ret = discover(&task->found, &t, true, &task->err);
	db_target_release(&t);
}

/*
 * targets.discover_schemas, run in every database of dbs (NULL: the
 * environment's own) on the pool, up to 16 at a time, one connection per
 * database. schemas[i] gets what database i holds, sorted. The first
 * failure, in the order of dbs, is the result.
 */
static int discover_schemas_all(struct strvec *schemas, const struct environment *env,
				const struct strvec *dbs, struct ms_error *err)
{
	size_t nr = dbs ? dbs->nr : 1;
	struct schema_tasks st = { env, xcalloc(nr ? nr : 1, sizeof(*st.tasks)) };
	int ret;

	for (size_t i = 0; i < nr; i++) {
		st.tasks[i].dbname = dbs ? dbs->items[i] : NULL;
		strvec_init(&st.tasks[i].found);
		ms_error_init(&st.tasks[i].err);
	}
	ret = pool_run(nr, 0, discover_schemas_work, NULL, &st, err);
	for (size_t i = 0; i < nr; i++) {
		struct schema_task *task = &st.tasks[i];

		if (ret == 0 && task->ret < 0) {
			ret = task->ret;
			ms_error_move(err, &task->err);
		}
		schemas[i] = task->found;
		ms_error_release(&task->err);
	}
	free(st.tasks);
	return ret;
}

/* Append env's target for dbname (and schema) to targets, unless another shard's. */
static int add_target(struct db_target *targets, size_t *count, const struct environment *env,
		      const char *dbname, const char *schema, bool sharded, struct ms_error *err)
{
	struct db_target *t = &targets[*count];
	int ret = schema ? db_target_for_schema(t, env, dbname, schema, err) :
		db_target_for(t, env, dbname, err);

	(*count)++;
	if (ret == 0 && sharded && !in_shard(t)) {
		/* another shard's: never connected to */
		db_target_release(t);
		(*count)--;
	}
	return ret;
}

/*
 * The databases are targets.databases, the discovered ones or the
 * environment's own; with tenant schemas, each of them stands for its
 * schemas (listed, or discovered in that database), database by
 * database. Where the databases are discovered, listed schemas come in
 * name order too, so that a merged report orders them as this does.
 */
static int expand(struct db_target **out, size_t *nr, const struct environment *env,
		  bool sharded, struct ms_error *err)
{
	const struct inventory_targets *tg = &env->targets;
	struct strvec found = STRVEC_INIT, listed = STRVEC_INIT;
	struct strvec *schemas = NULL;
	bool by_schema = tg->schemas.nr || tg->discover_schemas;
	const struct strvec *dbs = tg->discover ? &found : tg->databases.nr ? &tg->databases : NULL;
	struct db_target *targets = NULL;
	size_t count = 0, want = 0, dbs_nr = 0;
	int ret = 0;

	*out = NULL;
	*nr = 0;
	if (tg->discover) {
		struct db_target own;

		ret = db_target_for(&own, env, NULL, err);
		if (ret == 0)
			ret = discover(&found, &own, false, err);
		db_target_release(&own);
		if (ret < 0)
			goto done;
	}
	dbs_nr = dbs ? dbs->nr : 1;
	schemas = xcalloc(dbs_nr ? dbs_nr : 1, sizeof(*schemas));
	for (size_t d = 0; d < dbs_nr; d++)
		strvec_init(&schemas[d]);
	if (tg->discover_schemas && dbs_nr) {
		ret = discover_schemas_all(schemas, env, dbs, err);
		if (ret < 0)
			goto done;
	} else if (tg->schemas.nr) {
		for (size_t i = 0; i < tg->schemas.nr; i++)
			strvec_push(&listed, tg->schemas.items[i]);
		if (tg->discover)
			strvec_sort(&listed);
	}
	for (size_t d = 0; d < dbs_nr; d++)
		want += !by_schema ? 1 : tg->discover_schemas ? schemas[d].nr : listed.nr;
	targets = xcalloc(want ? want : 1, sizeof(*targets));
	for (size_t d = 0; d < dbs_nr && ret == 0; d++) {
		const char *dbname = dbs ? dbs->items[d] : NULL;
		const struct strvec *names = tg->discover_schemas ? &schemas[d] : &listed;

		if (!by_schema)
			ret = add_target(targets, &count, env, dbname, NULL, sharded, err);
		for (size_t s = 0; by_schema && s < names->nr && ret == 0; s++)
			ret = add_target(targets, &count, env, dbname, names->items[s], sharded, err);
	}
	if (ret < 0)
		goto done;
	*out = targets;
	*nr = count;
	targets = NULL;
done:
	db_targets_free(targets, count);
	for (size_t d = 0; schemas && d < dbs_nr; d++)
		strvec_release(&schemas[d]);
	free(schemas);
	strvec_release(&found);
	strvec_release(&listed);
	return ret;
}

int db_identity(char **out, PGconn *conn, const struct db_target *t,
		struct ms_error *err)
{
	static const char oid_sql[] =
		"SELECT d.oid::text,"
		" pg_catalog.has_function_privilege('pg_catalog.pg_control_system()', 'EXECUTE')"
		" FROM pg_catalog.pg_database d WHERE d.datname = pg_catalog.current_database()";
	static const char sysid_sql[] =
		"SELECT system_identifier::text FROM pg_catalog.pg_control_system()";
	struct strbuf sb = STRBUF_INIT;
	PGresult *res = NULL;
	char *msg = NULL;
	int ret = 0;

	*out = NULL;
	res = PQexec(conn, oid_sql);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		msg = result_message(conn, res);
		ret = db_target_error(err, MS_ERR_DB, t, "could not read the database's identity: %s",
				      msg);
		goto done;
	}
	strbuf_addf(&sb, "%s oid=%s", t->describe, PQgetvalue(res, 0, 0));
	if (!strcmp(PQgetvalue(res, 0, 1), "t")) {
		PQclear(res);
		res = PQexec(conn, sysid_sql);
		if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
			strbuf_addf(&sb, " sysid=%s", PQgetvalue(res, 0, 0));
	}
	if (t->schema)
		strbuf_addf(&sb, " schema=%s", t->schema);
	*out = strbuf_detach(&sb, NULL);
done:
	PQclear(res);
	strbuf_release(&sb);
	free(msg);
	return ret;
}
