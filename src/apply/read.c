/*
 * Re-observing a stage: every target database of an environment read
 * (identity, version rows, in-progress ledger rows, approvals), then
 * planned and hashed; the order check and the gate against the previous
 * stage.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "migsync/executor.h"
#include "migsync/ledger.h"
#include "migsync/probe.h"
#include "migsync/strbuf.h"

void apply_stage_reset(struct plan_stage *st, const struct environment *env)
{
	plan_stage_release(st);
	st->env = env;
}

/*
 * Read one database through conn: identity, version rows, in-progress
 * ledger rows, and (with_approvals) the environment's approvals.
 */
int apply_read_db(struct plan_db *db, struct plan_stage *st, PGconn *conn,
		   const struct db_target *t, bool with_approvals, struct ms_error *err)
{
	const struct environment *env = t->env;
	struct ledger_entry *busy = NULL;
	size_t busy_nr = 0;
	bool ledger = false;
	int ret;

	strvec_release(&db->rows);
	strvec_release(&db->in_progress);
	free(db->identity);
	db->identity = NULL;
	ret = db_identity(&db->identity, conn, t, err);
	if (ret < 0)
		goto done;
	ret = version_rows_read(&db->rows, &db->has_version_table, conn,
				env->database.version_table, env->database.version_table_schema, err);
	if (ret < 0) {
		db_target_error(err, ret, t, "%s", err->message);
		goto done;
	}
	ret = ledger_exists(conn, NULL, &ledger, err);
	if (ret < 0 || !ledger)
		goto done;
	ret = ledger_in_progress(&busy, &busy_nr, conn, NULL, err);
	if (ret < 0)
		goto done;
	for (size_t i = 0; i < busy_nr; i++)
		if (!strvec_contains(&db->in_progress, busy[i].revision))
			strvec_push(&db->in_progress, busy[i].revision);
	if (with_approvals) {
		approvals_free(st->approvals, st->approvals_nr);
		st->approvals = NULL;
		st->approvals_nr = 0;
		ret = ledger_approvals(&st->approvals, &st->approvals_nr, conn, NULL,
				       env->name, err);
	}
done:
	ledger_entries_free(busy, busy_nr);
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
	    plan_db_compute(db, o.g, o.target, o.up, &e) < 0) {
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
	ret = probe_pool_run(nr, o->jobs, read_work, NULL, &rc, err);
	pthread_mutex_destroy(&rc.event_lock);
	if (ret < 0) {
		st->error = xstrdup(err->message ? err->message : "could not read the databases");
		goto done;
	}
	plan_hash_stage(st, o->target_ids);
done:
	db_targets_free(targets, nr);
	return ret;
}

/*
 * Since when the previous stage holds every revision st's steps bring:
 * the latest ledger time over its databases and those revisions.
 */
static int held_since(bool *known, int64_t *since, const struct plan_stage *st,
		      const struct environment *prev_env, struct ms_error *err)
{
	struct db_target *targets = NULL;
	struct strvec revs = STRVEC_INIT;
	size_t nr = 0;
	int ret;

	*known = true;
	*since = 0;
	for (size_t i = 0; i < st->dbs_nr; i++)
		for (size_t k = 0; k < st->dbs[i].steps_nr; k++)
			if (!strvec_contains(&revs, st->dbs[i].steps[k].revision))
				strvec_push(&revs, st->dbs[i].steps[k].revision);
	ret = db_targets_expand(&targets, &nr, prev_env, err);
	if (ret < 0)
		goto done;
	for (size_t i = 0; i < nr && *known; i++) {
		PGconn *conn = NULL;
		struct tunnel *tunnel = NULL;

		ret = db_connect(&conn, &tunnel, &targets[i], err);
		for (size_t k = 0; ret == 0 && k < revs.nr && *known; k++) {
			int64_t at = 0;
			bool found = false;

			ret = ledger_applied_at(&at, &found, conn, NULL, revs.items[k], err);
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
	strvec_release(&revs);
	return ret;
}

int apply_check_stage(struct plan_stage *st, const struct plan_stage *prev,
		      bool prev_planned, const struct apply_options *o,
		      struct ms_error *err)
{
	struct gate_input in;
	struct strvec *prev_rows = NULL, *end_rows = NULL;
	int ret = 0;

	strvec_release(&st->order_missing);
	free(st->order_error);
	st->order_error = NULL;
	free(st->previous);
	st->previous = prev ? xstrdup(prev->env->name) : NULL;
	st->out_of_order_allowed = false;

	if (prev && o->up && plan_stage_steps(st)) {
		const char *bad = prev->error;

		for (size_t i = 0; !bad && i < prev->dbs_nr; i++)
			bad = prev->dbs[i].error;
		if (bad) {
			st->order_error = xstrfmt("environment \"%s\": cannot verify the rollout order: "
						  "the previous stage could not be read: %s",
						  st->env->name, bad);
		} else if (!prev->dbs_nr) {
			st->order_error = xstrfmt("environment \"%s\": cannot verify the rollout order: "
						  "environment \"%s\" has no databases",
						  st->env->name, prev->env->name);
		} else {
			prev_rows = xcalloc(prev->dbs_nr, sizeof(*prev_rows));
			end_rows = xcalloc(st->dbs_nr ? st->dbs_nr : 1, sizeof(*end_rows));
			for (size_t i = 0; i < prev->dbs_nr; i++)
				prev_rows[i] = prev_planned ? prev->dbs[i].end_rows : prev->dbs[i].rows;
			for (size_t i = 0; i < st->dbs_nr; i++)
				end_rows[i] = st->dbs[i].end_rows;
			if (!plan_order_check(&st->order_missing, o->g, prev_rows, prev->dbs_nr,
					      end_rows, st->dbs_nr)) {
				struct strbuf sb = STRBUF_INIT;

				for (size_t i = 0; i < st->order_missing.nr && i < 5; i++)
					strbuf_addf(&sb, "%s%s", i ? ", " : "", st->order_missing.items[i]);
				if (st->order_missing.nr > 5)
					strbuf_addf(&sb, " and %zu more", st->order_missing.nr - 5);
				st->order_error = xstrfmt("environment \"%s\": would go past environment \"%s\", "
							  "which does not hold %s",
							  st->env->name, prev->env->name, sb.buf);
				strbuf_release(&sb);
			}
		}
		if (st->order_error && o->allow_out_of_order)
			st->out_of_order_allowed = true;
	}

	memset(&in, 0, sizeof(in));
	in.gate = &st->env->gate;
	in.environment = st->env->name;
	in.plan_hash = st->plan_hash;
	in.approvals = st->approvals;
	in.approvals_nr = st->approvals_nr;
	in.now_ms = exec_wall_ms();
	in.has_previous = prev && o->up;
	in.previous = prev ? prev->env->name : NULL;
	if (in.has_previous && st->env->gate.soak > 0 && plan_stage_steps(st)) {
		if (prev_planned && plan_stage_steps(prev)) {
			/* the previous stage only gets the target in this very run */
			in.held_since_known = true;
			in.held_since_ms = in.now_ms;
			in.previous_planned = true;
		} else {
			ret = held_since(&in.held_since_known, &in.held_since_ms, st, prev->env, err);
			if (ret < 0)
				goto done;
		}
	}
	gate_evaluate(&st->gate, &in);
done:
	free(prev_rows);
	free(end_rows);
	return ret;
}

int apply_build_plan(struct plan *p, const struct environment *const *envs, size_t nr,
		     const struct apply_options *o, struct ms_error *err)
{
	struct plan_stage prev_read;
	int ret = 0;

	memset(&prev_read, 0, sizeof(prev_read));
	for (size_t i = 0; i < nr; i++) {
		const struct environment *env = envs[i];
		struct plan_stage *st = plan_add_stage(p, env);
		const struct plan_stage *prev = NULL;
		bool planned = false;

		apply_read_stage(st, env, o, err);
		ms_error_release(err);
		if (env->stage > 0) {
			const struct environment *pe = &o->inv->envs[env->stage - 1];

			if (i > 0 && p->stages[p->nr - 2].env == pe) {
				prev = &p->stages[p->nr - 2];
				planned = true;
			} else {
				apply_read_stage(&prev_read, pe, o, err);
				ms_error_release(err);
				prev = &prev_read;
			}
		}
		ret = apply_check_stage(st, prev, planned, o, err);
		if (ret < 0)
			goto done;
	}
done:
	apply_stage_reset(&prev_read, NULL);
	return ret;
}
