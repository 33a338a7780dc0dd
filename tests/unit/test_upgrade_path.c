#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdbool.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "migsync/diag.h"
#include "migsync/error.h"
#include "migsync/revgraph.h"
#include "migsync/scripts.h"
#include "migsync/strbuf.h"
#include "migsync/util.h"

#include "graph_fixture.h"

/*
 * Expected values computed with Alembic 1.8.1 itself: RevisionMap over the
 * same revisions in the same order, iterate_revisions as
 * ScriptDirectory._upgrade_revs / _downgrade_revs call it, and
 * RevisionStep's should_* / *_idents replayed as HeadMaintainer does.
 */
struct path_case {
	const char *graph;
	bool up;
	const char *current;
	const char *target;
	const char *expect;
};

static const struct path_case path_cases[] = {
	{ "linear", true, "", "head",
	  "insert a; update a b; update b c; update c d => d" },
	{ "linear", true, "b", "heads",
	  "update b c; update c d => d" },
	{ "linear", true, "b", "+1",
	  "update b c => c" },
	{ "linear", true, "", "+2",
	  "insert a; update a b => b" },
	{ "linear", true, "d", "b",
	  " => d" },
	{ "linear", false, "d", "b",
	  "update d c; update c b => b" },
	{ "linear", false, "d", "base",
	  "update d c; update c b; update b a; delete a => " },
	{ "linear", false, "d", "-2",
	  "update d c; update c b => b" },
	{ "linear", true, "b", "c+1",
	  "update b c; update c d => d" },
	{ "linear", false, "d", "d-3",
	  "update d c; update c b; update b a => a" },
	{ "diamond", true, "b", "d",
	  "insert c; merge b,c d => d" },
	{ "diamond", true, "", "head",
	  "insert a; update a c; insert b; merge b,c d => d" },
	{ "diamond", false, "d", "a",
	  "unmerge d b,c; delete b; update c a => a" },
	{ "diamond", false, "d", "b",
	  "unmerge d b,c => b c" },
	{ "diamond", false, "d", "base",
	  "unmerge d b,c; delete b; update c a; delete a => " },
	{ "diamond", true, "b", "c",
	  "insert c => b c" },
	{ "bases", true, "", "heads",
	  "insert b1; update b1 b2; insert a1; update a1 a2 => a2 b2" },
	{ "bases", true, "a2", "b2",
	  "insert b1; update b1 b2 => a2 b2" },
	{ "bases", true, "", "b1",
	  "insert b1 => b1" },
	{ "bases", false, "a2 b2", "base",
	  "update a2 a1; delete a1; update b2 b1; delete b1 => " },
	{ "bases", false, "a2 b2", "a1",
	  "update a2 a1 => a1 b2" },
	{ "bases", false, "a2 b2", "b1",
	  "update b2 b1 => a2 b1" },
	{ "threeway", true, "b", "e",
	  "insert d; insert c; merge b,c,d e => e" },
	{ "threeway", true, "b c d", "e",
	  "merge b,c,d e => e" },
	{ "threeway", false, "e", "a",
	  "unmerge e b,c,d; delete b; delete c; update d a => a" },
	{ "threeway", false, "e", "c",
	  "unmerge e b,c,d => b c d" },
	{ "branchpt", true, "a", "heads",
	  "update a b; update b c; update c e; insert d => d e" },
	{ "branchpt", true, "c", "d",
	  "insert d => c d" },
	{ "branchpt", false, "e d", "b",
	  "delete d; update e c; update c b => b" },
	{ "branchpt", false, "e d", "c",
	  "update e c => c d" },
	{ "branchpt", false, "e d", "base",
	  "delete d; update e c; update c b; update b a; delete a => " },
	{ "deps", true, "", "b2",
	  "insert a1; insert b1; merge a1,b1 b2 => b2" },
	{ "deps", true, "", "heads",
	  "insert a1; insert b1; merge a1,b1 b2; update b2 b3; insert a2 => a2 b3" },
	{ "deps", true, "a2", "beta@head",
	  "insert b1; update b1 b2; update b2 b3 => a2 b3" },
	{ "deps", true, "a1 b1", "b3",
	  "merge a1,b1 b2; update b2 b3 => b3" },
	{ "deps", false, "a2 b3", "a1",
	  "delete a2 => b3" },
	{ "deps", false, "a2 b3", "base",
	  "delete a2; update b3 b2; unmerge b2 a1,b1; delete b1; delete a1 => " },
	{ "deps", false, "a2 b3", "beta@base",
	  "update b3 b2; unmerge b2 b1; delete b1 => a2" },
	{ "deps", true, "a2", "beta@+1",
	  "insert b1 => a2 b1" },
	{ "deps", false, "a2 b3", "alpha@-1",
	  "delete a2 => b3" },
	{ "deps", false, "a1 b3", "alpha@base",
	  "update b3 b2; unmerge b2 b1; delete a1 => b1" },
	{ "labeldep", true, "", "b2",
	  "insert a1; update a1 b1; update b1 b2 => b2" },
	{ "labeldep", true, "a2", "heads",
	  "insert b1; update b1 b2 => a2 b2" },
	{ "labeldep", false, "a2 b2", "a1",
	  "delete a2 => b2" },
};

static char *format_path(const struct revgraph_path *p)
{
	static const char *const names[] = { "insert", "update", "merge", "delete", "unmerge" };
	struct strbuf sb = STRBUF_INIT;

	for (size_t i = 0; i < p->nr; i++) {
		const struct revgraph_step *st = &p->steps[i];
		char *rm = joined(&st->rows_removed), *add = joined(&st->rows_added);

		for (char *c = rm; *c; c++)
			if (*c == ' ')
				*c = ',';
		for (char *c = add; *c; c++)
			if (*c == ' ')
				*c = ',';
		strbuf_addf(&sb, "%s%s", i ? "; " : "", names[st->op]);
		if (st->op != ROW_INSERT)
			strbuf_addf(&sb, " %s", rm);
		if (st->op != ROW_DELETE)
			strbuf_addf(&sb, " %s", add);
		free(rm);
		free(add);
	}
	strbuf_addstr(&sb, " => ");
	for (size_t i = 0; i < p->final_rows.nr; i++)
		strbuf_addf(&sb, "%s%s", i ? " " : "", p->final_rows.items[i]);
	return strbuf_detach(&sb, NULL);
}

static void test_alembic_paths(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(path_cases); i++) {
		const struct path_case *c = &path_cases[i];
		struct fixture f = { 0 };
		struct revgraph_path p = REVGRAPH_PATH_INIT;
		struct strvec cur = STRVEC_INIT;
		char *got;
		int ret;

		load_graph(&f, c->graph);
		split_into(&cur, c->current);
		if (c->up)
			ret = revgraph_upgrade_path(&p, f.g, &cur, c->target, &f.err);
		else
			ret = revgraph_downgrade_path(&p, f.g, &cur, c->target, &f.err);
		if (ret)
			fail_msg("%s %s [%s] -> %s: %s", c->graph, c->up ? "up" : "down",
				 c->current, c->target, f.err.message);
		got = format_path(&p);
		if (strcmp(got, c->expect))
			fail_msg("%s %s [%s] -> %s:\n got    \"%s\"\n expect \"%s\"", c->graph,
				 c->up ? "up" : "down", c->current, c->target, got, c->expect);
		/* steps name the revisions in apply order */
		for (size_t j = 0; j < p.nr; j++)
			assert_true(p.steps[j].up == c->up);
		free(got);
		strvec_release(&cur);
		revgraph_path_release(&p);
		fixture_release(&f);
	}
}

static void expect_error(const char *graph, bool up, const char *current,
			 const char *target, int code, const char *msg)
{
	struct fixture f = { 0 };
	struct revgraph_path p = REVGRAPH_PATH_INIT;
	struct strvec cur = STRVEC_INIT;
	int ret;

	load_graph(&f, graph);
	split_into(&cur, current);
	if (up)
		ret = revgraph_upgrade_path(&p, f.g, &cur, target, &f.err);
	else
		ret = revgraph_downgrade_path(&p, f.g, &cur, target, &f.err);
	assert_int_equal(ret, code);
	assert_int_equal(p.nr, 0);
	assert_string_equal(f.err.message, msg);
	strvec_release(&cur);
	revgraph_path_release(&p);
	fixture_release(&f);
}

static void test_path_errors(void **state)
{
	(void)state;
	expect_error("linear", true, "zz99", "head", MS_ERR_NOTFOUND,
		     "revision \"zz99\": in the version table but not among the revision files");
	expect_error("linear", false, "b", "d", MS_ERR_NOTFOUND,
		     "target \"d\": not a valid downgrade target from current head(s)");
	expect_error("linear", false, "d", "+1", MS_ERR_NOTFOUND,
		     "identifier \"+1\": relative revision +1 didn't produce 1 migrations");
	expect_error("linear", true, "d", "-1", MS_ERR_NOTFOUND,
		     "identifier \"-1\": relative revision -1 didn't produce 1 migrations");
	expect_error("linear", true, "c", "+2", MS_ERR_NOTFOUND,
		     "identifier \"+2\": relative revision +2 didn't produce 2 migrations");
	expect_error("diamond", false, "d", "-2", MS_ERR_AMBIGUOUS,
		     "identifier \"-2\": ambiguous walk: more than one revision precedes d");
	expect_error("diamond", true, "", "+2", MS_ERR_AMBIGUOUS,
		     "identifier \"+2\": ambiguous walk: more than one revision follows a");
	expect_error("bases", true, "", "head", MS_ERR_AMBIGUOUS,
		     "identifier \"head\": multiple heads are present: a2, b2");
}

/* A long chain: the path is linear work, not quadratic. */
static void test_long_chain(void **state)
{
	struct fixture f = { 0 };
	struct revgraph_path p = REVGRAPH_PATH_INIT;
	char id[32], down[32];

	(void)state;
	for (int i = 0; i < 10000; i++) {
		snprintf(id, sizeof(id), "r%05d", i);
		snprintf(down, sizeof(down), "r%05d", i - 1);
		add_rev(&f, id, i ? down : NULL, NULL, NULL);
	}
	assert_int_equal(build(&f), 0);
	assert_int_equal(revgraph_upgrade_path(&p, f.g, NULL, "heads", &f.err), 0);
	assert_int_equal(p.nr, 10000);
	assert_int_equal(p.steps[0].op, ROW_INSERT);
	assert_int_equal(p.steps[9999].op, ROW_UPDATE);
	assert_string_equal(p.final_rows.items[0], "r09999");
	revgraph_path_release(&p);
	fixture_release(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_alembic_paths),
		cmocka_unit_test(test_path_errors),
		cmocka_unit_test(test_long_chain),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
