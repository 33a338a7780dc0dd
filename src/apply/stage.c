/*
 * Running one stage: lock, re-read, hash, order and gate, the steps
 * through the executor, verify, record, release (see
 * include/migsync/apply.h).
 */
#include <stdlib.h>
#include <string.h>

#include "apply_int.h"
#include "migsync/clock.h"
#include "migsync/ledger.h"
#include "migsync/strbuf.h"

struct output_ctx {
	const struct apply_options *o;
	const struct plan_db *db;
	struct apply_event ev;
};

/* Executor output, as an event of the step that runs. */
static void output_line(const char *line, void *ctx)
{
	struct output_ctx *oc = ctx;
	struct apply_event ev = oc->ev;

	ev.kind = APPLY_EVENT_OUTPUT;
	ev.detail = line;
	apply_emit(oc->o, &ev);
}

/* A run's progress (Alembic), as the events of run_each. */
static void progress_step(size_t i, bool done, int64_t elapsed_ms, void *ctx)
{
	struct output_ctx *oc = ctx;
	const struct plan_step *s = &oc->db->steps[i];

	oc->ev.kind = done ? APPLY_EVENT_STEP_DONE : APPLY_EVENT_STEP;
	oc->ev.step_index = i;
	oc->ev.step_nr = oc->db->steps_nr;
	oc->ev.revision = s->revision;
	oc->ev.up = s->step.up;
	oc->ev.detail = s->script ? s->script->message : NULL;
	oc->ev.elapsed_ms = elapsed_ms;
	apply_emit(oc->o, &oc->ev);
}

/* Native SQL: step by step, each announced, checked for a cancel first. */
static int run_each(struct executor *x, struct output_ctx *oc, const struct plan_db *db,
		    const struct db_target *t, const struct apply_options *o, struct ms_error *err)
{
	for (size_t i = 0; i < db->steps_nr; i++) {
		const struct plan_step *s = &db->steps[i];
		int64_t t0;
		int ret;

		if (apply_cancelled(o))
			return db_target_error(err, MS_ERR_GENERIC, t,
					       "interrupted before revision \"%s\"", s->revision);
		if (x->ops->check_step && (ret = x->ops->check_step(x, s, err)) < 0)
			return ret;
		oc->ev.kind = APPLY_EVENT_STEP;
		oc->ev.step_index = i;
		oc->ev.step_nr = db->steps_nr;
		oc->ev.revision = s->revision;
		oc->ev.up = s->step.up;
		oc->ev.detail = s->script ? s->script->message : NULL;
		oc->ev.elapsed_ms = 0;
		apply_emit(o, &oc->ev);
		t0 = clock_mono_ms();
		ret = x->ops->step(x, s, err);
		if (ret < 0) {
			if (!starts_with(err->message ? err->message : "", "environment \"")) {
				char *who = ms_error_subject(t->env->name, t->name);

				ms_error_prefix(err, "%s", who);
				free(who);
			}
			return ret;
		}
		oc->ev.kind = APPLY_EVENT_STEP_DONE;
		oc->ev.elapsed_ms = clock_mono_ms() - t0;
		apply_emit(o, &oc->ev);
	}
	return 0;
}

int apply_verify(const struct plan_db *db, struct executor *x, const struct db_target *t,
		 struct ms_error *err)
{
	struct strvec rows = STRVEC_INIT;
	char *want = NULL, *have = NULL;
	int ret;

	ret = x->ops->read_rows(x, &rows, err);
	if (ret < 0)
		goto done;
	if (!strvec_equal(&rows, &db->end_rows)) {
		want = plan_rows_text(&db->end_rows, " ");
		have = plan_rows_text(&rows, " ");
		ret = db_target_error(err, MS_ERR_DB, t,
				      "version rows after applying are %s, the plan expected %s",
				      have, want);
		ms_error_hint(err, "another process changed the version table; run migsync status");
	}
done:
	free(want);
	free(have);
	strvec_release(&rows);
	return ret;
}

enum apply_outcome apply_db_run(struct executor *x, struct plan_stage *st, size_t index,
				const struct strvec *now, const struct db_target *t,
				const struct apply_options *o, struct ms_error *err)
{
	const struct plan_db *db = &st->dbs[index];
	struct output_ctx oc;
	int ret;

	if (now && !strvec_equal(now, &db->rows)) {
		char *have, *saw;

		if (strvec_equal(now, &db->end_rows)) {
			/* another migsync did this one already */
			apply_emit_skip(o, t->env, db, index, st->dbs_nr, NULL);
			return APPLY_NOTHING;
		}
		have = plan_rows_text(now, " ");
		saw = plan_rows_text(&db->rows, " ");
		db_target_error(err, MS_ERR_DB, t,
				"the database moved since the plan was made: its version rows are %s, the plan saw %s",
				have, saw);
		ms_error_hint(err, "databases before it were migrated; run migsync plan again: "
			      "the approval was for the old plan");
		free(have);
		free(saw);
		return APPLY_FAILED;
	}
	if (!db->steps_nr)
		return APPLY_NOTHING;
	memset(&oc, 0, sizeof(oc));
	oc.o = o;
	oc.db = db;
	oc.ev.environment = t->env->name;
	oc.ev.database = db->describe;
	oc.ev.label = db->label ? db->label : t->env->name;
	oc.ev.db_index = index;
	oc.ev.db_nr = st->dbs_nr;
	x->output = output_line;
	x->progress = progress_step;
	x->output_ctx = &oc;
	if (x->ops->run)
		ret = x->ops->run(x, db, err);
	else
		ret = run_each(x, &oc, db, t, o, err);
	x->output = NULL;
	x->progress = NULL;
	x->output_ctx = NULL;
	if (ret < 0 || apply_verify(db, x, t, err) < 0)
		return APPLY_FAILED;
	return APPLY_DONE;
}

/* Unlock (errors ignored: the session ends anyway) and disconnect. */
static void release_db(PGconn **conn, struct tunnel **tunnel, bool locked)
{
	struct ms_error ignore = MS_ERROR_INIT;

	if (*conn && locked)
		ledger_unlock(*conn, &ignore);
	ms_error_release(&ignore);
	if (*conn)
		db_disconnect(*conn, *tunnel);
	*conn = NULL;
	*tunnel = NULL;
}

/*
 * Read the stage (no lock) and the targets it will lock: APPLY_DONE to
 * go on, APPLY_NOTHING, or APPLY_FAILED (a database that cannot be read,
 * a step left in progress, databases that changed).
 */
static enum apply_outcome stage_prepare(struct plan_stage *st, struct db_target **targets,
					size_t *nr, const struct environment *env,
					const struct apply_options *o, struct ms_error *err)
{
	bool busy = false;

	if (apply_read_stage(st, env, o, err) < 0)
		return APPLY_FAILED;
	for (size_t i = 0; i < st->dbs_nr; i++) {
		if (st->dbs[i].error && !st->fleet) {
			ms_error_set(err, MS_ERR_DB, "%s", st->dbs[i].error);
			return APPLY_FAILED;
		}
		busy |= st->dbs[i].in_progress.nr > 0 || st->dbs[i].error;
	}
	if (!plan_stage_steps(st) && !busy)
		return APPLY_NOTHING;
	if (db_targets_expand(targets, nr, env, err) < 0)
		return APPLY_FAILED;
	if (*nr != st->dbs_nr) {
		ms_error_set(err, MS_ERR_DB, "environment \"%s\": its databases changed while planning",
			     env->name);
		return APPLY_FAILED;
	}
	for (size_t i = 0; i < *nr; i++) {
		struct plan_db *db = &st->dbs[i];

		if (!db->in_progress.nr)
			continue;
		apply_in_progress_error(db, &(*targets)[i], err);
		if (!st->fleet)
			return APPLY_FAILED;
		/* a fleet goes on without it: it counts as failed */
		apply_db_set_error(db, err);
		ms_error_release(err);
	}
	return APPLY_DONE;
}

/* One database: lock it first, then read, plan and hash under the lock. */
static enum apply_outcome lock_single(PGconn **conn, struct tunnel **tunnel,
				      struct plan_stage *st, const struct db_target *t,
				      const struct apply_options *o, struct ms_error *err)
{
	struct plan_db *db = &st->dbs[0];

	if (apply_connect_locked(conn, tunnel, t, db, 0, 1, o, err) < 0)
		return APPLY_FAILED;
	if (apply_read_db(db, st, *conn, t, true, err) < 0 ||
	    plan_db_compute(db, o->g, o->target->ident, o->up, err) < 0)
		return APPLY_FAILED;
	if (db->in_progress.nr) {
		apply_in_progress_error(db, t, err);
		return APPLY_FAILED;
	}
	plan_hash_stage(st, &o->target->ids);
	return db->steps_nr ? APPLY_DONE : APPLY_NOTHING;
}

/* The rollout order against the previous stage (read now) and the gate. */
static int check_previous(struct plan_stage *st, const struct environment *env,
			  const struct apply_options *o, struct ms_error *err)
{
	struct plan_stage prev;
	bool has_prev = o->up && env->stage > 0;
	int ret;

	plan_stage_init(&prev, NULL);
	if (has_prev) {
		struct apply_options po = *o;

		/* the previous stage is only read: an unreachable one fails the order check now */
		po.connect_wait_ms = 0;
		po.all_targets = true;
		apply_read_stage(&prev, &o->inv->envs[env->stage - 1], &po, err);
		ms_error_release(err);
	}
	ret = apply_check_stage(st, has_prev ? &prev : NULL, false, o, err);
	if (ret == 0 && st->order_error && !st->out_of_order_allowed) {
		ms_error_set(err, MS_ERR_GENERIC, "%s", st->order_error);
		ms_error_hint(err, "promote the previous stage first, or pass --allow-out-of-order");
		ret = MS_ERR_GENERIC;
	}
	plan_stage_release(&prev);
	return ret;
}

/*
 * A database of a fleet, not locked yet: lock, read its rows again
 * (a step in progress stops everything), then apply_db_run.
 */
static enum apply_outcome run_unlocked(PGconn **conn, struct tunnel **tunnel,
				       struct plan_stage *st, size_t index,
				       const struct db_target *t, const struct apply_options *o,
				       struct ms_error *err)
{
	struct plan_db now;
	struct plan_stage scratch;
	struct apply_executor ax;
	enum apply_outcome out = APPLY_FAILED;

	plan_stage_init(&scratch, NULL);
	plan_db_init(&now);
	if (apply_connect_locked(conn, tunnel, t, &st->dbs[index], index, st->dbs_nr, o, err) < 0)
		goto done;
	if (apply_read_db(&now, &scratch, *conn, t, false, err) < 0)
		goto done;
	if (now.in_progress.nr) {
		apply_in_progress_error(&now, t, err);
		goto done;
	}
	apply_executor_open(&ax, *conn, t, plan_db_hash(st, &st->dbs[index]), o);
	out = apply_db_run(&ax.x, st, index, &now.rows, t, o, err);
	apply_executor_close(&ax);
done:
	plan_db_release(&now);
	plan_stage_release(&scratch);
	return out;
}

enum apply_outcome apply_db_locked(struct plan_stage *st, size_t index,
				   const struct db_target *t, const struct apply_options *o,
				   struct ms_error *err)
{
	PGconn *conn = NULL;
	struct tunnel *tunnel = NULL;
	enum apply_outcome out;

	out = run_unlocked(&conn, &tunnel, st, index, t, o, err);
	release_db(&conn, &tunnel, conn != NULL);
	return out;
}

enum apply_outcome apply_stage_run(struct plan_stage *st, const struct environment *env,
				   const struct apply_options *o, struct ms_error *err)
{
	struct db_target *targets = NULL;
	size_t nr = 0;
	PGconn *conn = NULL;
	struct tunnel *tunnel = NULL;
	bool locked = false;
	enum apply_outcome out;

	out = stage_prepare(st, &targets, &nr, env, o, err);
	if (out != APPLY_DONE)
		goto done;
	out = APPLY_FAILED;
	if (!o->dry_run && apply_before_hook(env, o->inv, err) < 0)
		goto done;
	if (!st->fleet && !o->dry_run) {
		/* one database: lock it before reading it again */
		locked = true;
		out = lock_single(&conn, &tunnel, st, &targets[0], o, err);
		if (out != APPLY_DONE)
			goto done;
		out = APPLY_FAILED;
	}
	if (check_previous(st, env, o, err) < 0)
		goto done;
	out = apply_gate_and_confirm(st, env, o, err);
	if (out != APPLY_DONE)
		goto done;
	if (st->fleet) {
		out = apply_fleet_run(st, targets, env, o, err);
		goto done;
	}
	out = APPLY_FAILED;
	if (apply_cancelled(o)) {
		db_target_error(err, MS_ERR_GENERIC, &targets[0], "interrupted before applying");
		goto done;
	} else {
		struct apply_executor ax;
		enum apply_outcome one;

		apply_executor_open(&ax, conn, &targets[0], st->plan_hash, o);
		one = apply_db_run(&ax.x, st, 0, NULL, &targets[0], o, err);
		apply_executor_close(&ax);
		st->dbs[0].outcome = one == APPLY_FAILED ? PLAN_DB_FAILED :
			one == APPLY_DONE ? PLAN_DB_APPLIED : PLAN_DB_CURRENT;
		if (one == APPLY_FAILED)
			goto done;
	}
	out = APPLY_DONE;
done:
	release_db(&conn, &tunnel, locked);
	db_targets_free(targets, nr);
	return out;
}
