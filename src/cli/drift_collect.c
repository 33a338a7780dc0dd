/*
 * Reading and comparing schemas, for `migsync drift` and `migsync check`.
 * See drift_collect.h.
 */
#include <stdlib.h>
#include <string.h>

#include "cli/drift_collect.h"
#include "migsync/observe.h"

void cli_drift_init(struct cli_drift *dc)
{
	*dc = (struct cli_drift){ 0 };
	drift_report_init(&dc->report);
}

void cli_drift_release(struct cli_drift *dc)
{
	for (size_t i = 0; i < dc->jobs_nr; i++) {
		free(dc->jobs[i].label);
		free(dc->jobs[i].database);
		schema_snapshot_free(dc->jobs[i].snapshot);
		ms_error_release(&dc->jobs[i].err);
	}
	free(dc->jobs);
	drift_report_release(&dc->report);
	cli_drift_init(dc);
}

static struct cli_drift_job *add_job(struct cli_drift *dc, const struct environment *e,
				 const struct db_target *t)
{
	struct cli_drift_job *job;

	ALLOC_GROW(dc->jobs, dc->jobs_nr + 1, dc->jobs_alloc);
	job = &dc->jobs[dc->jobs_nr++];
	*job = (struct cli_drift_job){ 0 };
	ms_error_init(&job->err);
	job->e = e;
	job->t = t;
	job->label = xstrdup(t ? t->label : e->name);
	job->database = xstrdup(!t ? "-" : t->name ? t->name : t->describe);
	return job;
}

/* Snapshot every job's database (in parallel); a job without a target keeps its error. */
static int observe_all(struct cli_drift *dc, const struct cli_drift_options *opts,
		       struct ms_error *err)
{
	const struct db_target **targets = xcalloc(dc->jobs_nr ? dc->jobs_nr : 1, sizeof(*targets));
	struct observation *obs = xcalloc(dc->jobs_nr ? dc->jobs_nr : 1, sizeof(*obs));
	const struct observe_options o = { OBSERVE_SCHEMA, opts->jobs, opts->schemas, NULL, NULL, NULL };
	int ret = 0;

	for (size_t i = 0; i < dc->jobs_nr; i++) {
		targets[i] = dc->jobs[i].t;
		observation_init(&obs[i]);
	}
	if (dc->jobs_nr)
		ret = observe_run(obs, targets, dc->jobs_nr, &o, err);
	for (size_t i = 0; ret == 0 && i < dc->jobs_nr; i++) {
		struct cli_drift_job *job = &dc->jobs[i];

		if (!job->t)
			continue;
		job->snapshot = obs[i].schema;
		obs[i].schema = NULL;
		ms_error_release(&job->err);
		job->err = obs[i].error;
		ms_error_init(&obs[i].error);
	}
	for (size_t i = 0; i < dc->jobs_nr; i++)
		observation_release(&obs[i]);
	free(obs);
	free(targets);
	return ret;
}

int cli_drift_collect(struct cli_drift *dc, const struct cli_expansion *exp, size_t nr,
		  const struct cli_drift_options *opts, struct ms_error *err)
{
	int ret = 0;

	for (size_t i = 0; i < nr; i++) {
		const struct cli_expansion *x = &exp[i];

		if (x->err.message) {
			struct cli_drift_job *job = add_job(dc, x->e, NULL);

			ms_error_set(&job->err, x->err.code, "%s", x->err.message);
			continue;
		}
		for (size_t k = 0; k < x->nr; k++)
			add_job(dc, x->e, &x->targets[k]);
	}
	ret = observe_all(dc, opts, err);
	if (ret < 0)
		goto done;
	for (size_t i = 0; i < dc->jobs_nr; i++) {
		struct cli_drift_job *job = &dc->jobs[i];
		struct drift_target *t = drift_report_add(&dc->report, job->e->name, job->database);

		t->snapshot = job->snapshot;
		job->snapshot = NULL;
		if (!t->snapshot)
			t->error = xstrdup(job->err.message ? job->err.message : "could not read the schema");
	}
	ret = drift_report_finish(&dc->report, opts->against, err);
done:
	return ret;
}

const char *cli_drift_label(const struct cli_drift *dc, size_t i)
{
	return dc->jobs[i].label;
}
