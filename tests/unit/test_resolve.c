#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "migsync/diag.h"
#include "migsync/error.h"
#include "migsync/revgraph.h"
#include "migsync/scripts.h"
#include "migsync/strbuf.h"
#include "migsync/util.h"

#include "graph_fixture.h"

/*
 * Expected values from Alembic 1.8.1 (RevisionMap.get_revisions, and
 * _parse_upgrade_target / _parse_downgrade_target for relative forms),
 * its messages rewritten in migsync's style.
 */
struct resolve_case {
	const char *graph;
	const char *ident;
	const char *current;
	int code;
	const char *expect;	/* ids, or the error message */
};

static const struct resolve_case resolve_cases[] = {
	{ "linear", "head", "", 0,
	  "d" },
	{ "linear", "heads", "", 0,
	  "d" },
	{ "linear", "base", "", 0,
	  "" },
	{ "linear", "c", "", 0,
	  "c" },
	{ "linear", "+1", "b", 0,
	  "c" },
	{ "linear", "+2", "", 0,
	  "b" },
	{ "linear", "-1", "d", 0,
	  "c" },
	{ "linear", "-4", "d", 0,
	  "" },
	{ "linear", "c-1", "", 0,
	  "b" },
	{ "linear", "b+2", "", 0,
	  "d" },
	{ "linear", "head-2", "", 0,
	  "b" },
	{ "linear", "x", "", MS_ERR_NOTFOUND,
	  "identifier \"x\": no such revision or branch; please ensure at least four characters are present for partial revision identifier matches" },
	{ "linear", "zzzzz", "", MS_ERR_NOTFOUND,
	  "identifier \"zzzzz\": no such revision or branch" },
	{ "diamond", "head", "", 0,
	  "d" },
	{ "diamond", "heads", "", 0,
	  "d" },
	{ "bases", "head", "", MS_ERR_AMBIGUOUS,
	  "identifier \"head\": multiple heads are present: a2, b2" },
	{ "bases", "heads", "", 0,
	  "a2 b2" },
	{ "bases", "+1", "a1 b1", MS_ERR_AMBIGUOUS,
	  "identifier \"+1\": ambiguous upgrade from multiple current revisions" },
	{ "deps", "heads", "", 0,
	  "a2 b3" },
	{ "deps", "head", "", MS_ERR_AMBIGUOUS,
	  "identifier \"head\": multiple heads are present: a2, b3" },
	{ "deps", "beta@head", "", 0,
	  "b3" },
	{ "deps", "alpha@head", "", 0,
	  "a2" },
	{ "deps", "beta", "", 0,
	  "b1" },
	{ "deps", "alpha@heads", "", 0,
	  "a2" },
	{ "deps", "beta@+1", "a2 b1", 0,
	  "b2" },
	{ "deps", "alpha@-1", "a2 b3", 0,
	  "a1" },
	{ "deps", "beta@b3", "", 0,
	  "b3" },
	{ "deps", "beta@a2", "", MS_ERR_NOTFOUND,
	  "revision \"a2\": not a member of branch \"beta\"" },
	{ "deps", "beta@b1+1", "", 0,
	  "b2" },
	{ "labels", "lb", "", 0,
	  "b" },
	{ "labels", "le", "", 0,
	  "e" },
	{ "labels", "lb@head", "", MS_ERR_AMBIGUOUS,
	  "identifier \"lb@head\": multiple heads are present: d, e" },
	{ "labels", "le@head", "", 0,
	  "e" },
	{ "labels", "lb@heads", "", 0,
	  "d e" },
	{ "labels", "lb@e", "", 0,
	  "e" },
	{ "labels", "le@d", "", MS_ERR_NOTFOUND,
	  "revision \"d\": not a member of branch \"le\"" },
	{ "labels", "other@head", "", 0,
	  "abcd2" },
	{ "labels", "abcd", "", MS_ERR_AMBIGUOUS,
	  "identifier \"abcd\": multiple revisions start with \"abcd\": \"abcd1\", \"abcd2\"" },
	{ "labels", "abc", "", MS_ERR_AMBIGUOUS,
	  "identifier \"abc\": multiple revisions start with \"abc\": \"abcd1\", \"abcd2\"" },
	{ "labels", "othe", "", 0,
	  "abcd1" },
	{ "labels", "nope@head", "", MS_ERR_NOTFOUND,
	  "identifier \"nope\": no such revision or branch" },
	{ "labels", "lb@+1", "c", 0,
	  "e" },
	{ "prefix", "ae10", "", MS_ERR_AMBIGUOUS,
	  "identifier \"ae10\": multiple revisions start with \"ae10\": \"ae1027a6acf\", \"ae1083c9bc2\"" },
	{ "prefix", "ae102", "", 0,
	  "ae1027a6acf" },
	{ "prefix", "1975", "", 0,
	  "1975ea83b712" },
	{ "prefix", "ae", "", MS_ERR_AMBIGUOUS,
	  "identifier \"ae\": multiple revisions start with \"ae\": \"ae1027a6acf\", \"ae1083c9bc2\"" },
	{ "prefix", "fea", "", 0,
	  "1975ea83b712" },
	{ "prefix", "feat", "", 0,
	  "1975ea83b712" },
	{ "prefix", "feature@ae1083", "", 0,
	  "ae1083c9bc2" },
	{ "prefix", "feature@ae1", "", MS_ERR_AMBIGUOUS,
	  "identifier \"ae1\": multiple revisions start with \"ae1\": \"ae1027a6acf\", \"ae1083c9bc2\"" },
	{ "prefix", "xy", "", MS_ERR_NOTFOUND,
	  "identifier \"xy\": no such revision or branch; please ensure at least four characters are present for partial revision identifier matches" },
	{ "prefix", "feature@head", "", 0,
	  "1975ea83b712" },
	{ "prefix", "ae1083c9bc2+1", "", 0,
	  "1975ea83b712" },
};

static void test_alembic_resolve(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(resolve_cases); i++) {
		const struct resolve_case *c = &resolve_cases[i];
		struct fixture f = { 0 };
		struct revgraph_set out = REVGRAPH_SET_INIT;
		struct strvec cur = STRVEC_INIT;
		int ret;

		load_graph(&f, c->graph);
		split_into(&cur, c->current);
		ret = revgraph_resolve(&out, f.g, c->ident, &cur, &f.err);
		if (ret != c->code)
			fail_msg("%s \"%s\": returned %d (%s), expected %d", c->graph, c->ident,
				 ret, f.err.message ? f.err.message : "", c->code);
		if (ret) {
			if (strcmp(f.err.message, c->expect))
				fail_msg("%s \"%s\":\n got    \"%s\"\n expect \"%s\"", c->graph,
					 c->ident, f.err.message, c->expect);
			assert_int_equal(out.nr, 0);
		} else {
			char *got = ids(&f, out.items, out.nr);

			if (strcmp(got, c->expect))
				fail_msg("%s \"%s\": got \"%s\", expect \"%s\"", c->graph,
					 c->ident, got, c->expect);
			free(got);
		}
		strvec_release(&cur);
		revgraph_set_release(&out);
		fixture_release(&f);
	}
}

static void test_resolve_hints(void **state)
{
	struct fixture f = { 0 };
	struct revgraph_set out = REVGRAPH_SET_INIT;

	(void)state;
	load_graph(&f, "bases");
	assert_int_equal(revgraph_resolve(&out, f.g, "head", NULL, &f.err), MS_ERR_AMBIGUOUS);
	assert_non_null(f.err.hint);
	assert_non_null(strstr(f.err.hint, "\"heads\""));
	assert_non_null(strstr(f.err.hint, "merge"));
	ms_error_release(&f.err);
	assert_int_equal(revgraph_resolve(&out, f.g, "zz", NULL, &f.err), MS_ERR_NOTFOUND);
	assert_non_null(strstr(f.err.message, "at least four characters"));
	ms_error_release(&f.err);
	/* unknown current rows */
	{
		struct strvec cur = STRVEC_INIT;

		strvec_push(&cur, "nothere");
		assert_int_equal(revgraph_resolve(&out, f.g, "+1", &cur, &f.err), MS_ERR_NOTFOUND);
		strvec_release(&cur);
	}
	revgraph_set_release(&out);
	fixture_release(&f);
}

/* Alembic's get_revisions, as `alembic show` resolves (compat reproductions). */
static void test_get_revisions(void **state)
{
	static const struct {
		const char *ident;
		int code;
		const char *expect;
	} cases[] = {
		{ "lab@-1", 0, "aaaaaaaaaaa2" },
		{ "lab@-2", 0, "aaaaaaaaaaa1" },
		{ "lab@-3", MS_ERR_NOTFOUND, NULL },	/* base: Alembic crashes */
		{ "-1", 0, "aaaaaaaaaaa2" },
		{ "lab@+1", MS_ERR_NOTFOUND, NULL },
		{ "aaaaaaaaaaa3-1", MS_ERR_NOTFOUND, NULL },
		{ "aaaaaaaaaaa1+1", MS_ERR_NOTFOUND, NULL },
		{ "+1", MS_ERR_NOTFOUND, NULL },
		{ "lab@-4", MS_ERR_NOTFOUND, NULL },
		{ "lab@aaaaaaaaaaa2", 0, "aaaaaaaaaaa2" },
		{ "lab", 0, "aaaaaaaaaaa1" },
	};
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct fixture f = { 0 };
		struct revgraph_set out = REVGRAPH_SET_INIT;
		int ret;

		add_rev(&f, "aaaaaaaaaaa1", NULL, "lab", NULL);
		add_rev(&f, "aaaaaaaaaaa2", "aaaaaaaaaaa1", NULL, NULL);
		add_rev(&f, "aaaaaaaaaaa3", "aaaaaaaaaaa2", NULL, NULL);
		assert_int_equal(build(&f), 0);
		ret = revgraph_get_revisions(&out, f.g, cases[i].ident, &f.err);
		if (ret != cases[i].code)
			fail_msg("\"%s\": returned %d (%s), expected %d", cases[i].ident, ret,
				 f.err.message ? f.err.message : "", cases[i].code);
		if (!ret)
			assert_ids(&f, out.items, out.nr, cases[i].expect);
		revgraph_set_release(&out);
		fixture_release(&f);
	}
}

/* The ends of history -r LOWER:UPPER (compat reproductions). */
static void test_history_range(void **state)
{
	static const struct {
		const char *lower, *upper;
		int code;
		const char *expect_lower, *expect_upper;
	} cases[] = {
		{ "aaaaaaaaaaa3", "+1", 0, "aaaaaaaaaaa3", "aaaaaaaaaaa3" },
		{ "aaaaaaaaaaa2", "+2", 0, "aaaaaaaaaaa2", "aaaaaaaaaaa3" },
		{ "aaaaaaaaaaa1", "+1", 0, "aaaaaaaaaaa1", "aaaaaaaaaaa2" },
		{ "aaaaaaaaaaa2-1", "aaaaaaaaaaa3", MS_ERR_NOTFOUND, NULL, NULL },
		{ "lab@-1", NULL, 0, "aaaaaaaaaaa2", "aaaaaaaaaaa3" },
		{ "-2", "", 0, "aaaaaaaaaaa1", "aaaaaaaaaaa3" },
		{ NULL, "aaaaaaaaaaa2", 0, "", "aaaaaaaaaaa2" },
		{ "base", "lab@+2", 0, "", "aaaaaaaaaaa2" },
	};
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct fixture f = { 0 };
		struct revgraph_set lo = REVGRAPH_SET_INIT, up = REVGRAPH_SET_INIT;
		int ret;

		add_rev(&f, "aaaaaaaaaaa1", NULL, "lab", NULL);
		add_rev(&f, "aaaaaaaaaaa2", "aaaaaaaaaaa1", NULL, NULL);
		add_rev(&f, "aaaaaaaaaaa3", "aaaaaaaaaaa2", NULL, NULL);
		assert_int_equal(build(&f), 0);
		ret = revgraph_history_range(&lo, &up, f.g, cases[i].lower, cases[i].upper, &f.err);
		if (ret != cases[i].code)
			fail_msg("\"%s:%s\": returned %d (%s), expected %d", cases[i].lower,
				 cases[i].upper, ret, f.err.message ? f.err.message : "", cases[i].code);
		if (!ret) {
			assert_ids(&f, lo.items, lo.nr, cases[i].expect_lower);
			assert_ids(&f, up.items, up.nr, cases[i].expect_upper);
		}
		revgraph_set_release(&lo);
		revgraph_set_release(&up);
		fixture_release(&f);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_history_range),
		cmocka_unit_test(test_get_revisions),
		cmocka_unit_test(test_alembic_resolve),
		cmocka_unit_test(test_resolve_hints),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
