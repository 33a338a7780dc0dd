/*
 * Re-observing a stage: every target database of an environment read
 * (identity, version rows, in-progress ledger rows, approvals), then
 * planned and hashed; the order check and the gate against the previous
 * stage.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "apply_int.h"
#include "migsync/clock.h"
#include "migsync/executor.h"
#include "migsync/ledger.h"
#include "migsync/observe.h"
#include "migsync/pool.h"
#include "migsync/strbuf.h"

void apply_stage_reset(struct plan_stage *st, const struct environment *env)
{
	plan_stage_release(st);
	st->env = env;
}

/*
 * Read one database through conn (observe_conn): identity, version rows,
 * in-progress ledger rows, and (with_approvals) the environment's
 * approvals, which replace st's when there is a ledger. What was read
 * before an error is kept in db.
 */
int apply_read_db(struct plan_db *db, struct plan_stage *st, PGconn *conn,
		   const struct db_target *t, bool with_approvals, struct ms_error *err)
{
	struct observation obs;
	int ret;

	observation_init(&obs);
	ret = observe_conn(&obs, conn, t,
			   OBSERVE_IDENTITY | OBSERVE_ROWS | OBSERVE_IN_PROGRESS |
			   (with_approvals ? OBSERVE_APPROVALS : 0), err);
	free(db->identity);
	db->identity = obs.identity;
	obs.identity = NULL;
	strvec_release(&db->rows);
	db->rows = obs.version_rows;
	strvec_init(&obs.version_rows);
	db->has_version_table = obs.version_table_exists;
	strvec_release(&db->in_progress);
	for (size_t i = 0; i < obs.in_progress_nr; i++)
		if (!strvec_contains(&db->in_progress, obs.in_progress[i].revision))
			strvec_push(&db->in_progress, obs.in_progress[i].revision);
	if (ret == 0 && with_approvals && obs.ledger_applied_exists) {
		approvals_free(st->approvals, st->approvals_nr);
		st->approvals = obs.approvals;
		st->approvals_nr = obs.approvals_nr;
		obs.approvals = NULL;
		obs.approvals_nr = 0;
	}
	observation_release(&obs);
	return ret;
}

/* Prefix err with t's environment (and database) unless it names them already. */
int apply_name_target(struct ms_error *err, const struct db_target *t)
{
	if (!starts_with(err->message ? err->message : "", "environment \""))
		db_target_error(err, err->code, t, "%s", err->message ? err->message : "");
	return err->code;
}

/* A new database of st for target t. */
struct plan_db *apply_stage_add_target(struct plan_stage *st, const struct db_target *t)
{
	struct plan_db *db = plan_stage_add_db(st);

	db->dbname = xstrdup(t->dbname ? t->dbname : "");
	db->describe = xstrdup(t->describe ? t->describe : t->env->name);
	return db;
}

void apply_db_set_error(struct plan_db *db, const struct ms_error *err)
{
	free(db->error);
	db->error = xstrdup(err->message ? err->message : "unknown error");
}

/* What the workers of apply_read_stage share. */
struct read_ctx {
	struct plan_stage *st;
	const struct db_target *targets;
	const struct apply_options *o;
	pthread_mutex_t event_lock;	/* o->event runs in one thread at a time */
};

/* o->event, called from a worker thread: serialized (the callback is not thread-safe). */
static void read_event(const struct apply_event *ev, void *ctx)
{
	struct read_ctx *rc = ctx;

	pthread_mutex_lock(&rc->event_lock);
	rc->o->event(ev, rc->o->ctx);
	pthread_mutex_unlock(&rc->event_lock);
}

/*
 * One database of apply_read_stage, in a worker thread: its own
 * connection, its own entry of st->dbs (allocated before the workers
 * start); only the first one writes st->approvals.
 */
static void read_work(size_t index, void *ctx)
{
	struct read_ctx *rc = ctx;
	const struct db_target *t = &rc->targets[index];
	struct plan_db *db = &rc->st->dbs[index];
	struct apply_options o = *rc->o;
	struct ms_error e = MS_ERROR_INIT;
	struct connect_wait w;
	PGconn *conn = NULL;
	struct tunnel *tunnel = NULL;

	if (o.event) {
		o.event = read_event;
		o.ctx = rc;
	}
	apply_connect_wait_init(&w, &o);
	if (apply_connect_waiting(&conn, &tunnel, t, &w, &o, &e) < 0 ||
	    apply_read_db(db, rc->st, conn, t, index == 0, &e) < 0 ||
	    plan_db_compute(db, o.g, o.target->ident, o.up, &e) < 0) {
		apply_name_target(&e, t);
		apply_db_set_error(db, &e);
	}
	db_disconnect(conn, tunnel);
	ms_error_release(&e);
}

int apply_read_stage(struct plan_stage *st, const struct environment *env,
		     const struct apply_options *o, struct ms_error *err)
{
	struct db_target *targets = NULL;
	struct connect_wait w;
	struct read_ctx rc;
	size_t nr = 0;
	int ret;

	apply_stage_reset(st, env);
	apply_connect_wait_init(&w, o);
	ret = apply_expand_waiting(&targets, &nr, env, &w, o, err);
	if (ret < 0) {
		st->error = xstrdup(err->message ? err->message : "could not expand the environment");
		goto done;
	}
	/* every entry first: the workers fill them in place, in target order */
	for (size_t i = 0; i < nr; i++)
		apply_stage_add_target(st, &targets[i]);
	memset(&rc, 0, sizeof(rc));
	rc.st = st;
	rc.targets = targets;
	rc.o = o;
	pthread_mutex_init(&rc.event_lock, NULL);
	ret = pool_run(nr, o->jobs, read_work, NULL, &rc, err);
	pthread_mutex_destroy(&rc.event_lock);
	if (ret < 0) {
		st->error = xstrdup(err->message ? err->message : "could not read the databases");
		goto done;
	}
	plan_hash_stage(st, &o->target->ids);
done:
	db_targets_free(targets, nr);
	return ret;
}

/*
 * plan_source.held_since: since when every database of prev_env holds
 * revs, from its ledger (one connection per database, no retry).
 */
static int held_since(bool *known, int64_t *since, const struct environment *prev_env,
		      const struct strvec *revs, void *ctx, struct ms_error *err)
{
	struct db_target *targets = NULL;
	size_t nr = 0;
	int ret;

	*known = true;
	*since = 0;
	ret = db_targets_expand(&targets, &nr, prev_env, err);
	if (ret < 0)
		goto done;
	for (size_t i = 0; i < nr && *known; i++) {
		PGconn *conn = NULL;
		struct tunnel *tunnel = NULL;

		ret = db_connect(&conn, &tunnel, &targets[i], err);
		for (size_t k = 0; ret == 0 && k < revs->nr && *known; k++) {
			int64_t at = 0;
			bool found = false;

			ret = ledger_applied_at(&at, &found, conn, NULL, revs->items[k], err);
			if (ret == 0 && !found)
				*known = false;
			if (ret == 0 && found && at > *since)
				*since = at;
		}
		db_disconnect(conn, tunnel);
		if (ret < 0)
			goto done;
	}
done:
	db_targets_free(targets, nr);
	return ret;
}

/* plan_source.read: apply_read_stage, its error kept in the stage only. */
static void read_source(struct plan_stage *st, const struct environment *env, void *ctx)
{
	struct ms_error e = MS_ERROR_INIT;

	apply_read_stage(st, env, ctx, &e);
	ms_error_release(&e);
}

/* The plan_source and plan_check_options of o (now: the wall clock). */
static void check_setup(struct plan_source *src, struct plan_check_options *co,
			const struct apply_options *o)
{
	src->read = read_source;
	src->held_since = held_since;
	src->ctx = (void *)o;
	co->g = o->g;
	co->up = o->up;
	co->allow_out_of_order = o->allow_out_of_order;
	co->now_ms = clock_wall_ms();
	co->safety = o->safety;
}

int apply_check_stage(struct plan_stage *st, const struct plan_stage *prev,
		      bool prev_planned, const struct apply_options *o,
		      struct ms_error *err)
{
	struct plan_source src;
	struct plan_check_options co;

	check_setup(&src, &co, o);
	return plan_stage_check(st, prev, prev_planned, &co, &src, err);
}

int apply_build_plan(struct plan *p, const struct environment *const *envs, size_t nr,
		     const struct apply_options *o, struct ms_error *err)
{
	struct plan_source src;
	struct plan_check_options co;

	check_setup(&src, &co, o);
	return plan_build(p, o->inv, envs, nr, &co, &src, err);
}
