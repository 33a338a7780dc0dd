/*
 * Probing one PostgreSQL database: connect without blocking (bounded by
 * connect_timeout, through a tunnel when the target has SSH settings),
 * then read the server version, the version table and the ledger with
 * queries bounded both by statement_timeout on the server and by a
 * deadline here. Each probe owns its connection and tunnel from start to
 * end; nothing is shared with other threads.
 */

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>
#include <libssh2.h>

#include "migsync/pool.h"
#include "migsync/probe.h"
#include "migsync/strbuf.h"
#include "migsync/tunnel.h"
#include "migsync/util.h"
#include "probe_int.h"

/* Extra time the client waits for a query beyond statement_timeout. */
#define QUERY_SLACK_MS 2000
#define DEFAULT_PG_PORT 5432

void probe_result_init(struct probe_result *res)
{
	memset(res, 0, sizeof(*res));
	strvec_init(&res->version_rows);
	ms_error_init(&res->error);
}

void probe_result_release(struct probe_result *res)
{
	if (!res)
		return;
	strvec_release(&res->version_rows);
	ms_error_release(&res->error);
	probe_result_init(res);
}

void probe_result_move(struct probe_result *dst, struct probe_result *src)
{
	probe_result_release(dst);
	*dst = *src;
	probe_result_init(src);
}

const char *probe_state_name(enum probe_state state)
{
	switch (state) {
	case PROBE_OK:
		return "ok";
	case PROBE_UNINITIALIZED:
		return "uninitialized";
	case PROBE_UNREACHABLE:
		return "unreachable";
	case PROBE_ERROR:
		return "error";
	}
	return "unknown";
}

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static int global_rc;

static void global_init_once(void)
{
	global_rc = libssh2_init(0);
}

int probe_global_init(struct ms_error *err)
{
	pthread_once(&global_once, global_init_once);
	if (global_rc)
		return ms_error_set(err, MS_ERR_GENERIC,
				    "could not initialize libssh2 (error %d)", global_rc);
	return 0;
}

void probe_global_cleanup(void)
{
	if (!global_rc)
		libssh2_exit();
}

/* The state of one probe while it runs. */
struct probe_task {
	const struct probe_target *t;
	struct probe_result *res;
	const char *name;
	struct strvec secrets;		/* values to scrub from every message */
	PQconninfoOption *opts;		/* the parsed conninfo */
	struct strvec keys, values;	/* what goes to PQconnectStartParams */
	struct tunnel *tunnel;
	PGconn *conn;
	int statement_timeout_ms;
};

/*
 * Record a failure on the result: the message (and hint) are prefixed with
 * the target, scrubbed of secrets, and the state is set.
 */
__attribute__((format(printf, 4, 5)))
static void task_fail(struct probe_task *pt, enum probe_state state,
		      const char *hint, const char *fmt, ...)
{
	struct strbuf raw = STRBUF_INIT, clean = STRBUF_INIT;
	va_list ap;

	strbuf_addf(&raw, "target \"%s\": ", pt->name);
	va_start(ap, fmt);
	strbuf_vaddf(&raw, fmt, ap);
	va_end(ap);
	probe_redact(&clean, raw.buf, &pt->secrets);
	ms_error_set(&pt->res->error, MS_ERR_DB, "%s", clean.buf);
	if (hint && *hint) {
		strbuf_reset(&clean);
		probe_redact(&clean, hint, &pt->secrets);
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

static void fail_libpq(struct probe_task *pt, enum probe_state state, const char *what)
{
	struct strbuf msg = STRBUF_INIT, hint = STRBUF_INIT;

	split_libpq_message(&msg, &hint, pt->conn ? PQerrorMessage(pt->conn) : NULL);
	task_fail(pt, state, hint.buf, "%s: %s", what, msg.len ? msg.buf : "unknown error");
	strbuf_release(&msg);
	strbuf_release(&hint);
}

static const char *conninfo_value(const struct probe_task *pt, const char *key)
{
	for (const PQconninfoOption *o = pt->opts; o && o->keyword; o++)
		if (!strcmp(o->keyword, key))
			return o->val && *o->val ? o->val : NULL;
	return NULL;
}

static void add_secret(struct probe_task *pt, const char *s)
{
	if (s && *s && !strvec_contains(&pt->secrets, s))
		strvec_push(&pt->secrets, s);
}

static void set_param(struct probe_task *pt, const char *key, const char *value)
{
	for (size_t i = 0; i < pt->keys.nr; i++) {
		if (!strcmp(pt->keys.items[i], key)) {
			free(pt->values.items[i]);
			pt->values.items[i] = xstrdup(value);
			return;
		}
	}
	strvec_push(&pt->keys, key);
	strvec_push(&pt->values, value);
}

/*
 * Parse the connection string and collect the parameters and the secrets.
 * libpq's parse error is not shown: it can quote a piece of the string.
 */
static int prepare_params(struct probe_task *pt)
{
	char *errmsg = NULL;
	const char *conninfo = pt->t->conninfo ? pt->t->conninfo : "";
	int ret = -1;

	add_secret(pt, getenv("PGPASSWORD"));
	if (pt->t->ssh && pt->t->ssh->passphrase_env)
		add_secret(pt, getenv(pt->t->ssh->passphrase_env));

	pt->opts = PQconninfoParse(conninfo, &errmsg);
	if (!pt->opts) {
		task_fail(pt, PROBE_ERROR,
			  "use keyword=value pairs or a postgresql:// URI; see \"Connection Strings\" in the libpq documentation",
			  "invalid connection string");
		goto done;
	}
	add_secret(pt, conninfo_value(pt, "password"));
	add_secret(pt, conninfo_value(pt, "sslpassword"));

	for (const PQconninfoOption *o = pt->opts; o->keyword; o++) {
		if (!o->val || !*o->val)
			continue;
		if (!strcmp(o->keyword, "connect_timeout"))
			continue;	/* enforced here, tunnel included */
		set_param(pt, o->keyword, o->val);
	}
	set_param(pt, "application_name", PROBE_APPLICATION_NAME);
	ret = 0;
done:
	PQfreemem(errmsg);
	return ret;
}

/*
 * Open the SSH tunnel towards the database host and point libpq at its
 * local end, keeping host= so that certificates are checked against the
 * real name.
 */
static int open_tunnel(struct probe_task *pt, int64_t deadline)
{
	struct ms_error err = MS_ERROR_INIT;
	const char *host = conninfo_value(pt, "hostaddr");
	const char *port = conninfo_value(pt, "port");
	char *end = NULL;
	long rport;
	char buf[16];
	int ret = -1;

	if (!host)
		host = getenv("PGHOSTADDR");
	if (!host)
		host = conninfo_value(pt, "host");
	if (!host)
		host = getenv("PGHOST");
	if (!host || !*host)
		host = "localhost";
	if (!port)
		port = getenv("PGPORT");
	if (strchr(host, ',') || (port && strchr(port, ','))) {
		task_fail(pt, PROBE_ERROR, "give one host per target when using ssh",
			  "ssh tunnel needs a single database host, not a list");
		goto done;
	}
	if (host[0] == '/' || host[0] == '@') {
		task_fail(pt, PROBE_ERROR, "set host to the database's name or address as seen from the ssh server",
			  "ssh tunnel cannot reach a unix-domain socket \"%s\"", host);
		goto done;
	}
	rport = port && *port ? strtol(port, &end, 10) : DEFAULT_PG_PORT;
	if ((end && *end) || rport <= 0 || rport > 65535) {
		task_fail(pt, PROBE_ERROR, NULL, "invalid port \"%s\"", port);
		goto done;
	}

	if (tunnel_open(&pt->tunnel, pt->t->ssh, host, (int)rport,
			probe_remaining_ms(deadline), &err) < 0) {
		task_fail(pt, err.code == MS_ERR_IO ? PROBE_UNREACHABLE : PROBE_ERROR,
			  err.hint, "%s", err.message);
		goto done;
	}
	set_param(pt, "hostaddr", "127.0.0.1");
	snprintf(buf, sizeof(buf), "%d", tunnel_local_port(pt->tunnel));
	set_param(pt, "port", buf);
	ret = 0;
done:
	ms_error_release(&err);
	return ret;
}

enum probe_connect_status probe_connect(PGconn **conn, const char *const *keywords,
					const char *const *values, int64_t deadline)
{
	PostgresPollingStatusType st = PGRES_POLLING_WRITING;
	bool answered = false;

	*conn = PQconnectStartParams(keywords, values, 0);
	if (!*conn || PQstatus(*conn) == CONNECTION_BAD)
		return PROBE_CONNECT_INVALID;
	while (st != PGRES_POLLING_OK) {
		ConnStatusType cs;
		int rc;

		if (st == PGRES_POLLING_FAILED)
			return answered ? PROBE_CONNECT_REFUSED : PROBE_CONNECT_UNREACHABLE;
		rc = probe_wait_fd(PQsocket(*conn), st == PGRES_POLLING_READING ? POLLIN : POLLOUT,
				   deadline);
		if (rc == 0)
			return PROBE_CONNECT_TIMEOUT;
		if (rc < 0)
			return PROBE_CONNECT_POLL_ERROR;
		st = PQconnectPoll(*conn);
		/* Past these states a server has accepted the connection. */
		cs = PQstatus(*conn);
		if (cs != CONNECTION_STARTED && cs != CONNECTION_NEEDED && cs != CONNECTION_BAD)
			answered = true;
	}
	return PROBE_CONNECTED;
}

static int connect_db(struct probe_task *pt, int timeout_s)
{
	int64_t deadline = probe_deadline(timeout_s * 1000);
	const char **keys = NULL, **values = NULL;
	int ret = -1;

	if (pt->t->ssh && open_tunnel(pt, deadline) < 0)
		goto done;

	keys = xcalloc(pt->keys.nr + 1, sizeof(*keys));
	values = xcalloc(pt->keys.nr + 1, sizeof(*values));
	for (size_t i = 0; i < pt->keys.nr; i++) {
		keys[i] = pt->keys.items[i];
		values[i] = pt->values.items[i];
	}
	switch (probe_connect(&pt->conn, keys, values, deadline)) {
	case PROBE_CONNECTED:
		break;
	case PROBE_CONNECT_INVALID:
		if (pt->conn)
			fail_libpq(pt, PROBE_ERROR, "could not connect");
		else
			task_fail(pt, PROBE_ERROR, NULL, "could not connect: out of memory");
		goto done;
	case PROBE_CONNECT_REFUSED:
		fail_libpq(pt, PROBE_ERROR, "could not connect");
		goto done;
	case PROBE_CONNECT_UNREACHABLE:
		fail_libpq(pt, PROBE_UNREACHABLE, "could not connect");
		goto done;
	case PROBE_CONNECT_TIMEOUT:
		task_fail(pt, PROBE_UNREACHABLE,
			  "check that the server is up and reachable; connect_timeout bounds the wait",
			  "could not connect: timeout after %d s", timeout_s);
		goto done;
	case PROBE_CONNECT_POLL_ERROR:
		task_fail(pt, PROBE_ERROR, NULL, "could not connect: poll failed: %s",
			  strerror(errno));
		goto done;
	}
	if (PQsetnonblocking(pt->conn, 1)) {
		fail_libpq(pt, PROBE_ERROR, "could not connect");
		goto done;
	}
	ret = 0;
done:
	free(keys);
	free(values);
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
	int64_t deadline = probe_deadline(pt->statement_timeout_ms + QUERY_SLACK_MS);
	PGconn *conn = pt->conn;
	PGresult *res, *last = NULL;
	int sent, flush, ret = -1;

	*out = NULL;
	if (nparams < 0)
		sent = PQsendQuery(conn, sql);
	else
		sent = PQsendQueryParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);
	if (!sent) {
		fail_libpq(pt, PROBE_ERROR, what);
		goto done;
	}
	while ((flush = PQflush(conn)) == 1) {
		int rc = probe_wait_fd(PQsocket(conn), POLLOUT | POLLIN, deadline);

		if (rc == 0)
			goto timeout;
		if (rc < 0 || !PQconsumeInput(conn)) {
			fail_libpq(pt, PROBE_ERROR, what);
			goto done;
		}
	}
	if (flush < 0) {
		fail_libpq(pt, PROBE_ERROR, what);
		goto done;
	}
	for (;;) {
		while (PQisBusy(conn)) {
			int rc = probe_wait_fd(PQsocket(conn), POLLIN, deadline);

			if (rc == 0)
				goto timeout;
			if (rc < 0 || !PQconsumeInput(conn)) {
				fail_libpq(pt, PROBE_ERROR, what);
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
		task_fail(pt, PROBE_ERROR, NULL, "%s: no result", what);
		goto done;
	}
	if (PQresultStatus(last) != PGRES_TUPLES_OK && PQresultStatus(last) != PGRES_COMMAND_OK) {
		const char *primary = PQresultErrorField(last, PG_DIAG_MESSAGE_PRIMARY);

		task_fail(pt, PROBE_ERROR, PQresultErrorField(last, PG_DIAG_MESSAGE_HINT),
			  "%s: %s", what, primary ? primary : PQresStatus(PQresultStatus(last)));
		goto done;
	}
	*out = last;
	last = NULL;
	ret = 0;
	goto done;
timeout:
	task_fail(pt, PROBE_ERROR, "raise statement_timeout or look for locks held on the database",
		  "%s: timeout after %d ms", what, pt->statement_timeout_ms + QUERY_SLACK_MS);
	ret = -2;
done:
	PQclear(last);
	return ret;
}

static char *quote_ident(struct probe_task *pt, const char *ident)
{
	char *q = PQescapeIdentifier(pt->conn, ident, strlen(ident));
	char *copy;

	if (!q) {
		task_fail(pt, PROBE_ERROR, NULL, "invalid identifier \"%s\"", ident);
		return NULL;
	}
	copy = xstrdup(q);
	PQfreemem(q);
	return copy;
}

/* Append value as an SQL literal ("NULL" for NULL); -1 (task failed) when it cannot be quoted. */
static int add_literal(struct strbuf *sql, struct probe_task *pt, const char *value)
{
	char *q;

	if (!value) {
		strbuf_addstr(sql, "NULL");
		return 0;
	}
	q = PQescapeLiteral(pt->conn, value, strlen(value));
	if (!q) {
		task_fail(pt, PROBE_ERROR, NULL, "invalid name \"%s\"", value);
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
	const char *table = pt->t->version_table ? pt->t->version_table : PROBE_DEFAULT_VERSION_TABLE;
	const char *ledger = pt->t->ledger_schema ? pt->t->ledger_schema : PROBE_DEFAULT_LEDGER_SCHEMA;
	struct strbuf sql = STRBUF_INIT;
	PGresult *res = NULL;
	int ret = -1;

	strbuf_addf(&sql, "SET statement_timeout = %d; SET default_transaction_read_only = on;"
		    " SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_class c"
		    " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
		    " WHERE c.relname = ", pt->statement_timeout_ms);
	if (add_literal(&sql, pt, table) < 0)
		goto done;
	strbuf_addstr(&sql, " AND c.relkind IN ('r', 'p', 'v', 'm', 'f') AND ");
	if (pt->t->version_schema) {
		strbuf_addstr(&sql, "n.nspname = ");
		if (add_literal(&sql, pt, pt->t->version_schema) < 0)
			goto done;
	} else {
		strbuf_addstr(&sql, "pg_catalog.pg_table_is_visible(c.oid)");
	}
	strbuf_addstr(&sql, "), EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = ");
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
		task_fail(pt, PROBE_ERROR, NULL, "looking for the version table and the ledger: unexpected result");
		goto done;
	}
	pt->res->version_table_exists = !strcmp(PQgetvalue(res, 0, 0), "t");
	pt->res->ledger_schema_exists = !strcmp(PQgetvalue(res, 0, 1), "t");
	pt->res->ledger_applied_exists = !strcmp(PQgetvalue(res, 0, 2), "t");
	ret = 0;
done:
	PQclear(res);
	strbuf_release(&sql);
	return ret;
}

static int read_versions(struct probe_task *pt)
{
	const char *table = pt->t->version_table ? pt->t->version_table : PROBE_DEFAULT_VERSION_TABLE;
	const char *schema = pt->t->version_schema;
	struct strbuf sql = STRBUF_INIT;
	char *qtable = NULL, *qschema = NULL;
	PGresult *res = NULL;
	int ret = -1;

	qtable = quote_ident(pt, table);
	if (!qtable)
		goto done;
	if (schema) {
		qschema = quote_ident(pt, schema);
		if (!qschema)
			goto done;
		strbuf_addf(&sql, "SELECT version_num FROM %s.%s", qschema, qtable);
	} else {
		strbuf_addf(&sql, "SELECT version_num FROM %s", qtable);
	}
	if (exec_bounded(&res, pt, "reading the version table", sql.buf, 0, NULL) < 0)
		goto done;
	for (int i = 0; i < PQntuples(res); i++)
		if (!PQgetisnull(res, i, 0))
			strvec_push(&pt->res->version_rows, PQgetvalue(res, i, 0));
	strvec_sort(&pt->res->version_rows);
	ret = 0;
done:
	PQclear(res);
	free(qtable);
	free(qschema);
	strbuf_release(&sql);
	return ret;
}

void probe_one(struct probe_result *out, const struct probe_target *target)
{
	int64_t start = probe_now_ms();
	struct probe_task pt;
	int connect_timeout = target->connect_timeout_s > 0 ?
		target->connect_timeout_s : PROBE_DEFAULT_CONNECT_TIMEOUT_S;

	probe_result_release(out);
	memset(&pt, 0, sizeof(pt));
	pt.t = target;
	pt.res = out;
	pt.name = target->name ? target->name : "(unnamed)";
	pt.statement_timeout_ms = target->statement_timeout_ms > 0 ?
		target->statement_timeout_ms : PROBE_DEFAULT_STATEMENT_TIMEOUT_MS;
	strvec_init(&pt.secrets);
	strvec_init(&pt.keys);
	strvec_init(&pt.values);

	if (prepare_params(&pt) < 0)
		goto done;
	if (connect_db(&pt, connect_timeout) < 0)
		goto done;
	out->server_version = PQserverVersion(pt.conn);
	if (lookup(&pt) < 0 || (out->version_table_exists && read_versions(&pt) < 0))
		goto done;
	out->state = out->version_table_exists ? PROBE_OK : PROBE_UNINITIALIZED;
done:
	if (pt.conn)
		PQfinish(pt.conn);
	tunnel_free(pt.tunnel);
	if (pt.opts)
		PQconninfoFree(pt.opts);
	strvec_release(&pt.keys);
	strvec_release(&pt.values);
	strvec_release(&pt.secrets);
	out->elapsed_ms = probe_now_ms() - start;
}

struct run_ctx {
	struct probe_result *results;
	const struct probe_target *targets;
	probe_result_fn handler;
	void *ctx;
};

static void run_work(size_t i, void *arg)
{
	struct run_ctx *rc = arg;

	probe_one(&rc->results[i], &rc->targets[i]);
}

static void run_done(size_t i, void *arg)
{
	struct run_ctx *rc = arg;

	if (rc->handler)
		rc->handler(i, &rc->targets[i], &rc->results[i], rc->ctx);
}

int probe_run(struct probe_result *results, const struct probe_target *targets,
	      size_t nr, unsigned jobs, probe_result_fn handler, void *ctx,
	      struct ms_error *err)
{
	struct run_ctx rc = { results, targets, handler, ctx };
	int ret;

	ret = probe_global_init(err);
	if (ret < 0)
		goto done;
	ret = pool_run(nr, jobs, run_work, run_done, &rc, err);
done:
	return ret;
}
