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
 *  - Alembic (exec_alembic_run): the project's own Alembic, given the
 *    exact revision ids of the plan, after checking that it sees the
 *    files the plan was made from; DATABASE_URL set, locally or on the
 *    environment's SSH host (ssh.run: true, in ssh.workdir); output
 *    streamed, one ledger row per revision (executor.c, alembic_steps.c).
 *
 * The caller holds the advisory lock (ledger_lock) around all of it.
 *
 * The stage runner (apply_db_run) reaches them only through struct
 * executor: one per database and run, chosen by migrations.executor
 * (src/apply/executor.c), or a fake in the unit tests.
 */

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

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
	/*
	 * A run's progress (Alembic): step i of the plan_db started (done
	 * false) or finished after elapsed_ms; set by the caller, with
	 * output_ctx; may be NULL.
	 */
	void (*progress)(size_t step, bool done, int64_t elapsed_ms, void *ctx);
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
 * One run of Alembic (exec_alembic_run): exact revision ids, one call
 * each, in one interpreter, and who listens.
 */
struct exec_alembic_job {
	const char *command;		/* "upgrade" or "downgrade" */
	const struct strvec *revs;	/* exact ids ("base" for a downgrade to nothing) */
	const struct revgraph *g;	/* its scripts: the files Alembic must see */
	/*
	 * Each line of Alembic's output, secrets scrubbed (the driver's own
	 * lines are not passed on); a negative return stops the run at once
	 * with err. May be NULL.
	 */
	int (*line)(const char *line, void *ctx, struct ms_error *err);
	/*
	 * Call k (0-based) returned; Alembic waits meanwhile. 0 to go on, a
	 * negative code (err set) to stop. May be NULL.
	 */
	int (*call_done)(size_t k, void *ctx, struct ms_error *err);
	void *ctx;

	/* Filled by the run. */
	struct strbuf output;		/* all of Alembic's output, scrubbed */
	char *failure;			/* the exception's own line when a call failed, or NULL */
	size_t calls;			/* calls that returned */
};

void exec_alembic_job_init(struct exec_alembic_job *job);
void exec_alembic_job_release(struct exec_alembic_job *job);

/*
 * Run Alembic: the project's interpreter (inv->migrations.python, default
 * /usr/bin/python3) runs migsync's driver, which uses the project's
 * Alembic as `alembic -c INI -x env=NAME COMMAND REV` does, once per
 * job->revs item, in the ini's directory. Needs c->inv and c->target.
 *
 * Before any call, the revision files Alembic sees (its script directory
 * and version_locations as the ini says) must be the scripts of job->g,
 * by resolved path and SHA-256; otherwise nothing runs and the error
 * (MS_ERR_CONFIG) lists each difference.
 *
 * The child's environment is only what Python needs, the variable named
 * by the environment's password_env, MIGSYNC_ENVIRONMENT and
 * DATABASE_URL (postgresql://USER:PASSWORD@HOST:PORT/DBNAME?hostaddr=
 * ..&sslmode=.., parts percent-encoded), never printed nor on a command
 * line. Locally the URL is built from c->conn's own parameters
 * (PQconninfo): pass the connection db_connect made, and keep its tunnel
 * open during the run. Without c->conn, and in remote mode, from
 * c->target->conninfo.
 *
 * Remote mode (env->ssh.enabled && env->ssh.run): the same driver runs
 * over an SSH exec channel (host key checked strictly against
 * known_hosts before authentication, as for tunnels) in ssh.workdir,
 * with `-c BASENAME` of alembic_ini; DATABASE_URL as the database is
 * seen from the SSH host, sent as the first line of the channel's stdin.
 *
 * *c->cancel sends SIGTERM to the child's process group (SIGKILL 10 s
 * later; remotely: the channel's stdin is closed, which ends the driver)
 * and fails with "cancelled". A failed call is MS_ERR_GENERIC: `alembic
 * upgrade REV: EXCEPTION LINE` (job->failure), Alembic's traceback in
 * job->output.
 */
int exec_alembic_run(const struct exec_context *c, struct exec_alembic_job *job,
		     struct ms_error *err);

#endif
