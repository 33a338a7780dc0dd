/* The revision graph fixture shared by the revgraph unit tests (graph_fixture.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "migsync/util.h"
#include "graph_fixture.h"

void split_into(struct strvec *v, const char *words)
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

void add_rev(struct fixture *f, const char *rev, const char *down,
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

void fixture_release(struct fixture *f)
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


int build(struct fixture *f)
{
	return revgraph_build(&f->g, &f->set, &f->problems, &f->err);
}

size_t node(const struct fixture *f, const char *id)
{
	ssize_t i = revgraph_find(f->g, id);

	assert_true(i >= 0);
	return (size_t)i;
}

char *ids(const struct fixture *f, const size_t *items, size_t nr)
{
	struct strbuf sb = STRBUF_INIT;

	for (size_t i = 0; i < nr; i++)
		strbuf_addf(&sb, "%s%s", i ? " " : "", f->g->nodes[items[i]].id);
	return strbuf_detach(&sb, NULL);
}

char *joined(const struct strvec *v)
{
	struct strbuf sb = STRBUF_INIT;

	for (size_t i = 0; i < v->nr; i++)
		strbuf_addf(&sb, "%s%s", i ? " " : "", v->items[i]);
	return strbuf_detach(&sb, NULL);
}

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

void load_graph(struct fixture *f, const char *name)
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
