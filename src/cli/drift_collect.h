#ifndef MIGSYNC_CLI_DRIFT_COLLECT_H
#define MIGSYNC_CLI_DRIFT_COLLECT_H

/*
 * Gathering what `migsync drift` reports, shared with `migsync check`:
 * read the schema of every database of some expanded environments, in
 * parallel, and compare the databases at each revision with their
 * reference (drift_report_finish).
 */

#include <stddef.h>

#include "cli/status_collect.h"
#include "migsync/drift.h"

/* One database whose schema is read. */
struct cli_drift_job {
	const struct db_target *t;	/* NULL: its environment could not be expanded */
	const struct environment *e;
	char *label;			/* "prod", or "tenants/tenant_001" */
	char *database;			/* what the report shows: never a password */
	struct schema_snapshot *snapshot;
	struct ms_error err;
};

struct cli_drift_options {
	const struct strvec *schemas;	/* only these schemas; NULL or empty: all */
	const char *against;		/* the reference environment; NULL: the first at each revision */
	unsigned jobs;			/* 0: min(16, databases) */
};

struct cli_drift {
	struct cli_drift_job *jobs;		/* jobs[i] is report.targets[i] */
	size_t jobs_nr;
	size_t jobs_alloc;
	struct drift_report report;
};

void cli_drift_init(struct cli_drift *dc);
void cli_drift_release(struct cli_drift *dc);

/*
 * Read and compare the databases of exp (nr environments, in rollout
 * order; borrowed: they must outlive dc). An environment that could not
 * be expanded becomes one unreachable target carrying its error: it is
 * never dropped. Returns 0, or a negative code with err set when the
 * pool could not run or against names no environment read.
 */
int cli_drift_collect(struct cli_drift *dc, const struct cli_expansion *exp, size_t nr,
		  const struct cli_drift_options *opts, struct ms_error *err);

/* The label of report target i ("prod", "tenants/tenant_001"). */
const char *cli_drift_label(const struct cli_drift *dc, size_t i);

#endif
