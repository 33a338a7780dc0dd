#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "migsync/error.h"
#include "migsync/revgraph.h"
#include "migsync/strbuf.h"
#include "migsync/util.h"

#include "graph_fixture.h"

/*
 * Alembic's history order (src/revgraph/history.c). The expected orders
 * are those of Alembic 1.8.1 (RevisionMap.iterate_revisions as
 * ScriptDirectory.walk_revisions calls it, RevisionMap.heads, _real_heads,
 * bases and get_revisions, over the same revisions in the same file
 * order), which the implementation matched byte for byte in
 * tests/integration/alembic_compat.sh when these tests were written;
 * error messages are migsync's.
 *
 * Besides the shapes of graph_fixture.c, these graphs, each listed in
 * file order (the order that breaks Alembic's ties):
 *
 *   crossdep   a - b - d - e - f        x - y (label "other", y depends on c)
 *                \- c -/                  w (depends on f, so f is no real head)
 *   fileorder  z1 - z2   a1 - a2   m1 - m2, m3 (m2, m3 on m1; z first on disk)
 *   late       q2 <- q1 <- q0, then c1 <- q0 written last (a branch found late)
 */
struct rev_row {
	const char *rev, *down, *labels, *deps;
};

static const struct {
	const char *name;
	struct rev_row revs[10];
} local_graphs[] = {
	{ "crossdep", {
		{ "a", NULL, NULL, NULL },
		{ "b", "a", NULL, NULL },
		{ "c", "a", NULL, NULL },
		{ "d", "b c", NULL, NULL },
		{ "e", "d", NULL, NULL },
		{ "f", "e", NULL, NULL },
		{ "x", NULL, "other", NULL },
		{ "y", "x", NULL, "c" },
		{ "w", NULL, NULL, "f" },
		{ NULL, NULL, NULL, NULL } } },
	{ "fileorder", {
		{ "z1", NULL, NULL, NULL },
		{ "z2", "z1", NULL, NULL },
		{ "a1", NULL, NULL, NULL },
		{ "a2", "a1", NULL, NULL },
		{ "m1", NULL, NULL, NULL },
		{ "m3", "m1", NULL, NULL },
		{ "m2", "m1", NULL, NULL },
		{ NULL, NULL, NULL, NULL } } },
	{ "late", {
		{ "q2", "q1", NULL, NULL },
		{ "q1", "q0", NULL, NULL },
		{ "q0", NULL, NULL, NULL },
		{ "c1", "q0", NULL, NULL },
		{ NULL, NULL, NULL, NULL } } },
};

/* A graph of this file, else one of graph_fixture.c. */
static void load(struct fixture *f, const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(local_graphs); i++) {
		if (strcmp(local_graphs[i].name, name))
			continue;
		for (const struct rev_row *r = local_graphs[i].revs; r->rev; r++)
			add_rev(f, r->rev, r->down, r->labels, r->deps);
		assert_int_equal(build(f), 0);
		return;
	}
	load_graph(f, name);
}

/*
 * Compare a result with a case's expectation: the ids in order, or the
 * error code and message. Prints a mismatch and returns 1, else 0, so
 * that a table reports every failing case at once.
 */
static int check(const char *what, const struct fixture *f, int ret, const size_t *items,
		 size_t nr, int code, const char *expect)
{
	const char *message = f->err.message ? f->err.message : "";
	char *got = ret ? xstrdup(message) : ids(f, items, nr);
	int bad = 1;

	if (ret != code)
		print_error("%s: returned %d (%s), expected %d\n", what, ret, message, code);
	else if (strcmp(got, expect))
		print_error("%s:\n  got    \"%s\"\n  expect \"%s\"\n", what, got, expect);
	else
		bad = 0;
	free(got);
	return bad;
}

struct walk_case {
	const char *graph;
	const char *lower, *upper;	/* as after -r LOWER:UPPER; NULL: not given */
	int code;
	const char *expect;		/* ids newest first, or the error message */
};

static const struct walk_case walk_cases[] = {
	/* one line */
	{ "linear", NULL, NULL, 0, "d c b a" },
	{ "linear", "base", "heads", 0, "d c b a" },
	{ "linear", "", "", 0, "d c b a" },
	{ "linear", "b", "c", 0, "c b" },
	{ "linear", "b", NULL, 0, "d c b" },
	{ "linear", NULL, "c", 0, "c b a" },
	{ "linear", "a", "a", 0, "a" },
	{ "linear", "base", "head", 0, "d c b a" },
	{ "linear", "head", NULL, 0, "d" },
	{ "linear", "base", "base", 0, "" },
	/* relative ends: lower as get_revisions, upper from lower */
	{ "linear", "-1", NULL, 0, "d c" },
	{ "linear", "-2", NULL, 0, "d c b" },
	{ "linear", "b", "+1", 0, "c b" },
	{ "linear", "a", "+2", 0, "c b a" },
	{ "linear", "c", "+5", 0, "d c" },
	{ "linear", "d", "+1", 0, "d" },
	{ "linear", "base", "+2", 0, "b a" },
	{ "linear", "b", "c+1", 0, "d c b" },
	/* errors */
	{ "linear", "d", "b", MS_ERR_USAGE,
	  "range \"d:b\" does not refer to ancestor/descendant revisions along the same branch" },
	{ "linear", "zzzzz", NULL, MS_ERR_NOTFOUND,
	  "identifier \"zzzzz\": no such revision or branch" },
	{ "linear", NULL, "x", MS_ERR_NOTFOUND,
	  "identifier \"x\": no such revision or branch; please ensure at least four characters are present for partial revision identifier matches" },
	/*
	 * An end at base or past it: Alembic stops with "does not refer to
	 * ancestor/descendant revisions" or an assertion; migsync refuses it.
	 */
	{ "linear", "-4", NULL, MS_ERR_NOTFOUND,
	  "identifier \"-4\": relative revision -4 didn't produce 4 migrations" },
	{ "linear", "-6", NULL, MS_ERR_NOTFOUND,
	  "identifier \"-6\": relative revision -6 didn't produce 6 migrations" },
	{ "linear", NULL, "d-3", 0, "a" },
	{ "linear", NULL, "d-4", MS_ERR_NOTFOUND,
	  "identifier \"d-4\": relative revision -4 didn't produce 4 migrations" },
	{ "linear", "a", "c-5", MS_ERR_NOTFOUND,
	  "identifier \"c-5\": relative revision -5 didn't produce 5 migrations" },
	/* get_revisions knows no "rev-N" nor "head-N": Alembic fails too */
	{ "linear", "c-1", NULL, MS_ERR_NOTFOUND,
	  "identifier \"c-1\": no such revision or branch; please ensure at least four characters are present for partial revision identifier matches" },
	{ "linear", "head-2", NULL, MS_ERR_NOTFOUND,
	  "identifier \"head-2\": no such revision or branch" },
	{ "linear", "current", NULL, MS_ERR_USAGE,
	  "revision \"current\" needs a database: this command reads only the revision scripts" },
	{ "linear", NULL, "current", MS_ERR_USAGE,
	  "revision \"current\" needs a database: this command reads only the revision scripts" },
	/* merges and branch points */
	{ "diamond", NULL, NULL, 0, "d b c a" },
	{ "diamond", "b", NULL, 0, "d b" },
	{ "diamond", "c", "d", 0, "d c" },
	{ "diamond", "b", "c", MS_ERR_USAGE,
	  "range \"b:c\" does not refer to ancestor/descendant revisions along the same branch" },
	{ "threeway", NULL, NULL, 0, "e b c d a" },
	{ "threeway", "c", NULL, 0, "e c" },
	{ "branchpt", NULL, NULL, 0, "d e c b a" },
	{ "branchpt", "b", NULL, 0, "d e c b" },
	{ "branchpt", "c", NULL, 0, "e c" },
	{ "branchpt", NULL, "d", 0, "d b a" },
	{ "branchpt", "d", "e", MS_ERR_USAGE,
	  "range \"d:e\" does not refer to ancestor/descendant revisions along the same branch" },
	{ "crossdep", NULL, NULL, 0, "y x w f e d b c a" },
	/*
	 * y depends on c, so these ranges cut through a depends_on: Alembic
	 * stops on an assertion; migsync lists what lies above the lower
	 * end along down_revision.
	 */
	{ "crossdep", "c", NULL, 0, "f e d c" },
	{ "crossdep", "b", NULL, 0, "f e d b" },
	{ "crossdep", NULL, "y", 0, "y x c a" },
	{ "crossdep", "a", "e", 0, "e d b c a" },
	{ "crossdep", "x", NULL, 0, "y x" },
	{ "crossdep", "other@base", NULL, 0, "y x c a" },
	{ "crossdep", "other@x", NULL, 0, "y x" },
	/* several bases: heads start in file order */
	{ "bases", NULL, NULL, 0, "a2 a1 b2 b1" },
	{ "bases", "a1", "a2", 0, "a2 a1" },
	{ "bases", "a1", NULL, 0, "a2 a1" },
	{ "bases", "a1", "b2", MS_ERR_USAGE,
	  "range \"a1:b2\" does not refer to ancestor/descendant revisions along the same branch" },
	{ "bases", "head", NULL, MS_ERR_AMBIGUOUS,
	  "identifier \"head\": multiple heads are present: a2, b2" },
	{ "fileorder", NULL, NULL, 0, "z2 z1 a2 a1 m3 m2 m1" },
	{ "fileorder", "m1", NULL, 0, "m3 m2 m1" },
	{ "late", NULL, NULL, 0, "q2 q1 c1 q0" },
	/* depends_on and branch labels */
	{ "deps", NULL, NULL, 0, "a2 b3 b2 b1 a1" },
	{ "deps", "a1", NULL, 0, "a2 a1" },
	{ "deps", "b1", NULL, 0, "b3 b2 b1" },
	{ "deps", NULL, "b3", 0, "b3 b2 b1 a1" },
	{ "deps", "beta@b1", NULL, 0, "b3 b2 b1" },
	{ "deps", "alpha@head", NULL, 0, "a2" },
	{ "deps", "beta@-1", NULL, 0, "b3 b2" },
	{ "deps", "nope@head", NULL, MS_ERR_NOTFOUND,
	  "identifier \"nope\": no such revision or branch" },
	{ "labeldep", NULL, NULL, 0, "a2 b2 b1 a1" },
	{ "labeldep", "alpha", NULL, 0, "a2 a1" },
	{ "labels", NULL, NULL, 0, "d e c b a abcd2 abcd1" },
	{ "labels", "lb", NULL, 0, "d e c b" },
	{ "labels", "lb", "le", 0, "e c b" },
	{ "labels", "le@head", NULL, 0, "e" },
	{ "labels", "lb@head", NULL, MS_ERR_AMBIGUOUS,
	  "identifier \"lb@head\": multiple heads are present: d, e" },
	{ "labels", "other", "abcd2", 0, "abcd2 abcd1" },
	{ "labels", "abcd", NULL, MS_ERR_AMBIGUOUS,
	  "identifier \"abcd\": multiple revisions start with \"abcd\": \"abcd1\", \"abcd2\"" },
	{ "prefix", "ae102", "feature@head", 0, "1975ea83b712 ae1083c9bc2 ae1027a6acf" },
};

static void test_history_walk(void **state)
{
	int failures = 0;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(walk_cases); i++) {
		const struct walk_case *c = &walk_cases[i];
		struct fixture f = { 0 };
		size_t *out = NULL, nr = 0;
		char *what = xstrfmt("%s -r \"%s:%s\"", c->graph, c->lower ? c->lower : "",
				     c->upper ? c->upper : "");
		int ret;

		load(&f, c->graph);
		ret = revgraph_history_walk(&out, &nr, f.g, c->lower, c->upper, &f.err);
		failures += check(what, &f, ret, out, nr, c->code, c->expect);
		if (ret)
			assert_int_equal(nr, 0);
		free(out);
		free(what);
		fixture_release(&f);
	}
	assert_int_equal(failures, 0);
}

/* The walk visits every revision once, children before parents. */
static void test_history_walk_is_topological(void **state)
{
	static const char *const graphs[] = {
		"linear", "diamond", "bases", "threeway", "branchpt", "deps", "labeldep",
		"labels", "prefix", "crossdep", "fileorder", "late",
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(graphs); i++) {
		struct fixture f = { 0 };
		size_t *out = NULL, nr = 0;
		size_t *pos = NULL;

		load(&f, graphs[i]);
		assert_int_equal(revgraph_history_walk(&out, &nr, f.g, NULL, NULL, &f.err), 0);
		assert_int_equal(nr, f.g->nr);
		pos = xmalloc(nr * sizeof(*pos));
		for (size_t k = 0; k < nr; k++)
			pos[out[k]] = k;
		for (size_t n = 0; n < f.g->nr; n++) {
			const struct revgraph_node *node = &f.g->nodes[n];

			for (size_t k = 0; k < node->parents_nr; k++)
				assert_true(pos[node->parents[k]] > pos[n]);
			for (size_t k = 0; k < node->deps_nr; k++)
				assert_true(pos[node->deps[k]] > pos[n]);
		}
		free(pos);
		free(out);
		fixture_release(&f);
	}
}

/* -r RANGE split into its two ends, as cmd_history hands them to the walk. */
static void test_history_split(void **state)
{
	static const struct {
		const char *range;
		int code;
		const char *lower, *upper;	/* upper: the message on error */
	} cases[] = {
		{ "a:b", 0, "a", "b" },
		{ "a:", 0, "a", "" },
		{ ":b", 0, "", "b" },
		{ ":", 0, "", "" },
		{ "  a:b\t", 0, "a", "b" },
		{ " a : b ", 0, "a ", " b" },
		{ "-3:", 0, "-3", "" },
		{ "base:head", 0, "base", "head" },
		{ "lb@head:+1", 0, "lb@head", "+1" },
		{ "abc", MS_ERR_USAGE, NULL,
		  "invalid range \"abc\": expected START:END, START: or :END" },
		{ "a:b:c", MS_ERR_USAGE, NULL,
		  "invalid range \"a:b:c\": expected START:END, START: or :END" },
		{ "", MS_ERR_USAGE, NULL,
		  "invalid range \"\": expected START:END, START: or :END" },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct ms_error err = MS_ERROR_INIT;
		char *lower = NULL, *upper = NULL;
		int ret = revgraph_history_split(&lower, &upper, cases[i].range, &err);

		assert_int_equal(ret, cases[i].code);
		if (ret) {
			assert_string_equal(err.message, cases[i].upper);
			assert_null(lower);
			assert_null(upper);
		} else {
			assert_string_equal(lower, cases[i].lower);
			assert_string_equal(upper, cases[i].upper);
		}
		free(lower);
		free(upper);
		ms_error_release(&err);
	}
	{
		struct ms_error err = MS_ERROR_INIT;
		char *lower = (char *)"x", *upper = (char *)"y";

		/* no -r at all: both ends NULL, the whole history */
		assert_int_equal(revgraph_history_split(&lower, &upper, NULL, &err), 0);
		assert_null(lower);
		assert_null(upper);
	}
}

/* Heads (Alembic's heads and _real_heads) and bases, in file order. */
static void test_heads_and_bases(void **state)
{
	static const struct {
		const char *graph;
		const char *heads, *real_heads, *bases;
	} cases[] = {
		{ "linear", "d", "d", "a" },
		{ "diamond", "d", "d", "a" },
		{ "bases", "a2 b2", "a2 b2", "a1 b1" },
		{ "branchpt", "d e", "d e", "a" },
		{ "deps", "a2 b3", "a2 b3", "a1 b1" },
		{ "labeldep", "a2 b2", "a2 b2", "a1 b1" },
		{ "labels", "d e abcd2", "d e abcd2", "a abcd1" },
		{ "crossdep", "f y w", "y w", "a x w" },
		{ "fileorder", "z2 a2 m3 m2", "z2 a2 m3 m2", "z1 a1 m1" },
		{ "late", "q2 c1", "q2 c1", "q0" },
	};
	int failures = 0;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct fixture f = { 0 };
		size_t *out = NULL, nr = 0;
		char *what = NULL;

		load(&f, cases[i].graph);
		revgraph_heads_sorted(&out, &nr, f.g, false);
		what = xstrfmt("%s heads", cases[i].graph);
		failures += check(what, &f, 0, out, nr, 0, cases[i].heads);
		free(what);
		free(out);
		revgraph_heads_sorted(&out, &nr, f.g, true);
		what = xstrfmt("%s real heads", cases[i].graph);
		failures += check(what, &f, 0, out, nr, 0, cases[i].real_heads);
		free(what);
		free(out);
		revgraph_bases_sorted(&out, &nr, f.g);
		what = xstrfmt("%s bases", cases[i].graph);
		failures += check(what, &f, 0, out, nr, 0, cases[i].bases);
		free(what);
		free(out);
		fixture_release(&f);
	}
	assert_int_equal(failures, 0);
}

/* `alembic branches`: branch points in history order, and their children for JSON. */
static void test_branch_points(void **state)
{
	static const struct {
		const char *graph;
		const char *points, *nodes;
	} cases[] = {
		{ "linear", "", "" },
		{ "diamond", "a", "b c a" },
		{ "threeway", "a", "b c d a" },
		{ "branchpt", "b", "d c b" },
		{ "labels", "b", "d c b" },
		{ "crossdep", "a", "b c a" },
		{ "fileorder", "m1", "m3 m2 m1" },
		{ "late", "q0", "q1 c1 q0" },
	};
	int failures = 0;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct fixture f = { 0 };
		size_t *points = NULL, *nodes = NULL, points_nr = 0, nodes_nr = 0;
		size_t *alone = NULL, alone_nr = 0;
		char *what = xstrfmt("%s branches", cases[i].graph);

		load(&f, cases[i].graph);
		assert_int_equal(revgraph_branch_points(&points, &points_nr, &nodes, &nodes_nr,
							f.g, &f.err), 0);
		failures += check(what, &f, 0, points, points_nr, 0, cases[i].points);
		failures += check("and their children", &f, 0, nodes, nodes_nr, 0, cases[i].nodes);
		/* without nodes (the text output), the same branch points */
		assert_int_equal(revgraph_branch_points(&alone, &alone_nr, NULL, NULL, f.g, &f.err), 0);
		failures += check(what, &f, 0, alone, alone_nr, 0, cases[i].points);
		free(points);
		free(nodes);
		free(alone);
		free(what);
		fixture_release(&f);
	}
	assert_int_equal(failures, 0);
}

/* `alembic show IDENT`: get_revisions, with "heads" in file order. */
static void test_show_revisions(void **state)
{
	static const struct {
		const char *graph, *ident;
		int code;
		const char *expect;
	} cases[] = {
		{ "linear", "c", 0, "c" },
		{ "linear", "heads", 0, "d" },
		{ "linear", "head", 0, "d" },
		{ "linear", "-1", 0, "c" },
		{ "linear", "-3", 0, "a" },
		{ "linear", "-4", MS_ERR_NOTFOUND,
		  "identifier \"-4\": relative revision -4 didn't produce 4 migrations" },
		{ "linear", "current", MS_ERR_USAGE,
		  "revision \"current\" needs a database: this command reads only the revision scripts" },
		{ "linear", "+1", MS_ERR_NOTFOUND,
		  "identifier \"+1\": no such revision or branch; please ensure at least four characters are present for partial revision identifier matches" },
		{ "labels", "heads", 0, "d e abcd2" },
		{ "fileorder", "heads", 0, "z2 a2 m3 m2" },
		{ "deps", "heads", 0, "a2 b3" },
		{ "crossdep", "heads", 0, "y w" },
		{ "deps", "beta@head", 0, "b3" },
		{ "bases", "head", MS_ERR_AMBIGUOUS,
		  "identifier \"head\": multiple heads are present: a2, b2" },
	};
	int failures = 0;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct fixture f = { 0 };
		struct revgraph_set out = REVGRAPH_SET_INIT;
		char *what = xstrfmt("%s show \"%s\"", cases[i].graph, cases[i].ident);
		int ret;

		load(&f, cases[i].graph);
		ret = revgraph_show_revisions(&out, f.g, cases[i].ident, &f.err);
		failures += check(what, &f, ret, out.items, out.nr, cases[i].code, cases[i].expect);
		revgraph_set_release(&out);
		free(what);
		fixture_release(&f);
	}
	assert_int_equal(failures, 0);
}

static void test_refuse_current(void **state)
{
	struct ms_error err = MS_ERROR_INIT;

	(void)state;
	assert_int_equal(revgraph_refuse_current(NULL, &err), 0);
	assert_int_equal(revgraph_refuse_current("heads", &err), 0);
	assert_int_equal(revgraph_refuse_current("currentx", &err), 0);
	assert_null(err.message);
	assert_int_equal(revgraph_refuse_current("current", &err), MS_ERR_USAGE);
	assert_non_null(err.hint);
	assert_non_null(strstr(err.hint, "migsync status"));
	ms_error_release(&err);
}

/* File order is the order of the script_set, not of the ids. */
static void test_sort_file_order(void **state)
{
	struct fixture f = { 0 };
	size_t items[4];

	(void)state;
	load(&f, "fileorder");
	items[0] = node(&f, "m2");
	items[1] = node(&f, "a1");
	items[2] = node(&f, "z2");
	items[3] = node(&f, "m3");
	revgraph_sort_file_order(f.g, items, 4);
	assert_ids(&f, items, 4, "z2 a1 m3 m2");
	revgraph_sort_file_order(f.g, items, 0);
	fixture_release(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_history_walk),
		cmocka_unit_test(test_history_walk_is_topological),
		cmocka_unit_test(test_history_split),
		cmocka_unit_test(test_heads_and_bases),
		cmocka_unit_test(test_branch_points),
		cmocka_unit_test(test_show_revisions),
		cmocka_unit_test(test_refuse_current),
		cmocka_unit_test(test_sort_file_order),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
