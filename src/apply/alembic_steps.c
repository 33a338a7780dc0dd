/*
 * The Alembic executor's run of one database: the plan's steps as exact
 * Alembic calls, progress and ledger per revision.
 *
 * Calls: an upgrade is one `upgrade ID` per target id (o->target->ids),
 * a downgrade one `downgrade ID` per row the plan ends with (`downgrade
 * base` when it ends with none); a call that would do nothing is left
 * out. Each call's effect is planned as migsync plans a target
 * (plan_db_compute from the rows the previous call left); together they
 * must be exactly the approved steps and end rows, or nothing runs.
 *
 * While Alembic runs, its `Running upgrade A -> B` lines say which
 * revision starts: a revision that is not in the plan stops the run at
 * once; after each call the version rows must be the ones planned for
 * it. Afterwards one ledger row per revision: applied (the rows say it
 * moved) with its file's SHA-256 and the time between its line and the
 * next, and the failed one with the exception's line and Alembic's
 * output (scrubbed).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "apply_int.h"
#include "migsync/clock.h"
#include "migsync/ledger.h"

struct alembic_steps {
	struct apply_executor *ax;
	struct executor *x;
	const struct plan_db *db;
	struct strvec calls;		/* the ids, one call each */
	struct strvec *rows_after;	/* per call: the rows planned after it */
	int64_t *started;		/* per step: CLOCK_MONOTONIC ms, 0 = not seen */
	int64_t *duration;		/* per step, ms */
	ssize_t running;		/* the step whose line came last, -1: none */
	ssize_t failing;		/* the step running when the run failed, -1: none */
	int64_t t0;			/* CLOCK_MONOTONIC ms at the start, for started_at_ms */
};

/* The step of db for revision rev (in the run's direction), or -1. */
static ssize_t find_step(const struct plan_db *db, const char *rev, size_t len)
{
	for (size_t i = 0; i < db->steps_nr; i++)
		if (strlen(db->steps[i].revision) == len && !strncmp(db->steps[i].revision, rev, len))
			return (ssize_t)i;
	return -1;
}

/*
 * The revision of a `Running upgrade A, B -> C, message` line (C) or
 * `Running downgrade C -> A, B, message` (C); *len 0 when it is not one.
 */
static const char *running_revision(const char *line, bool up, size_t *len)
{
	const char *p = strstr(line, up ? "Running upgrade " : "Running downgrade ");
	const char *arrow = p ? strstr(p, " -> ") : NULL;

	*len = 0;
	if (!arrow)
		return NULL;
	if (up) {
		p = arrow + 4;
		*len = strcspn(p, ", ");
	} else {
		p += strlen("Running downgrade ");
		*len = (size_t)(arrow - p);
	}
	return p;
}

/* The step that ran last is over (its next line or its call's end came). */
static void end_running(struct alembic_steps *as)
{
	struct executor *x = as->x;

	if (as->running < 0)
		return;
	as->duration[as->running] = clock_mono_ms() - as->started[as->running];
	if (x->progress)
		x->progress((size_t)as->running, true, as->duration[as->running], x->output_ctx);
	as->running = -1;
}

static int on_line(const char *line, void *ctx, struct ms_error *err)
{
	struct alembic_steps *as = ctx;
	struct executor *x = as->x;
	bool up = as->ax->o->up;
	size_t len;
	const char *rev = running_revision(line, up, &len);
	ssize_t i;

	if (x->output)
		x->output(line, x->output_ctx);
	if (!rev || !len)
		return 0;
	end_running(as);
	i = find_step(as->db, rev, len);
	if (i < 0 || as->started[i]) {
		db_target_error(err, MS_ERR_GENERIC, as->ax->c.target,
				"Alembic started %s revision \"%.*s\", which the approved plan %s; stopped",
				up ? "upgrade" : "downgrade", (int)len, rev,
				i < 0 ? "does not hold" : "ran already");
		ms_error_hint(err, "run migsync plan and compare it with alembic history");
		return MS_ERR_GENERIC;
	}
	as->running = i;
	as->started[i] = clock_mono_ms();
	if (x->progress)
		x->progress((size_t)i, false, 0, x->output_ctx);
	return 0;
}

static int on_call_done(size_t k, void *ctx, struct ms_error *err)
{
	struct alembic_steps *as = ctx;
	struct apply_executor *ax = as->ax;
	struct strvec rows = STRVEC_INIT;
	char *want = NULL, *have = NULL;
	bool exists = false;
	int ret;

	end_running(as);
	ret = db_version_rows(&rows, &exists, NULL, ax->c.conn, ax->c.version_table,
			      ax->c.version_schema, err);
	if (ret < 0 || k >= as->calls.nr || strvec_equal(&rows, &as->rows_after[k]))
		goto done;
	want = plan_rows_text(&as->rows_after[k], " ");
	have = plan_rows_text(&rows, " ");
	ret = db_target_error(err, MS_ERR_DB, ax->c.target,
			      "after alembic %s %s the version rows are %s, the plan expected %s; stopped",
			      ax->o->up ? "upgrade" : "downgrade", as->calls.items[k], have, want);
	ms_error_hint(err, "another process changed the version table, or Alembic reads another "
		      "graph; run migsync status");
done:
	free(want);
	free(have);
	strvec_release(&rows);
	return ret;
}

/*
 * The calls for db, with the rows planned after each; their steps
 * together must be db's steps, and the last rows db's end rows.
 */
static int plan_calls(struct alembic_steps *as, struct ms_error *err)
{
	const struct apply_options *o = as->ax->o;
	const struct plan_db *db = as->db;
	struct strvec targets = STRVEC_INIT, rows = STRVEC_INIT;
	size_t covered = 0;
	int ret = 0;

	if (o->up)
		for (size_t i = 0; i < o->target->ids.nr; i++)
			strvec_push(&targets, o->target->ids.items[i]);
	else if (!db->end_rows.nr)
		strvec_push(&targets, "base");
	else
		for (size_t i = 0; i < db->end_rows.nr; i++)
			strvec_push(&targets, db->end_rows.items[i]);
	as->rows_after = xcalloc(targets.nr ? targets.nr : 1, sizeof(*as->rows_after));
	for (size_t i = 0; i < db->rows.nr; i++)
		strvec_push(&rows, db->rows.items[i]);
	for (size_t i = 0; i < targets.nr && ret == 0; i++) {
		struct plan_db call;

		plan_db_init(&call);
		for (size_t k = 0; k < rows.nr; k++)
			strvec_push(&call.rows, rows.items[k]);
		ret = plan_db_compute(&call, o->g, targets.items[i], o->up, err);
		for (size_t s = 0; ret == 0 && s < call.steps_nr; s++) {
			ssize_t at = find_step(db, call.steps[s].revision, strlen(call.steps[s].revision));

			if (at < 0 || as->started[at]) {
				ret = ms_error_set(err, MS_ERR_GENERIC,
						   "alembic %s %s would run revision \"%s\", which the plan %s",
						   o->up ? "upgrade" : "downgrade", targets.items[i],
						   call.steps[s].revision,
						   at < 0 ? "does not hold" : "runs in an earlier call");
				break;
			}
			as->started[at] = 1;	/* marks "covered" until the run starts */
			covered++;
		}
		if (ret == 0 && call.steps_nr) {
			strvec_push(&as->calls, targets.items[i]);
			strvec_release(&rows);
			for (size_t k = 0; k < call.end_rows.nr; k++)
				strvec_push(&rows, call.end_rows.items[k]);
			for (size_t k = 0; k < rows.nr; k++)
				strvec_push(&as->rows_after[as->calls.nr - 1], rows.items[k]);
		}
		plan_db_release(&call);
	}
	if (ret == 0 && (covered != db->steps_nr || !strvec_equal(&rows, &db->end_rows)))
		ret = ms_error_set(err, MS_ERR_GENERIC,
				   "the plan's %zu steps are not what alembic %s to %s would run",
				   db->steps_nr, o->up ? "upgrade" : "downgrade", o->target->ident);
	memset(as->started, 0, db->steps_nr * sizeof(*as->started));
	strvec_release(&targets);
	strvec_release(&rows);
	return ret;
}

/* Which steps moved, by the rows now: held[node] for every ancestor of a row. */
static bool *held_nodes(const struct revgraph *g, const struct strvec *rows)
{
	bool *held = xcalloc(g->nr ? g->nr : 1, sizeof(*held));

	for (size_t i = 0; i < rows->nr; i++) {
		ssize_t n = revgraph_find(g, rows->items[i]);

		for (size_t k = 0; n >= 0 && k < g->nr; k++)
			if (revgraph_is_ancestor(g, k, (size_t)n))
				held[k] = true;
	}
	return held;
}

/* The steps in the order Alembic started them, then those it never named. */
static size_t *run_order(const struct alembic_steps *as)
{
	size_t nr = as->db->steps_nr, *order = xcalloc(nr + 1, sizeof(*order));

	for (size_t i = 0; i < nr; i++)
		order[i] = i;
	/* insertion sort: a few hundred steps at most, and stable */
	for (size_t i = 1; i < nr; i++) {
		size_t v = order[i], k = i;
		int64_t sv = as->started[v] ? as->started[v] : INT64_MAX;

		while (k > 0 && (as->started[order[k - 1]] ? as->started[order[k - 1]] : INT64_MAX) > sv) {
			order[k] = order[k - 1];
			k--;
		}
		order[k] = v;
	}
	return order;
}

/*
 * One ledger row per step that moved, in the order Alembic ran them
 * (rows after each as the plan's row changes make them), then one for
 * the step that failed: the one Alembic was running, else the first
 * that did not move.
 */
static void record(struct alembic_steps *as, const struct strvec *after, int64_t started_wall,
		   const char *error)
{
	struct apply_executor *ax = as->ax;
	const struct exec_context *c = &ax->c;
	const struct plan_db *db = as->db;
	bool *held = held_nodes(ax->o->g, after);
	size_t *order = run_order(as);
	struct strvec rows = STRVEC_INIT;
	ssize_t failed = -1;

	for (size_t i = 0; i < db->rows.nr; i++)
		strvec_push(&rows, db->rows.items[i]);
	for (size_t k = 0; k < db->steps_nr; k++) {
		size_t i = order[k];
		const struct plan_step *s = &db->steps[i];
		bool moved = s->step.up ? held[s->step.node] : !held[s->step.node];
		struct strvec next = STRVEC_INIT;
		struct ledger_entry e;
		struct ms_error ignore = MS_ERROR_INIT;

		if (!moved) {
			if (failed < 0 || (ssize_t)i == as->failing)
				failed = (ssize_t)i;
			continue;
		}
		exec_rows_expected(&next, &rows, &s->step);
		strvec_release(&rows);
		rows = next;
		exec_entry_fill(&e, c, s->revision, s->step.up, s->sha256, true);
		free(e.executor);
		e.executor = xstrdup("alembic");
		e.outcome = LEDGER_APPLIED;
		if (as->started[i])
			e.started_at_ms = started_wall + (as->started[i] - as->t0);
		else
			e.started_at_ms = started_wall;
		e.duration_ms = as->duration[i];
		e.rows_after = exec_rows_join(&rows);
		ledger_insert(c->conn, c->ledger_schema, &e, &ignore);
		ledger_entry_release(&e);
		ms_error_release(&ignore);
	}
	if (error && failed >= 0) {
		const struct plan_step *s = &db->steps[failed];
		struct ledger_entry e;
		struct ms_error ignore = MS_ERROR_INIT;

		exec_entry_fill(&e, c, s->revision, s->step.up, s->sha256, true);
		free(e.executor);
		e.executor = xstrdup("alembic");
		e.outcome = LEDGER_FAILED;
		e.started_at_ms = started_wall;
		if (as->started[failed])
			e.started_at_ms += as->started[failed] - as->t0;
		e.duration_ms = as->duration[failed];
		e.error = xstrdup(error);
		e.rows_after = exec_rows_join(after);
		ledger_insert(c->conn, c->ledger_schema, &e, &ignore);
		ledger_entry_release(&e);
		ms_error_release(&ignore);
	}
	strvec_release(&rows);
	free(order);
	free(held);
}

/* err names the failed revision with the exception's own line. */
static void name_failure(struct alembic_steps *as, const struct exec_alembic_job *job,
			 struct ms_error *err)
{
	const struct db_target *t = as->ax->c.target;
	const struct plan_step *s = as->failing >= 0 ? &as->db->steps[as->failing] : NULL;

	if (!job->failure)
		return;
	if (s)
		db_target_error(err, MS_ERR_GENERIC, t, "revision \"%s\" (%s) failed: %s", s->revision,
				s->script ? s->script->path : "?", job->failure);
	else
		db_target_error(err, MS_ERR_GENERIC, t, "alembic %s %s failed: %s",
				job->command, job->calls < as->calls.nr ? as->calls.items[job->calls] : "",
				job->failure);
	ms_error_hint(err, "run again with --verbose to see Alembic's output; it is also in "
		      "the ledger");
}

int exec_alembic_steps(struct apply_executor *ax, struct executor *x, const struct plan_db *db,
		       struct ms_error *err)
{
	struct alembic_steps as = { .ax = ax, .x = x, .db = db, .running = -1, .failing = -1,
				    .t0 = clock_mono_ms() };
	struct exec_alembic_job job;
	int64_t started_wall = clock_wall_ms();
	struct strvec after = STRVEC_INIT;
	struct ms_error e2 = MS_ERROR_INIT;
	bool exists = false;
	int ret;

	exec_alembic_job_init(&job);
	strvec_init(&as.calls);
	as.started = xcalloc(db->steps_nr + 1, sizeof(*as.started));
	as.duration = xcalloc(db->steps_nr + 1, sizeof(*as.duration));
	ret = plan_calls(&as, err);
	if (ret < 0) {
		apply_name_target(err, ax->c.target);
		goto done;
	}
	ret = ledger_ensure(ax->c.conn, ax->c.ledger_schema, err);
	if (ret < 0)
		goto done;
	job.command = ax->o->up ? "upgrade" : "downgrade";
	job.revs = &as.calls;
	job.g = ax->o->g;
	job.line = on_line;
	job.call_done = on_call_done;
	job.ctx = &as;
	ret = exec_alembic_run(&ax->c, &job, err);
	if (ret == MS_ERR_CONFIG) {	/* the files differ: nothing ran */
		apply_name_target(err, ax->c.target);
		goto done;
	}
	if (ret < 0 && as.running >= 0) {	/* not done: no progress event */
		as.failing = as.running;
		as.duration[as.failing] = clock_mono_ms() - as.started[as.failing];
		as.running = -1;
	}
	end_running(&as);
	if (ret < 0)
		name_failure(&as, &job, err);
	if (db_version_rows(&after, &exists, NULL, ax->c.conn, ax->c.version_table,
			      ax->c.version_schema, &e2) == 0) {
		char *error = NULL;

		if (ret < 0)
			error = xstrfmt("%s\n%s", err->message ? err->message : "failed", job.output.buf);
		record(&as, &after, started_wall, error);
		free(error);
	}
	if (ret < 0)
		apply_name_target(err, ax->c.target);
done:
	ms_error_release(&e2);
	strvec_release(&after);
	for (size_t i = 0; as.rows_after && i < as.calls.nr; i++)
		strvec_release(&as.rows_after[i]);
	free(as.rows_after);
	strvec_release(&as.calls);
	free(as.started);
	free(as.duration);
	exec_alembic_job_release(&job);
	return ret;
}
