#ifndef MIGSYNC_CLI_STATUS_COLLECT_H
#define MIGSYNC_CLI_STATUS_COLLECT_H

/*
 * Gathering what `migsync status` reports, shared with `migsync check`:
 * load the inventory, the scripts and the graph, expand the selected
 * environments into their databases, observe them in parallel (the
 * ledger, for checksum mismatches, on the same connection), classify,
 * and find the rollout order violations.
 *
 * Also the pieces the commands that reach databases share: choosing
 * environments with -e, expanding them in parallel, -j, and scrubbing
 * secrets from what is printed.
 */

#include <stdbool.h>
#include <stddef.h>

#include "cli/cli.h"
#include "migsync/inventory.h"
#include "migsync/json.h"
#include "migsync/plan.h"
#include "migsync/status.h"
#include "migsync/strbuf.h"
#include "migsync/target.h"

/*
 * The environments names lists (every one when names is NULL or empty),
 * in rollout order. A name the inventory does not have is an error
 * (MS_ERR_NOTFOUND, the hint lists the environments). *out belongs to
 * the caller (free()); it borrows from inv.
 */
int cli_select_envs(const struct environment ***out, size_t *nr, const struct inventory *inv,
		    const struct strvec *names, struct ms_error *err);

/* An environment expanded to its databases; err set when it could not be. */
struct cli_expansion {
	const struct environment *e;
	struct db_target *targets;
	size_t nr;
	struct ms_error err;
};

/*
 * Expand envs (all in parallel, jobs at a time; 0: the default). An
 * environment that cannot be expanded (an unset password_env, a failed
 * discovery) gets its error instead of targets. Returns 0, or a negative
 * code when the pool could not run; *out (nr entries, in the order of
 * envs) belongs to the caller even then: free with cli_expansions_free.
 */
int cli_expand_envs(struct cli_expansion **out, const struct environment **envs, size_t nr,
		    unsigned jobs, struct ms_error *err);
void cli_expansions_free(struct cli_expansion *x, size_t nr);

/* Replace every secret of secrets (raw, and as JSON escapes it) in sb with "***". */
void cli_scrub(struct strbuf *sb, const struct strvec *secrets);

/* cli_print_error with secrets scrubbed. */
void cli_print_error_scrubbed(const struct ms_error *err, const struct strvec *secrets);

/* What a database's ledger says about files changed after they were applied. */
struct cli_checksums {
	struct checksum_mismatch *items;	/* sorted by revision */
	size_t nr;
	char *error;		/* the ledger could not be read (scrubbed), or NULL */
};

struct cli_status_options {
	const struct strvec *environments;	/* -e: only these; NULL or empty: all */
	const char *to;				/* --to; NULL: the heads */
	unsigned jobs;				/* -j; 0: min(16, databases) */
	bool checksums;				/* read the ledgers for checksum mismatches */
};

/* One database observed (private to status_collect.c but for its checksums). */
struct cli_status_job {
	size_t env;			/* index in report.envs */
	const struct db_target *t;	/* borrowed from its expansion */
	char *database;			/* what the report shows: never a password */
	struct cli_checksums checksums;
	/*
	 * Its place among all the targets of its environment, whichever
	 * shard runs: the index in targets.databases (0 for the
	 * environment's own database), -1 when discovered (they come
	 * sorted by name). A tenant schema: see position_of.
	 */
	long position;
};

struct cli_status {
	struct inventory *inv;
	const struct environment **envs;	/* the selected ones, in rollout order */
	size_t envs_nr;
	struct strvec script_dirs;		/* where the scripts were read */
	struct strvec import_path;		/* alembic.ini's prepend_sys_path, for lint */
	struct script_set scripts;		/* with SCRIPTS_SHA256 when opts->checksums */
	struct revgraph *g;			/* empty when graph_error is set */
	/*
	 * With keep_going, why the graph could not be built (NULL when it
	 * was): every database was then classified against an empty graph,
	 * so only reachability means anything, and no ledger was read.
	 */
	char *graph_error;
	/*
	 * Set by the caller after cli_status_init: go on past what
	 * would stop the report. A revision file that cannot be read becomes
	 * a reader error (MS040, printed with the warnings) and is left out;
	 * a graph that cannot be built sets graph_error.
	 */
	bool keep_going;
	struct status_goal goal;
	struct status_report report;		/* report.envs[i] is envs[i] */
	struct cli_expansion *exp;		/* exp[i] is envs[i] */
	size_t exp_nr;
	struct strvec secrets;			/* every password met: scrub them from all output */

	struct cli_status_job *jobs;
	size_t jobs_nr;
	size_t jobs_alloc;
	size_t *first_job;			/* per environment: its first job */
	bool conn_ready;
	bool progress;
	size_t probed;
};

void cli_status_init(struct cli_status *c);
void cli_status_release(struct cli_status *c);

/*
 * Gather the whole report. Inventory and reader warnings are printed on
 * stderr as they come (this is the CLI layer). Returns 0, or a negative
 * code with err set when no report can be made (inventory, -e, scripts,
 * graph, --to, the pool); then print err with cli_print_error_scrubbed.
 * An unreachable database is never an error here: it is in the report.
 */
int cli_status_collect(struct cli_status *c, const struct cli_common *common,
		   const struct cli_status_options *opts, struct ms_error *err);

/*
 * cli_status_collect in its two halves, for a caller with work to do
 * between them: open reads the inventory, the scripts and the graph and
 * selects the environments, touching no database; observe expands the
 * environments into their databases and observes them.
 */
int cli_status_open(struct cli_status *c, const struct cli_common *common,
		    const struct cli_status_options *opts, struct ms_error *err);
int cli_status_observe(struct cli_status *c, const struct cli_status_options *opts,
		       struct ms_error *err);

/*
 * The address of report.envs[env].targets[target] as JSON names every
 * database: "user@host:port/dbname", never a password (the text table
 * shows a fleet member by its name alone).
 */
const char *cli_status_address(const struct cli_status *c, size_t env, size_t target);
/* The database report.envs[env].targets[target] is (borrowed), or NULL. */
const struct db_target *cli_status_target(const struct cli_status *c, size_t env, size_t target);

/* The checksums of report.envs[env].targets[target] (empty unless opts->checksums). */
const struct cli_checksums *cli_status_checksums(const struct cli_status *c,
							   size_t env, size_t target);

#endif
