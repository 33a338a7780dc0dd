/*
 * The probe under OBSERVE_STATE, of one PostgreSQL database: connect
 * without blocking (bounded by connect_timeout, through a tunnel when the
 * target has SSH settings),
 * then read the server version, the version table and the ledger with
 * queries bounded both by statement_timeout on the server and by a
 * deadline here. Each probe owns its connection and tunnel from start to
 * end; nothing is shared with other threads.
 */

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "migsync/clock.h"
#include "migsync/conn.h"
#include "migsync/db.h"
#include "migsync/observe.h"
#include "migsync/pool.h"
#include "migsync/strbuf.h"
#include "migsync/target.h"
#include "migsync/tunnel.h"
#include "migsync/util.h"

/* Extra time the client waits for a query beyond statement_timeout. */
#define QUERY_SLACK_MS 2000

/* The state of one probe while it runs. */
struct probe_task {
	const struct observe_probe *t;
	struct observation *res;
	char *subject;			/* of every message */
	struct strvec secrets;		/* values to scrub from every message */
	struct conn_params params;	/* what goes to conn_open */
	struct conn conn;
	int statement_timeout_ms;
};

/*
 * Record a failure on the result: the message (and hint) are prefixed with
 * the target, scrubbed of secrets, and the state is set.
 */
__attribute__((format(printf, 4, 5)))
static void task_fail(struct probe_task *pt, enum observe_state state,
		      const char *hint, const char *fmt, ...)
{
	struct strbuf raw = STRBUF_INIT, clean = STRBUF_INIT;
	va_list ap;

	strbuf_addf(&raw, "%s: ", pt->subject);
	va_start(ap, fmt);
	strbuf_vaddf(&raw, fmt, ap);
	va_end(ap);
	conn_redact(&clean, raw.buf, &pt->secrets);
	ms_error_set(&pt->res->error, MS_ERR_DB, "%s", clean.buf);
	if (hint && *hint) {
		strbuf_reset(&clean);
		conn_redact(&clean, hint, &pt->secrets);
		ms_error_hint(&pt->res->error, "%s", clean.buf);
	}
	pt->res->state = state;
	strbuf_release(&raw);
	strbuf_release(&clean);
}

/*
 * Split a libpq connection error into message and hint: lines starting
 * with a tab are libpq's hints ("Is the server running ..."), the others
 * are separate failures (one per host tried), joined with "; ".
 */
static void split_libpq_message(struct strbuf *msg, struct strbuf *hint, const char *text)
{
	const char *p = text;

	while (p && *p) {
		const char *eol = strchr(p, '\n');
		size_t len = eol ? (size_t)(eol - p) : strlen(p);
		struct strbuf *to = *p == '\t' ? hint : msg;

		while (len && (*p == '\t' || *p == ' ')) {
			p++;
			len--;
		}
		if (len) {
			if (to->len)
				strbuf_addstr(to, to == msg ? "; " : " ");
			strbuf_add(to, p, len);
		}
		p = eol ? eol + 1 : NULL;
	}
	/* libpq separates severity and text with two spaces ("FATAL:  ..."). */
	for (char *s = strstr(msg->buf, ":  "); s; s = strstr(s, ":  "))
		memmove(s + 1, s + 2, strlen(s + 2) + 1);
	strbuf_setlen(msg, strlen(msg->buf));
}

static void fail_libpq(struct probe_task *pt, enum observe_state state, const char *what)
{
	struct strbuf msg = STRBUF_INIT, hint = STRBUF_INIT;

	split_libpq_message(&msg, &hint, pt->conn.pg ? PQerrorMessage(pt->conn.pg) : NULL);
	task_fail(pt, state, hint.buf, "%s: %s", what, msg.len ? msg.buf : "unknown error");
	strbuf_release(&msg);
	strbuf_release(&hint);
}

static void add_secret(struct probe_task *pt, const char *s)
{
	if (s && *s && !strvec_contains(&pt->secrets, s))
		strvec_push(&pt->secrets, s);
}

/*
 * Parse the connection string and collect the parameters and the secrets.
 * libpq's parse error is not shown: it can quote a piece of the string.
 */
static int prepare_params(struct probe_task *pt)
{
	int ret = -1;

	add_secret(pt, getenv("PGPASSWORD"));
	if (pt->t->ssh && pt->t->ssh->passphrase_env)
		add_secret(pt, getenv(pt->t->ssh->passphrase_env));

	if (conn_params_parse(&pt->params, pt->t->conninfo) < 0) {
		task_fail(pt, OBSERVE_ERROR,
			  "use keyword=value pairs or a postgresql:// URI; see \"Connection Strings\" in the libpq documentation",
			  "invalid connection string");
		goto done;
	}
	add_secret(pt, conn_params_get(&pt->params, "password"));
	add_secret(pt, conn_params_get(&pt->params, "sslpassword"));
	conn_params_unset(&pt->params, "connect_timeout");	/* enforced here, tunnel included */
	conn_params_set(&pt->params, "application_name", CONN_APPLICATION_NAME);
	ret = 0;
done:
	return ret;
}

static int connect_db(struct probe_task *pt, int timeout_s)
{
	const struct conn_options o = { pt->t->ssh, conn_deadline(timeout_s * 1000), "target" };
	struct ms_error err = MS_ERROR_INIT;
	int ret = -1;

	switch (conn_open(&pt->conn, &pt->params, &o, &err)) {
	case CONN_OK:
		break;
	case CONN_TUNNEL_FAILED:
	case CONN_NO_HOST:
		task_fail(pt, err.code == MS_ERR_IO ? OBSERVE_UNREACHABLE : OBSERVE_ERROR,
			  err.hint, "%s", err.message);
		goto done;
	case CONN_INVALID:
		if (pt->conn.pg)
			fail_libpq(pt, OBSERVE_ERROR, "could not connect");
		else
			task_fail(pt, OBSERVE_ERROR, NULL, "could not connect: out of memory");
		goto done;
	case CONN_REFUSED:
		fail_libpq(pt, OBSERVE_ERROR, "could not connect");
		goto done;
	case CONN_NO_DATABASE:
		fail_libpq(pt, OBSERVE_MISSING, "could not connect");
		ms_error_hint(&pt->res->error, "%s", DB_MISSING_HINT);
		goto done;
	case CONN_UNREACHABLE:
		fail_libpq(pt, OBSERVE_UNREACHABLE, "could not connect");
		goto done;
	case CONN_TIMEOUT:
		task_fail(pt, OBSERVE_UNREACHABLE,
			  "check that the server is up and reachable; connect_timeout bounds the wait",
			  "could not connect: timeout after %d s", timeout_s);
		goto done;
	case CONN_POLL_ERROR:
		task_fail(pt, OBSERVE_ERROR, NULL, "could not connect: poll failed: %s",
			  strerror(errno));
		goto done;
	}
	if (PQsetnonblocking(pt->conn.pg, 1)) {
		fail_libpq(pt, OBSERVE_ERROR, "could not connect");
		goto done;
	}
	ret = 0;
done:
	ms_error_release(&err);
	return ret;
}

/*
 * Run one statement without blocking past deadline. sql may hold several
 * statements when nparams is -1. *out receives the last result (caller
 * clears it). Returns 0, -1 on a query error (message on the task) or -2 on
 * timeout.
 */
static int exec_bounded(PGresult **out, struct probe_task *pt, const char *what,
			const char *sql, int nparams, const char *const *params)
{
	int64_t deadline = conn_deadline(pt->statement_timeout_ms + QUERY_SLACK_MS);
	PGconn *conn = pt->conn.pg;
	PGresult *res, *last = NULL;
	int sent, flush, ret = -1;

	*out = NULL;
	if (nparams < 0)
		sent = PQsendQuery(conn, sql);
	else
		sent = PQsendQueryParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);
	if (!sent) {
		fail_libpq(pt, OBSERVE_ERROR, what);
		goto done;
	}
	while ((flush = PQflush(conn)) == 1) {
		int rc = conn_wait_fd(PQsocket(conn), POLLOUT | POLLIN, deadline);

		if (rc == 0)
			goto timeout;
		if (rc < 0 || !PQconsumeInput(conn)) {
			fail_libpq(pt, OBSERVE_ERROR, what);
			goto done;
		}
	}
	if (flush < 0) {
		fail_libpq(pt, OBSERVE_ERROR, what);
		goto done;
	}
	for (;;) {
		while (PQisBusy(conn)) {
			int rc = conn_wait_fd(PQsocket(conn), POLLIN, deadline);

			if (rc == 0)
				goto timeout;
			if (rc < 0 || !PQconsumeInput(conn)) {
				fail_libpq(pt, OBSERVE_ERROR, what);
				goto done;
			}
		}
		res = PQgetResult(conn);
		if (!res)
			break;
		if (last && PQresultStatus(last) == PGRES_FATAL_ERROR)
			PQclear(res);	/* keep the first error */
		else {
			PQclear(last);
			last = res;
		}
	}
	if (!last) {
		task_fail(pt, OBSERVE_ERROR, NULL, "%s: no result", what);
		goto done;
	}
	if (PQresultStatus(last) != PGRES_TUPLES_OK && PQresultStatus(last) != PGRES_COMMAND_OK) {
		const char *primary = PQresultErrorField(last, PG_DIAG_MESSAGE_PRIMARY);

		task_fail(pt, OBSERVE_ERROR, PQresultErrorField(last, PG_DIAG_MESSAGE_HINT),
			  "%s: %s", what, primary ? primary : PQresStatus(PQresultStatus(last)));
		goto done;
	}
	*out = last;
	last = NULL;
	ret = 0;
	goto done;
timeout:
	task_fail(pt, OBSERVE_ERROR, "raise statement_timeout or look for locks held on the database",
		  "%s: timeout after %d ms", what, pt->statement_timeout_ms + QUERY_SLACK_MS);
	ret = -2;
done:
	PQclear(last);
	return ret;
}

/* Append value as an SQL literal; -1 (task failed) when it cannot be quoted. */
static int add_literal(struct strbuf *sql, struct probe_task *pt, const char *value)
{
	char *q = PQescapeLiteral(pt->conn.pg, value, strlen(value));

	if (!q) {
		task_fail(pt, OBSERVE_ERROR, NULL, "invalid name \"%s\"", value);
		return -1;
	}
	strbuf_addstr(sql, q);
	PQfreemem(q);
	return 0;
}

/*
 * The session set-up and every catalog lookup in one round trip: one
 * simple query holding SET statement_timeout (first, so that it bounds
 * the lookup too), SET default_transaction_read_only (a probe only
 * reads; read-only also protects against mistakes later) and a SELECT of
 * whether the version table, the ledger's schema and its applied table
 * exist. A simple query takes no parameters, so the names go in as
 * literals (PQescapeLiteral). The version rows need a second query, sent
 * only when the table exists: naming a missing table would be an error.
 */
static int lookup(struct probe_task *pt)
{
	const char *ledger = pt->t->ledger_schema ? pt->t->ledger_schema : OBSERVE_DEFAULT_LEDGER_SCHEMA;
	struct ms_error err = MS_ERROR_INIT;
	struct strbuf sql = STRBUF_INIT;
	PGresult *res = NULL;
	int ret = -1;

	strbuf_addf(&sql, "SET statement_timeout = %d; SET default_transaction_read_only = on;",
		    pt->statement_timeout_ms);
	if (pt->t->target_schema) {
		strbuf_addstr(&sql, " SELECT pg_catalog.set_config('" DB_TARGET_SCHEMA_SETTING "', ");
		if (add_literal(&sql, pt, pt->t->target_schema) < 0)
			goto done;
		strbuf_addstr(&sql, ", false);");
	}
	strbuf_addstr(&sql, " SELECT ");
	if (db_version_regclass(&sql, pt->conn.pg, pt->t->version_table, pt->t->version_schema,
				&err) < 0) {
		task_fail(pt, OBSERVE_ERROR, NULL, "%s", err.message);
		goto done;
	}
	strbuf_addstr(&sql, " IS NOT NULL, EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = ");
	if (add_literal(&sql, pt, ledger) < 0)
		goto done;
	strbuf_addstr(&sql, "), EXISTS (SELECT 1 FROM pg_catalog.pg_class c"
		      " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
		      " WHERE c.relname = 'applied' AND n.nspname = ");
	if (add_literal(&sql, pt, ledger) < 0)
		goto done;
	strbuf_addch(&sql, ')');
	if (exec_bounded(&res, pt, "looking for the version table and the ledger", sql.buf,
			 -1, NULL) < 0)
		goto done;
	if (PQntuples(res) != 1 || PQnfields(res) != 3) {
		task_fail(pt, OBSERVE_ERROR, NULL, "looking for the version table and the ledger: unexpected result");
		goto done;
	}
	pt->res->version_table_exists = !strcmp(PQgetvalue(res, 0, 0), "t");
	pt->res->ledger_schema_exists = !strcmp(PQgetvalue(res, 0, 1), "t");
	pt->res->ledger_applied_exists = !strcmp(PQgetvalue(res, 0, 2), "t");
	ret = 0;
done:
	PQclear(res);
	strbuf_release(&sql);
	ms_error_release(&err);
	return ret;
}

static int read_versions(struct probe_task *pt)
{
	struct ms_error err = MS_ERROR_INIT;
	struct strbuf sql = STRBUF_INIT;
	PGresult *res = NULL;
	int ret = -1;

	if (db_version_select(&sql, pt->conn.pg, pt->t->version_table, pt->t->version_schema,
			      &err) < 0) {
		task_fail(pt, OBSERVE_ERROR, NULL, "%s", err.message);
		goto done;
	}
	if (exec_bounded(&res, pt, "reading the version table", sql.buf, 0, NULL) < 0)
		goto done;
	db_version_parse(&pt->res->version_rows, res);
	ret = 0;
done:
	PQclear(res);
	strbuf_release(&sql);
	ms_error_release(&err);
	return ret;
}

/*
 * The steps a crash left in progress, so that status sees a stuck
 * `transaction false` revision. A failure here is the ledger's, not the
 * database's: it goes to ledger_error, without the subject the probe's
 * messages carry (observe_run names the target).
 */
static void read_in_progress(struct probe_task *pt, const char *ledger)
{
	struct observation *out = pt->res;
	struct ms_error err = MS_ERROR_INIT;
	struct strbuf sql = STRBUF_INIT;
	PGresult *res = NULL;

	if (ledger_in_progress_select(&sql, pt->conn.pg, ledger, &err) < 0) {
		ms_error_move(&out->ledger_error, &err);
		goto done;
	}
	if (exec_bounded(&res, pt, "reading the steps in progress", sql.buf, 0, NULL) < 0) {
		const char *msg = out->error.message ? out->error.message : "failed";
		size_t len = strlen(pt->subject);

		if (!strncmp(msg, pt->subject, len) && !strncmp(msg + len, ": ", 2))
			msg += len + 2;
		ms_error_set(&out->ledger_error, MS_ERR_DB, "%s", msg);
		if (out->error.hint)
			ms_error_hint(&out->ledger_error, "%s", out->error.hint);
		ms_error_release(&out->error);
		goto done;
	}
	ledger_entries_parse(&out->in_progress, &out->in_progress_nr, res);
done:
	PQclear(res);
	strbuf_release(&sql);
	ms_error_release(&err);
}

/* The in-progress entries among the ledger's, read in full already. */
static void pick_in_progress(struct observation *out)
{
	size_t n = 0;

	for (size_t i = 0; i < out->ledger_nr; i++)
		n += out->ledger[i].outcome == LEDGER_IN_PROGRESS;
	if (!n)
		return;
	out->in_progress = xcalloc(n, sizeof(*out->in_progress));
	for (size_t i = 0; i < out->ledger_nr; i++) {
		struct ledger_entry *e = &out->ledger[i], *to;

		if (e->outcome != LEDGER_IN_PROGRESS)
			continue;
		to = &out->in_progress[out->in_progress_nr++];
		ledger_entry_init(to);
		to->id = e->id;
		to->revision = e->revision ? xstrdup(e->revision) : NULL;
		to->up = e->up;
		to->who = e->who ? xstrdup(e->who) : NULL;
		to->environment = e->environment ? xstrdup(e->environment) : NULL;
		to->started_at_ms = e->started_at_ms;
		to->outcome = e->outcome;
		to->transactional = e->transactional;
	}
}

void observe_probe_one(struct observation *out, const struct observe_probe *target)
{
	int64_t start = clock_mono_ms();
	struct probe_task pt;
	int connect_timeout = target->connect_timeout_s > 0 ?
		target->connect_timeout_s : OBSERVE_DEFAULT_CONNECT_TIMEOUT_S;
	const char *ledger = target->ledger_schema ? target->ledger_schema :
		OBSERVE_DEFAULT_LEDGER_SCHEMA;

	observation_release(out);
	memset(&pt, 0, sizeof(pt));
	pt.t = target;
	pt.res = out;
	pt.subject = target->subject ? xstrdup(target->subject) :
		xstrfmt("target \"%s\"", target->name ? target->name : "(unnamed)");
	pt.statement_timeout_ms = target->statement_timeout_ms > 0 ?
		target->statement_timeout_ms : OBSERVE_DEFAULT_STATEMENT_TIMEOUT_MS;
	strvec_init(&pt.secrets);
	conn_params_init(&pt.params);

	if (prepare_params(&pt) < 0)
		goto done;
	if (connect_db(&pt, connect_timeout) < 0)
		goto done;
	out->server_version = PQserverVersion(pt.conn.pg);
	if (lookup(&pt) < 0 || (out->version_table_exists && read_versions(&pt) < 0))
		goto done;
	/*
	 * On the same connection: a failure here is the ledger's, the
	 * database itself was read.
	 */
	if (target->ledger_entries && out->version_table_exists && out->ledger_applied_exists) {
		if (ledger_list(&out->ledger, &out->ledger_nr, pt.conn.pg, ledger, 0,
				&out->ledger_error) == 0)
			pick_in_progress(out);
	} else if (out->ledger_applied_exists) {
		read_in_progress(&pt, ledger);
	}
	out->state = out->version_table_exists ? OBSERVE_OK : OBSERVE_UNINITIALIZED;
done:
	conn_close(&pt.conn);
	conn_params_release(&pt.params);
	strvec_release(&pt.secrets);
	free(pt.subject);
	out->elapsed_ms = clock_mono_ms() - start;
}

struct run_ctx {
	struct observation *results;
	const struct observe_probe *targets;
	observe_probe_fn handler;
	void *ctx;
};

static void run_work(size_t i, void *arg)
{
	struct run_ctx *rc = arg;

	observe_probe_one(&rc->results[i], &rc->targets[i]);
}

static void run_done(size_t i, void *arg)
{
	struct run_ctx *rc = arg;

	if (rc->handler)
		rc->handler(i, &rc->targets[i], &rc->results[i], rc->ctx);
}

int observe_probe_run(struct observation *results, const struct observe_probe *targets,
	      size_t nr, unsigned jobs, observe_probe_fn handler, void *ctx,
	      struct ms_error *err)
{
	struct run_ctx rc = { results, targets, handler, ctx };
	int ret;

	ret = conn_global_init(err);
	if (ret < 0)
		goto done;
	ret = pool_run(nr, jobs, run_work, run_done, &rc, err);
done:
	return ret;
}
