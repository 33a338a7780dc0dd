#ifndef MIGSYNC_REVGRAPH_H
#define MIGSYNC_REVGRAPH_H

/*
 * The revision graph, with Alembic 1.8 semantics (alembic/script/revision.py).
 *
 * Nodes are the scripts of a script_set; edges are down_revision (parents)
 * and depends_on (dependencies). All lists of node indexes are sorted so
 * that every result is deterministic whatever the directory order was:
 * children and dependents by revision id, parents and deps in file order.
 *
 * The graph borrows the scripts: the script_set must outlive it.
 */

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "migsync/diag.h"
#include "migsync/error.h"
#include "migsync/scripts.h"
#include "migsync/util.h"

struct revgraph_node {
	const char *id;			/* == script->revision */
	const struct script *script;	/* borrowed */

	size_t *parents;	/* down_revision, in file order */
	size_t parents_nr;
	size_t *deps;		/* depends_on resolved to nodes (labels resolved too) */
	size_t deps_nr;
	/*
	 * deps minus those already named in the depends_on of an ancestor
	 * along down_revision (Alembic's _normalized_resolved_dependencies).
	 * parents + norm_deps are the "down revisions" Alembic's version
	 * table bookkeeping works with.
	 */
	size_t *norm_deps;
	size_t norm_deps_nr;
	size_t *children;	/* nodes naming this one in down_revision */
	size_t children_nr;
	size_t *dependents;	/* nodes naming this one in depends_on */
	size_t dependents_nr;

	/* The labels of the node's branch, own and propagated, sorted (Revision.branch_labels). */
	struct strvec branch_labels;

	bool is_head;			/* no children (Revision.is_head) */
	bool is_real_head;		/* no children and no dependents (_is_real_head) */
	bool is_base;			/* no parents (is_base) */
	bool is_real_base;		/* no parents and no deps (_is_real_base) */
	bool is_branch_point;		/* more than one child */
	bool is_real_branch_point;	/* more than one child or dependent */
	bool is_merge_point;		/* more than one parent */
};

struct revgraph {
	struct revgraph_node *nodes;
	size_t nr;

	/*
	 * Alembic's RevisionMap.heads and .bases, sorted by id. As in Alembic
	 * 1.8.1, heads are the nodes without children (is_head: a node that
	 * only others depend on is still a head) and bases the nodes without
	 * down_revision (is_base: a node with depends_on only is still a base).
	 */
	size_t *heads;
	size_t heads_nr;
	size_t *bases;
	size_t bases_nr;
	/*
	 * _real_heads (no children and no dependents: what the identifier
	 * "heads" resolves to) and _real_bases (no down_revision and no
	 * depends_on), sorted by id.
	 */
	size_t *real_heads;
	size_t real_heads_nr;
	size_t *real_bases;
	size_t real_bases_nr;

	/* opaque lookup state (hash of ids, labels) */
	struct revgraph_index *index;
};

/*
 * Build the graph. On an inconsistent set of scripts (duplicate ids,
 * dangling down_revision or depends_on, cycles and self-loops, a branch
 * label used twice, a label equal to a revision id) returns MS_ERR_GRAPH
 * with err describing the first problem, and appends every problem found
 * to problems (when not NULL) as DIAG_ERROR diagnostics with these codes:
 *
 *   MS002 dangling down_revision     MS003 duplicate revision id
 *   MS004 cycle or self-loop         MS005 branch label reused
 *   MS006 dangling depends_on
 *
 * each naming the revisions and files involved. *out is NULL then.
 */
int revgraph_build(struct revgraph **out, const struct script_set *scripts,
		   struct diag_list *problems, struct ms_error *err);
void revgraph_free(struct revgraph *g);

/* Index of the node with exactly this id, or -1. */
ssize_t revgraph_find(const struct revgraph *g, const char *id);

/* A set of nodes, as sorted indexes. */
struct revgraph_set {
	size_t *items;
	size_t nr;
	size_t alloc;
};
#define REVGRAPH_SET_INIT { NULL, 0, 0 }
void revgraph_set_release(struct revgraph_set *set);

/*
 * Resolve an identifier as Alembic does: a full id, a unique prefix
 * (ambiguous: MS_ERR_AMBIGUOUS listing the candidates; no match:
 * MS_ERR_NOTFOUND, saying so for prefixes under 4 characters), "head"
 * (MS_ERR_AMBIGUOUS with Alembic's advice when there are several heads),
 * "heads", "base" (the empty set), "label@head", "label@rev", a branch
 * label alone, and relative forms "+N", "-N", "rev+N", "rev-N",
 * "label@+N". current is the set of current heads (ids) that relative
 * forms start from; it may be NULL when there are none.
 * out receives the resolved nodes (empty for "base").
 */
int revgraph_resolve(struct revgraph_set *out, const struct revgraph *g,
		     const char *ident, const struct strvec *current,
		     struct ms_error *err);

/*
 * Alembic's RevisionMap.get_revisions(ident), which `alembic show` uses:
 * what revgraph_resolve accepts without a current revision, except the
 * relative forms, of which only "-N" and "label@-N" exist here: N steps
 * down from each head (carrying the label). "+N", "rev+N", "rev-N" and
 * "label@+N" are not found, as in Alembic. The nodes are appended to
 * out in the order found (not normalized).
 */
int revgraph_get_revisions(struct revgraph_set *out, const struct revgraph *g,
			   const char *ident, struct ms_error *err);

/*
 * The two ends of `alembic history -r LOWER:UPPER` (NULL or "" mean
 * "base" and "heads"), resolved as Alembic 1.8's walk_revisions resolves
 * them: lower with revgraph_get_revisions, upper as an upgrade target
 * starting from lower, where "+N", "rev+N" and "label@+N" stop quietly at
 * a head instead of failing ("X:+3" on a head X is X alone). Both sets
 * are normalized. What lies between them is the caller's walk.
 */
int revgraph_history_range(struct revgraph_set *lower_out, struct revgraph_set *upper_out,
			   const struct revgraph *g, const char *lower,
			   const char *upper, struct ms_error *err);

/*
 * Set mark[i] for the nodes start[0..nr) and every node below them
 * through down_revision (and depends_on when with_deps): the start nodes
 * and their ancestors. mark holds g->nr flags and is not cleared first. A
 * node already marked is taken as closed (its ancestors marked too) and
 * is not walked again, so one array can collect the ancestors of several
 * calls; it must not hold marks of another meaning.
 */
void revgraph_mark_ancestors(const struct revgraph *g, const size_t *start,
			     size_t nr, bool with_deps, bool *mark);
/*
 * The same upwards, through children (and dependents when with_deps): the
 * start nodes and their descendants.
 */
void revgraph_mark_descendants(const struct revgraph *g, const size_t *start,
			       size_t nr, bool with_deps, bool *mark);

/* True when a is an ancestor of b (or a == b), following down_revision and depends_on. */
bool revgraph_is_ancestor(const struct revgraph *g, size_t a, size_t b);

/*
 * All nodes in a deterministic topological order, parents (and deps)
 * before children; among ready nodes, the lowest id first.
 * *out is allocated (g->nr entries) and owned by the caller.
 */
void revgraph_topo_order(size_t **out, const struct revgraph *g);

/*
 * One step of an upgrade or downgrade path and the change it makes to the
 * version table, as Alembic's HeadMaintainer makes it:
 *   insert  rows_removed = [],          rows_added = [rev]   (new branch)
 *   update  rows_removed = [parent],    rows_added = [rev]
 *   merge   rows_removed = [p1, p2...], rows_added = [rev]   (DELETE all but one, UPDATE one)
 *   delete  rows_removed = [rev],       rows_added = []      (downgrade of a branch base)
 *   unmerge rows_removed = [rev],       rows_added = [p1, p2...]
 */
enum revgraph_row_op {
	ROW_INSERT,
	ROW_UPDATE,
	ROW_MERGE,
	ROW_DELETE,
	ROW_UNMERGE,
};

struct revgraph_step {
	size_t node;
	bool up;			/* upgrade (true) or downgrade */
	enum revgraph_row_op op;
	struct strvec rows_removed;
	struct strvec rows_added;
};

struct revgraph_path {
	struct revgraph_step *steps;
	size_t nr;
	size_t alloc;
	struct strvec final_rows;	/* version rows after the last step, sorted */
};
#define REVGRAPH_PATH_INIT { NULL, 0, 0, STRVEC_INIT }
void revgraph_path_release(struct revgraph_path *path);

/*
 * The path from the current version rows (ids; NULL or empty for an
 * empty table) to target (any identifier revgraph_resolve accepts).
 * Upgrade when target is ahead, downgrade when it is behind, as
 * `alembic upgrade` / `alembic downgrade` would compute it; steps are in
 * apply order. Unknown current rows are MS_ERR_NOTFOUND.
 */
int revgraph_upgrade_path(struct revgraph_path *out, const struct revgraph *g,
			  const struct strvec *current, const char *target,
			  struct ms_error *err);
int revgraph_downgrade_path(struct revgraph_path *out, const struct revgraph *g,
			    const struct strvec *current, const char *target,
			    struct ms_error *err);

/*
 * Alembic's history order (history.c): which revisions the graph
 * commands list, and in which order, after alembic/script/revision.py.
 * "File order" is the order of the script_set (by directory, then by
 * file name), standing in for the order in which Alembic's os.listdir()
 * happens to return the files. Lists returned through **out are
 * allocated and owned by the caller.
 */

/* Sort node indexes into file order. */
void revgraph_sort_file_order(const struct revgraph *g, size_t *items, size_t nr);

/*
 * Alembic's heads (RevisionMap.heads: no down_revision children) or,
 * with real, its _real_heads (no children and no dependents), in file
 * order.
 */
void revgraph_heads_sorted(size_t **out, size_t *nr, const struct revgraph *g, bool real);

/* The bases (no down_revision, is_base), in file order. */
void revgraph_bases_sorted(size_t **out, size_t *nr, const struct revgraph *g);

/*
 * MS_ERR_USAGE, with a hint, when ident is "current": the graph commands
 * read no database. 0 otherwise (NULL included).
 */
int revgraph_refuse_current(const char *ident, struct ms_error *err);

/*
 * Split `alembic history -r`'s RANGE ("START:END", "START:" or ":END",
 * blanks around the whole range ignored) into its two ends, each
 * allocated and owned by the caller ("" for a missing end). NULL range:
 * both ends NULL. Anything without exactly one colon is MS_ERR_USAGE.
 */
int revgraph_history_split(char **lower, char **upper, const char *range,
			   struct ms_error *err);

/*
 * The revisions `alembic history -r LOWER:UPPER` walks, newest first, in
 * the order of Alembic's RevisionMap._topological_sort (ties broken by
 * file order, so the result is independent of directory order). lower
 * and upper are identifiers revgraph_resolve accepts; NULL or "" mean
 * "base" and "heads". "current" is refused (revgraph_refuse_current); a
 * range whose ends are not on one line of descent is MS_ERR_USAGE, a
 * "branch@..." lower end naming nothing MS_ERR_NOTFOUND.
 */
int revgraph_history_walk(size_t **out, size_t *nr, const struct revgraph *g,
			  const char *lower, const char *upper, struct ms_error *err);

/*
 * What `alembic branches` lists: the branch points, in history order
 * (revgraph_history_walk of the whole graph). When nodes is not NULL, it
 * receives the branch points and their children, in history order.
 */
int revgraph_branch_points(size_t **points, size_t *points_nr, size_t **nodes,
			   size_t *nodes_nr, const struct revgraph *g, struct ms_error *err);

/*
 * What `alembic show IDENT` lists, appended to out: "heads" is the real
 * heads in file order, anything else revgraph_get_revisions; "current"
 * is refused.
 */
int revgraph_show_revisions(struct revgraph_set *out, const struct revgraph *g,
			    const char *ident, struct ms_error *err);

#endif
