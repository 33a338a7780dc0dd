/*
 * Unit tests of the status core: classification of one database against
 * a goal, fleet summaries, and the rollout order check. Graphs are built
 * from script values directly; no file or server is involved.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "migsync/revgraph.h"
#include "migsync/scripts.h"
#include "migsync/status.h"
#include "migsync/util.h"

struct fixture {
	struct script_set scripts;
	struct revgraph *g;
};

/*
 * Add a revision. down is a space-separated list of parents ("" for a
 * base); deps likewise; label is a branch label or NULL.
 */
static void add_rev(struct script_set *set, const char *rev, const char *down,
		    const char *deps, const char *label)
{
	struct script *s;
	char *copy, *tok, *save = NULL;

	ALLOC_GROW(set->items, set->nr + 1, set->alloc);
	s = &set->items[set->nr++];
	script_init(s);
	s->kind = SCRIPT_SQL;
	s->filename = xstrfmt("%s_x.sql", rev);
	s->path = xstrfmt("versions/%s", s->filename);
	s->revision = xstrdup(rev);
	s->revision_line = 1;
	copy = xstrdup(down);
	for (tok = strtok_r(copy, " ", &save); tok; tok = strtok_r(NULL, " ", &save))
		strvec_push(&s->down_revisions, tok);
	free(copy);
	copy = xstrdup(deps ? deps : "");
	save = NULL;
	for (tok = strtok_r(copy, " ", &save); tok; tok = strtok_r(NULL, " ", &save))
		strvec_push(&s->depends_on, tok);
	free(copy);
	if (label)
		strvec_push(&s->branch_labels, label);
}

static void build(struct fixture *f)
{
	struct ms_error err = MS_ERROR_INIT;
	int ret = revgraph_build(&f->g, &f->scripts, NULL, &err);

	if (ret)
		fail_msg("revgraph_build: %s", err.message ? err.message : "?");
	ms_error_release(&err);
}

/*
 * The graph most tests use:
 *
 *   a1 -> a2 -> a3 -> a4              (main line)
 *               a3 -> b1 -> b2        (a branch off a3, never merged: heads a4, b2)
 *   x1 -> x2                          (label "extra", its own base)
 */
static int setup_main(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));

	script_set_init(&f->scripts);
	add_rev(&f->scripts, "a1", "", NULL, NULL);
	add_rev(&f->scripts, "a2", "a1", NULL, NULL);
	add_rev(&f->scripts, "a3", "a2", NULL, NULL);
	add_rev(&f->scripts, "a4", "a3", NULL, NULL);
	add_rev(&f->scripts, "b1", "a3", NULL, NULL);
	add_rev(&f->scripts, "b2", "b1", NULL, NULL);
	add_rev(&f->scripts, "x1", "", NULL, "extra");
	add_rev(&f->scripts, "x2", "x1", NULL, NULL);
	build(f);
	*state = f;
	return 0;
}

/* A straight line l1 .. l5. */
static int setup_line(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));

	script_set_init(&f->scripts);
	add_rev(&f->scripts, "l1", "", NULL, NULL);
	add_rev(&f->scripts, "l2", "l1", NULL, NULL);
	add_rev(&f->scripts, "l3", "l2", NULL, NULL);
	add_rev(&f->scripts, "l4", "l3", NULL, NULL);
	add_rev(&f->scripts, "l5", "l4", NULL, NULL);
	build(f);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	revgraph_free(f->g);
	script_set_release(&f->scripts);
	free(f);
	return 0;
}

static void goal(struct status_goal *out, const struct fixture *f, const char *ident)
{
	struct ms_error err = MS_ERROR_INIT;

	if (status_goal_init(out, f->g, ident, &err))
		fail_msg("status_goal_init(%s): %s", ident ? ident : "NULL",
			 err.message ? err.message : "?");
	ms_error_release(&err);
}

/* Classify a database whose version rows are the space-separated list rows. */
static void classify(struct status_result *out, const struct fixture *f,
		     const struct status_goal *gl, const char *rows)
{
	struct strvec v = STRVEC_INIT;
	struct status_observation obs = { .has_version_table = true, .rows = &v };
	char *copy = xstrdup(rows), *tok, *save = NULL;

	for (tok = strtok_r(copy, " ", &save); tok; tok = strtok_r(NULL, " ", &save))
		strvec_push(&v, tok);
	status_classify(out, f->g, gl, &obs);
	free(copy);
	strvec_release(&v);
}

/* v joined with spaces, for compact assertions. */
static char *joined(const struct strvec *v)
{
	size_t len = 1;
	char *s;

	for (size_t i = 0; i < v->nr; i++)
		len += strlen(v->items[i]) + 1;
	s = xcalloc(1, len);
	for (size_t i = 0; i < v->nr; i++) {
		if (i)
			strcat(s, " ");
		strcat(s, v->items[i]);
	}
	return s;
}

static void assert_list(const struct strvec *v, const char *expected)
{
	char *s = joined(v);

	assert_string_equal(s, expected);
	free(s);
}

static void test_state_names_and_severity(void **state)
{
	(void)state;
	assert_string_equal(status_state_name(STATUS_CURRENT), "current");
	assert_string_equal(status_state_name(STATUS_UNINITIALIZED), "uninitialized");
	assert_string_equal(status_state_name(STATUS_BEHIND), "behind");
	assert_string_equal(status_state_name(STATUS_AHEAD), "ahead");
	assert_string_equal(status_state_name(STATUS_DIVERGED), "diverged");
	assert_string_equal(status_state_name(STATUS_UNKNOWN), "unknown");
	assert_string_equal(status_state_name(STATUS_UNREACHABLE), "unreachable");
	assert_int_equal(status_state_worst(STATUS_BEHIND, STATUS_UNINITIALIZED), STATUS_BEHIND);
	assert_int_equal(status_state_worst(STATUS_AHEAD, STATUS_DIVERGED), STATUS_DIVERGED);
	assert_int_equal(status_state_worst(STATUS_UNREACHABLE, STATUS_UNKNOWN), STATUS_UNREACHABLE);
	assert_int_equal(status_state_worst(STATUS_CURRENT, STATUS_CURRENT), STATUS_CURRENT);
	assert_string_equal(status_violation_kind_name(STATUS_VIOLATION_ORDER), "order");
}

static void test_goal_heads(void **state)
{
	struct fixture *f = *state;
	struct status_goal gl = STATUS_GOAL_INIT;

	goal(&gl, f, NULL);
	assert_string_equal(gl.ident, "heads");
	assert_list(&gl.ids, "a4 b2 x2");
	assert_non_null(gl.path_target);
	assert_string_equal(gl.path_target, "heads");
	status_goal_release(&gl);

	goal(&gl, f, "a2");
	assert_list(&gl.ids, "a2");
	assert_true(gl.closure[revgraph_find(f->g, "a1")]);
	assert_false(gl.closure[revgraph_find(f->g, "a3")]);
	status_goal_release(&gl);
}

static void test_goal_errors(void **state)
{
	struct fixture *f = *state;
	struct status_goal gl = STATUS_GOAL_INIT;
	struct ms_error err = MS_ERROR_INIT;

	assert_int_equal(status_goal_init(&gl, f->g, "+1", &err), MS_ERR_USAGE);
	assert_non_null(strstr(err.message, "target \"+1\""));
	assert_non_null(err.hint);
	assert_null(gl.closure);
	ms_error_release(&err);

	assert_true(status_goal_init(&gl, f->g, "zz99", &err) < 0);
	assert_non_null(strstr(err.message, "\"zz99\""));
	assert_null(gl.ident);
	ms_error_release(&err);
	status_goal_release(&gl);
}

static void test_current(void **state)
{
	struct fixture *f = *state;
	struct status_goal gl = STATUS_GOAL_INIT;
	struct status_result r = STATUS_RESULT_INIT;

	goal(&gl, f, NULL);
	classify(&r, f, &gl, "x2 b2 a4");
	assert_int_equal(r.state, STATUS_CURRENT);
	assert_list(&r.heads, "a4 b2 x2");
	assert_int_equal(r.pending.nr, 0);
	assert_int_equal(r.extra.nr, 0);
	assert_null(r.note);
	assert_null(r.error);
	status_result_release(&r);

	/* the goal is one revision, the database sits on it */
	status_goal_release(&gl);
	goal(&gl, f, "a3");
	classify(&r, f, &gl, "a3");
	assert_int_equal(r.state, STATUS_CURRENT);
	status_result_release(&r);
	status_goal_release(&gl);
}

static void test_behind_apply_order(void **state)
{
	struct fixture *f = *state;
	struct status_goal gl = STATUS_GOAL_INIT;
	struct status_result r = STATUS_RESULT_INIT;

	goal(&gl, f, "a4");
	classify(&r, f, &gl, "a1");
	assert_int_equal(r.state, STATUS_BEHIND);
	assert_list(&r.pending, "a2 a3 a4");
	assert_int_equal(r.extra.nr, 0);
	status_result_release(&r);
	status_goal_release(&gl);

	/* a database on one branch is behind on the others, not diverged */
	goal(&gl, f, NULL);
	classify(&r, f, &gl, "b2 x1");
	assert_int_equal(r.state, STATUS_BEHIND);
	assert_int_equal(r.pending.nr, 2);
	assert_true(strvec_contains(&r.pending, "a4"));
	assert_true(strvec_contains(&r.pending, "x2"));
	status_result_release(&r);
	status_goal_release(&gl);
}

static void test_behind_line(void **state)
{
	struct fixture *f = *state;
	struct status_goal gl = STATUS_GOAL_INIT;
	struct status_result r = STATUS_RESULT_INIT;

	goal(&gl, f, "heads");
	classify(&r, f, &gl, "l2");
	assert_int_equal(r.state, STATUS_BEHIND);
	assert_list(&r.pending, "l3 l4 l5");
	status_result_release(&r);
	status_goal_release(&gl);
}

/* A `transaction false` step left in progress: in_progress, pending kept, resolve named. */
static void test_in_progress(void **state)
{
	struct fixture *f = *state;
	struct status_goal gl = STATUS_GOAL_INIT;
	struct status_result r = STATUS_RESULT_INIT;
	struct strvec rows = STRVEC_INIT, stuck = STRVEC_INIT;
	struct status_observation obs = {
		.has_version_table = true, .rows = &rows, .in_progress = &stuck, .environment = "prod",
	};

	goal(&gl, f, NULL);
	strvec_push(&rows, "l2");
	status_classify(&r, f->g, &gl, &obs);
	assert_int_equal(r.state, STATUS_BEHIND);
	assert_null(r.note);

	strvec_push(&stuck, "l3");
	status_classify(&r, f->g, &gl, &obs);
	assert_int_equal(r.state, STATUS_IN_PROGRESS);
	assert_string_equal(status_state_name(r.state), "in_progress");
	assert_list(&r.pending, "l3 l4 l5");
	assert_non_null(strstr(r.note, "revision l3 (transaction false) did not finish"));
	assert_non_null(strstr(r.note, "migsync resolve -e prod l3 --applied"));
	assert_int_equal(status_state_worst(STATUS_IN_PROGRESS, STATUS_DIVERGED), STATUS_IN_PROGRESS);
	status_result_release(&r);
	status_goal_release(&gl);
	strvec_release(&rows);
	strvec_release(&stuck);
}

static void test_uninitialized(void **state)
{
	struct fixture *f = *state;
	struct status_goal gl = STATUS_GOAL_INIT;
	struct status_result r = STATUS_RESULT_INIT;
	struct status_observation none = { .error = NULL };

	goal(&gl, f, "l3");
	status_classify(&r, f->g, &gl, &none);
	assert_int_equal(r.state, STATUS_UNINITIALIZED);
	assert_string_equal(r.note, "no version table");
	assert_list(&r.pending, "l1 l2 l3");
	assert_int_equal(r.heads.nr, 0);

	classify(&r, f, &gl, "");
	assert_int_equal(r.state, STATUS_UNINITIALIZED);
	assert_string_equal(r.note, "version table is empty");
	status_result_release(&r);
	status_goal_release(&gl);
}

static void test_ahead(void **state)
{
	struct fixture *f = *state;
	struct status_goal gl = STATUS_GOAL_INIT;
	struct status_result r = STATUS_RESULT_INIT;

	goal(&gl, f, "l2");
	classify(&r, f, &gl, "l4");
	assert_int_equal(r.state, STATUS_AHEAD);
	assert_list(&r.extra, "l3 l4");
	assert_int_equal(r.pending.nr, 0);
	assert_string_equal(r.note, "not in the target: l3, l4");
	status_result_release(&r);

	/* "base": anything at all is ahead */
	status_goal_release(&gl);
	goal(&gl, f, "base");
	assert_int_equal(gl.ids.nr, 0);
	classify(&r, f, &gl, "l1");
	assert_int_equal(r.state, STATUS_AHEAD);
	status_result_release(&r);
	status_goal_release(&gl);
}

static void test_diverged(void **state)
{
	struct fixture *f = *state;
	struct status_goal gl = STATUS_GOAL_INIT;
	struct status_result r = STATUS_RESULT_INIT;

	/* b1 branches off a3: it neither leads to a4 nor descends from it */
	goal(&gl, f, "a4");
	classify(&r, f, &gl, "b1");
	assert_int_equal(r.state, STATUS_DIVERGED);
	assert_list(&r.extra, "b1");
	assert_list(&r.pending, "a4");
	assert_string_equal(r.note, "not on the way to the target: b1");
	status_result_release(&r);

	/* an independent base is diverged from a goal on another line too */
	classify(&r, f, &gl, "a4 x1");
	assert_int_equal(r.state, STATUS_DIVERGED);
	status_result_release(&r);

	/* ahead on one row and diverged on another: diverged wins */
	status_goal_release(&gl);
	goal(&gl, f, "a3");
	classify(&r, f, &gl, "a4 x1");
	assert_int_equal(r.state, STATUS_DIVERGED);
	status_result_release(&r);
	status_goal_release(&gl);
}

static void test_unknown_and_unreachable(void **state)
{
	struct fixture *f = *state;
	struct status_goal gl = STATUS_GOAL_INIT;
	struct status_result r = STATUS_RESULT_INIT;
	struct status_observation down = { .error = "could not connect: timeout after 2 s" };

	goal(&gl, f, NULL);
	classify(&r, f, &gl, "a4 ffff0000 b2");
	assert_int_equal(r.state, STATUS_UNKNOWN);
	assert_list(&r.unknown, "ffff0000");
	assert_list(&r.heads, "a4 b2 ffff0000");
	assert_int_equal(r.pending.nr, 0);
	assert_string_equal(r.note, "not in the scripts: ffff0000");

	status_classify(&r, f->g, &gl, &down);
	assert_int_equal(r.state, STATUS_UNREACHABLE);
	assert_string_equal(r.error, "could not connect: timeout after 2 s");
	assert_int_equal(r.heads.nr, 0);
	assert_int_equal(r.pending.nr, 0);
	status_result_release(&r);

	down.missing = true;
	status_classify(&r, f->g, &gl, &down);
	assert_int_equal(r.state, STATUS_MISSING);
	assert_string_equal(r.error, "could not connect: timeout after 2 s");
	assert_non_null(strstr(r.note, "fix database.dbname"));
	status_result_release(&r);
	status_goal_release(&gl);
}

static void test_depends_on_counts_as_applied(void **state)
{
	struct fixture f = { SCRIPT_SET_INIT, NULL };
	struct status_goal gl = STATUS_GOAL_INIT;
	struct status_result r = STATUS_RESULT_INIT;

	(void)state;
	add_rev(&f.scripts, "p1", "", NULL, NULL);
	add_rev(&f.scripts, "q1", "", NULL, "other");
	add_rev(&f.scripts, "p2", "p1", "q1", NULL);
	build(&f);
	goal(&gl, &f, "p2");
	classify(&r, &f, &gl, "p2");
	assert_int_equal(r.state, STATUS_CURRENT);
	classify(&r, &f, &gl, "p1");
	assert_int_equal(r.state, STATUS_BEHIND);
	assert_int_equal(r.pending.nr, 2);
	assert_true(strvec_contains(&r.pending, "q1"));
	assert_string_equal(r.pending.items[1], "p2");
	status_result_release(&r);
	status_goal_release(&gl);
	revgraph_free(f.g);
	script_set_release(&f.scripts);
}

/* Add an environment with one target per rows string ("-" = unreachable). */
static struct status_env *add_env(struct status_report *rep, const struct fixture *f,
				  const struct status_goal *gl, const char *name,
				  bool fleet, const char *const *rows, size_t nr)
{
	struct status_env *env = status_report_add_env(rep, name, fleet);

	for (size_t i = 0; i < nr; i++) {
		char db[32];
		struct status_target *t;

		snprintf(db, sizeof(db), "%s_%02zu", name, i);
		t = status_env_add_target(env, db);
		if (!strcmp(rows[i], "-")) {
			struct status_observation down = { .error = "connection refused" };

			status_classify(&t->result, f->g, gl, &down);
		} else {
			classify(&t->result, f, gl, rows[i]);
		}
	}
	return env;
}

static void test_report_order_ok(void **state)
{
	struct fixture *f = *state;
	struct status_goal gl = STATUS_GOAL_INIT;
	struct status_report rep;
	const char *dev[] = { "l5" }, *staging[] = { "l4" }, *prod[] = { "l2" };

	status_report_init(&rep);
	goal(&gl, f, NULL);
	add_env(&rep, f, &gl, "dev", false, dev, 1);
	add_env(&rep, f, &gl, "staging", false, staging, 1);
	add_env(&rep, f, &gl, "prod", false, prod, 1);
	status_report_finish(&rep, f->g, &gl);
	assert_list(&rep.goal, "l5");
	assert_int_equal(rep.violations_nr, 0);
	assert_int_equal(rep.envs[0].state, STATUS_CURRENT);
	assert_int_equal(rep.envs[1].state, STATUS_BEHIND);
	assert_list(&rep.envs[2].pending, "l3 l4 l5");
	assert_list(&rep.envs[2].heads, "l2");
	assert_int_equal(rep.worst, STATUS_BEHIND);
	status_report_release(&rep);
	status_goal_release(&gl);
}

static void test_report_order_violation(void **state)
{
	struct fixture *f = *state;
	struct status_goal gl = STATUS_GOAL_INIT;
	struct status_report rep;
	const char *dev[] = { "l5" }, *staging[] = { "l2" }, *prod[] = { "l4" };
	const struct status_violation *v;

	status_report_init(&rep);
	goal(&gl, f, NULL);
	add_env(&rep, f, &gl, "dev", false, dev, 1);
	add_env(&rep, f, &gl, "staging", false, staging, 1);
	add_env(&rep, f, &gl, "prod", false, prod, 1);
	status_report_finish(&rep, f->g, &gl);
	assert_int_equal(rep.violations_nr, 1);
	v = &rep.violations[0];
	assert_int_equal(v->kind, STATUS_VIOLATION_ORDER);
	assert_string_equal(v->environment, "prod");
	assert_string_equal(v->earlier, "staging");
	assert_list(&v->revisions, "l3 l4");
	assert_string_equal(v->detail,
			    "environment \"prod\" holds 2 revisions that \"staging\" lacks: l3, l4");
	status_report_release(&rep);
	status_goal_release(&gl);
}

/* An unreachable or uninitialized stage is skipped: compare with the one before. */
static void test_report_order_skips_silent_stage(void **state)
{
	struct fixture *f = *state;
	struct status_goal gl = STATUS_GOAL_INIT;
	struct status_report rep;
	const char *dev[] = { "l2" }, *staging[] = { "-" }, *qa[] = { "" }, *prod[] = { "l3" };

	status_report_init(&rep);
	goal(&gl, f, NULL);
	add_env(&rep, f, &gl, "dev", false, dev, 1);
	add_env(&rep, f, &gl, "staging", false, staging, 1);
	add_env(&rep, f, &gl, "qa", false, qa, 1);
	add_env(&rep, f, &gl, "prod", false, prod, 1);
	status_report_finish(&rep, f->g, &gl);
	assert_int_equal(rep.envs[1].state, STATUS_UNREACHABLE);
	assert_string_equal(rep.envs[1].summary_error, "connection refused");
	assert_int_equal(rep.envs[2].state, STATUS_UNINITIALIZED);
	assert_int_equal(rep.worst, STATUS_UNREACHABLE);
	assert_int_equal(rep.violations_nr, 1);
	assert_string_equal(rep.violations[0].environment, "prod");
	assert_string_equal(rep.violations[0].earlier, "dev");
	assert_list(&rep.violations[0].revisions, "l3");
	status_report_release(&rep);
	status_goal_release(&gl);
}

static void test_report_fleet(void **state)
{
	struct fixture *f = *state;
	struct status_goal gl = STATUS_GOAL_INIT;
	struct status_report rep;
	const char *staging[] = { "l5", "l3", "l5", "-", "" };
	const char *prod[] = { "l4", "l2" };
	const struct status_env *env;

	status_report_init(&rep);
	goal(&gl, f, NULL);
	add_env(&rep, f, &gl, "staging", true, staging, ARRAY_SIZE(staging));
	add_env(&rep, f, &gl, "prod", true, prod, ARRAY_SIZE(prod));
	status_report_finish(&rep, f->g, &gl);

	env = &rep.envs[0];
	assert_int_equal(env->targets_nr, 5);
	assert_int_equal(env->state, STATUS_UNREACHABLE);
	assert_list(&env->heads, "l3 l5");
	/* the uninitialized tenant needs everything */
	assert_list(&env->pending, "l1 l2 l3 l4 l5");
	assert_string_equal(env->summary_error, "1 of 5 databases unreachable");
	assert_int_equal(env->targets[1].result.state, STATUS_BEHIND);

	/* staging's tenant at l3 holds the fleet back: prod's l4 is beyond it */
	env = &rep.envs[1];
	assert_int_equal(env->state, STATUS_BEHIND);
	assert_null(env->summary_error);
	assert_int_equal(rep.violations_nr, 1);
	assert_list(&rep.violations[0].revisions, "l4");
	assert_non_null(strstr(rep.violations[0].detail, "does not hold on every database"));
	status_report_release(&rep);
	status_goal_release(&gl);
}

static void test_report_env_error(void **state)
{
	struct fixture *f = *state;
	struct status_goal gl = STATUS_GOAL_INIT;
	struct status_report rep;
	struct status_env *env;

	status_report_init(&rep);
	goal(&gl, f, NULL);
	env = status_report_add_env(&rep, "tenants", true);
	env->error = xstrdup("environment \"tenants\": discovery query failed");
	status_report_finish(&rep, f->g, &gl);
	assert_int_equal(rep.envs[0].state, STATUS_UNREACHABLE);
	assert_string_equal(rep.envs[0].summary_error,
			    "environment \"tenants\": discovery query failed");
	/* finishing twice gives the same report */
	status_report_finish(&rep, f->g, &gl);
	assert_int_equal(rep.violations_nr, 0);
	assert_int_equal(rep.worst, STATUS_UNREACHABLE);
	status_report_release(&rep);
	status_goal_release(&gl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_state_names_and_severity),
		cmocka_unit_test_setup_teardown(test_goal_heads, setup_main, teardown),
		cmocka_unit_test_setup_teardown(test_goal_errors, setup_main, teardown),
		cmocka_unit_test_setup_teardown(test_current, setup_main, teardown),
		cmocka_unit_test_setup_teardown(test_behind_apply_order, setup_main, teardown),
		cmocka_unit_test_setup_teardown(test_behind_line, setup_line, teardown),
		cmocka_unit_test_setup_teardown(test_in_progress, setup_line, teardown),
		cmocka_unit_test_setup_teardown(test_uninitialized, setup_line, teardown),
		cmocka_unit_test_setup_teardown(test_ahead, setup_line, teardown),
		cmocka_unit_test_setup_teardown(test_diverged, setup_main, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_and_unreachable, setup_main, teardown),
		cmocka_unit_test(test_depends_on_counts_as_applied),
		cmocka_unit_test_setup_teardown(test_report_order_ok, setup_line, teardown),
		cmocka_unit_test_setup_teardown(test_report_order_violation, setup_line, teardown),
		cmocka_unit_test_setup_teardown(test_report_order_skips_silent_stage, setup_line, teardown),
		cmocka_unit_test_setup_teardown(test_report_fleet, setup_line, teardown),
		cmocka_unit_test_setup_teardown(test_report_env_error, setup_main, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
