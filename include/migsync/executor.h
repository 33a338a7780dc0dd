#ifndef MIGSYNC_EXECUTOR_H
#define MIGSYNC_EXECUTOR_H

/*
 * Executors: what applies one planned step to one database.
 *
 *  - native SQL (exec_sql_step): the revision's statements, its version
 *    table change and its ledger row commit in ONE transaction. A revision
 *    with `-- migsync:transaction false` runs statement by statement in
 *    autocommit, recorded in the ledger as in progress before it starts
 *    and finished after, so a crash is visible to the next run.
 *  - Alembic (exec_alembic_run): the project's own Alembic,
 *    `PYTHON -m alembic -c INI -x env=NAME upgrade|downgrade TARGET` with
 *    DATABASE_URL set, locally or on the environment's SSH host
 *    (ssh.run: true, in ssh.workdir); output streamed and captured.
 *
 * The caller holds the advisory lock (ledger_lock) around all of it.
 *
 * The stage runner (apply_db_run) reaches them only through struct
 * executor: one per database and run, chosen by migrations.executor
 * (src/apply/executor.c), or a fake in the unit tests.
 */

#include <signal.h>
#include <stdbool.h>

#include <libpq-fe.h>

#include "migsync/db.h"
#include "migsync/error.h"
#include "migsync/inventory.h"
#include "migsync/plan.h"
#include "migsync/revgraph.h"
#include "migsync/scripts.h"
#include "migsync/strbuf.h"
#include "migsync/target.h"

struct executor;

/* What an executor does to the one database it was opened on. */
struct executor_ops {
	const char *name;		/* "sql", "alembic", ... */
	/*
	 * Whether this executor can run step s at all (a native SQL
	 * revision, a down section for a downgrade), asked before the step
	 * is announced; NULL: always. 0 or a negative code with err set.
	 */
	int (*check_step)(struct executor *x, const struct plan_step *s, struct ms_error *err);
	/*
	 * Apply one step and record it in the ledger. NULL for an executor
	 * that moves a database as a whole (run).
	 */
	int (*step)(struct executor *x, const struct plan_step *s, struct ms_error *err);
	/*
	 * Apply every step of db at once (Alembic, to the target by exact
	 * revision id) and record what moved. NULL when step is set.
	 */
	int (*run)(struct executor *x, const struct plan_db *db, struct ms_error *err);
	/* The version rows now, sorted, appended to rows. */
	int (*read_rows)(struct executor *x, struct strvec *rows, struct ms_error *err);
	/* Change only the version rows, from -> to, as a compare-and-swap (exec_stamp). */
	int (*stamp)(struct executor *x, const struct strvec *from, const struct strvec *to,
		     struct ms_error *err);
};

struct executor {
	const struct executor_ops *ops;
	void *impl;			/* the executor's own state */
	/* Streamed output (Alembic, notices), set by the caller; may be NULL. */
	void (*output)(const char *line, void *ctx);
	void *output_ctx;
};

struct exec_context {
	PGconn *conn;
	const struct db_target *target;
	const struct inventory *inv;
	const char *ledger_schema;	/* NULL: LEDGER_DEFAULT_SCHEMA */
	const char *version_table;	/* NULL: "alembic_version" */
	const char *version_schema;	/* NULL: search_path */
	const char *plan_hash;
	const char *who;
	const char *host;
	/* Set (from a signal handler) to ask a running step to stop: the executor cancels the statement. */
	volatile sig_atomic_t *cancel;
	/* Streamed executor output (Alembic), line by line; may be NULL. */
	void (*output)(const char *line, void *ctx);
	void *output_ctx;
	/*
	 * What the native SQL executor may carry from one step to the next
	 * on this connection (see struct exec_session); NULL: each step
	 * checks the ledger and reads the version table itself.
	 */
	struct exec_session *session;
};

/*
 * The state exec_sql_step keeps between the steps of one run on one
 * connection, under the lock: the ledger was checked (ledger_ensure),
 * whether the version table exists, and the version rows as the steps
 * left them. It is filled by the first step (exec_session_prepare) and
 * kept up to date by every step that commits; a failed step marks it
 * for a fresh read. Each UPDATE and DELETE of the version table must
 * still touch exactly one row, so a change by anyone else fails the
 * step; the caller reads the rows once at the end and compares them with
 * the plan's end rows.
 */
struct exec_session {
	bool ready;			/* false: read again before the next step */
	bool version_table;		/* exists (else the next step creates it) */
	struct strvec rows;		/* version rows now, sorted */
};

void exec_session_init(struct exec_session *s);
void exec_session_release(struct exec_session *s);
/* ledger_ensure, then the version rows; c->conn must be idle. */
int exec_session_prepare(struct exec_session *s, const struct exec_context *c,
			 struct ms_error *err);

/*
 * Create the version table as Alembic does, if missing, with Alembic's
 * exact DDL: CREATE TABLE alembic_version (version_num VARCHAR(32) NOT
 * NULL, CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)).
 * Runs in the caller's transaction, if any.
 */
int version_table_ensure(PGconn *conn, const char *table, const char *schema,
			 struct ms_error *err);

/*
 * Apply one native SQL step (up or down) of script, read with
 * SCRIPTS_KEEP_SQL (and SCRIPTS_SHA256 for the ledger). c->conn must be
 * idle (no open transaction); ledger_ensure is run first (once per
 * c->session).
 *
 * Transactional (the default): BEGIN; create the version table if
 * missing; every statement of the section; the step's row change exactly
 * as Alembic's HeadMaintainer makes it (a merge deletes all but the last
 * of rows_removed and updates that one; an unmerge updates the row to the
 * last of rows_added and inserts the others), each UPDATE and DELETE
 * required to touch one row; the ledger row (LEDGER_APPLIED, rows after);
 * COMMIT. On failure: ROLLBACK, then a LEDGER_FAILED row in its own
 * transaction; the database stays at the step's starting rows. Round
 * trips: BEGIN goes with the first statement (one simple query; the
 * error position is taken back to the statement), the row change and
 * the ledger row go together in libpq pipeline mode, then COMMIT: three
 * for a one-statement revision once the session is ready.
 *
 * `transaction false`: a LEDGER_IN_PROGRESS row (rows_after: the rows
 * expected after the step) is inserted in autocommit, then the statements
 * run one by one in autocommit, then the row change and
 * ledger_finish(LEDGER_APPLIED) commit in one transaction. On failure
 * ledger_finish(LEDGER_FAILED); statements that ran stay applied. If the
 * process dies, the row stays in progress for the next run to see.
 *
 * err reads `revision "REV" (PATH, line N): MESSAGE (DETAIL)` with the
 * server's hint as hint, N the file line of the failing statement (of the
 * error position when the server reports one). *c->cancel cancels the
 * running statement (PQcancel, noticed within ~50 ms) and fails the step
 * with "cancelled". Server notices go to c->output (not stderr) while
 * the step runs; afterwards the connection's notice processor is restored
 * with a NULL argument (libpq cannot tell the old one).
 */
int exec_sql_step(const struct exec_context *c, const struct revgraph_step *step,
		  const struct script *script, struct ms_error *err);

/*
 * Change only the version table (stamp): from -> to, compare-and-swap in
 * one transaction: the table is locked (EXCLUSIVE) and its rows must be
 * exactly from (in any order; empty: none or no table), else MS_ERR_DB
 * and nothing changes. Recorded in the ledger as LEDGER_STAMPED with
 * revision = the rows of to joined by spaces ("base" when empty),
 * executor "sql", no sha256.
 */
int exec_stamp(const struct exec_context *c, const struct strvec *from,
	       const struct strvec *to, struct ms_error *err);

/*
 * Run Alembic for a target ("upgrade" or "downgrade", target revision):
 * `PYTHON -m alembic -c INI -x env=NAME COMMAND REV` (-x must precede
 * the subcommand for Alembic's parser), PYTHON = inv->migrations.python
 * (default /usr/bin/python3), INI = inv->migrations.alembic_ini, in the
 * ini's directory, stdin from /dev/null. Needs c->inv and c->target.
 *
 * DATABASE_URL (postgresql://USER:PASSWORD@HOST:PORT/DBNAME?hostaddr=
 * ..&sslmode=..&application_name=..&options=..&connect_timeout=.., parts
 * percent-encoded) is set only in the child's environment, never printed
 * nor on a command line. Locally it is built from c->conn's own
 * parameters (PQconninfo): pass the connection db_connect made, and keep
 * its tunnel open during the run; through an SSH tunnel that is
 * hostaddr=127.0.0.1 and the tunnel's local port, with host= the real
 * name. Without c->conn, and in remote mode, from c->target->conninfo.
 *
 * Remote mode (env->ssh.enabled && env->ssh.run): the same command runs
 * over an SSH exec channel (host key checked strictly against
 * known_hosts before authentication, as for tunnels) in ssh.workdir,
 * with `-c BASENAME` of alembic_ini; DATABASE_URL as the database is
 * seen from the SSH host, sent as the first line of the channel's stdin
 * (read by the remote shell: not visible in ps there, and not dependent
 * on sshd's AcceptEnv).
 *
 * Output (stdout and stderr merged) goes line by line to c->output and
 * is appended to output (may be NULL). *c->cancel sends SIGTERM to the
 * child's process group (SIGKILL 10 s later; remotely: the channel's
 * stdin is closed and the remote shell terminates Alembic) and fails with
 * "cancelled". A non-zero exit is MS_ERR_GENERIC:
 * `alembic upgrade REV: exit status N: LAST OUTPUT LINE`.
 */
int exec_alembic_run(const struct exec_context *c, const char *command,
		     const char *target_rev, struct strbuf *output, struct ms_error *err);

#endif
