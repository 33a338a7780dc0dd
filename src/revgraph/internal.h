#ifndef MIGSYNC_REVGRAPH_INTERNAL_H
#define MIGSYNC_REVGRAPH_INTERNAL_H

/*
 * Shared between the files of src/revgraph; not part of the public API.
 */

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "migsync/revgraph.h"

/* An open-addressing hash table from borrowed strings to node indexes. */
struct revgraph_strmap {
	const char **keys;
	size_t *vals;
	size_t cap;	/* a power of two, at least twice the number of keys */
	size_t nr;
};

struct revgraph_index {
	struct revgraph_strmap ids;
	struct revgraph_strmap labels;	/* declared labels -> declaring node */
	size_t *by_id;		/* node indexes sorted by id */
	size_t *topo;		/* revgraph_topo_order() */
	size_t *topo_pos;	/* node -> position in topo */
	/*
	 * One allocation for every node's parents, deps, norm_deps, children
	 * and dependents (each node's arrays are slices of it).
	 */
	size_t *edges;
	/*
	 * The distinct branch label sets, each a sorted array of the label
	 * strings (borrowed from the scripts); nodes' branch_labels.items
	 * point at these, so a long labelled line shares one array.
	 */
	char ***label_sets;
	size_t label_sets_nr;
};

ssize_t revgraph_strmap_get(const struct revgraph_strmap *map, const char *key);

/* a is b or an ancestor of b along parents (and deps when with_deps). */
bool revgraph_reaches(const struct revgraph *g, size_t a, size_t b,
		      bool with_deps);

/* Alembic's None and "base" where a node index is expected. */
#define RV_NONE ((ssize_t)-1)
#define RV_BASE ((ssize_t)-2)

/* RevisionMap.get_revision / get_revisions (see resolve.c). */
int revgraph_get_revision(ssize_t *out, const struct revgraph *g,
			  const char *ident, struct ms_error *err);
int revgraph_parse_upgrade_target(struct revgraph_set *out, const struct revgraph *g,
				  const struct revgraph_set *cur, const char *target,
				  struct ms_error *err);
int revgraph_parse_downgrade_target(ssize_t *out, char **label,
				    const struct revgraph *g,
				    const struct revgraph_set *cur,
				    const struct strvec *cur_ids,
				    const char *target, struct ms_error *err);
int revgraph_resolve_branch_node(ssize_t *out, const struct revgraph *g,
				 const char *label, struct ms_error *err);
int revgraph_current_nodes(struct revgraph_set *out, const struct revgraph *g,
			   const struct strvec *current, struct ms_error *err);

/*
 * Revision._normalized_down_revisions of node n into out (which holds
 * parents_nr + norm_deps_nr entries): down_revision, then the normalized
 * deps not already among them. Returns how many.
 */
size_t revgraph_down_revs(const struct revgraph *g, size_t n, size_t *out);

void revgraph_set_add(struct revgraph_set *set, size_t node);
/* Sort by node index and drop duplicates. */
void revgraph_set_normalize(struct revgraph_set *set);

#endif
