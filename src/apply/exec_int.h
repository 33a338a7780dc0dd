#ifndef MIGSYNC_EXEC_INT_H
#define MIGSYNC_EXEC_INT_H

/* Internals shared by the files of src/apply. */

#include <stdbool.h>
#include <stdint.h>
#include <signal.h>

#include <libpq-fe.h>

#include "migsync/error.h"
#include "migsync/executor.h"
#include "migsync/ledger.h"
#include "migsync/sql.h"
#include "migsync/strbuf.h"
#include "migsync/tunnel.h"

/* Feeds bytes to a line callback, one complete line at a time. */
struct exec_lines {
	struct strbuf partial;
	void (*output)(const char *line, void *ctx);
	void *output_ctx;
	struct strbuf *capture;		/* everything, may be NULL */
};

void exec_lines_feed(struct exec_lines *l, const char *buf, size_t len);
/* Flush an unterminated last line and release. */
void exec_lines_finish(struct exec_lines *l);

/* What a child's stdin gets, written as it can take it. */
struct exec_input {
	struct strbuf buf;
	size_t off;			/* written so far */
	bool close;			/* close stdin once buf is written */
};

/*
 * Run command on the SSH server of cfg (session opened and checked as
 * for a tunnel: strict known_hosts, then key or agent), with in written
 * to its stdin (lines' handler may add to in while it runs): see
 * ssh_exec.c. Output (stdout and stderr) goes to lines. *cancel (may be
 * NULL) stops the command by closing its stdin. *exit_status is the
 * remote exit status (-1 when it died of a signal or is unknown).
 */
int ssh_exec_run(const struct tunnel_config *cfg, const char *command,
		 struct exec_input *in, struct exec_lines *lines,
		 volatile sig_atomic_t *cancel, int *exit_status, struct ms_error *err);

/* The Alembic child (alembic_env.c, alembic_driver.py). */

/* alembic_driver.py, embedded by meson (embed_text.py). */
extern const char exec_alembic_driver[];
/*
 * DATABASE_URL for a run (caller frees and wipes). Locally from the live
 * connection (PQconninfo on c->conn: what libpq really used, so through
 * an SSH tunnel hostaddr=127.0.0.1 and the tunnel's local port, with
 * host= the real name for TLS checks). Remotely, and without a
 * connection, from the target's conninfo: the database as the SSH host
 * sees it.
 */
int exec_alembic_url(char **out, const struct exec_context *c, bool remote,
		     struct ms_error *err);
/*
 * The child's environment, appended to env as NAME=VALUE: PATH, HOME,
 * USER, LOGNAME, SHELL, LANG, LANGUAGE, LC_*, TZ, TMPDIR, TERM, PYTHON*,
 * VIRTUAL_ENV, CONDA_PREFIX, SSL_CERT_FILE, SSL_CERT_DIR as migsync has
 * them, the variable c's environment names as its password_env,
 * DATABASE_URL=url and MIGSYNC_ENVIRONMENT. Nothing else: the other
 * environments' secrets stay in migsync.
 */
void exec_alembic_env(struct strvec *env, const struct exec_context *c, const char *url);
/*
 * For a run over SSH: the variables of migrations.pass_env that are set
 * here, each as a line appended to in (the child's stdin, after
 * DATABASE_URL's; never its command line), and the shell words that read
 * them appended to reads. A value with a line break is left out.
 */
void exec_alembic_remote_env(struct strbuf *reads, struct strbuf *in, const struct exec_context *c);
/* Wipe (secrets) and release what exec_alembic_env made. */
void exec_alembic_env_wipe(struct strvec *env);

/*
 * Queries of the native SQL executor (exec_query.c): sent with
 * PQsendQuery and waited for in short polls, so that a cancel request
 * (*c->cancel, set from a signal handler) reaches the server within
 * about EXEC_POLL_MS.
 */

/* Run a control or bookkeeping query that must succeed; err says what failed. */
int exec_query_simple(PGconn *conn, const char *q, const char *what, struct ms_error *err);
/* After a failure: roll back if a transaction is open, ignoring errors. */
void exec_rollback(PGconn *conn);
/* libpq notice processor (arg: the exec_context): notices to c->output. */
void exec_notice_forward(void *arg, const char *message);
/*
 * The statements of s in turn; err: `revision "R" (FILE, line N): ...`
 * with N the line of the server's error position. prefix (ASCII, may be
 * NULL) goes with the first statement in one simple query, e.g. "BEGIN;".
 */
int exec_run_statements(const struct exec_context *c, const struct script *s,
			const char *prefix, const struct sql_statement *st, size_t nr,
			struct ms_error *err);

/* The version table's changes and the bookkeeping of a step (version_rows.c). */

/* One version table statement that must touch exactly one row. */
enum exec_row_sql { EXEC_SQL_INSERT, EXEC_SQL_UPDATE, EXEC_SQL_DELETE };

struct exec_row_op {
	enum exec_row_sql what;
	const char *a, *b;		/* the row; for an UPDATE, a -> b */
};

/*
 * The row ops of step, as Alembic's HeadMaintainer makes them; *out
 * (caller frees) points into step.
 */
int exec_row_ops(struct exec_row_op **out, size_t *nr, const struct revgraph_step *step,
		 struct ms_error *err);
/* One row op on the version table name (quoted), now. */
int exec_row_change(const struct exec_context *c, const char *name,
		    const struct exec_row_op *op, struct ms_error *err);
/* The row ops of step, one statement at a time. */
int exec_row_apply(const struct exec_context *c, const char *name,
		   const struct revgraph_step *step, struct ms_error *err);
/* The row ops and the ledger row e in one pipelined round trip, in the caller's transaction. */
int exec_bookkeeping(const struct exec_context *c, const char *name,
		     const struct exec_row_op *ops, size_t nr, struct ledger_entry *e,
		     struct ms_error *err);
/*
 * rows joined by " " as the ledger's rows_after holds them: "" when empty
 * (plan_rows_text would write "(none)"). Caller frees.
 */
char *exec_rows_join(const struct strvec *rows);
/* The version rows now, space separated (NULL when unreadable). */
char *exec_rows_now(const struct exec_context *c);
/* What the rows will be after step (sorted, appended to after), from rows before it. */
void exec_rows_expected(struct strvec *after, const struct strvec *before,
			const struct revgraph_step *step);

/* Shared by the step and the stamp (sql_exec.c). */
const char *exec_ledger_schema(const struct exec_context *c);
/* Fill e (initialised here) for one row written by the native SQL executor. */
void exec_entry_fill(struct ledger_entry *e, const struct exec_context *c,
		     const char *revision, bool up, const char *sha256, bool transactional);

#endif
