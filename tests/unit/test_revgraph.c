#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdbool.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "migsync/diag.h"
#include "migsync/error.h"
#include "migsync/revgraph.h"
#include "migsync/scripts.h"
#include "migsync/strbuf.h"
#include "migsync/util.h"

#include "graph_fixture.h"

/* heads vs real heads with depends_on, as RevisionMap 1.8.1 computes them */
static void test_heads_bases_flags(void **state)
{
	struct fixture f = { 0 };
	const struct revgraph_node *c, *d;

	(void)state;
	add_rev(&f, "a", NULL, NULL, NULL);
	add_rev(&f, "b", "a", NULL, NULL);
	add_rev(&f, "c", "b", NULL, NULL);
	add_rev(&f, "d", NULL, NULL, "c");
	add_rev(&f, "e", "d", NULL, NULL);
	add_rev(&f, "x", NULL, "lx", NULL);
	add_rev(&f, "y", "x", NULL, NULL);
	add_rev(&f, "z", "y", NULL, NULL);
	assert_int_equal(build(&f), 0);
	assert_ids(&f, f.g->heads, f.g->heads_nr, "c e z");
	assert_ids(&f, f.g->real_heads, f.g->real_heads_nr, "e z");
	assert_ids(&f, f.g->bases, f.g->bases_nr, "a d x");
	assert_ids(&f, f.g->real_bases, f.g->real_bases_nr, "a x");
	c = &f.g->nodes[node(&f, "c")];
	d = &f.g->nodes[node(&f, "d")];
	assert_true(c->is_head);
	assert_false(c->is_real_head);
	assert_true(d->is_base);
	assert_false(d->is_real_base);
	assert_ids(&f, c->dependents, c->dependents_nr, "d");
	assert_ids(&f, d->deps, d->deps_nr, "c");
	assert_strvec(&f.g->nodes[node(&f, "z")].branch_labels, "lx");
	assert_strvec(&f.g->nodes[node(&f, "e")].branch_labels, "");
	assert_true(revgraph_is_ancestor(f.g, node(&f, "a"), node(&f, "e")));
	assert_false(revgraph_is_ancestor(f.g, node(&f, "e"), node(&f, "a")));
	assert_false(revgraph_is_ancestor(f.g, node(&f, "x"), node(&f, "e")));
	fixture_release(&f);
}

static void test_diamond_and_branch_points(void **state)
{
	struct fixture f = { 0 };
	const struct revgraph_node *a, *d;
	size_t *order;

	(void)state;
	add_rev(&f, "d", "c b", NULL, NULL);	/* file order is not id order */
	add_rev(&f, "c", "a", NULL, NULL);
	add_rev(&f, "b", "a", NULL, NULL);
	add_rev(&f, "a", NULL, NULL, NULL);
	assert_int_equal(build(&f), 0);
	a = &f.g->nodes[node(&f, "a")];
	d = &f.g->nodes[node(&f, "d")];
	assert_ids(&f, a->children, a->children_nr, "b c");
	assert_ids(&f, d->parents, d->parents_nr, "c b");
	assert_true(a->is_branch_point && a->is_real_branch_point);
	assert_true(d->is_merge_point);
	assert_ids(&f, f.g->heads, f.g->heads_nr, "d");
	revgraph_topo_order(&order, f.g);
	assert_ids(&f, order, f.g->nr, "a b c d");
	free(order);
	fixture_release(&f);
}

/* _add_branches: descendants, then down the line to a branch point */
static void test_label_propagation(void **state)
{
	struct fixture f = { 0 };

	(void)state;
	add_rev(&f, "a", NULL, NULL, NULL);
	add_rev(&f, "b", "a", "lb", NULL);
	add_rev(&f, "c", "b", NULL, NULL);
	add_rev(&f, "d", "b", NULL, NULL);
	add_rev(&f, "e", "c", NULL, NULL);
	assert_int_equal(build(&f), 0);
	assert_strvec(&f.g->nodes[node(&f, "a")].branch_labels, "");
	assert_strvec(&f.g->nodes[node(&f, "b")].branch_labels, "lb");
	assert_strvec(&f.g->nodes[node(&f, "d")].branch_labels, "lb");
	assert_strvec(&f.g->nodes[node(&f, "e")].branch_labels, "lb");
	fixture_release(&f);

	add_rev(&f, "a", NULL, NULL, NULL);
	add_rev(&f, "b", "a", NULL, NULL);
	add_rev(&f, "c", "b", "lc", NULL);
	add_rev(&f, "d", "c", NULL, NULL);
	add_rev(&f, "e", "d", NULL, NULL);
	assert_int_equal(build(&f), 0);
	for (size_t i = 0; i < f.g->nr; i++)
		assert_strvec(&f.g->nodes[i].branch_labels, "lc");
	fixture_release(&f);
}

/* depends_on naming a branch label, and normalized dependencies */
static void test_depends_on_labels(void **state)
{
	struct fixture f = { 0 };
	const struct revgraph_node *b2, *b3;

	(void)state;
	add_rev(&f, "a1", NULL, "alpha", NULL);
	add_rev(&f, "b1", NULL, NULL, NULL);
	add_rev(&f, "b2", "b1", NULL, "alpha");
	add_rev(&f, "b3", "b2", NULL, "a1");
	assert_int_equal(build(&f), 0);
	b2 = &f.g->nodes[node(&f, "b2")];
	b3 = &f.g->nodes[node(&f, "b3")];
	assert_ids(&f, b2->deps, b2->deps_nr, "a1");
	assert_ids(&f, b2->norm_deps, b2->norm_deps_nr, "a1");
	/* already a dependency of b2: Alembic drops it from b3's down revisions */
	assert_ids(&f, b3->deps, b3->deps_nr, "a1");
	assert_int_equal(b3->norm_deps_nr, 0);
	assert_true(f.g->nodes[node(&f, "a1")].is_real_branch_point);
	assert_false(f.g->nodes[node(&f, "a1")].is_branch_point);
	fixture_release(&f);
}

static const struct diag *find_diag(const struct fixture *f, const char *code)
{
	for (size_t i = 0; i < f->problems.nr; i++)
		if (!strcmp(f->problems.items[i].code, code))
			return &f->problems.items[i];
	return NULL;
}

static void test_errors(void **state)
{
	struct fixture f = { 0 };
	const struct diag *d;

	(void)state;
	/* duplicate ids name both files */
	add_rev(&f, "a", NULL, NULL, NULL);
	add_rev(&f, "a", NULL, NULL, NULL);
	f.set.items[1].path[9] = 'X';
	assert_int_equal(build(&f), MS_ERR_GRAPH);
	assert_null(f.g);
	assert_string_equal(f.err.message,
			    "revision \"a\": defined in both \"versions/a_rev.py\" and \"versions/X_rev.py\"");
	d = find_diag(&f, "MS003");
	assert_non_null(d);
	assert_int_equal(d->severity, DIAG_ERROR);
	assert_int_equal(d->line, 10);
	fixture_release(&f);

	/* dangling down_revision and depends_on; every problem listed */
	add_rev(&f, "a", "gone", NULL, NULL);
	add_rev(&f, "b", NULL, NULL, "missing");
	assert_int_equal(build(&f), MS_ERR_GRAPH);
	assert_string_equal(f.err.message, "revision \"a\": down_revision \"gone\" is not present");
	assert_int_equal(f.problems.nr, 2);
	assert_non_null(d = find_diag(&f, "MS002"));
	assert_int_equal(d->line, 11);
	assert_non_null(d = find_diag(&f, "MS006"));
	assert_int_equal(d->line, 13);
	assert_string_equal(d->file, "versions/b_rev.py");
	fixture_release(&f);

	/* self-loops */
	add_rev(&f, "a", "a", NULL, NULL);
	add_rev(&f, "b", NULL, NULL, "b");
	assert_int_equal(build(&f), MS_ERR_GRAPH);
	assert_int_equal(f.problems.nr, 2);
	assert_non_null(strstr(f.err.message, "self-loop"));
	fixture_release(&f);

	/* a cycle, named with its files; the base outside is not in it */
	add_rev(&f, "base", NULL, NULL, NULL);
	add_rev(&f, "x", "z base", NULL, NULL);
	add_rev(&f, "y", "x", NULL, NULL);
	add_rev(&f, "z", "y", NULL, NULL);
	assert_int_equal(build(&f), MS_ERR_GRAPH);
	assert_string_equal(f.err.message,
			    "revisions \"x\" (\"versions/x_rev.py\"), \"y\" (\"versions/y_rev.py\"), \"z\" (\"versions/z_rev.py\"): cycle in down_revision/depends_on");
	assert_non_null(find_diag(&f, "MS004"));
	fixture_release(&f);

	/* a cycle through depends_on */
	add_rev(&f, "a", NULL, NULL, "b");
	add_rev(&f, "b", "a", NULL, NULL);
	assert_int_equal(build(&f), MS_ERR_GRAPH);
	assert_non_null(strstr(f.err.message, "cycle"));
	fixture_release(&f);

	/* branch labels: reused, and equal to a revision id */
	add_rev(&f, "a", NULL, "feat", NULL);
	add_rev(&f, "b", NULL, "feat", NULL);
	add_rev(&f, "c", NULL, "a", NULL);
	assert_int_equal(build(&f), MS_ERR_GRAPH);
	assert_string_equal(f.err.message,
			    "revision \"b\": branch label \"feat\" already used by revision \"a\" (\"versions/a_rev.py\")");
	assert_int_equal(f.problems.nr, 2);
	assert_int_equal(f.problems.items[1].line, 12);
	assert_string_equal(f.problems.items[1].message,
			    "revision \"c\": branch label \"a\" is also the id of revision \"a\" (\"versions/a_rev.py\")");
	fixture_release(&f);
}

static void test_empty(void **state)
{
	struct fixture f = { 0 };
	struct revgraph_path p = REVGRAPH_PATH_INIT;
	struct revgraph_set s = REVGRAPH_SET_INIT;

	(void)state;
	assert_int_equal(build(&f), 0);
	assert_int_equal(f.g->heads_nr, 0);
	assert_int_equal(revgraph_resolve(&s, f.g, "heads", NULL, &f.err), 0);
	assert_int_equal(s.nr, 0);
	assert_int_equal(revgraph_upgrade_path(&p, f.g, NULL, "head", &f.err), 0);
	assert_int_equal(p.nr, 0);
	revgraph_path_release(&p);
	revgraph_set_release(&s);
	fixture_release(&f);
}

/*
 * Mark from the nodes named in starts (space-separated) upwards or down,
 * after clearing mark when clear, and check which nodes are marked.
 */
static void check_mark(const struct fixture *f, bool *mark, bool clear, bool down,
		       const char *starts, bool with_deps, const char *expect)
{
	struct strvec names = STRVEC_INIT;
	size_t *items = xmalloc((f->g->nr ? f->g->nr : 1) * sizeof(*items));
	size_t nr = 0;

	if (clear)
		memset(mark, 0, f->g->nr * sizeof(*mark));
	split_into(&names, starts);
	for (size_t i = 0; i < names.nr; i++)
		items[nr++] = node(f, names.items[i]);
	if (down)
		revgraph_mark_ancestors(f->g, items, nr, with_deps, mark);
	else
		revgraph_mark_descendants(f->g, items, nr, with_deps, mark);
	nr = 0;
	for (size_t i = 0; i < f->g->nr; i++)
		if (mark[i])
			items[nr++] = i;
	assert_ids(f, items, nr, expect);
	free(items);
	strvec_release(&names);
}

/*
 * revgraph_mark_ancestors / _descendants: the start nodes included,
 * depends_on followed only with with_deps, an already marked node taken
 * as closed (not walked again), several calls collecting into one array.
 */
static void test_mark(void **state)
{
	struct fixture f = { 0 };
	bool *mark;

	(void)state;
	add_rev(&f, "a", NULL, NULL, NULL);
	add_rev(&f, "x", "a", NULL, NULL);
	add_rev(&f, "b", "a", NULL, NULL);
	add_rev(&f, "c", "b", NULL, NULL);
	add_rev(&f, "m", "c x", NULL, NULL);
	add_rev(&f, "d", NULL, NULL, "c");
	add_rev(&f, "e", "d", NULL, NULL);
	assert_int_equal(build(&f), 0);
	mark = xcalloc(f.g->nr, sizeof(*mark));

	check_mark(&f, mark, true, true, "e", false, "d e");
	check_mark(&f, mark, false, true, "e", true, "d e");	/* e is closed */
	check_mark(&f, mark, true, true, "e", true, "a b c d e");
	check_mark(&f, mark, true, true, "m", true, "a x b c m");
	check_mark(&f, mark, false, true, "e", false, "a x b c m d e");
	check_mark(&f, mark, true, false, "b x", false, "x b c m");
	check_mark(&f, mark, true, false, "b", true, "b c m d e");
	check_mark(&f, mark, true, true, "", true, "");
	free(mark);
	fixture_release(&f);
}

/* 10,000 revisions with branches and merges build in milliseconds */
static void test_large_graph(void **state)
{
	struct fixture f = { 0 };
	char id[32], down[64];
	struct timespec t0, t1;
	size_t *order;
	double ms = 0;

	(void)state;
	for (int i = 0; i < 10000; i++) {
		snprintf(id, sizeof(id), "%08x%04d", (unsigned)(i * 2654435761u), i);
		if (!i)
			down[0] = '\0';
		else if (i % 100 == 50)	/* a merge of the two previous */
			snprintf(down, sizeof(down), "%s %s", f.set.items[i - 1].revision,
				 f.set.items[i - 2].revision);
		else if (i % 100 == 49)	/* a side branch from i - 2 */
			snprintf(down, sizeof(down), "%s", f.set.items[i - 2].revision);
		else
			snprintf(down, sizeof(down), "%s", f.set.items[i - 1].revision);
		add_rev(&f, id, down, NULL, NULL);
	}
	for (int round = 0; round < 3; round++) {
		double t;

		revgraph_free(f.g);
		f.g = NULL;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		assert_int_equal(build(&f), 0);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		t = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
		ms = round && t > ms ? ms : t;
	}
	print_message("built 10000 revisions in %.1f ms\n", ms);
	assert_int_equal(f.g->heads_nr, 1);
	revgraph_topo_order(&order, f.g);
	assert_string_equal(f.g->nodes[order[0]].id, f.set.items[0].revision);
	assert_string_equal(f.g->nodes[order[9999]].id, f.set.items[9999].revision);
	free(order);
	fixture_release(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_heads_bases_flags),
		cmocka_unit_test(test_diamond_and_branch_points),
		cmocka_unit_test(test_label_propagation),
		cmocka_unit_test(test_depends_on_labels),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_mark),
		cmocka_unit_test(test_large_graph),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
