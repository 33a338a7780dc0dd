#ifndef MIGSYNC_OBSERVE_H
#define MIGSYNC_OBSERVE_H

/*
 * Observing databases: one parallel read per target, on the worker pool,
 * each on a connection of its own (src/db/conn.c), into one struct
 * observation per target, handed to a handler in the calling thread in
 * completion order, as in PostgreSQL's fe_utils/parallel_slot. What is
 * read is chosen with flags:
 *
 *   OBSERVE_STATE   the probe: server version, version rows, whether the
 *                   ledger is there, its steps left in progress; two round
 *                   trips, three with a ledger
 *   OBSERVE_LEDGER  with STATE, on the same connection: the ledger's
 *                   entries, when there is a version table and a ledger
 *   OBSERVE_SCHEMA  a schema snapshot (drift_read), on a db_connect()
 *                   connection; messages worded as db_connect's. With
 *                   OBSERVE_LEDGER and OBSERVE_APPROVALS (see
 *                   observe_options.also), on the same connection: the
 *                   ledger's entries and the environment's approvals
 *
 * Ask for STATE or SCHEMA in one call, not both: each has its own
 * connection and words its own error.
 *
 * observe_conn() reads through a connection the caller holds (the stage
 * runner, under its advisory lock): OBSERVE_IDENTITY, OBSERVE_ROWS,
 * OBSERVE_IN_PROGRESS, OBSERVE_APPROVALS.
 *
 * Commands map observations to their reports; none of them talks to a
 * database itself.
 *
 * Secrets: the connection string, PGPASSWORD and SSH passphrases never
 * appear in an observation. Every message is passed through conn_redact()
 * or the target's secrets, and the connection string itself is never
 * printed.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "migsync/conn.h"
#include "migsync/drift.h"
#include "migsync/error.h"
#include "migsync/ledger.h"
#include "migsync/strbuf.h"
#include "migsync/target.h"
#include "migsync/tunnel.h"
#include "migsync/util.h"

#define OBSERVE_STATE (1u << 0)
#define OBSERVE_LEDGER (1u << 1)
#define OBSERVE_SCHEMA (1u << 2)
#define OBSERVE_IDENTITY (1u << 3)	/* observe_conn: db_identity() */
#define OBSERVE_ROWS (1u << 4)		/* observe_conn: the version rows */
#define OBSERVE_IN_PROGRESS (1u << 5)	/* observe_conn: the ledger's in-progress rows */
#define OBSERVE_APPROVALS (1u << 6)	/* the environment's approvals, when there is a ledger */

#define OBSERVE_DEFAULT_CONNECT_TIMEOUT_S 10
#define OBSERVE_DEFAULT_STATEMENT_TIMEOUT_MS 30000
#define OBSERVE_DEFAULT_LEDGER_SCHEMA "migsync"

enum observe_state {
	OBSERVE_OK,		/* version table read (it may be empty) */
	OBSERVE_UNINITIALIZED,	/* reachable, but no version table or schema */
	OBSERVE_UNREACHABLE,	/* no server answered in time (tunnel included) */
	OBSERVE_ERROR,		/* answered, but failed: auth, permissions, host key, ... */
	OBSERVE_MISSING,	/* answered: the database does not exist (error says so) */
};

struct observation {
	enum observe_state state;	/* OBSERVE_STATE */
	struct strvec version_rows;	/* version_num values, sorted; several = several heads */
	bool version_table_exists;
	int server_version;		/* PQserverVersion(), 0 when unknown */

	/* migsync's ledger: whether it is there, and its entries with OBSERVE_LEDGER */
	bool ledger_schema_exists;
	bool ledger_applied_exists;
	struct ledger_entry *ledger;	/* oldest first */
	size_t ledger_nr;
	/*
	 * The entries could not be read (state stays OK). observe_run()
	 * names the target (`environment "ENV": could not read the ledger:
	 * ...`); observe_probe_one() leaves the message as the ledger gave it.
	 */
	struct ms_error ledger_error;
	/*
	 * Rows a `transaction false` step left in progress, oldest first:
	 * read by OBSERVE_STATE whenever there is a ledger (one more round
	 * trip; a failure goes to ledger_error) and by observe_conn's
	 * OBSERVE_IN_PROGRESS
	 */
	struct ledger_entry *in_progress;
	size_t in_progress_nr;
	/* OBSERVE_APPROVALS: the environment's approvals, oldest first, when there is a ledger */
	struct approval *approvals;
	size_t approvals_nr;
	char *identity;			/* OBSERVE_IDENTITY: db_identity(); NULL when not read */

	struct schema_snapshot *schema;	/* OBSERVE_SCHEMA; NULL when it could not be read */
	/*
	 * Why the database could not be observed; scrubbed. STATE: `target
	 * "LABEL": ...`, set for OBSERVE_UNREACHABLE, OBSERVE_ERROR and
	 * OBSERVE_MISSING.
	 * SCHEMA: `environment "ENV": ...`, as db_connect words it; the
	 * ledger and the approvals read with it fail the same way (and
	 * the snapshot is then dropped).
	 */
	struct ms_error error;
	int64_t elapsed_ms;
};

void observation_init(struct observation *o);
void observation_release(struct observation *o);
/* Move src into dst (dst released first); src is left initialized. */
void observation_move(struct observation *dst, struct observation *src);
const char *observe_state_name(enum observe_state state);

/* Called in the thread that called observe_run(), once per target, as each completes. */
typedef void (*observe_done_fn)(size_t index, struct observation *obs, void *ctx);

struct observe_options {
	unsigned what;			/* OBSERVE_* flags */
	unsigned jobs;			/* worker threads; 0: min(16, targets) */
	const struct strvec *schemas;	/* OBSERVE_SCHEMA: only these; NULL or empty: all */
	observe_done_fn done;		/* may be NULL */
	void *ctx;
	/*
	 * NULL, or per target: flags added to what for that target alone
	 * (consolidate reads the approvals from an environment's first
	 * database only).
	 */
	const unsigned *also;
};

/*
 * Observe targets[0..nr) (a NULL entry is skipped: its observation stays
 * as initialized). out must hold nr initialized observations; out[i]
 * belongs to targets[i]. A database that cannot be reached is never an
 * error here: it is in its observation. Returns 0, or a negative code
 * with err set when the reads could not be run at all.
 */
int observe_run(struct observation *out, const struct db_target *const *targets, size_t nr,
		const struct observe_options *o, struct ms_error *err);

/*
 * Read through conn, which the caller holds (and keeps), what `what`
 * asks (OBSERVE_IDENTITY, OBSERVE_ROWS, OBSERVE_IN_PROGRESS,
 * OBSERVE_APPROVALS), in that order, stopping at the first error: one
 * round trip each, and one to look for the ledger before the last two
 * (which read nothing without it; out->ledger_applied_exists says
 * whether it is there). out must be initialized; it is released first,
 * and keeps what was read before an error. Messages: db_identity's and
 * the ledger's as they are, the version rows' named after t. Returns 0
 * or a negative code with err set.
 */
int observe_conn(struct observation *out, PGconn *conn, const struct db_target *t,
		 unsigned what, struct ms_error *err);

/*
 * The probe under OBSERVE_STATE, for plain connection parameters (the
 * integration tests' driver): a libpq connection string (keyword=value or
 * URI), where the version table lives, timeouts and optionally an SSH
 * tunnel. All strings are borrowed: they must outlive the probe. NULL or
 * 0 fields take the defaults above.
 */
struct observe_probe {
	const char *name;		/* label used in messages, e.g. "prod" */
	/*
	 * The subject of its messages (ms_error_subject: `environment "prod"
	 * (t1)`); NULL: `target "NAME"`, for a probe outside an inventory.
	 */
	const char *subject;
	const char *conninfo;		/* libpq string or URI; may hold secrets, never printed */
	const char *version_table;	/* default "alembic_version" */
	const char *version_schema;	/* NULL: the first match on the search_path, as Alembic */
	const char *ledger_schema;	/* default "migsync" */
	const char *target_schema;	/* a tenant schema: set as migsync.target_schema (its ledger rows) */
	int connect_timeout_s;		/* whole connection, tunnel included */
	int statement_timeout_ms;	/* set on the session, also bounds each query client side */
	bool ledger_entries;		/* also read the ledger's entries (only when there is a version table) */
	const struct tunnel_config *ssh;	/* NULL: connect directly */
};

/*
 * Probe one target in the calling thread. Never fails as a function:
 * everything that goes wrong is in out->state and out->error.
 * out must be initialized; it is released first.
 * conn_global_init() must have been called (observe_probe_run() does it).
 */
void observe_probe_one(struct observation *out, const struct observe_probe *target);

/*
 * Called in the thread that called observe_probe_run(), once per target,
 * as each probe completes. The handler may take the observation's
 * contents with observation_move(); otherwise they stay in the array.
 */
typedef void (*observe_probe_fn)(size_t index, const struct observe_probe *target,
				 struct observation *result, void *ctx);

/*
 * Probe targets[0..nr) with jobs worker threads (0: min(16, nr)).
 * results must hold nr initialized entries; results[i] belongs to
 * targets[i]. handler may be NULL. Returns 0, or a negative code when the
 * probes could not be run at all (not when a probe failed).
 */
int observe_probe_run(struct observation *results, const struct observe_probe *targets,
		      size_t nr, unsigned jobs, observe_probe_fn handler, void *ctx,
		      struct ms_error *err);

#endif
