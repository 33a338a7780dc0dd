/*
 * Alembic 1.8's history order: which revisions `alembic history`,
 * `heads`, `branches` and `show` list and in which order
 * (alembic/script/revision.py, RevisionMap.walk_revisions and
 * _topological_sort). Nothing here prints; the graph commands of
 * src/cli render what these functions return.
 *
 * "File order" stands in for the order in which Alembic happens to list
 * the versions directories: the order of the script_set, which is by
 * directory, then by file name. Alembic prints exactly what migsync
 * prints whenever its os.listdir() returns names in sorted order.
 */
#include <stdlib.h>
#include <string.h>

#include "migsync/revgraph.h"
#include "internal.h"

/* File order: the position of each node's script in the script_set. */
struct file_key {
	const struct script *script;
	size_t node;
};

static int cmp_file_key(const void *a, const void *b)
{
	const struct file_key *x = a, *y = b;

	/* the scripts all live in one array, so their addresses are its order */
	if (x->script != y->script)
		return x->script < y->script ? -1 : 1;
	return (x->node > y->node) - (x->node < y->node);
}

void revgraph_sort_file_order(const struct revgraph *g, size_t *items, size_t nr)
{
	struct file_key *keys;

	if (nr < 2)
		return;
	keys = xmalloc(nr * sizeof(*keys));
	for (size_t i = 0; i < nr; i++) {
		keys[i].script = g->nodes[items[i]].script;
		keys[i].node = items[i];
	}
	qsort(keys, nr, sizeof(*keys), cmp_file_key);
	for (size_t i = 0; i < nr; i++)
		items[i] = keys[i].node;
	free(keys);
}

/* rank[n] = position of node n in file order; caller frees. */
static size_t *file_ranks(const struct revgraph *g)
{
	size_t *order = xmalloc((g->nr ? g->nr : 1) * sizeof(*order));
	size_t *rank = xmalloc((g->nr ? g->nr : 1) * sizeof(*rank));

	for (size_t i = 0; i < g->nr; i++)
		order[i] = i;
	revgraph_sort_file_order(g, order, g->nr);
	for (size_t i = 0; i < g->nr; i++)
		rank[order[i]] = i;
	free(order);
	return rank;
}

void revgraph_heads_sorted(size_t **out, size_t *nr, const struct revgraph *g, bool real)
{
	size_t *heads = xmalloc((g->nr ? g->nr : 1) * sizeof(*heads));
	size_t n = 0;

	for (size_t i = 0; i < g->nr; i++)
		if (real ? g->nodes[i].is_real_head : g->nodes[i].is_head)
			heads[n++] = i;
	revgraph_sort_file_order(g, heads, n);
	*out = heads;
	*nr = n;
}

/*
 * One entry of Alembic's ancestors_by_idx: the ancestors of a current
 * head (the head included, depends_on followed), found lazily. Nodes are
 * expanded in decreasing topological position, and an ancestor always
 * sits below its descendants, so once every node left to expand is at
 * or below a node's position, whether that node is an ancestor is
 * settled. The walk asks only about candidates, which move down, so a
 * head's ancestors are explored only as far down as it is asked about,
 * not the whole graph at every merge point.
 */
enum { ANC_UNSEEN, ANC_IN, ANC_LEFT };

struct walk_anc {
	unsigned char *state;	/* ANC_*, one per node */
	size_t *heap;		/* marked, not yet expanded; max-heap on topo_pos */
	size_t heap_nr;
	size_t heap_alloc;
};

struct walk_head {
	size_t node;
	struct walk_anc *anc;	/* NULL until another head's candidate needs it */
};

/* The state of RevisionMap._topological_sort. */
struct walk {
	const struct revgraph *g;
	size_t *rank;
	const size_t *topo_pos;	/* the graph's own */
	bool *todo;
	size_t todo_nr;
	struct walk_head *heads;	/* current_heads with their ancestors */
	size_t heads_nr;
	size_t heads_alloc;
	struct walk_anc **spare;	/* released ancestor sets, for reuse */
	size_t spare_nr;
	size_t spare_alloc;
	size_t *downs;			/* scratch for one candidate's downs */
	size_t downs_alloc;
	size_t *out;
	size_t out_nr;
};

static void anc_push(struct walk *w, struct walk_anc *a, size_t n)
{
	size_t i;

	a->state[n] = ANC_IN;
	ALLOC_GROW(a->heap, a->heap_nr + 1, a->heap_alloc);
	i = a->heap_nr++;
	while (i && w->topo_pos[a->heap[(i - 1) / 2]] < w->topo_pos[n]) {
		a->heap[i] = a->heap[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	a->heap[i] = n;
}

static size_t anc_pop(struct walk *w, struct walk_anc *a)
{
	size_t top = a->heap[0], last = a->heap[--a->heap_nr], i = 0;

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= a->heap_nr)
			break;
		if (c + 1 < a->heap_nr && w->topo_pos[a->heap[c + 1]] > w->topo_pos[a->heap[c]])
			c++;
		if (w->topo_pos[a->heap[c]] <= w->topo_pos[last])
			break;
		a->heap[i] = a->heap[c];
		i = c;
	}
	a->heap[i] = last;
	return top;
}

/* Whether q is an ancestor of the head a belongs to (get_ancestors(head)). */
static bool anc_has(struct walk *w, struct walk_anc *a, size_t q)
{
	while (a->heap_nr && w->topo_pos[a->heap[0]] > w->topo_pos[q]) {
		const struct revgraph_node *node = &w->g->nodes[anc_pop(w, a)];

		for (size_t i = 0; i < node->parents_nr; i++)
			if (a->state[node->parents[i]] == ANC_UNSEEN)
				anc_push(w, a, node->parents[i]);
		for (size_t i = 0; i < node->deps_nr; i++)
			if (a->state[node->deps[i]] == ANC_UNSEEN)
				anc_push(w, a, node->deps[i]);
	}
	return a->state[q] == ANC_IN;
}

static struct walk_anc *anc_new(struct walk *w, size_t head)
{
	struct walk_anc *a;

	if (w->spare_nr) {
		a = w->spare[--w->spare_nr];
		memset(a->state, 0, w->g->nr);
		a->heap_nr = 0;
	} else {
		a = xcalloc(1, sizeof(*a));
		a->state = xcalloc(w->g->nr ? w->g->nr : 1, 1);
	}
	anc_push(w, a, head);
	return a;
}

static void anc_release(struct walk *w, struct walk_anc *a)
{
	if (!a)
		return;
	ALLOC_GROW(w->spare, w->spare_nr + 1, w->spare_alloc);
	w->spare[w->spare_nr++] = a;
}

static void anc_free(struct walk_anc *a)
{
	if (!a)
		return;
	free(a->state);
	free(a->heap);
	free(a);
}

static void walk_add_head(struct walk *w, size_t n)
{
	ALLOC_GROW(w->heads, w->heads_nr + 1, w->heads_alloc);
	w->heads[w->heads_nr].node = n;
	w->heads[w->heads_nr].anc = NULL;
	w->heads_nr++;
}

static bool walk_is_head(const struct walk *w, size_t n)
{
	for (size_t i = 0; i < w->heads_nr; i++)
		if (w->heads[i].node == n)
			return true;
	return false;
}

/* "candidate in ancestors_by_idx[j]", building that set when first asked. */
static bool walk_head_needs(struct walk *w, size_t j, size_t cand)
{
	struct walk_head *h = &w->heads[j];

	/* an ancestor comes first in the topological order */
	if (w->topo_pos[cand] > w->topo_pos[h->node])
		return false;
	if (!h->anc)
		h->anc = anc_new(w, h->node);
	return anc_has(w, h->anc, cand);
}

/*
 * Alembic's loop: follow one head down while no other head still needs
 * the candidate; when one does, switch to that head first.
 */
static void walk_loop(struct walk *w)
{
	const struct revgraph *g = w->g;
	size_t idx = 0;

	while (w->heads_nr) {
		size_t cand = w->heads[idx].node;
		const struct revgraph_node *node = &g->nodes[cand];
		size_t downs_nr, add_nr = 0, j;

		for (j = 0; j < w->heads_nr; j++)
			if (j != idx && walk_head_needs(w, j, cand))
				break;
		if (j < w->heads_nr) {
			idx = j;
			continue;
		}
		if (w->todo[cand]) {
			w->out[w->out_nr++] = cand;
			w->todo[cand] = false;
			w->todo_nr--;
		}
		ALLOC_GROW(w->downs, node->parents_nr + node->norm_deps_nr + 1, w->downs_alloc);
		downs_nr = revgraph_down_revs(g, cand, w->downs);
		/* heads_to_add, kept in place at the front of downs */
		for (size_t i = 0; i < downs_nr; i++)
			if (w->todo[w->downs[i]] && !walk_is_head(w, w->downs[i]))
				w->downs[add_nr++] = w->downs[i];

		if (!add_nr) {
			anc_release(w, w->heads[idx].anc);
			memmove(w->heads + idx, w->heads + idx + 1,
				(w->heads_nr - idx - 1) * sizeof(*w->heads));
			w->heads_nr--;
			idx = idx ? idx - 1 : 0;
		} else if (!node->norm_deps_nr && node->parents_nr == 1) {
			/*
			 * Plain movement down one line: the ancestors of the
			 * parent are those of the candidate but the candidate
			 * (Alembic discards it from the set).
			 */
			struct walk_anc *a = w->heads[idx].anc;

			w->heads[idx].node = w->downs[0];
			if (a) {
				a->state[cand] = ANC_LEFT;
				if (a->state[w->downs[0]] == ANC_UNSEEN)
					anc_push(w, a, w->downs[0]);
			}
		} else {
			anc_release(w, w->heads[idx].anc);
			w->heads[idx].node = w->downs[0];
			w->heads[idx].anc = NULL;
			for (size_t i = 1; i < add_nr; i++)
				walk_add_head(w, w->downs[i]);
		}
	}
}

/* Sort node indexes by rank (insertion sort: the lists are short). */
static void sort_by_rank(size_t *items, size_t nr, const size_t *rank)
{
	for (size_t i = 1; i < nr; i++) {
		size_t v = items[i], j = i;

		while (j > 0 && rank[items[j - 1]] > rank[v]) {
			items[j] = items[j - 1];
			j--;
		}
		items[j] = v;
	}
}

/*
 * Emit every node marked in todo, newest first. Alembic starts from the
 * requested heads only and asserts that this reaches everything; when it
 * would not (a range cut through a depends_on), migsync goes on from the
 * topmost nodes left rather than lose them.
 */
static void walk_sort(struct walk *w, const size_t *targets, size_t targets_nr)
{
	const struct revgraph *g = w->g;
	size_t *start = xmalloc((g->nr ? g->nr : 1) * sizeof(*start));
	size_t start_nr = 0;

	for (size_t i = 0; i < targets_nr; i++) {
		bool dup = false;

		for (size_t k = 0; k < start_nr; k++)
			dup = dup || start[k] == targets[i];
		if (w->todo[targets[i]] && !dup)
			start[start_nr++] = targets[i];
	}
	for (;;) {
		sort_by_rank(start, start_nr, w->rank);
		for (size_t i = 0; i < start_nr; i++)
			walk_add_head(w, start[i]);
		walk_loop(w);
		if (!w->todo_nr)
			break;
		start_nr = 0;
		for (size_t n = 0; n < g->nr; n++) {
			const struct revgraph_node *node = &g->nodes[n];
			bool top = w->todo[n];

			for (size_t i = 0; top && i < node->children_nr; i++)
				top = !w->todo[node->children[i]];
			for (size_t i = 0; top && i < node->dependents_nr; i++)
				top = !w->todo[node->dependents[i]];
			if (top)
				start[start_nr++] = n;
		}
	}
	free(start);
}

int revgraph_refuse_current(const char *ident, struct ms_error *err)
{
	int ret = 0;

	if (ident && !strcmp(ident, "current")) {
		ret = ms_error_set(err, MS_ERR_USAGE,
				   "revision \"current\" needs a database: this command reads only the revision scripts");
		ms_error_hint(err, "give a revision id, or use 'migsync status' to see each environment's revision");
	}
	return ret;
}

int revgraph_history_split(char **lower, char **upper, const char *range,
			   struct ms_error *err)
{
	const char *colon = range ? strchr(range, ':') : NULL;
	const char *s = range, *e = NULL;
	int ret = 0;

	*lower = NULL;
	*upper = NULL;
	if (!range)
		goto done;
	if (!colon || strchr(colon + 1, ':')) {
		ret = ms_error_set(err, MS_ERR_USAGE,
				   "invalid range \"%s\": expected START:END, START: or :END", range);
		goto done;
	}
	/* Alembic strips the whole range before splitting it */
	e = range + strlen(range);
	while (s < colon && (*s == ' ' || *s == '\t'))
		s++;
	while (e > colon + 1 && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	*lower = xstrndup(s, (size_t)(colon - s));
	*upper = xstrndup(colon + 1, (size_t)(e - colon - 1));
done:
	return ret;
}

/*
 * Keep only the targets on the lower end's branch, as
 * _collect_upgrade_revisions does for "branch@..." lower ends. Like
 * Alembic, fail when the branch names nothing.
 */
static int filter_branch(struct revgraph_set *targets, const struct revgraph *g,
			 const char *lower, struct ms_error *err)
{
	char *branch = xstrndup(lower, (size_t)(strchr(lower, '@') - lower));
	struct revgraph_set check = REVGRAPH_SET_INIT;
	struct ms_error ignored = MS_ERROR_INIT;
	ssize_t rev = revgraph_find(g, branch);
	const char *label = branch;
	size_t kept = 0;
	int ret = 0;

	if (rev < 0 && revgraph_resolve(&check, g, branch, NULL, &ignored) == MS_ERR_NOTFOUND) {
		ret = ms_error_set(err, MS_ERR_NOTFOUND, "range \"%s\": no branch or revision \"%s\"",
				   lower, branch);
		goto done;
	}
	if (rev >= 0 && g->nodes[rev].branch_labels.nr == 1)
		label = g->nodes[rev].branch_labels.items[0];
	for (size_t i = 0; i < targets->nr; i++)
		if (strvec_contains(&g->nodes[targets->items[i]].branch_labels, label))
			targets->items[kept++] = targets->items[i];
	targets->nr = kept;
done:
	revgraph_set_release(&check);
	ms_error_release(&ignored);
	free(branch);
	return ret;
}

int revgraph_history_walk(size_t **out, size_t *nr, const struct revgraph *g,
			  const char *lower, const char *upper, struct ms_error *err)
{
	struct revgraph_set lo = REVGRAPH_SET_INIT, up = REVGRAPH_SET_INIT;
	bool *required = NULL, *below = NULL, *above = NULL;
	struct walk w = { 0 };
	int ret = 0;

	*out = NULL;
	*nr = 0;
	if (!lower || !*lower)
		lower = "base";
	if (!upper || !*upper)
		upper = "heads";
	if ((ret = revgraph_refuse_current(lower, err)) < 0 ||
	    (ret = revgraph_refuse_current(upper, err)) < 0)
		goto done;
	ret = revgraph_history_range(&lo, &up, g, lower, upper, err);
	if (ret)
		goto done;
	if (strchr(lower, '@') && (ret = filter_branch(&up, g, lower, err)) < 0)
		goto done;

	/* _collect_upgrade_revisions(upper, lower, inclusive=True, implicit_base=False) */
	required = xcalloc(g->nr ? g->nr : 1, sizeof(*required));
	below = xcalloc(g->nr ? g->nr : 1, sizeof(*below));
	revgraph_mark_ancestors(g, up.items, up.nr, true, required);
	for (size_t i = 0; i < lo.nr; i++) {
		if (!required[lo.items[i]]) {
			ret = ms_error_set(err, MS_ERR_USAGE,
					   "range \"%s:%s\" does not refer to ancestor/descendant revisions along the same branch",
					   lower, upper);
			goto done;
		}
	}
	revgraph_mark_ancestors(g, lo.items, lo.nr, true, below);
	w.g = g;
	w.todo = xcalloc(g->nr ? g->nr : 1, sizeof(*w.todo));
	for (size_t n = 0; n < g->nr; n++)
		w.todo[n] = required[n] && !below[n];
	for (size_t i = 0; i < lo.nr; i++)
		w.todo[lo.items[i]] = true;
	if (lo.nr) {
		above = xcalloc(g->nr, sizeof(*above));
		revgraph_mark_descendants(g, lo.items, lo.nr, false, above);
		for (size_t n = 0; n < g->nr; n++)
			w.todo[n] = w.todo[n] && above[n];
	}
	for (size_t n = 0; n < g->nr; n++)
		w.todo_nr += w.todo[n];

	w.rank = file_ranks(g);
	w.topo_pos = g->index->topo_pos;
	w.out = xmalloc((g->nr ? g->nr : 1) * sizeof(*w.out));
	walk_sort(&w, up.items, up.nr);
	*out = w.out;
	*nr = w.out_nr;
	w.out = NULL;
done:
	for (size_t i = 0; i < w.heads_nr; i++)
		anc_free(w.heads[i].anc);
	for (size_t i = 0; i < w.spare_nr; i++)
		anc_free(w.spare[i]);
	free(w.spare);
	free(w.heads);
	free(w.downs);
	free(w.todo);
	free(w.rank);
	free(w.out);
	free(required);
	free(below);
	free(above);
	revgraph_set_release(&lo);
	revgraph_set_release(&up);
	return ret;
}

void revgraph_bases_sorted(size_t **out, size_t *nr, const struct revgraph *g)
{
	size_t *bases = xmalloc((g->nr ? g->nr : 1) * sizeof(*bases));
	size_t n = 0;

	for (size_t i = 0; i < g->nr; i++)
		if (g->nodes[i].is_base)
			bases[n++] = i;
	revgraph_sort_file_order(g, bases, n);
	*out = bases;
	*nr = n;
}

int revgraph_branch_points(size_t **points, size_t *points_nr, size_t **nodes,
			   size_t *nodes_nr, const struct revgraph *g, struct ms_error *err)
{
	size_t *revs = NULL, revs_nr = 0, p_nr = 0, n_nr = 0;
	size_t *p = NULL, *n = NULL;
	unsigned char *seen = NULL;
	int ret;

	*points = NULL;
	*points_nr = 0;
	if (nodes) {
		*nodes = NULL;
		*nodes_nr = 0;
	}
	/* walk_revisions(): the whole history, newest first */
	ret = revgraph_history_walk(&revs, &revs_nr, g, NULL, NULL, err);
	if (ret < 0)
		goto done;
	p = xmalloc((revs_nr ? revs_nr : 1) * sizeof(*p));
	for (size_t i = 0; i < revs_nr; i++)
		if (g->nodes[revs[i]].is_branch_point)
			p[p_nr++] = revs[i];
	if (nodes) {
		seen = xcalloc(g->nr ? g->nr : 1, 1);
		n = xmalloc((revs_nr ? revs_nr : 1) * sizeof(*n));
		for (size_t i = 0; i < p_nr; i++) {
			const struct revgraph_node *bp = &g->nodes[p[i]];

			seen[p[i]] = 1;
			for (size_t k = 0; k < bp->children_nr; k++)
				seen[bp->children[k]] = 1;
		}
		for (size_t i = 0; i < revs_nr; i++)
			if (seen[revs[i]])
				n[n_nr++] = revs[i];
		*nodes = n;
		*nodes_nr = n_nr;
		n = NULL;
	}
	*points = p;
	*points_nr = p_nr;
	p = NULL;
done:
	free(revs);
	free(seen);
	free(p);
	free(n);
	return ret;
}

int revgraph_show_revisions(struct revgraph_set *out, const struct revgraph *g,
			    const char *ident, struct ms_error *err)
{
	int ret = revgraph_refuse_current(ident, err);

	if (ret < 0)
		goto done;
	if (!strcmp(ident, "heads")) {
		/* RevisionMap._real_heads, in file order, as Alembic lists them */
		size_t *heads = NULL, heads_nr = 0;

		revgraph_heads_sorted(&heads, &heads_nr, g, true);
		for (size_t i = 0; i < heads_nr; i++)
			revgraph_set_add(out, heads[i]);
		free(heads);
	} else {
		ret = revgraph_get_revisions(out, g, ident, err);
	}
done:
	return ret;
}
