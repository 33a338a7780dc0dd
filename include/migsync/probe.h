#ifndef MIGSYNC_PROBE_H
#define MIGSYNC_PROBE_H

/*
 * Asking databases for their state, in parallel.
 *
 * A probe target is plain connection parameters: a libpq connection string
 * (keyword=value or URI), where the version table lives, timeouts and
 * optionally an SSH tunnel. probe_run() hands the targets to a pool of
 * worker threads; each task opens its own libpq connection (and tunnel),
 * reads what it needs and closes everything before the next task. Results
 * are handed to a handler in the calling thread, in completion order, as in
 * PostgreSQL's fe_utils/parallel_slot.
 *
 * Secrets: the connection string, PGPASSWORD and SSH passphrases never
 * appear in a result. Every message a probe produces is passed through
 * conn_redact() and the connection string itself is never printed.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "migsync/conn.h"
#include "migsync/error.h"
#include "migsync/ledger.h"
#include "migsync/strbuf.h"
#include "migsync/tunnel.h"
#include "migsync/util.h"

#define PROBE_DEFAULT_CONNECT_TIMEOUT_S 10
#define PROBE_DEFAULT_STATEMENT_TIMEOUT_MS 30000
#define PROBE_DEFAULT_LEDGER_SCHEMA "migsync"
#define PROBE_APPLICATION_NAME "migsync"

/*
 * One database to probe. All strings are borrowed: they must outlive the
 * probe. NULL or 0 fields take the defaults above.
 */
struct probe_target {
	const char *name;		/* label used in messages, e.g. "prod" */
	const char *conninfo;		/* libpq string or URI; may hold secrets, never printed */
	const char *version_table;	/* default "alembic_version" */
	const char *version_schema;	/* NULL: the first match on the search_path, as Alembic */
	const char *ledger_schema;	/* default "migsync" */
	int connect_timeout_s;		/* whole connection, tunnel included */
	int statement_timeout_ms;	/* set on the session, also bounds each query client side */
	bool ledger_entries;		/* also read the ledger's entries (only when there is a version table) */
	const struct tunnel_config *ssh;	/* NULL: connect directly */
};

enum probe_state {
	PROBE_OK,		/* version table read (it may be empty) */
	PROBE_UNINITIALIZED,	/* reachable, but no version table or schema */
	PROBE_UNREACHABLE,	/* no server answered in time (tunnel included) */
	PROBE_ERROR,		/* answered, but failed: auth, permissions, host key, ... */
};

struct probe_result {
	enum probe_state state;
	struct strvec version_rows;	/* version_num values, sorted; several = several heads */
	bool version_table_exists;
	int server_version;		/* PQserverVersion(), 0 when unknown */

	/* migsync's ledger: whether it is there, and its entries when asked */
	bool ledger_schema_exists;
	bool ledger_applied_exists;
	struct ledger_entry *ledger;	/* oldest first; with target->ledger_entries */
	size_t ledger_nr;
	struct ms_error ledger_error;	/* the entries could not be read (state stays OK); not prefixed */

	struct ms_error error;		/* set for UNREACHABLE and ERROR; redacted */
	int64_t elapsed_ms;
};

void probe_result_init(struct probe_result *res);
void probe_result_release(struct probe_result *res);
/* Move src into dst (dst released first); src is left initialized. */
void probe_result_move(struct probe_result *dst, struct probe_result *src);
const char *probe_state_name(enum probe_state state);

/*
 * Probe one target in the calling thread. Never fails as a function:
 * everything that goes wrong is in out->state and out->error.
 * out must be initialized; it is released first.
 * conn_global_init() must have been called (probe_run() does it).
 */
void probe_one(struct probe_result *out, const struct probe_target *target);

/*
 * Called in the thread that called probe_run(), once per target, as each
 * probe completes. The handler may take the result's contents with
 * probe_result_move(); otherwise they stay in the results array.
 */
typedef void (*probe_result_fn)(size_t index, const struct probe_target *target,
				struct probe_result *result, void *ctx);

/*
 * Probe targets[0..nr) with jobs worker threads (0: min(16, nr)).
 * results must hold nr initialized entries; results[i] belongs to
 * targets[i]. handler may be NULL. Returns 0, or a negative code when the
 * probes could not be run at all (not when a probe failed).
 */
int probe_run(struct probe_result *results, const struct probe_target *targets,
	      size_t nr, unsigned jobs, probe_result_fn handler, void *ctx,
	      struct ms_error *err);

#endif
