#ifndef MIGSYNC_OBSERVE_H
#define MIGSYNC_OBSERVE_H

/*
 * Observing databases: one parallel read per target, on the worker pool,
 * each on a connection of its own (src/db/conn.c), into one struct
 * observation per target. What is read is chosen with flags:
 *
 *   OBSERVE_STATE   the probe (probe.h): server version, version rows,
 *                   whether the ledger is there; two round trips
 *   OBSERVE_LEDGER  with STATE, on the same connection: the ledger's
 *                   entries, when there is a version table and a ledger
 *   OBSERVE_SCHEMA  a schema snapshot (drift_read), on a db_connect()
 *                   connection; messages worded as db_connect's
 *
 * Commands map observations to their reports; none of them talks to a
 * database itself.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "migsync/drift.h"
#include "migsync/error.h"
#include "migsync/ledger.h"
#include "migsync/probe.h"
#include "migsync/strbuf.h"
#include "migsync/target.h"

#define OBSERVE_STATE (1u << 0)
#define OBSERVE_LEDGER (1u << 1)
#define OBSERVE_SCHEMA (1u << 2)

struct observation {
	enum probe_state state;		/* OBSERVE_STATE */
	bool version_table_exists;
	struct strvec version_rows;	/* sorted; several = several heads */
	int server_version;		/* 0 when unknown */
	bool ledger_exists;		/* the ledger's applied table is there */
	struct ledger_entry *ledger;	/* OBSERVE_LEDGER: oldest first */
	size_t ledger_nr;
	char *ledger_error;		/* OBSERVE_LEDGER: the entries could not be read; names the target */
	struct schema_snapshot *schema;	/* OBSERVE_SCHEMA; NULL when it could not be read */
	/*
	 * Why the database could not be observed; scrubbed. STATE: `target
	 * "LABEL": ...`, set for PROBE_UNREACHABLE and PROBE_ERROR. SCHEMA:
	 * `environment "ENV": ...`, as db_connect words it.
	 */
	struct ms_error error;
	int64_t elapsed_ms;
};

void observation_init(struct observation *o);
void observation_release(struct observation *o);

/* Called in the thread that called observe_run(), once per target, as each completes. */
typedef void (*observe_done_fn)(size_t index, struct observation *obs, void *ctx);

struct observe_options {
	unsigned what;			/* OBSERVE_* flags */
	unsigned jobs;			/* worker threads; 0: min(16, targets) */
	const struct strvec *schemas;	/* OBSERVE_SCHEMA: only these; NULL or empty: all */
	observe_done_fn done;		/* may be NULL */
	void *ctx;
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

#endif
