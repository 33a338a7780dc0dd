/*
 * The queries of the native SQL executor: control and bookkeeping
 * queries, and a revision's statements with the file line of a server
 * error.
 *
 * Statements are sent with PQsendQuery and waited for in short polls, so
 * that a cancel request (*c->cancel, set from a signal handler) reaches
 * the server within about EXEC_POLL_MS.
 */

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "migsync/db.h"
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
int exec_query_simple(PGconn *conn, const char *q, const char *what, struct ms_error *err)
{
	PGresult *res = run_query(conn, q, NULL, NULL);
	int ret = 0;

	if (!res || !result_ok(res))
		ret = db_result_error(err, conn, res, what);
	PQclear(res);
	return ret;
}

/* Forward server notices (RAISE NOTICE, ...) to the output callback, never to stderr. */
void exec_notice_forward(void *arg, const char *message)
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
int exec_run_statements(const struct exec_context *c, const struct script *s,
			const char *prefix, const struct sql_statement *st, size_t nr,
			struct ms_error *err)
{
	int ret = 0;

	for (size_t i = 0; i < nr && !ret; i++)
		ret = run_statement(c, s, i ? NULL : prefix, &st[i], err);
	return ret;
}

/* After a failure: roll back if a transaction is open, ignoring errors. */
void exec_rollback(PGconn *conn)
{
	PGresult *res;

	if (PQtransactionStatus(conn) == PQTRANS_IDLE ||
	    PQtransactionStatus(conn) == PQTRANS_UNKNOWN)
		return;
	res = PQexec(conn, "ROLLBACK");
	PQclear(res);
}
