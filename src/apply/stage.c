/*
 * Running one stage: lock, re-read, hash, order and gate, the steps
 * through the executor, verify, record, release (see
 * include/migsync/apply.h).
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "migsync/executor.h"
#include "migsync/ledger.h"
#include "migsync/strbuf.h"

struct output_ctx {
	const struct apply_options *o;
	struct apply_event ev;
};

static void output_line(const char *line, void *ctx)
{
	struct output_ctx *oc = ctx;
	struct apply_event ev = oc->ev;

	ev.kind = APPLY_EVENT_OUTPUT;
	ev.detail = line;
	apply_emit(oc->o, &ev);
}

/* Record Alembic's steps in the ledger: the ones that moved applied, the next one failed. */
static void record_alembic(const struct exec_context *c, const struct plan_db *db,
			   const struct apply_options *o, const struct strvec *after,
			   int64_t started, int64_t duration, const char *error)
{
	bool *held = xcalloc(o->g->nr ? o->g->nr : 1, sizeof(*held));
	char *rows = plan_rows_text(after, " ");
	bool failed_one = false;

	for (size_t i = 0; i < after->nr; i++) {
		ssize_t n = revgraph_find(o->g, after->items[i]);

		for (size_t k = 0; n >= 0 && k < o->g->nr; k++)
			if (revgraph_is_ancestor(o->g, k, (size_t)n))
				held[k] = true;
	}
	for (size_t i = 0; i < db->steps_nr; i++) {
		const struct plan_step *s = &db->steps[i];
		bool moved = s->step.up ? held[s->step.node] : !held[s->step.node];
		struct ledger_entry e;
		struct ms_error ignore = MS_ERROR_INIT;

		if (!moved && (failed_one || !error))
			continue;
		ledger_entry_init(&e);
		e.revision = xstrdup(s->revision);
		e.up = s->step.up;
		e.sha256 = s->sha256 && *s->sha256 ? xstrdup(s->sha256) : NULL;
		e.plan_hash = c->plan_hash ? xstrdup(c->plan_hash) : NULL;
		e.who = c->who ? xstrdup(c->who) : NULL;
		e.host = c->host ? xstrdup(c->host) : NULL;
		e.environment = xstrdup(c->target->env->name);
		e.started_at_ms = started;
		e.duration_ms = duration;
		e.outcome = moved ? LEDGER_APPLIED : LEDGER_FAILED;
		e.error = moved ? NULL : xstrdup(error);
		e.transactional = true;
		e.executor = xstrdup("alembic");
		e.rows_after = xstrdup(rows);
		ledger_insert(c->conn, NULL, &e, &ignore);
		ledger_entry_release(&e);
		ms_error_release(&ignore);
		if (!moved)
			failed_one = true;
	}
	free(rows);
	free(held);
}

/* Apply db's steps through conn (locked). */
static int run_steps(struct plan_stage *st, size_t index, PGconn *conn,
		     const struct db_target *t, const struct apply_options *o,
		     struct ms_error *err)
{
	const struct environment *env = t->env;
	struct plan_db *db = &st->dbs[index];
	struct output_ctx oc;
	struct exec_context c;
	struct exec_session session;
	struct strvec after = STRVEC_INIT;
	struct strbuf output = STRBUF_INIT;
	bool exists = false;
	int ret = 0;

	memset(&oc, 0, sizeof(oc));
	oc.o = o;
	oc.ev.environment = env->name;
	oc.ev.database = db->describe;
	oc.ev.db_index = index;
	oc.ev.db_nr = st->dbs_nr;
	memset(&c, 0, sizeof(c));
	c.conn = conn;
	c.target = t;
	c.inv = o->inv;
	c.version_table = env->database.version_table;
	c.version_schema = env->database.version_table_schema;
	c.plan_hash = st->plan_hash;
	c.who = o->who;
	c.host = o->host;
	c.cancel = o->cancel;
	c.output = output_line;
	c.output_ctx = &oc;
	/* the ledger and the version table are checked once, not per step */
	exec_session_init(&session);
	c.session = &session;

	if (o->inv->migrations.executor == EXECUTOR_ALEMBIC) {
		int64_t started = exec_wall_ms(), t0 = exec_monotonic_ms();
		struct ms_error e2 = MS_ERROR_INIT;

		oc.ev.kind = APPLY_EVENT_STEP;
		oc.ev.step_nr = db->steps_nr;
		oc.ev.detail = o->target;
		apply_emit(o, &oc.ev);
		ret = ledger_ensure(conn, NULL, err);
		if (ret == 0)
			ret = exec_alembic_run(&c, o->up ? "upgrade" : "downgrade", o->target,
					       &output, err);
		if (version_rows_read(&after, &exists, conn, c.version_table, c.version_schema,
				      &e2) == 0)
			record_alembic(&c, db, o, &after, started, exec_monotonic_ms() - t0,
				       ret < 0 ? err->message : NULL);
		ms_error_release(&e2);
		goto done;
	}

	for (size_t i = 0; i < db->steps_nr; i++) {
		const struct plan_step *s = &db->steps[i];
		int64_t t0;

		if (apply_cancelled(o)) {
			ret = db_target_error(err, MS_ERR_GENERIC, t,
					      "interrupted before revision \"%s\"", s->revision);
			goto done;
		}
		if (!s->script || s->script->kind != SCRIPT_SQL) {
			ret = db_target_error(err, MS_ERR_CONFIG, t,
					      "revision \"%s\" (%s) is an Alembic script; the sql executor runs .sql revisions only",
					      s->revision, s->script ? s->script->path : "?");
			ms_error_hint(err, "set migrations.executor: alembic in inventory.yaml");
			goto done;
		}
		if (!s->step.up && !s->script->down_sql) {
			ret = db_target_error(err, MS_ERR_CONFIG, t,
					      "revision \"%s\" (%s) has no down section",
					      s->revision, s->script->path);
			goto done;
		}
		oc.ev.kind = APPLY_EVENT_STEP;
		oc.ev.step_index = i;
		oc.ev.step_nr = db->steps_nr;
		oc.ev.revision = s->revision;
		oc.ev.up = s->step.up;
		oc.ev.detail = s->script->message;
		oc.ev.elapsed_ms = 0;
		apply_emit(o, &oc.ev);
		t0 = exec_monotonic_ms();
		ret = exec_sql_step(&c, &s->step, s->script, err);
		if (ret < 0) {
			if (!starts_with(err->message ? err->message : "", "environment \""))
				ms_error_prefix(err, t->member ? "environment \"%s\", database \"%s\"" :
						"environment \"%s\"", env->name, t->dbname);
			goto done;
		}
		oc.ev.kind = APPLY_EVENT_STEP_DONE;
		oc.ev.elapsed_ms = exec_monotonic_ms() - t0;
		apply_emit(o, &oc.ev);
	}
done:
	exec_session_release(&session);
	strvec_release(&after);
	strbuf_release(&output);
	return ret;
}

/* Verify the version rows of db equal its end rows. */
int apply_verify(const struct plan_db *db, PGconn *conn, const struct db_target *t,
		  struct ms_error *err)
{
	struct strvec rows = STRVEC_INIT;
	bool exists = false;
	char *want = NULL, *have = NULL;
	int ret;

	ret = version_rows_read(&rows, &exists, conn, t->env->database.version_table,
				t->env->database.version_table_schema, err);
	if (ret < 0)
		goto done;
	if (!plan_rows_equal(&rows, &db->end_rows)) {
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

enum apply_outcome apply_stage_run(struct plan_stage *st, const struct environment *env,
				   const struct apply_options *o, struct ms_error *err)
{
	struct db_target *targets = NULL;
	struct plan_stage prev;
	size_t nr = 0;
	PGconn *conn = NULL;
	struct tunnel *tunnel = NULL;
	bool locked = false;
	enum apply_outcome out = APPLY_FAILED;

	memset(&prev, 0, sizeof(prev));
	if (apply_read_stage(st, env, o, err) < 0)
		goto done;
	for (size_t i = 0; i < st->dbs_nr; i++) {
		if (st->dbs[i].error) {
			ms_error_set(err, MS_ERR_DB, "%s", st->dbs[i].error);
			goto done;
		}
	}
	if (!plan_stage_steps(st)) {
		bool busy = false;

		for (size_t i = 0; i < st->dbs_nr; i++)
			busy |= st->dbs[i].in_progress.nr > 0;
		if (!busy) {
			out = APPLY_NOTHING;
			goto done;
		}
	}
	if (db_targets_expand(&targets, &nr, env, err) < 0)
		goto done;
	if (nr != st->dbs_nr) {
		ms_error_set(err, MS_ERR_DB, "environment \"%s\": its databases changed while planning",
			     env->name);
		goto done;
	}
	for (size_t i = 0; i < nr; i++) {
		if (st->dbs[i].in_progress.nr) {
			apply_in_progress_error(&st->dbs[i], &targets[i], err);
			goto done;
		}
	}

	if (!o->dry_run && apply_before_hook(env, o->inv, err) < 0)
		goto done;

	/* one database: lock it first, then read, hash and gate under the lock */
	if (nr == 1 && !o->dry_run) {
		struct plan_db *db = &st->dbs[0];

		if (apply_connect_locked(&conn, &tunnel, &targets[0], db, 0, 1, o, err) < 0)
			goto done;
		locked = true;
		if (apply_read_db(db, st, conn, &targets[0], true, err) < 0 ||
		    plan_db_compute(db, o->g, o->target, o->up, err) < 0)
			goto done;
		if (db->in_progress.nr) {
			apply_in_progress_error(db, &targets[0], err);
			goto done;
		}
		plan_hash_stage(st, o->target_ids);
		if (!db->steps_nr) {
			out = APPLY_NOTHING;
			goto done;
		}
	}

	if (o->up && env->stage > 0) {
		const struct environment *pe = &o->inv->envs[env->stage - 1];
		struct apply_options po = *o;

		/* the previous stage is only read: an unreachable one fails the order check now */
		po.connect_wait_ms = 0;
		apply_read_stage(&prev, pe, &po, err);
		ms_error_release(err);
	}
	if (apply_check_stage(st, o->up && env->stage > 0 ? &prev : NULL, false, o, err) < 0)
		goto done;
	if (st->order_error && !st->out_of_order_allowed) {
		ms_error_set(err, MS_ERR_GENERIC, "%s", st->order_error);
		ms_error_hint(err, "promote the previous stage first, or pass --allow-out-of-order");
		goto done;
	}
	out = apply_gate_and_confirm(st, env, o, err);
	if (out != APPLY_DONE)
		goto done;
	out = APPLY_FAILED;

	for (size_t i = 0; i < nr; i++) {
		struct plan_db *db = &st->dbs[i];

		/* a fleet's database planned at its end rows (a rerun): nothing to lock */
		if (!locked && !db->steps_nr) {
			apply_emit_skip(o, env, db, i, nr, "already at the target");
			continue;
		}
		if (apply_cancelled(o)) {
			db_target_error(err, MS_ERR_GENERIC, &targets[i], "interrupted before applying");
			goto done;
		}
		if (!locked) {
			struct plan_db now;
			struct plan_stage scratch;

			memset(&scratch, 0, sizeof(scratch));
			plan_db_init(&now);
			if (apply_connect_locked(&conn, &tunnel, &targets[i], db, i, nr, o, err) < 0)
				goto done;
			locked = true;
			if (apply_read_db(&now, &scratch, conn, &targets[i], false, err) < 0) {
				plan_db_release(&now);
				goto done;
			}
			if (now.in_progress.nr) {
				apply_in_progress_error(&now, &targets[i], err);
				plan_db_release(&now);
				goto done;
			}
			if (!plan_rows_equal(&now.rows, &db->rows)) {
				bool there = plan_rows_equal(&now.rows, &db->end_rows);

				if (!there) {
					char *have = plan_rows_text(&now.rows, " ");
					char *saw = plan_rows_text(&db->rows, " ");

					db_target_error(err, MS_ERR_DB, &targets[i],
							"the database moved since the plan was made: its version rows are %s, the plan saw %s",
							have, saw);
					ms_error_hint(err, "databases before it were migrated; run migsync plan again: "
						      "the approval was for the old plan");
					free(have);
					free(saw);
					plan_db_release(&now);
					goto done;
				}
				plan_db_release(&now);
				/* another migsync did this one already */
				apply_emit_skip(o, env, db, i, nr, NULL);
				goto next;
			}
			plan_db_release(&now);
		}
		if (db->steps_nr) {
			if (run_steps(st, i, conn, &targets[i], o, err) < 0)
				goto done;
			if (apply_verify(db, conn, &targets[i], err) < 0)
				goto done;
		}
next:
		{
			struct ms_error ignore = MS_ERROR_INIT;

			ledger_unlock(conn, &ignore);
			ms_error_release(&ignore);
		}
		locked = false;
		db_disconnect(conn, tunnel);
		conn = NULL;
		tunnel = NULL;
	}
	out = APPLY_DONE;
done:
	if (conn) {
		struct ms_error ignore = MS_ERROR_INIT;

		if (locked)
			ledger_unlock(conn, &ignore);
		ms_error_release(&ignore);
		db_disconnect(conn, tunnel);
	}
	apply_stage_reset(&prev, NULL);
	db_targets_free(targets, nr);
	return out;
}
