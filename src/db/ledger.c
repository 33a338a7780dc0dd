/*
 * migsync's ledger (what was applied, approvals) and the advisory lock
 * that serializes migsync runs on one database.
 *
 * Every identifier is quoted with PQescapeIdentifier and every value is a
 * query parameter. Times are stored as timestamptz and exchanged as Unix
 * milliseconds. The read functions treat a database without a ledger as
 * one with an empty ledger: they check first instead of catching the
 * error, which would abort a caller's transaction.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "migsync/clock.h"
#include "migsync/ledger.h"
#include "migsync/strbuf.h"
#include "migsync/target.h"

#define LOCK_POLL_FIRST_MS 50
#define LOCK_POLL_MAX_MS 500
#define STR(x) #x
#define XSTR(x) STR(x)

/*
 * The lock keys: see LEDGER_LOCK_NAMESPACE. The run lock is per target:
 * the database, or the database and the tenant schema the connection
 * names (DB_TARGET_SCHEMA_SETTING), so that two tenants of a database
 * can be migrated at once but one tenant never twice. The ledger's
 * creation lock is per database.
 */
#define TARGET_SCHEMA_NOW \
	"NULLIF(pg_catalog.current_setting('" DB_TARGET_SCHEMA_SETTING "', true), '')"
#define LOCK_DB "pg_catalog.hashtext(pg_catalog.current_database())"
#define LOCK_TARGET "pg_catalog.hashtext(pg_catalog.current_database()" \
	" OPERATOR(pg_catalog.||) COALESCE('/' OPERATOR(pg_catalog.||) " TARGET_SCHEMA_NOW ", ''))"
#define LOCK_KEY(ns, subject) XSTR(ns) ", " subject

/*
 * The rows of entry e that belong to the connection's target: those of
 * its tenant schema, or those of no schema (every row of a ledger older
 * than the target_schema column).
 */
#define TARGET_MATCH "COALESCE(pg_catalog.to_jsonb(e) ->> 'target_schema', '') = COALESCE(" \
	TARGET_SCHEMA_NOW ", '')"

static const char *const outcome_names[] = {
	[LEDGER_IN_PROGRESS] = "in_progress",
	[LEDGER_APPLIED] = "applied",
	[LEDGER_FAILED] = "failed",
	[LEDGER_RESOLVED_APPLIED] = "resolved_applied",
	[LEDGER_RESOLVED_ROLLED_BACK] = "resolved_rolled_back",
	[LEDGER_STAMPED] = "stamped",
	[LEDGER_REHASHED] = "rehashed",
};

const char *ledger_outcome_name(enum ledger_outcome o)
{
	if ((size_t)o < ARRAY_SIZE(outcome_names) && outcome_names[o])
		return outcome_names[o];
	return "unknown";
}

int ledger_outcome_parse(enum ledger_outcome *o, const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(outcome_names); i++) {
		if (name && !strcmp(outcome_names[i], name)) {
			*o = (enum ledger_outcome)i;
			return 0;
		}
	}
	return -1;
}

void ledger_entry_init(struct ledger_entry *e)
{
	memset(e, 0, sizeof(*e));
	e->up = true;
	e->transactional = true;
}

void ledger_entry_release(struct ledger_entry *e)
{
	if (!e)
		return;
	free(e->revision);
	free(e->sha256);
	free(e->plan_hash);
	free(e->who);
	free(e->host);
	free(e->environment);
	free(e->error);
	free(e->executor);
	free(e->rows_after);
	free(e->note);
	free(e->previous_sha256);
	free(e->target_schema);
	ledger_entry_init(e);
}

void ledger_entries_free(struct ledger_entry *entries, size_t nr)
{
	for (size_t i = 0; entries && i < nr; i++)
		ledger_entry_release(&entries[i]);
	free(entries);
}

void approval_init(struct approval *a)
{
	memset(a, 0, sizeof(*a));
}

void approval_release(struct approval *a)
{
	if (!a)
		return;
	free(a->plan_hash);
	free(a->environment);
	free(a->approver);
	free(a->comment);
	free(a->revoked_by);
	free(a->revoke_reason);
	approval_init(a);
}

void approvals_free(struct approval *list, size_t nr)
{
	for (size_t i = 0; list && i < nr; i++)
		approval_release(&list[i]);
	free(list);
}

static const char *schema_or_default(const char *schema)
{
	return schema && *schema ? schema : LEDGER_DEFAULT_SCHEMA;
}

/* Set err from a failed query: `ledger "SCHEMA": WHAT: server message`. */
static int query_failed(struct ms_error *err, PGconn *conn, const PGresult *res,
			const char *schema, const char *what)
{
	const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	const char *hint = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_HINT) : NULL;
	char *msg = primary ? xstrdup(primary) : db_message_one_line(PQerrorMessage(conn));

	ms_error_set(err, MS_ERR_DB, "ledger \"%s\": %s: %s", schema, what,
		     *msg ? msg : "unknown error");
	if (hint)
		ms_error_hint(err, "%s", hint);
	free(msg);
	return MS_ERR_DB;
}

/*
 * Run sql with text parameters (NULL values are SQL NULL) and expect
 * status; *out (may be NULL) receives the result, which the caller clears.
 */
static int run(PGresult **out, PGconn *conn, const char *schema, const char *what,
	       const char *sql, int nparams, const char *const *params,
	       ExecStatusType status, struct ms_error *err)
{
	PGresult *res;
	int ret = 0;

	if (nparams)
		res = PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);
	else
		res = PQexec(conn, sql);
	if (PQresultStatus(res) != status)
		ret = query_failed(err, conn, res, schema, what);
	if (out && !ret)
		*out = res;
	else
		PQclear(res);
	return ret;
}

/* "SCHEMA"."table", quoted; caller frees. */
static int qualified(char **out, PGconn *conn, const char *schema, const char *table,
		     struct ms_error *err)
{
	char *qs = PQescapeIdentifier(conn, schema, strlen(schema));
	int ret = 0;

	*out = NULL;
	if (!qs) {
		ret = ms_error_set(err, MS_ERR_CONFIG, "ledger \"%s\": invalid schema name: %s",
				   schema, PQerrorMessage(conn));
		goto done;
	}
	*out = table ? xstrfmt("%s.%s", qs, table) : xstrdup(qs);
done:
	PQfreemem(qs);
	return ret;
}

static int64_t parse_int64(const PGresult *res, int row, int col)
{
	if (PQgetisnull(res, row, col))
		return 0;
	return strtoll(PQgetvalue(res, row, col), NULL, 10);
}

static char *get_str(const PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? NULL : xstrdup(PQgetvalue(res, row, col));
}

/*
 * The columns a later migsync added to the tables (LEDGER_ADDED_COLUMNS
 * of them); readers take them with to_jsonb(row) ->> 'name', which is
 * NULL on a ledger that does not have them yet.
 */
#define LEDGER_ADDED_COLUMNS 6
#define LEDGER_ADD_COLUMNS_SQL \
	"ALTER TABLE %s.applied ADD COLUMN IF NOT EXISTS note text," \
	" ADD COLUMN IF NOT EXISTS previous_sha256 text," \
	" ADD COLUMN IF NOT EXISTS target_schema text;\n" \
	"ALTER TABLE %s.applied ALTER COLUMN target_schema SET DEFAULT " TARGET_SCHEMA_NOW ";\n" \
	"ALTER TABLE %s.approvals ADD COLUMN IF NOT EXISTS revoked_at timestamptz," \
	" ADD COLUMN IF NOT EXISTS revoked_by text, ADD COLUMN IF NOT EXISTS revoke_reason text;\n"

/*
 * Both tables of the ledger, or only "applied" (tables == 1); *columns:
 * how many of the added columns they have.
 */
static int count_tables(int *found, int *columns, PGconn *conn, const char *schema,
			struct ms_error *err)
{
	static const char sql[] =
		"SELECT pg_catalog.count(DISTINCT c.oid), pg_catalog.count(a.attname)"
		" FROM pg_catalog.pg_class c"
		" JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
		" LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND NOT a.attisdropped"
		" AND ((c.relname = 'applied' AND a.attname IN ('note', 'previous_sha256', 'target_schema'))"
		" OR (c.relname = 'approvals' AND a.attname IN ('revoked_at', 'revoked_by', 'revoke_reason')))"
		" WHERE n.nspname = $1 AND c.relname IN ('applied', 'approvals')"
		" AND c.relkind IN ('r', 'p')";
	const char *params[1] = { schema };
	PGresult *res = NULL;
	int ret;

	*found = 0;
	*columns = 0;
	ret = run(&res, conn, schema, "looking for the ledger", sql, 1, params,
		  PGRES_TUPLES_OK, err);
	if (!ret) {
		*found = (int)parse_int64(res, 0, 0);
		*columns = (int)parse_int64(res, 0, 1);
	}
	PQclear(res);
	return ret;
}

int ledger_exists(PGconn *conn, const char *schema, bool *exists, struct ms_error *err)
{
	static const char sql[] =
		"SELECT 1 FROM pg_catalog.pg_class c"
		" JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
		" WHERE n.nspname = $1 AND c.relname = 'applied' AND c.relkind IN ('r', 'p')";
	const char *params[1];
	PGresult *res = NULL;
	int ret;

	schema = schema_or_default(schema);
	params[0] = schema;
	*exists = false;
	ret = run(&res, conn, schema, "looking for the ledger", sql, 1, params,
		  PGRES_TUPLES_OK, err);
	if (!ret)
		*exists = PQntuples(res) > 0;
	PQclear(res);
	return ret;
}

static bool is_creation_race(const PGresult *res)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

	/* unique_violation (on the catalogs), duplicate_schema, duplicate_table, duplicate_object */
	return state && (!strcmp(state, "23505") || !strcmp(state, "42P06") ||
			 !strcmp(state, "42P07") || !strcmp(state, "42710"));
}

/*
 * One attempt at creating the ledger in a transaction that first takes
 * the creation lock. *race is set when it failed only because someone
 * else (not using the lock, e.g. an older migsync) created it first.
 */
static int create_once(PGconn *conn, const char *schema, bool *race, struct ms_error *err)
{
	struct strbuf ddl = STRBUF_INIT;
	char *qs = NULL;
	PGresult *res = NULL;
	int ret;

	*race = false;
	ret = qualified(&qs, conn, schema, NULL, err);
	if (ret < 0)
		goto done;
	ret = run(NULL, conn, schema, "could not start a transaction", "BEGIN", 0, NULL,
		  PGRES_COMMAND_OK, err);
	if (ret < 0)
		goto done;
	/* no "already exists, skipping" notices; then wait for other creators */
	res = PQexec(conn, "SET LOCAL client_min_messages = warning");
	PQclear(res);
	res = PQexec(conn, "SELECT pg_catalog.pg_advisory_xact_lock("
		     LOCK_KEY(LEDGER_ENSURE_NAMESPACE, LOCK_DB) ")");
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		goto failed;
	PQclear(res);
	/*
	 * CREATE SCHEMA IF NOT EXISTS needs CREATE on the database even when
	 * the schema exists: a schema a DBA made for migsync is enough.
	 */
	res = PQexecParams(conn, "SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = $1",
			   1, NULL, &schema, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		goto failed;
	if (!PQntuples(res))
		strbuf_addf(&ddl, "CREATE SCHEMA IF NOT EXISTS %s;\n", qs);
	PQclear(res);
	strbuf_addf(&ddl,
		    "CREATE TABLE IF NOT EXISTS %s.applied (\n"
		    "\tid bigserial PRIMARY KEY,\n"
		    "\trevision text NOT NULL,\n"
		    "\tdirection text NOT NULL CHECK (direction IN ('up', 'down')),\n"
		    "\tsha256 text,\n"
		    "\tplan_hash text,\n"
		    "\twho text,\n"
		    "\thost text,\n"
		    "\tenvironment text,\n"
		    "\tstarted_at timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),\n"
		    "\tduration_ms bigint NOT NULL DEFAULT 0,\n"
		    "\toutcome text NOT NULL,\n"
		    "\terror text,\n"
		    "\ttransactional boolean NOT NULL DEFAULT true,\n"
		    "\texecutor text,\n"
		    "\trows_after text\n"
		    ");\n"
		    "CREATE INDEX IF NOT EXISTS applied_revision_idx ON %s.applied (revision, id);\n"
		    "CREATE TABLE IF NOT EXISTS %s.approvals (\n"
		    "\tid bigserial PRIMARY KEY,\n"
		    "\tplan_hash text NOT NULL,\n"
		    "\tenvironment text NOT NULL,\n"
		    "\tapprover text NOT NULL,\n"
		    "\tcomment text,\n"
		    "\tcreated_at timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),\n"
		    "\texpires_at timestamptz\n"
		    ");\n"
		    "CREATE INDEX IF NOT EXISTS approvals_environment_idx ON %s.approvals (environment, id);\n"
		    LEDGER_ADD_COLUMNS_SQL,
		    qs, qs, qs, qs, qs, qs, qs);

	/* several statements: the last result is checked, errors stop the batch */
	res = PQexec(conn, ddl.buf);
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		goto failed;
	PQclear(res);
	res = PQexec(conn, "COMMIT");
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		*race = is_creation_race(res);
		ret = query_failed(err, conn, res, schema, "could not create the ledger");
		goto done;
	}
	goto done;
failed:
	*race = is_creation_race(res);
	ret = query_failed(err, conn, res, schema, "could not create the ledger");
	PQclear(res);
	res = PQexec(conn, "ROLLBACK");
done:
	PQclear(res);
	free(qs);
	strbuf_release(&ddl);
	return ret;
}

int ledger_ensure(PGconn *conn, const char *schema, struct ms_error *err)
{
	bool race = false;
	int found = 0, columns = 0, ret;

	schema = schema_or_default(schema);
	if (PQtransactionStatus(conn) != PQTRANS_IDLE) {
		ret = ms_error_set(err, MS_ERR_GENERIC,
				   "ledger \"%s\": cannot be created inside a transaction", schema);
		goto done;
	}
	ret = count_tables(&found, &columns, conn, schema, err);
	if (ret < 0 || (found == 2 && columns == LEDGER_ADDED_COLUMNS))
		goto done;
	for (int attempt = 0; attempt < 3; attempt++) {
		ret = create_once(conn, schema, &race, err);
		if (!ret || !race)
			break;
	}
	if (ret < 0 && !race)
		ms_error_hint(err, "the role needs CREATE on the database, or create schema \"%s\" for it",
			      schema);
done:
	return ret;
}

/* The columns of an entry, of SCHEMA.applied e (the alias: see LEDGER_ADDED_COLUMNS). */
static const char entry_columns[] =
	"id, revision, direction, sha256, plan_hash, who, host, environment,"
	" pg_catalog.floor(EXTRACT(epoch FROM started_at) * 1000)::bigint,"
	" duration_ms, outcome, error, transactional, executor, rows_after,"
	" pg_catalog.to_jsonb(e) ->> 'note', pg_catalog.to_jsonb(e) ->> 'previous_sha256',"
	" pg_catalog.to_jsonb(e) ->> 'target_schema'";

static void entry_from_row(struct ledger_entry *e, const PGresult *res, int row)
{
	const char *outcome = PQgetvalue(res, row, 10);

	ledger_entry_init(e);
	e->id = parse_int64(res, row, 0);
	e->revision = get_str(res, row, 1);
	e->up = strcmp(PQgetvalue(res, row, 2), "down") != 0;
	e->sha256 = get_str(res, row, 3);
	e->plan_hash = get_str(res, row, 4);
	e->who = get_str(res, row, 5);
	e->host = get_str(res, row, 6);
	e->environment = get_str(res, row, 7);
	e->started_at_ms = parse_int64(res, row, 8);
	e->duration_ms = parse_int64(res, row, 9);
	/* an outcome a later migsync wrote is shown as failed: never as applied */
	if (ledger_outcome_parse(&e->outcome, outcome) < 0)
		e->outcome = LEDGER_FAILED;
	e->error = get_str(res, row, 11);
	e->transactional = !strcmp(PQgetvalue(res, row, 12), "t");
	e->executor = get_str(res, row, 13);
	e->rows_after = get_str(res, row, 14);
	e->note = get_str(res, row, 15);
	e->previous_sha256 = get_str(res, row, 16);
	e->target_schema = get_str(res, row, 17);
}

/*
 * Text parameters of an INSERT of e, in the order of entry_insert_sql;
 * started and duration hold the numbers the parameters point to.
 */
struct entry_params {
	const char *v[14];
	char started[32], duration[32];
};

static const char entry_insert_sql[] =
	" (revision, direction, sha256, plan_hash, who, host,"
	" environment, started_at, duration_ms, outcome, error, transactional,"
	" executor, rows_after)"
	" VALUES ($1, $2, $3, $4, $5, $6, $7,"
	" CASE WHEN $8::bigint > 0 THEN pg_catalog.to_timestamp($8::bigint / 1000.0)"
	" ELSE pg_catalog.clock_timestamp() END,"
	" $9, $10, $11, $12, $13, $14)"
	" RETURNING id, pg_catalog.floor(EXTRACT(epoch FROM started_at) * 1000)::bigint";

static void entry_params(struct entry_params *p, const struct ledger_entry *e)
{
	snprintf(p->started, sizeof(p->started), "%" PRId64, e->started_at_ms);
	snprintf(p->duration, sizeof(p->duration), "%" PRId64, e->duration_ms);
	p->v[0] = e->revision ? e->revision : "";
	p->v[1] = e->up ? "up" : "down";
	p->v[2] = e->sha256;
	p->v[3] = e->plan_hash;
	p->v[4] = e->who;
	p->v[5] = e->host;
	p->v[6] = e->environment;
	p->v[7] = p->started;
	p->v[8] = p->duration;
	p->v[9] = ledger_outcome_name(e->outcome);
	p->v[10] = e->error;
	p->v[11] = e->transactional ? "true" : "false";
	p->v[12] = e->executor;
	p->v[13] = e->rows_after;
}

/* "INSERT INTO SCHEMA.table" followed by rest; NULL (err set) when the schema cannot be quoted. */
static char *insert_sql(PGconn *conn, const char *schema, const char *table, const char *rest,
			struct ms_error *err)
{
	char *name = NULL, *sql = NULL;

	if (qualified(&name, conn, schema, table, err) == 0)
		sql = xstrfmt("INSERT INTO %s%s", name, rest);
	free(name);
	return sql;
}

/* The result of an INSERT ... RETURNING id, time in ms: both into *id and *at_ms. */
static int returning_result(int64_t *id, int64_t *at_ms, PGconn *conn, const PGresult *res,
			    const char *schema, const char *what, struct ms_error *err)
{
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
		return query_failed(err, conn, res, schema, what);
	*id = parse_int64(res, 0, 0);
	*at_ms = parse_int64(res, 0, 1);
	return 0;
}

/* Run INSERT INTO SCHEMA.table rest (which ends in RETURNING id, a time). */
static int insert_returning(int64_t *id, int64_t *at_ms, PGconn *conn, const char *schema,
			    const char *table, const char *rest, int nparams,
			    const char *const *params, const char *what, struct ms_error *err)
{
	char *sql = insert_sql(conn, schema, table, rest, err);
	PGresult *res = NULL;
	int ret = MS_ERR_CONFIG;

	if (!sql)
		goto done;
	res = PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);
	ret = returning_result(id, at_ms, conn, res, schema, what, err);
done:
	PQclear(res);
	free(sql);
	return ret;
}

int ledger_insert(PGconn *conn, const char *schema, struct ledger_entry *e,
		  struct ms_error *err)
{
	struct entry_params p;

	entry_params(&p, e);
	return insert_returning(&e->id, &e->started_at_ms, conn, schema_or_default(schema),
				"applied", entry_insert_sql, 14, p.v, "could not record a step", err);
}

int ledger_insert_send(PGconn *conn, const char *schema, const struct ledger_entry *e,
		       struct ms_error *err)
{
	struct entry_params p;
	char *sql;
	int ret = MS_ERR_CONFIG;

	schema = schema_or_default(schema);
	sql = insert_sql(conn, schema, "applied", entry_insert_sql, err);
	if (!sql)
		goto done;
	entry_params(&p, e);
	ret = 0;
	if (!PQsendQueryParams(conn, sql, 14, NULL, p.v, NULL, NULL, 0))
		ret = query_failed(err, conn, NULL, schema, "could not record a step");
done:
	free(sql);
	return ret;
}

int ledger_insert_result(struct ledger_entry *e, PGconn *conn, const char *schema,
			 const PGresult *res, struct ms_error *err)
{
	return returning_result(&e->id, &e->started_at_ms, conn, res, schema_or_default(schema),
				"could not record a step", err);
}

int ledger_finish(PGconn *conn, const char *schema, int64_t id,
		  enum ledger_outcome outcome, int64_t duration_ms,
		  const char *error, struct ms_error *err)
{
	struct strbuf sql = STRBUF_INIT;
	char idbuf[32], duration[32];
	const char *params[4];
	char *table = NULL;
	PGresult *res = NULL;
	int ret;

	schema = schema_or_default(schema);
	ret = qualified(&table, conn, schema, "applied", err);
	if (ret < 0)
		goto done;
	snprintf(idbuf, sizeof(idbuf), "%" PRId64, id);
	snprintf(duration, sizeof(duration), "%" PRId64, duration_ms);
	params[0] = idbuf;
	params[1] = ledger_outcome_name(outcome);
	params[2] = duration;
	params[3] = error;
	strbuf_addf(&sql, "UPDATE %s SET outcome = $2, duration_ms = $3, error = $4 WHERE id = $1",
		    table);
	ret = run(&res, conn, schema, "could not record the end of a step", sql.buf, 4, params,
		  PGRES_COMMAND_OK, err);
	if (ret < 0)
		goto done;
	if (strcmp(PQcmdTuples(res), "1"))
		ret = ms_error_set(err, MS_ERR_NOTFOUND, "ledger \"%s\": no step with id %" PRId64,
				   schema, id);
done:
	PQclear(res);
	free(table);
	strbuf_release(&sql);
	return ret;
}

/*
 * The target's entries (TARGET_MATCH), or every entry of the ledger
 * when all_targets, matching where (" AND ...", using $1 when nparams
 * is 1), oldest first.
 */
static int select_entries(struct ledger_entry **out, size_t *nr, PGconn *conn,
			  const char *schema, bool all_targets, const char *where, int nparams,
			  const char *const *params, const char *limit,
			  struct ms_error *err)
{
	struct strbuf sql = STRBUF_INIT;
	char *table = NULL;
	PGresult *res = NULL;
	bool exists = false;
	int ret;

	*out = NULL;
	*nr = 0;
	ret = ledger_exists(conn, schema, &exists, err);
	if (ret < 0 || !exists)
		goto done;
	ret = qualified(&table, conn, schema, "applied", err);
	if (ret < 0)
		goto done;
	strbuf_addf(&sql, "SELECT * FROM (SELECT %s FROM %s e WHERE %s%s"
		    " ORDER BY id DESC%s%s) e ORDER BY 1",
		    entry_columns, table, all_targets ? "true" : TARGET_MATCH, where,
		    limit ? " LIMIT " : "", limit ? limit : "");
	ret = run(&res, conn, schema, "could not read the ledger", sql.buf, nparams, params,
		  PGRES_TUPLES_OK, err);
	if (ret < 0)
		goto done;
	ledger_entries_parse(out, nr, res);
done:
	PQclear(res);
	free(table);
	strbuf_release(&sql);
	return ret;
}

void ledger_entries_parse(struct ledger_entry **out, size_t *nr, const PGresult *res)
{
	struct ledger_entry *list = xcalloc(PQntuples(res) ? (size_t)PQntuples(res) : 1,
					    sizeof(*list));

	for (int row = 0; row < PQntuples(res); row++)
		entry_from_row(&list[row], res, row);
	*nr = (size_t)PQntuples(res);
	*out = list;
}

int ledger_in_progress_select(struct strbuf *sql, PGconn *conn, const char *schema,
			      struct ms_error *err)
{
	char *table = NULL;
	int ret;

	schema = schema_or_default(schema);
	ret = qualified(&table, conn, schema, "applied", err);
	if (ret == 0)
		strbuf_addf(sql, "SELECT %s FROM %s e WHERE outcome = '%s' AND " TARGET_MATCH
			    " ORDER BY id", entry_columns, table, ledger_outcome_name(LEDGER_IN_PROGRESS));
	free(table);
	return ret;
}

int ledger_list(struct ledger_entry **out, size_t *nr, PGconn *conn,
		const char *schema, size_t limit, struct ms_error *err)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%zu", limit);
	return select_entries(out, nr, conn, schema_or_default(schema), false, "", 0, NULL,
			      limit ? buf : NULL, err);
}

int ledger_list_database(struct ledger_entry **out, size_t *nr, PGconn *conn,
			 const char *schema, size_t limit, struct ms_error *err)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%zu", limit);
	return select_entries(out, nr, conn, schema_or_default(schema), true, "", 0, NULL,
			      limit ? buf : NULL, err);
}

int ledger_in_progress(struct ledger_entry **out, size_t *nr, PGconn *conn,
		       const char *schema, struct ms_error *err)
{
	const char *params[1] = { ledger_outcome_name(LEDGER_IN_PROGRESS) };

	return select_entries(out, nr, conn, schema_or_default(schema), false,
			      " AND outcome = $1", 1, params, NULL, err);
}

int ledger_applied_at(int64_t *at_ms, bool *found, PGconn *conn, const char *schema,
		      const char *revision, struct ms_error *err)
{
	const char *params[1] = { revision };
	struct ledger_entry *list = NULL;
	size_t nr = 0;
	int ret;

	*at_ms = 0;
	*found = false;
	ret = select_entries(&list, &nr, conn, schema_or_default(schema), false,
			     " AND revision = $1", 1, params, NULL, err);
	if (ret < 0)
		goto done;
	for (size_t i = 0; i < nr; i++) {
		const struct ledger_entry *e = &list[i];
		bool took = e->outcome == LEDGER_APPLIED || e->outcome == LEDGER_STAMPED ||
			e->outcome == LEDGER_RESOLVED_APPLIED;

		if (!took)
			continue;
		if (e->up && !*found) {
			*found = true;
			*at_ms = e->started_at_ms + e->duration_ms;
		} else if (!e->up) {
			*found = false;
			*at_ms = 0;
		}
	}
done:
	ledger_entries_free(list, nr);
	return ret;
}

int ledger_approve(PGconn *conn, const char *schema, struct approval *a,
		   struct ms_error *err)
{
	static const char rest[] =
		" (plan_hash, environment, approver, comment, created_at, expires_at)"
		" VALUES ($1, $2, $3, $4,"
		" CASE WHEN $5::bigint > 0 THEN pg_catalog.to_timestamp($5::bigint / 1000.0)"
		" ELSE pg_catalog.clock_timestamp() END,"
		" pg_catalog.to_timestamp($6::bigint / 1000.0))"
		" RETURNING id, pg_catalog.floor(EXTRACT(epoch FROM created_at) * 1000)::bigint";
	char created[32], expires[32];
	const char *params[6];

	snprintf(created, sizeof(created), "%" PRId64, a->created_at_ms);
	snprintf(expires, sizeof(expires), "%" PRId64, a->expires_at_ms);
	params[0] = a->plan_hash ? a->plan_hash : "";
	params[1] = a->environment ? a->environment : "";
	params[2] = a->approver ? a->approver : "";
	params[3] = a->comment;
	params[4] = created;
	params[5] = a->expires_at_ms ? expires : NULL;
	return insert_returning(&a->id, &a->created_at_ms, conn, schema_or_default(schema),
				"approvals", rest, 6, params, "could not record the approval", err);
}

int ledger_approvals(struct approval **out, size_t *nr, PGconn *conn,
		     const char *schema, const char *environment, struct ms_error *err)
{
	struct strbuf sql = STRBUF_INIT;
	const char *params[1] = { environment };
	struct approval *list = NULL;
	char *table = NULL;
	PGresult *res = NULL;
	int found = 0, columns = 0, ret;

	*out = NULL;
	*nr = 0;
	schema = schema_or_default(schema);
	ret = count_tables(&found, &columns, conn, schema, err);
	if (ret < 0 || found < 2)
		goto done;
	ret = qualified(&table, conn, schema, "approvals", err);
	if (ret < 0)
		goto done;
	strbuf_addf(&sql,
		    "SELECT id, plan_hash, environment, approver, comment,"
		    " pg_catalog.floor(EXTRACT(epoch FROM created_at) * 1000)::bigint,"
		    " pg_catalog.floor(EXTRACT(epoch FROM expires_at) * 1000)::bigint,"
		    " pg_catalog.floor(EXTRACT(epoch FROM (pg_catalog.to_jsonb(a) ->> 'revoked_at')"
		    "::timestamptz) * 1000)::bigint,"
		    " pg_catalog.to_jsonb(a) ->> 'revoked_by', pg_catalog.to_jsonb(a) ->> 'revoke_reason'"
		    " FROM %s a WHERE environment = $1 ORDER BY id", table);
	ret = run(&res, conn, schema, "could not read the approvals", sql.buf, 1, params,
		  PGRES_TUPLES_OK, err);
	if (ret < 0)
		goto done;
	list = xcalloc(PQntuples(res) ? (size_t)PQntuples(res) : 1, sizeof(*list));
	for (int row = 0; row < PQntuples(res); row++) {
		struct approval *a = &list[row];

		approval_init(a);
		a->id = parse_int64(res, row, 0);
		a->plan_hash = get_str(res, row, 1);
		a->environment = get_str(res, row, 2);
		a->approver = get_str(res, row, 3);
		a->comment = get_str(res, row, 4);
		a->created_at_ms = parse_int64(res, row, 5);
		a->expires_at_ms = parse_int64(res, row, 6);
		a->revoked_at_ms = parse_int64(res, row, 7);
		a->revoked_by = get_str(res, row, 8);
		a->revoke_reason = get_str(res, row, 9);
	}
	*nr = (size_t)PQntuples(res);
	*out = list;
done:
	PQclear(res);
	free(table);
	strbuf_release(&sql);
	return ret;
}

int ledger_revoke(int64_t *revoked, PGconn *conn, const char *schema, const char *environment,
		  const char *plan_hash, const char *by, const char *reason, int64_t at_ms,
		  struct ms_error *err)
{
	const char *params[5];
	char at[32];
	char *table = NULL;
	struct strbuf sql = STRBUF_INIT;
	PGresult *res = NULL;
	int ret;

	*revoked = 0;
	schema = schema_or_default(schema);
	ret = qualified(&table, conn, schema, "approvals", err);
	if (ret < 0)
		goto done;
	snprintf(at, sizeof(at), "%" PRId64, at_ms);
	params[0] = environment;
	params[1] = plan_hash;
	params[2] = by;
	params[3] = reason;
	params[4] = at;
	/* the prefix match lets a short hash name its approvals; the caller makes it unique */
	strbuf_addf(&sql, "UPDATE %s SET revoked_by = $3, revoke_reason = $4,"
		    " revoked_at = CASE WHEN $5::bigint > 0 THEN pg_catalog.to_timestamp($5::bigint / 1000.0)"
		    " ELSE pg_catalog.clock_timestamp() END"
		    " WHERE environment = $1 AND pg_catalog.lower(pg_catalog.left(plan_hash, pg_catalog.length($2))) = pg_catalog.lower($2)"
		    " AND revoked_at IS NULL", table);
	ret = run(&res, conn, schema, "could not revoke the approval", sql.buf, 5, params,
		  PGRES_COMMAND_OK, err);
	if (ret == 0)
		*revoked = strtoll(PQcmdTuples(res), NULL, 10);
done:
	PQclear(res);
	free(table);
	strbuf_release(&sql);
	return ret;
}

int ledger_insert_rehash(PGconn *conn, const char *schema, struct ledger_entry *e,
			 struct ms_error *err)
{
	static const char rest[] =
		" (revision, direction, sha256, previous_sha256, plan_hash, who, host, environment,"
		" outcome, note, executor)"
		" VALUES ($1, 'up', $2, $3, $4, $5, $6, $7, $8, $9, $10)"
		" RETURNING id, pg_catalog.floor(EXTRACT(epoch FROM started_at) * 1000)::bigint";
	const char *params[10];

	e->outcome = LEDGER_REHASHED;
	e->up = true;
	params[0] = e->revision ? e->revision : "";
	params[1] = e->sha256;
	params[2] = e->previous_sha256;
	params[3] = e->plan_hash;
	params[4] = e->who;
	params[5] = e->host;
	params[6] = e->environment;
	params[7] = ledger_outcome_name(e->outcome);
	params[8] = e->note;
	params[9] = e->executor;
	return insert_returning(&e->id, &e->started_at_ms, conn, schema_or_default(schema),
				"applied", rest, 10, params, "could not record the new hash", err);
}

static void sleep_ms(int64_t ms)
{
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Who holds the lock, for the hint: "pid 123, application \"migsync\", ...". */
static void hint_holder(struct ms_error *err, PGconn *conn)
{
	static const char sql[] =
		"SELECT a.pid, a.application_name, a.client_addr, a.usename,"
		" pg_catalog.to_char(a.backend_start, 'YYYY-MM-DD HH24:MI:SS TZ')"
		" FROM pg_catalog.pg_locks l"
		" JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid"
		" WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2"
		" AND l.classid = " XSTR(LEDGER_LOCK_NAMESPACE)
		" AND l.objid = (" LOCK_TARGET ")::oid"
		" AND l.database = (SELECT oid FROM pg_catalog.pg_database"
		" WHERE datname = pg_catalog.current_database())"
		" LIMIT 1";
	PGresult *res = PQexec(conn, sql);

	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1) {
		ms_error_hint(err, "another session holds it: pid %s, user \"%s\", application \"%s\", from %s, connected %s",
			      PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 3), PQgetvalue(res, 0, 1),
			      PQgetisnull(res, 0, 2) ? "a local socket" : PQgetvalue(res, 0, 2),
			      PQgetvalue(res, 0, 4));
	} else {
		ms_error_hint(err, "another migsync run holds it; wait for it to finish or raise database.lock_wait");
	}
	PQclear(res);
}

int ledger_lock(PGconn *conn, int64_t wait_ms, int (*stop)(void *), void *stop_ctx,
		struct ms_error *err)
{
	static const char sql[] =
		"SELECT pg_catalog.pg_try_advisory_lock(" LOCK_KEY(LEDGER_LOCK_NAMESPACE, LOCK_TARGET) ")";
	int64_t deadline = clock_mono_ms() + (wait_ms > 0 ? wait_ms : 0);
	int64_t pause = LOCK_POLL_FIRST_MS;
	PGresult *res = NULL;
	int ret = 0;

	for (;;) {
		int64_t left;

		ret = run(&res, conn, "lock", "could not take the lock", sql, 0, NULL,
			  PGRES_TUPLES_OK, err);
		if (ret < 0)
			goto done;
		if (!strcmp(PQgetvalue(res, 0, 0), "t"))
			goto done;
		PQclear(res);
		res = NULL;
		if (stop && stop(stop_ctx)) {
			ret = ms_error_set(err, MS_ERR_GENERIC, "stopped waiting for the lock");
			goto done;
		}
		left = deadline - clock_mono_ms();
		if (left <= 0) {
			ret = ms_error_set(err, MS_ERR_DB,
					   "timed out waiting for the lock after %" PRId64 ".%01" PRId64 " s",
					   wait_ms / 1000, wait_ms % 1000 / 100);
			hint_holder(err, conn);
			goto done;
		}
		sleep_ms(pause < left ? pause : left);
		pause = pause * 2 > LOCK_POLL_MAX_MS ? LOCK_POLL_MAX_MS : pause * 2;
	}
done:
	PQclear(res);
	return ret;
}

int ledger_unlock(PGconn *conn, struct ms_error *err)
{
	/* checked first: unlocking a lock not held makes the server send a WARNING */
	static const char sql[] =
		"SELECT CASE WHEN EXISTS (SELECT 1 FROM pg_catalog.pg_locks l"
		" WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2"
		" AND l.pid = pg_catalog.pg_backend_pid()"
		" AND l.classid = " XSTR(LEDGER_LOCK_NAMESPACE)
		" AND l.objid = (" LOCK_TARGET ")::oid)"
		" THEN pg_catalog.pg_advisory_unlock(" LOCK_KEY(LEDGER_LOCK_NAMESPACE, LOCK_TARGET) ")"
		" ELSE false END";
	PGresult *res = NULL;
	int ret;

	ret = run(&res, conn, "lock", "could not release the lock", sql, 0, NULL,
		  PGRES_TUPLES_OK, err);
	if (ret < 0)
		goto done;
	if (strcmp(PQgetvalue(res, 0, 0), "t"))
		ret = ms_error_set(err, MS_ERR_DB, "could not release the lock: this session does not hold it");
done:
	PQclear(res);
	return ret;
}
