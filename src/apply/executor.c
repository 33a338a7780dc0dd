/*
 * The executors of a live database behind struct executor: native SQL
 * (exec_sql_step, step by step) and Alembic (exec_alembic_run to the
 * target, then ledger rows for what moved), both reading the version rows
 * and stamping on the locked connection.
 */
#include <stdlib.h>
#include <string.h>

#include "apply_int.h"
#include "migsync/clock.h"
#include "migsync/ledger.h"

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

static struct apply_executor *impl(struct executor *x)
{
	return x->impl;
}

/* exec_context.output: to whoever listens to the executor now. */
static void forward_output(const char *line, void *ctx)
{
	struct executor *x = ctx;

	if (x->output)
		x->output(line, x->output_ctx);
}

static int sql_check_step(struct executor *x, const struct plan_step *s, struct ms_error *err)
{
	const struct db_target *t = impl(x)->c.target;

	if (!s->script || s->script->kind != SCRIPT_SQL) {
		db_target_error(err, MS_ERR_CONFIG, t,
				"revision \"%s\" (%s) is an Alembic script; the sql executor runs .sql revisions only",
				s->revision, s->script ? s->script->path : "?");
		ms_error_hint(err, "set migrations.executor: alembic in inventory.yaml");
		return MS_ERR_CONFIG;
	}
	if (!s->step.up && !s->script->down_sql)
		return db_target_error(err, MS_ERR_CONFIG, t,
				       "revision \"%s\" (%s) has no down section",
				       s->revision, s->script->path);
	return 0;
}

static int sql_step(struct executor *x, const struct plan_step *s, struct ms_error *err)
{
	return exec_sql_step(&impl(x)->c, &s->step, s->script, err);
}

static int alembic_run(struct executor *x, const struct plan_db *db, struct ms_error *err)
{
	struct apply_executor *ax = impl(x);
	const struct apply_options *o = ax->o;
	int64_t started = clock_wall_ms(), t0 = clock_mono_ms();
	struct strvec after = STRVEC_INIT;
	struct strbuf output = STRBUF_INIT;
	struct ms_error e2 = MS_ERROR_INIT;
	bool exists = false;
	int ret;

	ret = ledger_ensure(ax->c.conn, NULL, err);
	if (ret == 0)
		ret = exec_alembic_run(&ax->c, o->up ? "upgrade" : "downgrade", o->target->ident,
				       &output, err);
	if (db_version_rows(&after, &exists, NULL, ax->c.conn, ax->c.version_table,
			      ax->c.version_schema, &e2) == 0)
		record_alembic(&ax->c, db, o, &after, started, clock_mono_ms() - t0,
			       ret < 0 ? err->message : NULL);
	ms_error_release(&e2);
	strvec_release(&after);
	strbuf_release(&output);
	return ret;
}

static int pg_read_rows(struct executor *x, struct strvec *rows, struct ms_error *err)
{
	struct apply_executor *ax = impl(x);
	bool exists = false;

	return db_version_rows(rows, &exists, NULL, ax->c.conn, ax->c.version_table,
				 ax->c.version_schema, err);
}

static int pg_stamp(struct executor *x, const struct strvec *from, const struct strvec *to,
		    struct ms_error *err)
{
	return exec_stamp(&impl(x)->c, from, to, err);
}

static const struct executor_ops sql_ops = {
	.name = "sql",
	.check_step = sql_check_step,
	.step = sql_step,
	.read_rows = pg_read_rows,
	.stamp = pg_stamp,
};

static const struct executor_ops alembic_ops = {
	.name = "alembic",
	.run = alembic_run,
	.read_rows = pg_read_rows,
	.stamp = pg_stamp,
};

void apply_executor_open(struct apply_executor *ax, PGconn *conn, const struct db_target *t,
			 const char *plan_hash, const struct apply_options *o)
{
	memset(ax, 0, sizeof(*ax));
	ax->o = o;
	ax->c.conn = conn;
	ax->c.target = t;
	ax->c.inv = o->inv;
	ax->c.version_table = t->env->database.version_table;
	ax->c.version_schema = t->env->database.version_table_schema;
	ax->c.plan_hash = plan_hash;
	ax->c.who = o->who;
	ax->c.host = o->host;
	ax->c.cancel = o->cancel;
	ax->c.output = forward_output;
	ax->c.output_ctx = &ax->x;
	/* the ledger and the version table are checked once, not per step */
	exec_session_init(&ax->session);
	ax->c.session = &ax->session;
	ax->x.ops = o->inv->migrations.executor == EXECUTOR_ALEMBIC ? &alembic_ops : &sql_ops;
	ax->x.impl = ax;
}

void apply_executor_close(struct apply_executor *ax)
{
	exec_session_release(&ax->session);
}
