/*
 * The executors of a live database behind struct executor: native SQL
 * (exec_sql_step, step by step) and Alembic (exec_alembic_steps: exact
 * revision ids, a ledger row per revision), both reading the version
 * rows and stamping on the locked connection.
 */
#include <stdlib.h>
#include <string.h>

#include "apply_int.h"
#include "migsync/ledger.h"

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
	return exec_alembic_steps(impl(x), x, db, err);
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
	ax->c.version_schema = db_target_version_schema(t);
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
