/*
 * The stage runner without a database: apply_db_run through a fake
 * executor (steps, verify, skips, failures, cancel, a whole-run executor
 * like Alembic), and plan_build / plan_stage_check through a fake
 * plan_source (rollout order across stages, soak from the previous
 * stage's ledger).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "migsync/apply.h"
#include "migsync/executor.h"
#include "migsync/plan.h"
#include "migsync/strbuf.h"
#include "migsync/target.h"
#include "graph_fixture.h"

#define NOW 1700000000000LL

/* ---- a graph r1 - r2 - r3 - r4 and two environments, dev then staging */

struct stage_fixture {
	struct fixture gf;		/* graph_fixture.h: the scripts and the graph */
	struct revgraph *g;		/* == gf.g */
	struct inventory inv;
	struct db_target target;	/* staging's database */
	struct strvec events;		/* "KIND revision detail", one per event */
};

static int setup(void **state)
{
	struct stage_fixture *f = xcalloc(1, sizeof(*f));

	add_rev(&f->gf, "r1", "", NULL, NULL);
	add_rev(&f->gf, "r2", "r1", NULL, NULL);
	add_rev(&f->gf, "r3", "r2", NULL, NULL);
	add_rev(&f->gf, "r4", "r3", NULL, NULL);
	if (build(&f->gf) < 0)
		return -1;
	f->g = f->gf.g;
	f->inv.nr = 2;
	f->inv.envs = xcalloc(2, sizeof(*f->inv.envs));
	f->inv.envs[0].name = xstrdup("dev");
	f->inv.envs[1].name = xstrdup("staging");
	f->inv.envs[1].stage = 1;
	for (size_t i = 0; i < 2; i++)
		strvec_init(&f->inv.envs[i].gate.approvers);
	db_target_init(&f->target);
	f->target.env = &f->inv.envs[1];
	f->target.dbname = xstrdup("app");
	strvec_init(&f->events);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct stage_fixture *f = *state;

	for (size_t i = 0; i < f->inv.nr; i++) {
		free(f->inv.envs[i].name);
		strvec_release(&f->inv.envs[i].gate.approvers);
	}
	free(f->inv.envs);
	f->target.env = NULL;
	db_target_release(&f->target);
	strvec_release(&f->events);
	fixture_release(&f->gf);
	free(f);
	return 0;
}

static const char *kind_name(enum apply_event_kind k)
{
	switch (k) {
	case APPLY_EVENT_HOOK: return "hook";
	case APPLY_EVENT_LOCK: return "lock";
	case APPLY_EVENT_STEP: return "step";
	case APPLY_EVENT_STEP_DONE: return "done";
	case APPLY_EVENT_SKIP: return "skip";
	case APPLY_EVENT_OUTPUT: return "output";
	case APPLY_EVENT_WAIT: return "wait";
	}
	return "?";
}

static void on_event(const struct apply_event *ev, void *ctx)
{
	struct stage_fixture *f = ctx;

	strvec_push_owned(&f->events, xstrfmt("%s %s %s", kind_name(ev->kind),
					      ev->revision ? ev->revision : "-",
					      ev->detail ? ev->detail : "-"));
}

static void assert_events(struct stage_fixture *f, const char *want)
{
	/* joined with "|"; "(none)": no event */
	char *have = plan_rows_text(&f->events, "|");

	assert_string_equal(have, want);
	free(have);
}

/* ---- the fake executor: version rows in memory, a log of the calls */

struct fake {
	struct executor x;
	struct strvec rows;		/* the version rows "in the database" */
	struct strvec calls;		/* "check r2", "step r2", "run", "read" */
	const char *fail;		/* the step that fails, or NULL */
	const char *refuse;		/* the step check_step refuses, or NULL */
	bool stuck;			/* steps succeed but move nothing (verify must see it) */
	volatile sig_atomic_t *cancel_after;	/* set after the first step */
};

static struct fake *fake_of(struct executor *x)
{
	return x->impl;
}

/* Move rows as step s does: rows_removed out, rows_added in. */
static void move_rows(struct strvec *rows, const struct revgraph_step *s)
{
	struct strvec next = STRVEC_INIT;

	for (size_t i = 0; i < rows->nr; i++)
		if (!strvec_contains(&s->rows_removed, rows->items[i]))
			strvec_push(&next, rows->items[i]);
	for (size_t i = 0; i < s->rows_added.nr; i++)
		strvec_push(&next, s->rows_added.items[i]);
	strvec_sort(&next);
	strvec_release(rows);
	*rows = next;
}

static int fake_check(struct executor *x, const struct plan_step *s, struct ms_error *err)
{
	struct fake *fk = fake_of(x);

	strvec_push_owned(&fk->calls, xstrfmt("check %s", s->revision));
	if (fk->refuse && !strcmp(fk->refuse, s->revision))
		return ms_error_set(err, MS_ERR_CONFIG, "environment \"staging\": revision \"%s\" refused",
				    s->revision);
	return 0;
}

static int fake_step(struct executor *x, const struct plan_step *s, struct ms_error *err)
{
	struct fake *fk = fake_of(x);

	strvec_push_owned(&fk->calls, xstrfmt("step %s", s->revision));
	if (x->output)
		x->output("NOTICE: hello", x->output_ctx);
	if (fk->fail && !strcmp(fk->fail, s->revision))
		return ms_error_set(err, MS_ERR_DB, "revision \"%s\": syntax error", s->revision);
	if (!fk->stuck)
		move_rows(&fk->rows, &s->step);
	if (fk->cancel_after)
		*fk->cancel_after = 1;
	return 0;
}

static int fake_run(struct executor *x, const struct plan_db *db, struct ms_error *err)
{
	struct fake *fk = fake_of(x);

	strvec_push(&fk->calls, "run");
	for (size_t i = 0; i < db->steps_nr; i++) {
		/* as the Alembic executor reports each revision it sees start and end */
		if (x->progress)
			x->progress(i, false, 0, x->output_ctx);
		move_rows(&fk->rows, &db->steps[i].step);
		if (x->progress)
			x->progress(i, true, 1, x->output_ctx);
	}
	return 0;
}

static int fake_read(struct executor *x, struct strvec *rows, struct ms_error *err)
{
	struct fake *fk = fake_of(x);

	strvec_push(&fk->calls, "read");
	for (size_t i = 0; i < fk->rows.nr; i++)
		strvec_push(rows, fk->rows.items[i]);
	return 0;
}

static const struct executor_ops fake_step_ops = {
	.name = "fake",
	.check_step = fake_check,
	.step = fake_step,
	.read_rows = fake_read,
};

static const struct executor_ops fake_run_ops = {
	.name = "fake-run",
	.run = fake_run,
	.read_rows = fake_read,
};

static void fake_init(struct fake *fk, const struct executor_ops *ops, const char *rows)
{
	memset(fk, 0, sizeof(*fk));
	fk->x.ops = ops;
	fk->x.impl = fk;
	strvec_init(&fk->rows);
	strvec_init(&fk->calls);
	plan_rows_parse(&fk->rows, rows);
}

static void fake_release(struct fake *fk)
{
	strvec_release(&fk->rows);
	strvec_release(&fk->calls);
}

static void assert_calls(struct fake *fk, const char *want)
{
	char *have = plan_rows_text(&fk->calls, "|");

	assert_string_equal(have, want);
	free(have);
}

/* A stage of staging with one database at rows, planned up to target. */
static void stage_at(struct plan_stage *st, struct stage_fixture *f, const char *rows, const char *target)
{
	struct plan_db *db;
	struct ms_error err = MS_ERROR_INIT;

	plan_stage_init(st, &f->inv.envs[1]);
	db = plan_stage_add_db(st);
	db->dbname = xstrdup("app");
	db->describe = xstrdup("u@h:5432/app");
	plan_rows_parse(&db->rows, rows);
	assert_int_equal(plan_db_compute(db, f->g, target, true, &err), 0);
	ms_error_release(&err);
}

static void options(struct apply_options *o, struct plan_target *target,
		    struct stage_fixture *f, const char *ident)
{
	struct ms_error err = MS_ERROR_INIT;

	plan_target_init(target);
	assert_int_equal(plan_target_resolve(target, f->g, ident, true, &err), 0);
	ms_error_release(&err);
	apply_options_init(o);
	o->inv = &f->inv;
	o->g = f->g;
	o->target = target;
	o->up = true;
	o->event = on_event;
	o->ctx = f;
}

/* ---- apply_db_run */

struct run_case {
	const char *name;
	const struct executor_ops *ops;
	const char *planned;		/* rows the plan saw */
	const char *now;		/* rows read under the lock; NULL: not compared */
	const char *target;
	const char *fail, *refuse;
	bool stuck, cancel;
	enum apply_outcome outcome;
	const char *calls;
	const char *events;
	const char *error;		/* err's message, or NULL */
	const char *rows_after;		/* the fake's rows at the end */
};

static const struct run_case run_cases[] = {
	{ "steps in order, verified", &fake_step_ops, "r1", NULL, "r3", NULL, NULL, false, false,
	  APPLY_DONE, "check r2|step r2|check r3|step r3|read",
	  "step r2 -|output r2 NOTICE: hello|done r2 -|"
	  "step r3 -|output r3 NOTICE: hello|done r3 -",
	  NULL, "r3" },
	{ "rows as planned under the lock", &fake_step_ops, "r2", "r2", "r3", NULL, NULL, false, false,
	  APPLY_DONE, "check r3|step r3|read",
	  "step r3 -|output r3 NOTICE: hello|done r3 -", NULL, "r3" },
	{ "another run got there first: skipped", &fake_step_ops, "r1", "r3", "r3", NULL, NULL,
	  false, false, APPLY_NOTHING, "(none)", "skip - -", NULL, "r1" },
	{ "the database moved: stop", &fake_step_ops, "r1", "r2", "r3", NULL, NULL, false, false,
	  APPLY_FAILED, "(none)", "(none)",
	  "environment \"staging\": the database moved since the plan was made: its version rows are r2, "
	  "the plan saw r1", "r1" },
	{ "a failing step stops the rest", &fake_step_ops, "r1", NULL, "r4", "r3", NULL, false, false,
	  APPLY_FAILED, "check r2|step r2|check r3|step r3",
	  "step r2 -|output r2 NOTICE: hello|done r2 -|"
	  "step r3 -|output r3 NOTICE: hello",
	  "environment \"staging\": revision \"r3\": syntax error", "r2" },
	{ "a refused step is not announced", &fake_step_ops, "r1", NULL, "r3", NULL, "r2", false, false,
	  APPLY_FAILED, "check r2", "(none)", "environment \"staging\": revision \"r2\" refused", "r1" },
	{ "verify sees rows that did not move", &fake_step_ops, "r1", NULL, "r2", NULL, NULL, true,
	  false, APPLY_FAILED, "check r2|step r2|read",
	  "step r2 -|output r2 NOTICE: hello|done r2 -",
	  "environment \"staging\": version rows after applying are r1, the plan expected r2", "r1" },
	{ "a cancel stops before the next step", &fake_step_ops, "r1", NULL, "r3", NULL, NULL, false,
	  true, APPLY_FAILED, "check r2|step r2",
	  "step r2 -|output r2 NOTICE: hello|done r2 -",
	  "environment \"staging\": interrupted before revision \"r3\"", "r2" },
	/* r4 is the only head: the resolved target's ident is "heads" (status_goal's path_target) */
	{ "a whole-run executor: each revision announced through progress", &fake_run_ops, "r1",
	  NULL, "r4", NULL, NULL, false, false, APPLY_DONE, "run|read",
	  "step r2 -|done r2 -|step r3 -|done r3 -|step r4 -|done r4 -", NULL, "r4" },
	{ "a whole-run executor to a revision short of the head", &fake_run_ops, "r1", NULL, "r3",
	  NULL, NULL, false, false, APPLY_DONE, "run|read", "step r2 -|done r2 -|step r3 -|done r3 -",
	  NULL, "r3" },
	{ "nothing to do", &fake_step_ops, "r3", "r3", "r3", NULL, NULL, false, false,
	  APPLY_NOTHING, "(none)", "(none)", NULL, "r3" },
};

static void test_db_run(void **state)
{
	struct stage_fixture *f = *state;

	for (size_t i = 0; i < sizeof(run_cases) / sizeof(run_cases[0]); i++) {
		const struct run_case *c = &run_cases[i];
		struct plan_stage st;
		struct apply_options o;
		struct plan_target target;
		struct fake fk;
		struct strvec now = STRVEC_INIT;
		struct ms_error err = MS_ERROR_INIT;
		volatile sig_atomic_t cancel = 0;
		enum apply_outcome out;
		char *rows;

		print_message("case: %s\n", c->name);
		strvec_release(&f->events);
		stage_at(&st, f, c->planned, c->target);
		options(&o, &target, f, c->target);
		o.cancel = &cancel;
		fake_init(&fk, c->ops, c->planned);
		fk.fail = c->fail;
		fk.refuse = c->refuse;
		fk.stuck = c->stuck;
		fk.cancel_after = c->cancel ? &cancel : NULL;
		if (c->now)
			plan_rows_parse(&now, c->now);
		out = apply_db_run(&fk.x, &st, 0, c->now ? &now : NULL, &f->target, &o, &err);
		assert_int_equal(out, c->outcome);
		assert_calls(&fk, c->calls);
		assert_events(f, c->events);
		if (c->error)
			assert_string_equal(err.message, c->error);
		else
			assert_null(err.message);
		rows = plan_rows_text(&fk.rows, " ");
		assert_string_equal(rows, c->rows_after);
		assert_null(fk.x.output);
		free(rows);
		strvec_release(&now);
		fake_release(&fk);
		ms_error_release(&err);
		plan_stage_release(&st);
		plan_target_release(&target);
	}
}

/* ---- plan_build through a fake plan_source */

struct source {
	struct stage_fixture *f;
	const char *rows[2];		/* dev's and staging's rows now */
	const char *target;
	bool held_known;
	int64_t held_since;
	int held_calls;
	int reads[2];
};

static void source_read(struct plan_stage *st, const struct environment *env, void *ctx)
{
	struct source *s = ctx;
	size_t i = env->stage;
	struct plan_db *db;
	struct strvec target = STRVEC_INIT;
	struct ms_error err = MS_ERROR_INIT;

	s->reads[i]++;
	plan_stage_release(st);
	st->env = env;
	db = plan_stage_add_db(st);
	db->dbname = xstrdup(env->name);
	db->identity = xstrfmt("%s oid=1", env->name);
	plan_rows_parse(&db->rows, s->rows[i]);
	if (plan_db_compute(db, s->f->g, s->target, true, &err) < 0)
		db->error = xstrdup(err.message);
	strvec_push(&target, s->target);
	plan_hash_stage(st, &target);
	strvec_release(&target);
	ms_error_release(&err);
}

static int source_held(bool *known, int64_t *since, const struct environment *env,
		       const struct strvec *revs, void *ctx, struct ms_error *err)
{
	struct source *s = ctx;

	assert_string_equal(env->name, "dev");
	assert_true(revs->nr > 0);
	s->held_calls++;
	*known = s->held_known;
	*since = s->held_since;
	return 0;
}

static void build_plan(struct plan *p, struct source *s, const struct environment *const *envs,
		  size_t nr)
{
	struct plan_source src = { source_read, source_held, s };
	struct plan_check_options co = { s->f->g, true, false, NOW, NULL };
	struct ms_error err = MS_ERROR_INIT;

	plan_init(p);
	assert_int_equal(plan_build(p, &s->f->inv, envs, nr, &co, &src, &err), 0);
	ms_error_release(&err);
}

static void test_build_order(void **state)
{
	struct stage_fixture *f = *state;
	const struct environment *both[] = { &f->inv.envs[0], &f->inv.envs[1] };
	const struct environment *staging[] = { &f->inv.envs[1] };
	struct source s = { f, { "r2", "r1" }, "r4", true, 0, 0, { 0, 0 } };
	struct plan p;

	/* both stages planned: staging compares with dev's end rows (r4): in order */
	build_plan(&p, &s, both, 2);
	assert_int_equal(p.nr, 2);
	assert_null(p.stages[0].order_error);
	assert_null(p.stages[1].order_error);
	assert_string_equal(p.stages[1].previous, "dev");
	assert_int_equal(s.reads[0], 1);
	plan_release(&p);

	/* staging alone: dev is read for its rows now (r2), staging would go past it */
	memset(s.reads, 0, sizeof(s.reads));
	build_plan(&p, &s, staging, 1);
	assert_int_equal(p.nr, 1);
	assert_int_equal(s.reads[0], 1);
	assert_string_equal(p.stages[0].order_error,
			    "environment \"staging\": would go past environment \"dev\", which does not hold r3, r4");
	assert_int_equal(p.stages[0].order_missing.nr, 2);
	assert_false(p.stages[0].out_of_order_allowed);
	plan_release(&p);

	/* staging alone, up to what dev holds: in order */
	s.target = "r2";
	build_plan(&p, &s, staging, 1);
	assert_null(p.stages[0].order_error);
	assert_true(p.stages[0].gate.passed);
	plan_release(&p);
}

static void test_build_soak(void **state)
{
	struct stage_fixture *f = *state;
	const struct environment *both[] = { &f->inv.envs[0], &f->inv.envs[1] };
	const struct environment *staging[] = { &f->inv.envs[1] };
	struct source s = { f, { "r3", "r1" }, "r3", true, NOW - 3600 * 1000LL, 0, { 0, 0 } };
	struct plan p;

	f->inv.envs[1].gate.soak = 7200;
	/* dev held r2 and r3 for an hour of the two asked */
	build_plan(&p, &s, staging, 1);
	assert_int_equal(s.held_calls, 1);
	assert_false(p.stages[0].gate.passed);
	assert_int_equal(p.stages[0].gate.soak_remaining, 3600);
	plan_release(&p);

	/* long enough */
	s.held_since = NOW - 7200 * 1000LL;
	build_plan(&p, &s, staging, 1);
	assert_true(p.stages[0].gate.passed);
	plan_release(&p);

	/* dev's ledger does not know: the soak cannot be judged */
	s.held_known = false;
	build_plan(&p, &s, staging, 1);
	assert_false(p.stages[0].gate.passed);
	assert_true(p.stages[0].gate.soak_unknown);
	plan_release(&p);

	/* dev gets the target in the same plan: the soak starts now, no ledger asked */
	s.held_calls = 0;
	s.rows[0] = "r1";
	build_plan(&p, &s, both, 2);
	assert_int_equal(s.held_calls, 0);
	assert_false(p.stages[1].gate.passed);
	assert_int_equal(p.stages[1].gate.soak_remaining, 7200);
	plan_release(&p);
	f->inv.envs[1].gate.soak = 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_db_run, setup, teardown),
		cmocka_unit_test_setup_teardown(test_build_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_build_soak, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
