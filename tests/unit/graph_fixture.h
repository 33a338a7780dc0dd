/*
 * A revision graph fixture for the unit tests of src/revgraph: scripts
 * built directly, without the reader, and the graph shapes of Alembic's
 * tests/test_revision.py. Compiled into each test program that includes
 * it (see meson.build); include <cmocka.h> before this header.
 */
#ifndef GRAPH_FIXTURE_H
#define GRAPH_FIXTURE_H

#include <stddef.h>
#include <stdlib.h>

#include "migsync/diag.h"
#include "migsync/error.h"
#include "migsync/revgraph.h"
#include "migsync/scripts.h"
#include "migsync/strbuf.h"

struct fixture {
	struct script_set set;
	struct revgraph *g;
	struct diag_list problems;
	struct ms_error err;
};

/* Push each space-separated word of words (NULL or "" for none) onto v. */
void split_into(struct strvec *v, const char *words);

/*
 * Add a Python revision "<rev>_rev.py" at lines 10 to 13.
 * down, labels, deps: space-separated lists, NULL or "" for none.
 */
void add_rev(struct fixture *f, const char *rev, const char *down,
	     const char *labels, const char *deps);

/* revgraph_build() over the scripts added so far, into f->g. */
int build(struct fixture *f);

/* Add the scripts of the named graph shape and build it; fails the test on an unknown name. */
void load_graph(struct fixture *f, const char *name);

/* Free everything and zero f, so that it can be used again. */
void fixture_release(struct fixture *f);

/* The index of a node that must exist. */
size_t node(const struct fixture *f, const char *id);

/* The ids of a list of nodes, space-separated; the caller frees it. */
char *ids(const struct fixture *f, const size_t *items, size_t nr);

/* The items of v, space-separated; the caller frees it. */
char *joined(const struct strvec *v);

#define assert_ids(f, items, nr, expect) do { \
	char *got_ = ids((f), (items), (nr)); \
	assert_string_equal(got_, (expect)); \
	free(got_); \
} while (0)

#define assert_strvec(v, expect) do { \
	char *got_ = joined(v); \
	assert_string_equal(got_, (expect)); \
	free(got_); \
} while (0)

#endif
