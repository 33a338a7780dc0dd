/*
 * The native SQL executor: a revision's statements, its version table
 * change (as Alembic's HeadMaintainer makes it) and its ledger row in one
 * transaction; `transaction false` revisions in autocommit between an
 * "in progress" ledger row and its finish.
 *
 * Statements are sent with PQsendQuery and waited for in short polls, so
 * that a cancel request (*c->cancel, set from a signal handler) reaches
 * the server within about EXEC_POLL_MS.
 */

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "migsync/clock.h"
#include "migsync/db.h"
#include "migsync/executor.h"
#include "migsync/ledger.h"
#include "migsync/sqlsplit.h"
#include "migsync/util.h"
#include "exec_int.h"

#define EXEC_POLL_MS 50

static bool result_ok(const PGresult *res)
{
	ExecStatusType st = PQresultStatus(res);

	return st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_EMPTY_QUERY;
}

/*
 * Send one query and wait for all its results, polling so that *cancel is
 * noticed. Returns the first failed result, else the last one (the caller
 * PQclear()s it), or NULL when the connection failed. *cancelled is set
 * when a cancel request was sent.
 */
static PGresult *run_query(PGconn *conn, const char *q, volatile sig_atomic_t *cancel,
			   bool *cancelled)
{
	PGresult *keep = NULL, *r;
	int sock = PQsocket(conn);

	if (cancelled)
		*cancelled = false;
	if (!PQsendQuery(conn, q))
		return NULL;
	for (;;) {
		while (PQisBusy(conn)) {
			struct pollfd pfd = { .fd = sock, .events = POLLIN };

			if (cancel && *cancel && cancelled && !*cancelled) {
				PGcancel *pc = PQgetCancel(conn);
				char buf[256];

				if (pc) {
					PQcancel(pc, buf, sizeof(buf));
					PQfreeCancel(pc);
				}
				*cancelled = true;
			}
			if (poll(&pfd, 1, EXEC_POLL_MS) < 0 && errno != EINTR)
				goto broken;
			if (!PQconsumeInput(conn))
				goto broken;
		}
		r = PQgetResult(conn);
		if (!r)
			break;
		if (PQresultStatus(r) == PGRES_COPY_IN) {
			PQputCopyEnd(conn, "migsync does not feed COPY FROM STDIN");
		} else if (PQresultStatus(r) == PGRES_COPY_OUT) {
			char *row = NULL;

			while (PQgetCopyData(conn, &row, 0) > 0)
				PQfreemem(row);
		}
		if (keep && !result_ok(keep)) {
			PQclear(r);
			continue;
		}
		PQclear(keep);
		keep = r;
	}
	if (!keep && PQstatus(conn) == CONNECTION_BAD)
		return NULL;
	return keep;
broken:
	PQclear(keep);
	return NULL;
}

/* Run a control or bookkeeping query that must succeed; err says what failed. */
static int run_simple(PGconn *conn, const char *q, const char *what, struct ms_error *err)
{
	PGresult *res = run_query(conn, q, NULL, NULL);
	int ret = 0;

	if (!res || !result_ok(res))
		ret = db_result_error(err, conn, res, what);
	PQclear(res);
	return ret;
}

static PGresult *exec_params(PGconn *conn, const char *q, int n, const char *const *values)
{
	return PQexecParams(conn, q, n, NULL, values, NULL, NULL, 0);
}

int version_table_ensure(PGconn *conn, const char *table, const char *schema,
			 struct ms_error *err)
{
	struct strvec rows = STRVEC_INIT;
	char *name = NULL, *pkc = NULL, *qpkc = NULL, *q = NULL;
	bool exists = false;
	int ret;

	if (!table)
		table = DB_DEFAULT_VERSION_TABLE;
	ret = db_version_rows(&rows, &exists, NULL, conn, table, schema, err);
	if (ret < 0 || exists)
		goto done;
	ret = MS_ERR_DB;
	name = db_version_table_name(conn, table, schema, err);
	if (!name)
		goto done;
	/* Alembic's own DDL (MigrationContext._version), constraint name included. */
	pkc = xstrfmt("%s_pkc", table);
	qpkc = PQescapeIdentifier(conn, pkc, strlen(pkc));
	if (!qpkc) {
		ret = db_result_error(err, conn, NULL, "could not quote the version table's constraint name");
		goto done;
	}
	q = xstrfmt("CREATE TABLE %s (version_num VARCHAR(32) NOT NULL, "
		    "CONSTRAINT %s PRIMARY KEY (version_num))", name, qpkc);
	ret = run_simple(conn, q, "could not create the version table", err);
done:
	strvec_release(&rows);
	free(name);
	free(pkc);
	PQfreemem(qpkc);
	free(q);
	return ret;
}

static const char *ledger_schema(const struct exec_context *c)
{
	return c->ledger_schema ? c->ledger_schema : LEDGER_DEFAULT_SCHEMA;
}

static const char *env_name(const struct exec_context *c)
{
	return c->target && c->target->env ? c->target->env->name : NULL;
}

/* One version table statement that must touch exactly one row. */
enum row_sql { SQL_INSERT, SQL_UPDATE, SQL_DELETE };

struct row_op {
	enum row_sql what;
	const char *a, *b;		/* the row; for an UPDATE, a -> b */
};

static char *row_op_sql(const char *name, enum row_sql what)
{
	return what == SQL_INSERT ? xstrfmt("INSERT INTO %s (version_num) VALUES ($1)", name) :
	       what == SQL_UPDATE ? xstrfmt("UPDATE %s SET version_num = $2 WHERE version_num = $1", name) :
	       xstrfmt("DELETE FROM %s WHERE version_num = $1", name);
}

/* Check the result of one row op: it succeeded and touched exactly one row. */
static int row_op_check(const struct exec_context *c, const struct row_op *op,
			const PGresult *res, struct ms_error *err)
{
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		return db_result_error(err, c->conn, res, "could not change the version table");
	if (!strcmp(PQcmdTuples((PGresult *)res), "1"))
		return 0;
	/* Alembic's own check: someone else changed the table. */
	ms_error_set(err, MS_ERR_DB,
		     "version table: expected to match one row when changing \"%s\"%s%s%s, %s found",
		     op->a, op->b ? " to \"" : "", op->b ? op->b : "", op->b ? "\"" : "",
		     PQcmdTuples((PGresult *)res));
	ms_error_hint(err, "another process changed the version table; run status and plan again");
	return MS_ERR_DB;
}

static int row_change(const struct exec_context *c, const char *name, const struct row_op *op,
		      struct ms_error *err)
{
	const char *param[2] = { op->a, op->b };
	char *q = row_op_sql(name, op->what);
	PGresult *res = exec_params(c->conn, q, op->b ? 2 : 1, param);
	int ret = row_op_check(c, op, res, err);

	PQclear(res);
	free(q);
	return ret;
}

/*
 * The version table change of one step, exactly as Alembic's
 * HeadMaintainer makes it (alembic/runtime/migration.py): a merge deletes
 * all but the last removed row and updates that one; an unmerge updates
 * the row to the last added revision and inserts the others. UPDATE and
 * DELETE must touch one row each, INSERT fails on an existing row.
 * *ops (caller frees) point into step.
 */
static int row_ops(struct row_op **out, size_t *nr, const struct revgraph_step *step,
		   struct ms_error *err)
{
	const struct strvec *rm = &step->rows_removed, *add = &step->rows_added;
	struct row_op *ops = xcalloc(rm->nr + add->nr + 1, sizeof(*ops));
	size_t n = 0;

	switch (step->op) {
	case ROW_INSERT:
		for (size_t i = 0; i < add->nr; i++)
			ops[n++] = (struct row_op){ SQL_INSERT, add->items[i], NULL };
		break;
	case ROW_DELETE:
		for (size_t i = 0; i < rm->nr; i++)
			ops[n++] = (struct row_op){ SQL_DELETE, rm->items[i], NULL };
		break;
	case ROW_UPDATE:
	case ROW_MERGE:
		if (!rm->nr || add->nr != 1)
			goto bad;
		for (size_t i = 0; i + 1 < rm->nr; i++)
			ops[n++] = (struct row_op){ SQL_DELETE, rm->items[i], NULL };
		ops[n++] = (struct row_op){ SQL_UPDATE, rm->items[rm->nr - 1], add->items[0] };
		break;
	case ROW_UNMERGE:
		if (rm->nr != 1 || !add->nr)
			goto bad;
		ops[n++] = (struct row_op){ SQL_UPDATE, rm->items[0], add->items[add->nr - 1] };
		for (size_t i = 0; i + 1 < add->nr; i++)
			ops[n++] = (struct row_op){ SQL_INSERT, add->items[i], NULL };
		break;
	default:
		goto bad;
	}
	*out = ops;
	*nr = n;
	return 0;
bad:
	free(ops);
	*out = NULL;
	*nr = 0;
	return ms_error_set(err, MS_ERR_GENERIC, "version table: inconsistent step (%zu rows removed, %zu added)",
			    rm->nr, add->nr);
}

/* The row ops of step, one statement at a time. */
static int apply_row_op(const struct exec_context *c, const char *name,
			const struct revgraph_step *step, struct ms_error *err)
{
	struct row_op *ops = NULL;
	size_t nr = 0;
	int ret = row_ops(&ops, &nr, step, err);

	for (size_t i = 0; i < nr && !ret; i++)
		ret = row_change(c, name, &ops[i], err);
	free(ops);
	return ret;
}

/*
 * Leave pipeline mode after reading every result up to the sync: 0, or
 * MS_ERR_DB (err set unless set already: *failed) when the connection
 * broke or results were left.
 */
static int pipeline_drain(PGconn *conn, bool failed, struct ms_error *err)
{
	PGresult *res;
	int nulls = 0;

	/* a query's results end with NULL; the sync's result has none after it */
	while (nulls < 2 && PQstatus(conn) == CONNECTION_OK) {
		res = PQgetResult(conn);
		if (!res) {
			nulls++;
			continue;
		}
		nulls = 0;
		if (PQresultStatus(res) == PGRES_PIPELINE_SYNC) {
			PQclear(res);
			break;
		}
		PQclear(res);
	}
	if (PQexitPipelineMode(conn))
		return failed ? MS_ERR_DB : 0;
	return failed ? MS_ERR_DB : db_result_error(err, conn, NULL, "could not leave pipeline mode");
}

/*
 * The bookkeeping of a transactional step in one round trip: its row
 * ops and its ledger row, queued in libpq pipeline mode (extended
 * protocol, values as parameters) and sent with one sync. Within the
 * caller's transaction, a failed statement aborts the rest; a row op
 * that touched no row (or several) fails it, and the caller rolls back.
 */
static int bookkeeping(const struct exec_context *c, const char *name,
		       const struct row_op *ops, size_t nr, struct ledger_entry *e,
		       struct ms_error *err)
{
	PGconn *conn = c->conn;
	size_t queued = 0, sent_nr;
	int ret = 0, drained;

	if (!PQenterPipelineMode(conn))
		return db_result_error(err, conn, NULL, "could not enter pipeline mode");
	for (; queued < nr; queued++) {
		const char *param[2] = { ops[queued].a, ops[queued].b };
		char *q = row_op_sql(name, ops[queued].what);
		int sent = PQsendQueryParams(conn, q, ops[queued].b ? 2 : 1, NULL, param,
					     NULL, NULL, 0);

		free(q);
		if (!sent) {
			ret = db_result_error(err, conn, NULL, "could not change the version table");
			break;
		}
	}
	if (!ret)
		ret = ledger_insert_send(conn, ledger_schema(c), e, err);
	sent_nr = queued + (ret ? 0 : 1);
	if (!PQpipelineSync(conn) || PQflush(conn) < 0) {
		if (!ret)
			ret = db_result_error(err, conn, NULL, "could not send the version table change");
		pipeline_drain(conn, true, err);
		return ret;
	}
	/* every query sent: its result, then NULL */
	for (size_t i = 0; i < sent_nr; i++) {
		PGresult *res = PQgetResult(conn);

		if (!res || PQresultStatus(res) == PGRES_PIPELINE_SYNC) {
			if (!ret)
				ret = db_result_error(err, conn, res, "version table change: results missing");
			PQclear(res);
			break;
		}
		if (!ret && i < nr)
			ret = row_op_check(c, &ops[i], res, err);
		else if (!ret)
			ret = ledger_insert_result(e, conn, ledger_schema(c), res, err);
		PQclear(res);
		while ((res = PQgetResult(conn)))
			PQclear(res);
	}
	drained = pipeline_drain(conn, ret < 0, err);
	return ret ? ret : drained;
}

static char *join_rows(const struct strvec *rows)
{
	struct strbuf sb = STRBUF_INIT;

	for (size_t i = 0; i < rows->nr; i++) {
		if (i)
			strbuf_addch(&sb, ' ');
		strbuf_addstr(&sb, rows->items[i]);
	}
	return strbuf_detach(&sb, NULL);
}

/* The version rows now, space separated (NULL when unreadable). */
static char *rows_now(const struct exec_context *c)
{
	struct strvec rows = STRVEC_INIT;
	struct ms_error ignore = MS_ERROR_INIT;
	bool exists;
	char *ret = NULL;

	if (!db_version_rows(&rows, &exists, NULL, c->conn, c->version_table, c->version_schema,
			     &ignore))
		ret = join_rows(&rows);
	strvec_release(&rows);
	ms_error_release(&ignore);
	return ret;
}

/* What the rows will be after step (sorted, appended to after), from rows before it. */
static void rows_expected(struct strvec *after, const struct strvec *before,
			  const struct revgraph_step *step)
{
	for (size_t i = 0; i < before->nr; i++)
		if (!strvec_contains(&step->rows_removed, before->items[i]))
			strvec_push(after, before->items[i]);
	for (size_t i = 0; i < step->rows_added.nr; i++)
		if (!strvec_contains(after, step->rows_added.items[i]))
			strvec_push(after, step->rows_added.items[i]);
	strvec_sort(after);
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
	ret = ledger_ensure(c->conn, ledger_schema(c), err);
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

static void entry_fill(struct ledger_entry *e, const struct exec_context *c,
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

/* Forward server notices (RAISE NOTICE, ...) to the output callback, never to stderr. */
static void notice_forward(void *arg, const char *message)
{
	const struct exec_context *c = arg;
	char *line;

	if (!c->output)
		return;
	line = db_message_one_line(message);
	c->output(line, c->output_ctx);
	free(line);
}

/* The line of byte offset off in text, counting from line. */
static unsigned line_of(const char *text, size_t off, unsigned line)
{
	for (size_t i = 0; i < off; i++)
		if (text[i] == '\n')
			line++;
	return line;
}

/*
 * The file line of a statement's error: the statement's first line, moved
 * to the error position the server reports (1-based, in characters, of
 * a query that had skip characters before the statement).
 */
static unsigned error_line(const struct sql_statement *st, const PGresult *res, long skip)
{
	const char *pos = res ? PQresultErrorField(res, PG_DIAG_STATEMENT_POSITION) : NULL;
	long chars = pos ? strtol(pos, NULL, 10) - skip : 0;
	size_t off = 0;

	/*
	 * Count characters, not bytes: a character ends where the next byte
	 * is not a UTF-8 continuation byte.
	 */
	for (; off < st->len && chars > 1; off++)
		if (off + 1 >= st->len || ((unsigned char)st->text[off + 1] & 0xc0) != 0x80)
			chars--;
	return line_of(st->text, off, st->line);
}

/*
 * Run one statement of the revision; err: `revision "R" (FILE, line N): ...`.
 * prefix (ASCII, may be NULL): statements sent before it in the same
 * simple query, e.g. "BEGIN;" to save a round trip; the server's error
 * position counts them, so it is taken back by their length.
 */
static int run_statement(const struct exec_context *c, const struct script *s,
			 const char *prefix, const struct sql_statement *st, struct ms_error *err)
{
	char *q = xstrfmt("%s%.*s", prefix ? prefix : "", (int)st->len, st->text);
	char *where = NULL;
	bool cancelled = false;
	PGresult *res = NULL;
	int ret = 0;

	if (c->cancel && *c->cancel) {
		ret = ms_error_set(err, MS_ERR_DB, "revision \"%s\" (%s, line %u): cancelled",
				   s->revision, s->path, st->line);
		goto done;
	}
	res = run_query(c->conn, q, c->cancel, &cancelled);
	if (res && result_ok(res))
		goto done;
	where = xstrfmt("revision \"%s\" (%s, line %u)", s->revision, s->path,
			error_line(st, res, prefix ? (long)strlen(prefix) : 0));
	ret = db_result_error(err, c->conn, res, where);
	if (cancelled)
		ms_error_set(err, MS_ERR_DB, "%s: cancelled", where);
done:
	PQclear(res);
	free(where);
	free(q);
	return ret;
}

/* The statements in turn; prefix goes with the first (see run_statement). */
static int run_statements(const struct exec_context *c, const struct script *s,
			  const char *prefix, const struct sql_statement *st, size_t nr,
			  struct ms_error *err)
{
	int ret = 0;

	for (size_t i = 0; i < nr && !ret; i++)
		ret = run_statement(c, s, i ? NULL : prefix, &st[i], err);
	return ret;
}

/* After a failure: roll back if a transaction is open, ignoring errors. */
static void rollback(PGconn *conn)
{
	PGresult *res;

	if (PQtransactionStatus(conn) == PQTRANS_IDLE ||
	    PQtransactionStatus(conn) == PQTRANS_UNKNOWN)
		return;
	res = PQexec(conn, "ROLLBACK");
	PQclear(res);
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
	e->rows_after = rows_now(c);
	if (ledger_insert(c->conn, ledger_schema(c), e, &lerr) < 0 && !err->hint)
		ms_error_hint(err, "the failure could not be recorded in the ledger: %s",
			      lerr.message);
	ms_error_release(&lerr);
}

/* BEGIN, and create the version table when sess has not seen it. */
static int begin_step(const struct exec_context *c, const struct exec_session *sess,
		      struct ms_error *err)
{
	int ret = run_simple(c->conn, "BEGIN", "could not begin a transaction", err);

	if (ret == 0 && !sess->version_table)
		ret = version_table_ensure(c->conn, c->version_table, c->version_schema, err);
	return ret;
}

/* COMMIT; then sess holds the rows after (taken from *after). */
static int commit_step(const struct exec_context *c, struct exec_session *sess,
		       struct strvec *after, struct ms_error *err)
{
	int ret = run_simple(c->conn, "COMMIT", "could not commit", err);

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
	struct row_op *ops = NULL;
	size_t ops_nr = 0;
	int64_t t0 = clock_mono_ms();
	bool begun = false;
	int ret;

	ret = row_ops(&ops, &ops_nr, step, err);
	if (ret < 0)
		goto done;
	rows_expected(&after, &sess->rows, step);
	e->rows_after = join_rows(&after);
	if (!sess->version_table || !nr) {
		ret = begin_step(c, sess, err);
		if (ret < 0)
			goto fail;
		begun = true;
	}
	ret = run_statements(c, s, begun ? NULL : "BEGIN;\n", st, nr, err);
	if (ret < 0)
		goto fail;
	e->outcome = LEDGER_APPLIED;
	e->duration_ms = clock_mono_ms() - t0;
	ret = bookkeeping(c, name, ops, ops_nr, e, err);
	if (ret == 0)
		ret = commit_step(c, sess, &after, err);
	if (ret == 0)
		goto done;
fail:
	rollback(c->conn);
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
	rows_expected(&after, &sess->rows, step);
	e->outcome = LEDGER_IN_PROGRESS;
	e->rows_after = join_rows(&after);
	ret = ledger_insert(c->conn, ledger_schema(c), e, err);
	if (ret < 0)
		goto done;

	ret = run_statements(c, s, NULL, st, nr, err);
	if (ret < 0)
		goto fail;
	ret = begin_step(c, sess, err);
	if (ret == 0)
		ret = apply_row_op(c, name, step, err);
	if (ret == 0)
		ret = ledger_finish(c->conn, ledger_schema(c), e->id, LEDGER_APPLIED,
				    clock_mono_ms() - t0, NULL, err);
	if (ret == 0)
		ret = commit_step(c, sess, &after, err);
	if (ret == 0)
		goto done;
fail:
	rollback(c->conn);
	if (PQstatus(c->conn) == CONNECTION_OK &&
	    ledger_finish(c->conn, ledger_schema(c), e->id, LEDGER_FAILED,
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
	struct sql_statement *st = NULL;
	size_t nr = 0;
	const char *sql = step->up ? script->up_sql : script->down_sql;
	unsigned line = step->up ? script->up_line : script->down_line;
	PQnoticeProcessor old_proc = NULL;
	char *name = NULL;
	int ret;

	ledger_entry_init(&e);
	exec_session_init(&local);
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
	ret = sql_split(&st, &nr, sql, strlen(sql), line, err);
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

	old_proc = PQsetNoticeProcessor(c->conn, notice_forward, (void *)c);
	entry_fill(&e, c, script->revision, step->up, script->sha256, script->transactional);
	if (script->transactional)
		ret = sql_step_transactional(c, sess, name, step, script, st, nr, &e, err);
	else
		ret = sql_step_autocommit(c, sess, name, step, script, st, nr, &e, err);
	/* libpq has no getter for the old argument; its default ignores it. */
	PQsetNoticeProcessor(c->conn, old_proc, NULL);
done:
	ledger_entry_release(&e);
	exec_session_release(&local);
	free(st);
	free(name);
	return ret;
}

/* rows (sorted copies) equal? */
static bool rows_equal(const struct strvec *a, const struct strvec *b)
{
	struct strvec sa = STRVEC_INIT, sb = STRVEC_INIT;
	bool eq = a->nr == b->nr;

	for (size_t i = 0; i < a->nr; i++)
		strvec_push(&sa, a->items[i]);
	for (size_t i = 0; i < b->nr; i++)
		strvec_push(&sb, b->items[i]);
	strvec_sort(&sa);
	strvec_sort(&sb);
	for (size_t i = 0; eq && i < sa.nr; i++)
		eq = !strcmp(sa.items[i], sb.items[i]);
	strvec_release(&sa);
	strvec_release(&sb);
	return eq;
}

int exec_stamp(const struct exec_context *c, const struct strvec *from,
	       const struct strvec *to, struct ms_error *err)
{
	struct strvec now = STRVEC_INIT;
	struct ledger_entry e;
	char *name = NULL, *want = NULL, *have = NULL, *q = NULL;
	int64_t t0 = clock_mono_ms();
	bool exists;
	int ret;

	ledger_entry_init(&e);
	ret = MS_ERR_DB;
	name = db_version_table_name(c->conn, c->version_table, c->version_schema, err);
	if (!name)
		goto done;
	ret = ledger_ensure(c->conn, ledger_schema(c), err);
	if (ret < 0)
		goto done;
	ret = run_simple(c->conn, "BEGIN", "could not begin a transaction", err);
	if (ret < 0)
		goto done;
	ret = version_table_ensure(c->conn, c->version_table, c->version_schema, err);
	if (ret < 0)
		goto fail;
	/* Nobody may change the rows between our compare and our swap. */
	q = xstrfmt("LOCK TABLE %s IN EXCLUSIVE MODE", name);
	ret = run_simple(c->conn, q, "could not lock the version table", err);
	if (ret < 0)
		goto fail;
	ret = db_version_rows(&now, &exists, NULL, c->conn, c->version_table, c->version_schema,
			      err);
	if (ret < 0)
		goto fail;
	if (!rows_equal(&now, from)) {
		struct strvec sorted = STRVEC_INIT;

		for (size_t i = 0; i < from->nr; i++)
			strvec_push(&sorted, from->items[i]);
		strvec_sort(&sorted);
		want = join_rows(&sorted);
		have = join_rows(&now);
		strvec_release(&sorted);
		ret = ms_error_set(err, MS_ERR_DB,
				   "version table: holds (%s), expected (%s): not stamped",
				   *have ? have : "empty", *want ? want : "empty");
		ms_error_hint(err, "another process changed the version table; run status and plan again");
		goto fail;
	}
	for (size_t i = 0; i < from->nr && !ret; i++)
		if (!strvec_contains(to, from->items[i]))
			ret = row_change(c, name, &(struct row_op){ SQL_DELETE, from->items[i], NULL }, err);
	for (size_t i = 0; i < to->nr && !ret; i++)
		if (!strvec_contains(from, to->items[i]))
			ret = row_change(c, name, &(struct row_op){ SQL_INSERT, to->items[i], NULL }, err);
	if (ret < 0)
		goto fail;

	{
		struct strvec sorted = STRVEC_INIT;
		char *revs;

		for (size_t i = 0; i < to->nr; i++)
			strvec_push(&sorted, to->items[i]);
		strvec_sort(&sorted);
		revs = join_rows(&sorted);
		entry_fill(&e, c, *revs ? revs : "base", true, NULL, true);
		free(revs);
		strvec_release(&sorted);
	}
	e.outcome = LEDGER_STAMPED;
	e.rows_after = rows_now(c);
	e.duration_ms = clock_mono_ms() - t0;
	ret = ledger_insert(c->conn, ledger_schema(c), &e, err);
	if (ret < 0)
		goto fail;
	ret = run_simple(c->conn, "COMMIT", "could not commit", err);
	goto done;
fail:
	rollback(c->conn);
done:
	ledger_entry_release(&e);
	strvec_release(&now);
	free(name);
	free(want);
	free(have);
	free(q);
	return ret;
}
