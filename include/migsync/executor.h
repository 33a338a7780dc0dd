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
 *    `PYTHON -m alembic -c INI upgrade|downgrade TARGET -x env=NAME` with
 *    DATABASE_URL set, locally or on the environment's SSH host
 *    (ssh.run: true, in ssh.workdir); output streamed and captured.
 *
 * The caller holds the advisory lock (ledger_lock) around all of it.
 */

#include <signal.h>
#include <stdbool.h>

#include <libpq-fe.h>

#include "migsync/error.h"
#include "migsync/inventory.h"
#include "migsync/revgraph.h"
#include "migsync/scripts.h"
#include "migsync/strbuf.h"
#include "migsync/target.h"

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
};

/*
 * Read the version rows (sorted). A missing table is not an error: *exists
 * is set false and out stays empty.
 */
int version_rows_read(struct strvec *out, bool *exists, PGconn *conn,
		      const char *table, const char *schema, struct ms_error *err);

/* Create the version table as Alembic does, if missing: version_num varchar(32) primary key. */
int version_table_ensure(PGconn *conn, const char *table, const char *schema,
			 struct ms_error *err);

/*
 * Apply one native SQL step (up or down) of script. On failure the
 * database is left at the step's starting rows (transactional) and the
 * ledger holds a "failed" row with the database error; err names the
 * revision file and the statement's line.
 */
int exec_sql_step(const struct exec_context *c, const struct revgraph_step *step,
		  const struct script *script, struct ms_error *err);

/*
 * Change only the version table (stamp): rows_removed -> rows_added under
 * the caller's lock, recorded in the ledger as LEDGER_STAMPED.
 */
int exec_stamp(const struct exec_context *c, const struct strvec *from,
	       const struct strvec *to, struct ms_error *err);

/*
 * Run Alembic for a target ("upgrade" or "downgrade", target revision).
 * output receives everything Alembic printed.
 */
int exec_alembic_run(const struct exec_context *c, const char *command,
		     const char *target_rev, struct strbuf *output, struct ms_error *err);

#endif
