#ifndef MIGSYNC_REPORT_H
#define MIGSYNC_REPORT_H

/*
 * `migsync report merge`: the JSON documents of the shards of one
 * sharded `migsync check` (--shard K/N, or a Kubernetes Indexed Job)
 * read back into the values one unsharded check judges: the status
 * report, the schemas compared for drift, the ledgers' answers and the
 * lint. The caller judges them (nightly_judge) and renders them with the
 * renderers of check, so the merged report is the one an unsharded run
 * prints.
 *
 * What each shard read of its own databases is taken from that shard;
 * what every shard reads alike (the graph, the target, the lint of the
 * scripts, the environments) must be equal in all of them, or the merge
 * refuses: the shards checked out different revisions. Safety findings
 * are the exception: a shard lists those of revisions its own databases
 * still need, so they are joined.
 *
 * The documents are parsed with Jansson; nothing here prints.
 */

#include <stdbool.h>
#include <stddef.h>

#include "migsync/drift.h"
#include "migsync/error.h"
#include "migsync/lint.h"
#include "migsync/plan.h"
#include "migsync/revgraph.h"
#include "migsync/scripts.h"
#include "migsync/status.h"

/* One database of the merged report, besides its status (in status.envs[e].targets[k]). */
struct report_target {
	char *address;		/* "user@host:port/dbname", never a password; NULL when unknown */
	char *dbname;		/* NULL when libpq chose it */
	char *schema;		/* a tenant schema, or NULL for the whole database */
	long position;		/* its place in the environment; -1: discovered (sorted by name) */
	char *ledger_error;	/* the ledger could not be read for checksums, or NULL */
	struct checksum_mismatch *mismatches;
	size_t mismatches_nr;
	const char *file;	/* the document it came from (borrowed from the caller's list) */
};

/* One environment: envs[e] goes with status.envs[e]. */
struct report_env {
	int approvals;		/* the stage's gate, as the inventory sets it */
	int risky_approvals;
	struct report_target *targets;	/* targets[k] is status.envs[e].targets[k] */
	size_t targets_nr;
};

struct report_merge {
	char *project;		/* the inventory's project name, or NULL */
	char *version;		/* the migsync that wrote the shards */
	unsigned count;		/* how many shards were merged */
	bool fail_on_pending;
	struct script_set scripts;	/* the graph's revisions, as the shards listed them */
	struct revgraph *g;
	struct status_goal goal;
	char *graph_error;	/* as in each shard: the graph could not be built */
	struct status_report status;	/* finished (status_report_finish) */
	struct report_env *envs;	/* envs_nr, as status.envs until the caller takes those */
	size_t envs_nr;
	/*
	 * The schemas compared again over every database (finished);
	 * drift_target_env[i] and drift_target_db[i] say whose drift.targets[i]
	 * is (drift_target_db SIZE_MAX: an environment that could not be expanded).
	 */
	struct drift_report drift;
	size_t *drift_target_env;
	size_t *drift_target_db;
	struct lint_report lint;
};

void report_merge_init(struct report_merge *m);
void report_merge_release(struct report_merge *m);

/*
 * Read the check documents files[0..nr) (each the --format json output
 * of one shard, in any order) and merge them into *out (released
 * first). Returns 0, or a negative code with err set and *out released:
 * MS_ERR_IO (a file that cannot be read), MS_ERR_PARSE (not JSON:
 * FILE:LINE:COLUMN; or not a check document of a shard), MS_ERR_CONFIG
 * (shards of different runs: counts, projects, revisions; a shard twice;
 * a database in two shards; shards missing, by index), MS_ERR_GRAPH (the
 * shards' revisions do not make a graph).
 */
int report_merge_files(struct report_merge *out, const char *const *files, size_t nr,
		       struct ms_error *err);

#endif
