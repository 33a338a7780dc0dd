/*
 * Rolling a fleet out (see include/migsync/apply.h): the canary
 * databases one at a time, then batches with fleet.parallel databases at
 * once (util/pool, one connection each), a failure budget checked at the
 * end of every batch. Databases that fail stay where their transaction
 * left them; the ledger of each says what happened. In a sharded run
 * (--shard K/N) shard 0 runs the canary and the others wait for it
 * (canary.c).
 */
#include <stdlib.h>
#include <string.h>

#include "apply_int.h"
#include "migsync/pool.h"
#include "migsync/strbuf.h"

struct fleet {
	struct plan_stage *st;
	const struct db_target *targets;
	const struct apply_options *o;	/* the caller's: o->event in the calling thread */
	struct apply_options wo;	/* the workers': o->event serialized */
	struct apply_serial serial;
	const size_t *batch;		/* the databases of the running batch (st->dbs indices) */
	bool canary;
	size_t done, failed, remaining;
	char *first_error;		/* the first failure, for the stage's message */
};

/* One database of a batch, in a worker: its own connection and its own entry of st->dbs. */
static void fleet_work(size_t i, void *ctx)
{
	struct fleet *f = ctx;
	size_t index = f->batch[i];
	struct plan_db *db = &f->st->dbs[index];
	struct ms_error e = MS_ERROR_INIT;
	enum apply_outcome out;

	if (apply_cancelled(&f->wo))
		return;	/* left not run */
	out = apply_db_locked(f->st, index, &f->targets[index], &f->wo, &e);
	if (out == APPLY_FAILED) {
		db->outcome = PLAN_DB_FAILED;
		apply_db_set_error(db, &e);
	} else {
		db->outcome = out == APPLY_DONE ? PLAN_DB_APPLIED : PLAN_DB_CURRENT;
	}
	ms_error_release(&e);
}

/* In the calling thread, as each database finishes: counts, and the event. */
static void fleet_done(size_t i, void *ctx)
{
	struct fleet *f = ctx;
	const struct plan_db *db = &f->st->dbs[f->batch[i]];
	struct apply_event ev;

	if (db->outcome == PLAN_DB_NOT_RUN)
		return;
	f->remaining--;
	if (db->outcome == PLAN_DB_FAILED) {
		f->failed++;
		if (!f->first_error)
			f->first_error = xstrdup(db->error ? db->error : "failed");
	} else {
		f->done++;
	}
	memset(&ev, 0, sizeof(ev));
	ev.kind = APPLY_EVENT_DB_DONE;
	ev.environment = f->st->env->name;
	ev.database = db->describe;
	ev.label = db->label;
	ev.db_index = f->batch[i];
	ev.db_nr = f->st->dbs_nr;
	ev.outcome = db->outcome;
	ev.detail = db->outcome == PLAN_DB_FAILED ? db->error : NULL;
	ev.done_nr = f->done;
	ev.failed_nr = f->failed;
	ev.remaining_nr = f->remaining;
	ev.canary = f->canary;
	apply_emit(f->o, &ev);
}

/* Run the databases todo[0..nr) at jobs at a time. */
static int run_batch(struct fleet *f, const size_t *todo, size_t nr, unsigned jobs,
		     struct ms_error *err)
{
	f->batch = todo;
	return pool_run(nr, jobs, fleet_work, fleet_done, f, err);
}

/* The stage's error: how many failed, why the run stopped, what to do next. */
static void fleet_error(struct ms_error *err, const struct fleet *f, const char *why,
			size_t not_run)
{
	const struct environment *env = f->st->env;
	struct strbuf sb = STRBUF_INIT;

	strbuf_addf(&sb, "environment \"%s\": %zu database%s failed", env->name, f->failed,
		    f->failed == 1 ? "" : "s");
	if (why)
		strbuf_addf(&sb, "; %s", why);
	if (not_run)
		strbuf_addf(&sb, "; %zu not run", not_run);
	if (f->first_error)
		strbuf_addf(&sb, " (first: %s)", f->first_error);
	ms_error_set(err, MS_ERR_DB, "%s", sb.buf);
	ms_error_hint(err, "fix the failed databases, then run migsync apply again: the databases "
		      "not at the target go on under the same approvals while their rows are unchanged");
	strbuf_release(&sb);
}

enum apply_outcome apply_fleet_run(struct plan_stage *st, const struct db_target *targets,
				   const struct environment *env, const struct apply_options *o,
				   struct ms_error *err)
{
	const struct inventory_fleet *cfg = &env->fleet;
	struct fleet f;
	size_t *todo = xcalloc(st->dbs_nr ? st->dbs_nr : 1, sizeof(*todo));
	size_t nr = 0, pos = 0, canary, batch, budget = (size_t)cfg->max_failures;
	const char *why = NULL;
	enum apply_outcome out = APPLY_FAILED;

	memset(&f, 0, sizeof(f));
	f.st = st;
	f.targets = targets;
	f.o = o;
	apply_serial_init(&f.serial, &f.wo, o);
	for (size_t i = 0; i < st->dbs_nr; i++) {
		struct plan_db *db = &st->dbs[i];

		if (db->error) {
			/* could not be read, or a step is in progress */
			db->outcome = PLAN_DB_FAILED;
			f.failed++;
			if (!f.first_error)
				f.first_error = xstrdup(db->error);
		} else if (!db->steps_nr) {
			db->outcome = PLAN_DB_CURRENT;
			apply_emit_skip(o, env, db, i, st->dbs_nr, "already at the target");
		} else {
			todo[nr++] = i;
		}
	}
	f.remaining = nr;
	if (f.failed > budget) {
		why = "over the failure budget (fleet.max_failures) before anything ran";
		goto stopped;
	}
	canary = inventory_amount_of(&cfg->canary, nr);
	if (canary && nr && env->shard.count > 1 && env->shard.index) {
		/* shard 0 runs the canary; the others wait for it */
		if (apply_canary_wait(env, o, err) < 0)
			goto done;
		canary = 0;
	}
	batch = inventory_amount_of(&cfg->batch, nr);
	if (canary > nr)
		canary = nr;
	if (!batch)
		batch = 1;

	f.canary = true;
	for (; pos < canary; pos++) {
		if (apply_cancelled(o))
			break;
		if (run_batch(&f, &todo[pos], 1, 1, err) < 0)
			goto done;
		if (st->dbs[todo[pos]].outcome == PLAN_DB_FAILED) {
			pos++;
			why = "the canary failed";
			goto stopped;
		}
	}
	f.canary = false;
	while (pos < nr && !apply_cancelled(o)) {
		size_t n = nr - pos < batch ? nr - pos : batch;

		if (run_batch(&f, &todo[pos], n, (unsigned)cfg->parallel, err) < 0)
			goto done;
		pos += n;
		if (f.failed > budget) {
			why = "over the failure budget (fleet.max_failures): stopped after the batch";
			break;
		}
	}
stopped:
	if (apply_cancelled(o) && !why)
		why = "interrupted";
	if (!f.failed && !why) {
		out = APPLY_DONE;
		goto done;
	}
	fleet_error(err, &f, why, f.remaining);
done:
	apply_serial_release(&f.serial);
	free(f.first_error);
	free(todo);
	return out;
}
