/*
 * Reading and comparing schemas, for `migsync drift` and `migsync check`.
 * See drift_collect.h.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "cli/drift_collect.h"
#include "migsync/pool.h"

void drift_collection_init(struct drift_collection *dc)
{
	memset(dc, 0, sizeof(*dc));
	drift_report_init(&dc->report);
}

void drift_collection_release(struct drift_collection *dc)
{
	for (size_t i = 0; i < dc->jobs_nr; i++) {
		free(dc->jobs[i].label);
		free(dc->jobs[i].database);
		schema_snapshot_free(dc->jobs[i].snapshot);
		ms_error_release(&dc->jobs[i].err);
	}
	free(dc->jobs);
	drift_report_release(&dc->report);
	memset(dc, 0, sizeof(*dc));
}

static struct drift_job *add_job(struct drift_collection *dc, const struct environment *e,
				 const struct db_target *t, const struct strvec *schemas)
{
	const struct inventory_database *db = &e->database;
	struct drift_job *job;

	ALLOC_GROW(dc->jobs, dc->jobs_nr + 1, dc->jobs_alloc);
	job = &dc->jobs[dc->jobs_nr++];
	memset(job, 0, sizeof(*job));
	ms_error_init(&job->err);
	job->e = e;
	job->t = t;
	job->label = xstrdup(t ? t->label : e->name);
	job->database = xstrdup(!t ? "-" : t->member ? t->dbname : t->describe);
	job->opts.schemas = schemas;
	job->opts.version_table = db->version_table;
	job->opts.version_schema = db->version_table_schema;
	job->opts.statement_timeout_ms = db->statement_timeout <= 0 ? 0 :
		db->statement_timeout > INT_MAX / 1000 ? INT_MAX : (int)db->statement_timeout * 1000;
	return job;
}

static void read_work(size_t i, void *ctx)
{
	struct drift_job *job = &((struct drift_collection *)ctx)->jobs[i];
	struct ms_error err = MS_ERROR_INIT;
	struct tunnel *tunnel = NULL;
	PGconn *conn = NULL;

	if (!job->t)
		goto done;
	if (db_connect(&conn, &tunnel, job->t, &job->err) < 0)
		goto done;
	if (drift_read(&job->snapshot, conn, &job->opts, &err) < 0)
		db_target_error(&job->err, err.code, job->t, "%s", err.message);
done:
	db_disconnect(conn, tunnel);
	ms_error_release(&err);
}

int drift_collect(struct drift_collection *dc, const struct env_expansion *exp, size_t nr,
		  const struct drift_collect_options *opts, struct ms_error *err)
{
	int ret = 0;

	for (size_t i = 0; i < nr; i++) {
		const struct env_expansion *x = &exp[i];

		if (x->err.message) {
			struct drift_job *job = add_job(dc, x->e, NULL, opts->schemas);

			ms_error_set(&job->err, x->err.code, "%s", x->err.message);
			continue;
		}
		for (size_t k = 0; k < x->nr; k++)
			add_job(dc, x->e, &x->targets[k], opts->schemas);
	}
	if (dc->jobs_nr)
		ret = pool_run(dc->jobs_nr, opts->jobs, read_work, NULL, dc, err);
	if (ret < 0)
		goto done;
	for (size_t i = 0; i < dc->jobs_nr; i++) {
		struct drift_job *job = &dc->jobs[i];
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

const char *drift_collection_label(const struct drift_collection *dc, size_t i)
{
	return dc->jobs[i].label;
}
