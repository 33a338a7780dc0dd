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

/* Scripts built directly, without the reader. */
struct fixture {
	struct script_set set;
	struct revgraph *g;
	struct diag_list problems;
	struct ms_error err;
};

static void split_into(struct strvec *v, const char *words)
{
	const char *p = words;

	while (p && *p) {
		size_t n = strcspn(p, " ");

		if (n)
			strvec_push_owned(v, xstrndup(p, n));
		p += n;
		p += strspn(p, " ");
	}
}

/* down, labels, deps: space-separated lists, NULL or "" for none. */
static void add_rev(struct fixture *f, const char *rev, const char *down,
		    const char *labels, const char *deps)
{
	struct script *s;

	ALLOC_GROW(f->set.items, f->set.nr + 1, f->set.alloc);
	s = &f->set.items[f->set.nr++];
	memset(s, 0, sizeof(*s));
	s->kind = SCRIPT_PYTHON;
	s->filename = xstrfmt("%s_rev.py", rev);
	s->path = xstrfmt("versions/%s", s->filename);
	s->revision = xstrdup(rev);
	split_into(&s->down_revisions, down);
	split_into(&s->branch_labels, labels);
	split_into(&s->depends_on, deps);
	s->revision_line = 10;
	s->down_revision_line = 11;
	s->branch_labels_line = 12;
	s->depends_on_line = 13;
}

static void fixture_release(struct fixture *f)
{
	for (size_t i = 0; i < f->set.nr; i++) {
		struct script *s = &f->set.items[i];

		free(s->filename);
		free(s->path);
		free(s->revision);
		strvec_release(&s->down_revisions);
		strvec_release(&s->branch_labels);
		strvec_release(&s->depends_on);
	}
	free(f->set.items);
	revgraph_free(f->g);
	diag_list_release(&f->problems);
	ms_error_release(&f->err);
	memset(f, 0, sizeof(*f));
}

static int build(struct fixture *f)
{
	return revgraph_build(&f->g, &f->set, &f->problems, &f->err);
}

static __attribute__((unused)) size_t node(const struct fixture *f, const char *id)
{
	ssize_t i = revgraph_find(f->g, id);

	assert_true(i >= 0);
	return (size_t)i;
}

/* The ids of a list of nodes, space-separated. */
static __attribute__((unused)) char *ids(const struct fixture *f, const size_t *items, size_t nr)
{
	struct strbuf sb = STRBUF_INIT;

	for (size_t i = 0; i < nr; i++)
		strbuf_addf(&sb, "%s%s", i ? " " : "", f->g->nodes[items[i]].id);
	return strbuf_detach(&sb, NULL);
}

#define assert_ids(f, items, nr, expect) do { \
	char *got_ = ids((f), (items), (nr)); \
	assert_string_equal(got_, (expect)); \
	free(got_); \
} while (0)

static __attribute__((unused)) char *joined(const struct strvec *v)
{
	struct strbuf sb = STRBUF_INIT;

	for (size_t i = 0; i < v->nr; i++)
		strbuf_addf(&sb, "%s%s", i ? " " : "", v->items[i]);
	return strbuf_detach(&sb, NULL);
}

#define assert_strvec(v, expect) do { \
	char *got_ = joined(v); \
	assert_string_equal(got_, (expect)); \
	free(got_); \
} while (0)

/* Graph shapes from Alembic's tests/test_revision.py. */
struct rev_spec {
	const char *rev, *down, *labels, *deps;
};

struct graph_spec {
	const char *name;
	struct rev_spec revs[8];
};

static const struct graph_spec graphs[] = {
	{ "linear", {
		{ "a", NULL, NULL, NULL },
		{ "b", "a", NULL, NULL },
		{ "c", "b", NULL, NULL },
		{ "d", "c", NULL, NULL },
		{ NULL, NULL, NULL, NULL } } },
	{ "diamond", {
		{ "a", NULL, NULL, NULL },
		{ "b", "a", NULL, NULL },
		{ "c", "a", NULL, NULL },
		{ "d", "b c", NULL, NULL },
		{ NULL, NULL, NULL, NULL } } },
	{ "bases", {
		{ "a1", NULL, NULL, NULL },
		{ "a2", "a1", NULL, NULL },
		{ "b1", NULL, NULL, NULL },
		{ "b2", "b1", NULL, NULL },
		{ NULL, NULL, NULL, NULL } } },
	{ "threeway", {
		{ "a", NULL, NULL, NULL },
		{ "b", "a", NULL, NULL },
		{ "c", "a", NULL, NULL },
		{ "d", "a", NULL, NULL },
		{ "e", "b c d", NULL, NULL },
		{ NULL, NULL, NULL, NULL } } },
	{ "branchpt", {
		{ "a", NULL, NULL, NULL },
		{ "b", "a", NULL, NULL },
		{ "c", "b", NULL, NULL },
		{ "d", "b", NULL, NULL },
		{ "e", "c", NULL, NULL },
		{ NULL, NULL, NULL, NULL } } },
	{ "deps", {
		{ "a1", NULL, "alpha", NULL },
		{ "a2", "a1", NULL, NULL },
		{ "b1", NULL, "beta", NULL },
		{ "b2", "b1", NULL, "a1" },
		{ "b3", "b2", NULL, NULL },
		{ NULL, NULL, NULL, NULL } } },
	{ "labeldep", {
		{ "a1", NULL, "alpha", NULL },
		{ "a2", "a1", NULL, NULL },
		{ "b1", NULL, "beta", "alpha" },
		{ "b2", "b1", NULL, NULL },
		{ NULL, NULL, NULL, NULL } } },
	{ "labels", {
		{ "a", NULL, NULL, NULL },
		{ "b", "a", "lb", NULL },
		{ "c", "b", NULL, NULL },
		{ "d", "b", NULL, NULL },
		{ "e", "c", "le", NULL },
		{ "abcd1", NULL, "other", NULL },
		{ "abcd2", "abcd1", NULL, NULL },
		{ NULL, NULL, NULL, NULL } } },
	{ "prefix", {
		{ "ae1027a6acf", NULL, NULL, NULL },
		{ "ae1083c9bc2", "ae1027a6acf", NULL, NULL },
		{ "1975ea83b712", "ae1083c9bc2", "feature", NULL },
		{ NULL, NULL, NULL, NULL } } },
};

static void load_graph(struct fixture *f, const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(graphs); i++) {
		if (strcmp(graphs[i].name, name))
			continue;
		for (const struct rev_spec *r = graphs[i].revs; r->rev; r++)
			add_rev(f, r->rev, r->down, r->labels, r->deps);
		assert_int_equal(build(f), 0);
		return;
	}
	fail_msg("no graph %s", name);
}

static void split_strvec(struct strvec *v, const char *words)
{
	split_into(v, words);
}

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
		split_strvec(&cur, c->current);
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
		{ "lab@-3", 0, "" },		/* base */
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
