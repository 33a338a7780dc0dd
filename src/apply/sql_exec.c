/*
 * The native SQL executor: a revision's statements, its version table
 * change (as Alembic's HeadMaintainer makes it) and its ledger row in one
 * transaction; `transaction false` revisions in autocommit between an
 * "in progress" ledger row and its finish. The queries are exec_query.c's,
 * the version table's writes version_rows.c's.
 */

#include <stdlib.h>
#include <string.h>

#include "migsync/clock.h"
#include "migsync/db.h"
#include "migsync/util.h"
#include "exec_int.h"

const char *exec_ledger_schema(const struct exec_context *c)
{
	return c->ledger_schema ? c->ledger_schema : LEDGER_DEFAULT_SCHEMA;
}

static const char *env_name(const struct exec_context *c)
{
	return c->target && c->target->env ? c->target->env->name : NULL;
}

void exec_session_init(struct exec_session *s)
{
	memset(s, 0, sizeof(*s));
	strvec_init(&s->rows);
}

void exec_session_release(struct exec_session *s)
{
	strvec_release(&s->rows);
	exec_session_init(s);
}

int exec_session_prepare(struct exec_session *s, const struct exec_context *c,
			 struct ms_error *err)
{
	int ret;

	strvec_release(&s->rows);
	s->ready = false;
	ret = ledger_ensure(c->conn, exec_ledger_schema(c), err);
	if (ret == 0)
		ret = db_version_rows(&s->rows, &s->version_table, NULL, c->conn,
				      c->version_table, c->version_schema, err);
	s->ready = ret == 0;
	return ret;
}

/* After a committed step: the session holds the rows it left. */
static void session_moved(struct exec_session *s, struct strvec *after)
{
	strvec_release(&s->rows);
	s->rows = *after;
	strvec_init(after);
	s->version_table = true;
}

void exec_entry_fill(struct ledger_entry *e, const struct exec_context *c,
		     const char *revision, bool up, const char *sha256, bool transactional)
{
	ledger_entry_init(e);
	e->revision = xstrdup(revision);
	e->up = up;
	e->sha256 = sha256 && *sha256 ? xstrdup(sha256) : NULL;
	e->plan_hash = c->plan_hash ? xstrdup(c->plan_hash) : NULL;
	e->who = c->who ? xstrdup(c->who) : NULL;
	e->host = c->host ? xstrdup(c->host) : NULL;
	e->environment = env_name(c) ? xstrdup(env_name(c)) : NULL;
	e->started_at_ms = clock_wall_ms();
	e->transactional = transactional;
	e->executor = xstrdup("sql");
}

/* Record a failed step in its own (autocommit) transaction. */
static void record_failure(const struct exec_context *c, struct ledger_entry *e,
			   int64_t t0, struct ms_error *err)
{
	struct ms_error lerr = MS_ERROR_INIT;

	if (PQstatus(c->conn) != CONNECTION_OK)
		return;
	e->outcome = LEDGER_FAILED;
	e->duration_ms = clock_mono_ms() - t0;
	free(e->error);
	e->error = xstrdup(err->message ? err->message : "failed");
	free(e->rows_after);
	e->rows_after = exec_rows_now(c);
	if (ledger_insert(c->conn, exec_ledger_schema(c), e, &lerr) < 0 && !err->hint)
		ms_error_hint(err, "the failure could not be recorded in the ledger: %s",
			      lerr.message);
	ms_error_release(&lerr);
}

static const char *tenant_of(const struct exec_context *c)
{
	return c->target ? c->target->schema : NULL;
}

/*
 * A tenant schema's revision runs with search_path set to that schema
 * alone (SET LOCAL inside its transaction; for `transaction false`, SET
 * on the session around it), so that its unqualified names are the
 * tenant's. how: "SET LOCAL", "SET" or "RESET".
 */
static int tenant_search_path(const struct exec_context *c, const char *how, struct ms_error *err)
{
	const char *schema = tenant_of(c);
	char *quoted = NULL, *sql = NULL;
	int ret = 0;

	if (!schema)
		goto done;
	if (!strcmp(how, "RESET")) {
		ret = exec_query_simple(c->conn, "RESET search_path", "could not reset search_path", err);
		goto done;
	}
	quoted = PQescapeIdentifier(c->conn, schema, strlen(schema));
	if (!quoted) {
		ret = ms_error_set(err, MS_ERR_CONFIG, "schema \"%s\": invalid name: %s", schema,
				   PQerrorMessage(c->conn));
		goto done;
	}
	sql = xstrfmt("%s search_path TO %s", how, quoted);
	ret = exec_query_simple(c->conn, sql, "could not set search_path", err);
done:
	PQfreemem(quoted);
	free(sql);
	return ret;
}

/* BEGIN (with the tenant's search_path), and create the version table when sess has not seen it. */
static int begin_step(const struct exec_context *c, const struct exec_session *sess,
		      struct ms_error *err)
{
	int ret = exec_query_simple(c->conn, "BEGIN", "could not begin a transaction", err);

	if (ret == 0)
		ret = tenant_search_path(c, "SET LOCAL", err);
	if (ret == 0 && !sess->version_table)
		ret = version_table_ensure(c->conn, c->version_table, c->version_schema, err);
	return ret;
}

/* COMMIT; then sess holds the rows after (taken from *after). */
static int commit_step(const struct exec_context *c, struct exec_session *sess,
		       struct strvec *after, struct ms_error *err)
{
	int ret = exec_query_simple(c->conn, "COMMIT", "could not commit", err);

	if (ret == 0)
		session_moved(sess, after);
	return ret;
}

/*
 * A transactional step with sess ready: BEGIN travels with the first
 * statement, the row ops and the ledger row in one pipeline, COMMIT.
 */
static int sql_step_transactional(const struct exec_context *c, struct exec_session *sess,
				  const char *name, const struct revgraph_step *step,
				  const struct script *s, const struct sql_statement *st, size_t nr,
				  struct ledger_entry *e, struct ms_error *err)
{
	struct strvec after = STRVEC_INIT;
	struct exec_row_op *ops = NULL;
	size_t ops_nr = 0;
	int64_t t0 = clock_mono_ms();
	bool begun = false;
	int ret;

	ret = exec_row_ops(&ops, &ops_nr, step, err);
	if (ret < 0)
		goto done;
	exec_rows_expected(&after, &sess->rows, step);
	e->rows_after = exec_rows_join(&after);
	if (!sess->version_table || !nr || tenant_of(c)) {
		ret = begin_step(c, sess, err);
		if (ret < 0)
			goto fail;
		begun = true;
	}
	ret = exec_run_statements(c, s, begun ? NULL : "BEGIN;\n", st, nr, err);
	if (ret < 0)
		goto fail;
	e->outcome = LEDGER_APPLIED;
	e->duration_ms = clock_mono_ms() - t0;
	ret = exec_bookkeeping(c, name, ops, ops_nr, e, err);
	if (ret == 0)
		ret = commit_step(c, sess, &after, err);
	if (ret == 0)
		goto done;
fail:
	exec_rollback(c->conn);
	record_failure(c, e, t0, err);
	sess->ready = false;
done:
	free(ops);
	strvec_release(&after);
	return ret;
}

static int sql_step_autocommit(const struct exec_context *c, struct exec_session *sess,
			       const char *name, const struct revgraph_step *step,
			       const struct script *s, const struct sql_statement *st, size_t nr,
			       struct ledger_entry *e, struct ms_error *err)
{
	struct strvec after = STRVEC_INIT;
	struct ms_error lerr = MS_ERROR_INIT;
	int64_t t0 = clock_mono_ms();
	int ret;

	/* In progress first, on its own: a crash from here on stays visible. */
	exec_rows_expected(&after, &sess->rows, step);
	e->outcome = LEDGER_IN_PROGRESS;
	e->rows_after = exec_rows_join(&after);
	ret = ledger_insert(c->conn, exec_ledger_schema(c), e, err);
	if (ret < 0)
		goto done;

	ret = tenant_search_path(c, "SET", err);
	if (ret == 0)
		ret = exec_run_statements(c, s, NULL, st, nr, err);
	if (ret == 0)
		ret = tenant_search_path(c, "RESET", err);
	if (ret < 0) {
		struct ms_error ignore = MS_ERROR_INIT;

		exec_rollback(c->conn);
		tenant_search_path(c, "RESET", &ignore);
		ms_error_release(&ignore);
		goto fail;
	}
	ret = begin_step(c, sess, err);
	if (ret == 0)
		ret = exec_row_apply(c, name, step, err);
	if (ret == 0)
		ret = ledger_finish(c->conn, exec_ledger_schema(c), e->id, LEDGER_APPLIED,
				    clock_mono_ms() - t0, NULL, err);
	if (ret == 0)
		ret = commit_step(c, sess, &after, err);
	if (ret == 0)
		goto done;
fail:
	exec_rollback(c->conn);
	if (PQstatus(c->conn) == CONNECTION_OK &&
	    ledger_finish(c->conn, exec_ledger_schema(c), e->id, LEDGER_FAILED,
			  clock_mono_ms() - t0, err->message, &lerr) < 0 && !err->hint)
		ms_error_hint(err, "the ledger row %lld stays \"in progress\": %s",
			      (long long)e->id, lerr.message);
done:
	if (ret < 0)
		sess->ready = false;
	strvec_release(&after);
	ms_error_release(&lerr);
	return ret;
}

int exec_sql_step(const struct exec_context *c, const struct revgraph_step *step,
		  const struct script *script, struct ms_error *err)
{
	struct ledger_entry e;
	struct exec_session local, *sess = c->session ? c->session : &local;
	struct sql_script stmts;
	const char *sql = step->up ? script->up_sql : script->down_sql;
	unsigned line = step->up ? script->up_line : script->down_line;
	PQnoticeProcessor old_proc = NULL;
	char *name = NULL;
	int ret;

	ledger_entry_init(&e);
	exec_session_init(&local);
	sql_script_init(&stmts);
	if (script->kind != SCRIPT_SQL) {
		ret = ms_error_set(err, MS_ERR_CONFIG,
				   "revision \"%s\" (%s): not a native SQL revision", script->revision,
				   script->path);
		ms_error_hint(err, "Alembic revisions are applied with executor: alembic");
		goto done;
	}
	if (!sql) {
		ret = ms_error_set(err, MS_ERR_CONFIG, "revision \"%s\" (%s): no %s section%s",
				   script->revision, script->path,
				   step->up ? "up" : "down",
				   step->up || script->has_downgrade ? " text was read" : "");
		ms_error_hint(err, step->up || script->has_downgrade ?
			      "read the scripts with SCRIPTS_KEEP_SQL" :
			      "add a -- migsync:down section to downgrade it");
		goto done;
	}
	/* A revision the parser refuses is refused whole, before anything runs. */
	ret = sql_split(&stmts, sql, strlen(sql), line, err);
	if (ret < 0) {
		ms_error_prefix(err, "revision \"%s\" (%s)", script->revision, script->path);
		goto done;
	}
	ret = MS_ERR_DB;
	name = db_version_table_name(c->conn, c->version_table, c->version_schema, err);
	if (!name)
		goto done;
	if (!sess->ready) {
		ret = exec_session_prepare(sess, c, err);
		if (ret < 0)
			goto done;
	}

	old_proc = PQsetNoticeProcessor(c->conn, exec_notice_forward, (void *)c);
	exec_entry_fill(&e, c, script->revision, step->up, script->sha256, script->transactional);
	if (script->transactional)
		ret = sql_step_transactional(c, sess, name, step, script, stmts.items,
					     stmts.nr, &e, err);
	else
		ret = sql_step_autocommit(c, sess, name, step, script, stmts.items, stmts.nr,
					 &e, err);
	/* libpq has no getter for the old argument; its default ignores it. */
	PQsetNoticeProcessor(c->conn, old_proc, NULL);
done:
	ledger_entry_release(&e);
	exec_session_release(&local);
	sql_script_release(&stmts);
	free(name);
	return ret;
}
