/*
 * Building the revision graph from a script_set, with the structure and
 * flags of Alembic 1.8.1's RevisionMap (alembic/script/revision.py).
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "migsync/revgraph.h"
#include "migsync/strbuf.h"
#include "internal.h"

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	while (*s) {
		h ^= (unsigned char)*s++;
		h *= 1099511628211ULL;
	}
	return h;
}

static void strmap_init(struct revgraph_strmap *map, size_t expected)
{
	size_t cap = 16;

	while (cap < 2 * expected)
		cap *= 2;
	map->keys = xcalloc(cap, sizeof(*map->keys));
	map->vals = xcalloc(cap, sizeof(*map->vals));
	map->cap = cap;
	map->nr = 0;
}

static void strmap_release(struct revgraph_strmap *map)
{
	free(map->keys);
	free(map->vals);
	map->keys = NULL;
	map->vals = NULL;
	map->cap = map->nr = 0;
}

ssize_t revgraph_strmap_get(const struct revgraph_strmap *map, const char *key)
{
	size_t mask, i;

	if (!map->cap)
		return -1;
	mask = map->cap - 1;
	for (i = hash_str(key) & mask; map->keys[i]; i = (i + 1) & mask)
		if (!strcmp(map->keys[i], key))
			return (ssize_t)map->vals[i];
	return -1;
}

/*
 * Insert key unless present. Returns -1 when inserted, else the value
 * already stored. The table never fills: strmap_init sized it for all keys.
 */
static ssize_t strmap_put(struct revgraph_strmap *map, const char *key, size_t val)
{
	size_t mask = map->cap - 1, i;

	for (i = hash_str(key) & mask; map->keys[i]; i = (i + 1) & mask)
		if (!strcmp(map->keys[i], key))
			return (ssize_t)map->vals[i];
	map->keys[i] = key;
	map->vals[i] = val;
	map->nr++;
	return -1;
}

void revgraph_set_add(struct revgraph_set *set, size_t node)
{
	ALLOC_GROW(set->items, set->nr + 1, set->alloc);
	set->items[set->nr++] = node;
}

static int cmp_size(const void *va, const void *vb)
{
	size_t a = *(const size_t *)va, b = *(const size_t *)vb;

	return a < b ? -1 : a > b;
}

void revgraph_set_normalize(struct revgraph_set *set)
{
	size_t j = 0;

	if (set->nr < 2)
		return;
	qsort(set->items, set->nr, sizeof(*set->items), cmp_size);
	for (size_t i = 0; i < set->nr; i++)
		if (!j || set->items[j - 1] != set->items[i])
			set->items[j++] = set->items[i];
	set->nr = j;
}

void revgraph_set_release(struct revgraph_set *set)
{
	free(set->items);
	set->items = NULL;
	set->nr = set->alloc = 0;
}

ssize_t revgraph_find(const struct revgraph *g, const char *id)
{
	if (!g || !g->index || !id)
		return -1;
	return revgraph_strmap_get(&g->index->ids, id);
}

static void mark_walk(const struct revgraph *g, const size_t *start, size_t nr,
		      bool down, bool with_deps, bool *mark)
{
	size_t *stack = NULL, stack_nr = 0, stack_alloc = 0;

	for (size_t i = 0; i < nr; i++) {
		ALLOC_GROW(stack, stack_nr + 1, stack_alloc);
		stack[stack_nr++] = start[i];
	}
	while (stack_nr) {
		size_t n = stack[--stack_nr];
		const struct revgraph_node *node = &g->nodes[n];
		const size_t *a, *b;
		size_t a_nr, b_nr;

		if (mark[n])
			continue;
		mark[n] = true;
		if (down) {
			a = node->parents, a_nr = node->parents_nr;
			b = node->deps, b_nr = with_deps ? node->deps_nr : 0;
		} else {
			a = node->children, a_nr = node->children_nr;
			b = node->dependents, b_nr = with_deps ? node->dependents_nr : 0;
		}
		ALLOC_GROW(stack, stack_nr + a_nr + b_nr, stack_alloc);
		for (size_t i = 0; i < a_nr; i++)
			if (!mark[a[i]])
				stack[stack_nr++] = a[i];
		for (size_t i = 0; i < b_nr; i++)
			if (!mark[b[i]])
				stack[stack_nr++] = b[i];
	}
	free(stack);
}

void revgraph_mark_ancestors(const struct revgraph *g, const size_t *start,
			     size_t nr, bool with_deps, bool *mark)
{
	mark_walk(g, start, nr, true, with_deps, mark);
}

void revgraph_mark_descendants(const struct revgraph *g, const size_t *start,
			       size_t nr, bool with_deps, bool *mark)
{
	mark_walk(g, start, nr, false, with_deps, mark);
}

bool revgraph_reaches(const struct revgraph *g, size_t a, size_t b,
		      bool with_deps)
{
	bool *mark;
	bool ret;

	if (a == b)
		return true;
	/* An ancestor always comes first in the topological order. */
	if (g->index->topo_pos[a] > g->index->topo_pos[b])
		return false;
	mark = xcalloc(g->nr, sizeof(*mark));
	revgraph_mark_ancestors(g, &b, 1, with_deps, mark);
	ret = mark[a];
	free(mark);
	return ret;
}

bool revgraph_is_ancestor(const struct revgraph *g, size_t a, size_t b)
{
	if (a >= g->nr || b >= g->nr)
		return false;
	return revgraph_reaches(g, a, b, true);
}

void revgraph_topo_order(size_t **out, const struct revgraph *g)
{
	*out = xmalloc((g->nr ? g->nr : 1) * sizeof(**out));
	if (g->nr)
		memcpy(*out, g->index->topo, g->nr * sizeof(**out));
}

void revgraph_free(struct revgraph *g)
{
	if (!g)
		return;
	/* node arrays and label lists are slices of the index's allocations */
	free(g->nodes);
	free(g->heads);
	free(g->bases);
	free(g->real_heads);
	free(g->real_bases);
	if (g->index) {
		strmap_release(&g->index->ids);
		strmap_release(&g->index->labels);
		free(g->index->by_id);
		free(g->index->topo);
		free(g->index->topo_pos);
		free(g->index->edges);
		for (size_t i = 0; i < g->index->label_sets_nr; i++)
			free(g->index->label_sets[i]);
		free(g->index->label_sets);
		free(g->index);
	}
	free(g);
}

/* Build state: the graph and where problems go. */
struct builder {
	struct revgraph *g;
	const struct script_set *scripts;
	struct diag_list *problems;
	struct ms_error *err;
	int failed;
};

__attribute__((format(printf, 7, 8)))
static void problem(struct builder *b, const char *code, const struct script *s,
		    unsigned line, const char *hint, const char *revision,
		    const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	if (b->problems)
		diag_add(b->problems, DIAG_ERROR, code, s ? s->path : NULL, line,
			 revision, hint, "%s", sb.buf);
	if (!b->failed) {
		ms_error_set(b->err, MS_ERR_GRAPH, "%s", sb.buf);
		if (hint)
			ms_error_hint(b->err, "%s", hint);
		b->failed = 1;
	}
	strbuf_release(&sb);
}

static const char *sp(const struct script *s)
{
	return s->path ? s->path : (s->filename ? s->filename : "?");
}

static unsigned rev_line(const struct script *s)
{
	return s->revision_line;
}

/* Ids, duplicates, and the sort order by id. */
static void index_ids(struct builder *b)
{
	struct revgraph *g = b->g;

	strmap_init(&g->index->ids, g->nr);
	for (size_t i = 0; i < g->nr; i++) {
		const struct script *s = g->nodes[i].script;
		ssize_t prev;

		prev = strmap_put(&g->index->ids, s->revision, i);
		if (prev >= 0) {
			const struct script *p = g->nodes[prev].script;

			problem(b, "MS003", s, rev_line(s),
				"give one of the files a new revision id",
				s->revision,
				"revision \"%s\": defined in both \"%s\" and \"%s\"",
				s->revision, sp(p), sp(s));
		}
	}
	g->index->by_id = xmalloc((g->nr ? g->nr : 1) * sizeof(size_t));
	for (size_t i = 0; i < g->nr; i++)
		g->index->by_id[i] = i;
}

static void sort_by_id(struct revgraph *g);

static void index_labels(struct builder *b)
{
	struct revgraph *g = b->g;
	size_t nlabels = 0;

	for (size_t i = 0; i < g->nr; i++)
		nlabels += g->nodes[i].script->branch_labels.nr;
	strmap_init(&g->index->labels, nlabels);
	for (size_t i = 0; i < g->nr; i++) {
		const struct script *s = g->nodes[i].script;

		for (size_t j = 0; j < s->branch_labels.nr; j++) {
			const char *label = s->branch_labels.items[j];
			ssize_t other = revgraph_strmap_get(&g->index->ids, label);
			ssize_t prev;

			if (other >= 0) {
				problem(b, "MS005", s, s->branch_labels_line,
					"rename the branch label", s->revision,
					"revision \"%s\": branch label \"%s\" is also the id of revision \"%s\" (\"%s\")",
					s->revision, label, g->nodes[other].id,
					sp(g->nodes[other].script));
				continue;
			}
			prev = strmap_put(&g->index->labels, label, i);
			if (prev >= 0 && (size_t)prev != i) {
				const struct script *p = g->nodes[prev].script;

				problem(b, "MS005", s, s->branch_labels_line,
					"a branch label names one branch; rename one of them",
					s->revision,
					"revision \"%s\": branch label \"%s\" already used by revision \"%s\" (\"%s\")",
					s->revision, label, p->revision, sp(p));
			}
		}
	}
}

/* Append v to arr (a slice with room for it) unless already there. */
static void push_idx(size_t *arr, size_t *nr, size_t v)
{
	for (size_t i = 0; i < *nr; i++)
		if (arr[i] == v)
			return;
	arr[(*nr)++] = v;
}

/*
 * Carve every node's edge arrays out of one allocation: parents and deps
 * hold at most what the script names, norm_deps at most deps, and the
 * children and dependents, all together, as many as parents and deps.
 */
static size_t *alloc_edges(struct revgraph *g)
{
	size_t ndown = 0, ndeps = 0, off = 0;
	size_t *pool;

	for (size_t i = 0; i < g->nr; i++) {
		ndown += g->nodes[i].script->down_revisions.nr;
		ndeps += g->nodes[i].script->depends_on.nr;
	}
	pool = g->index->edges = xmalloc((2 * ndown + 3 * ndeps + 1) * sizeof(size_t));
	for (size_t i = 0; i < g->nr; i++) {
		struct revgraph_node *node = &g->nodes[i];
		size_t d = node->script->down_revisions.nr, e = node->script->depends_on.nr;

		node->parents = d ? pool + off : NULL;
		off += d;
		node->deps = e ? pool + off : NULL;
		off += e;
		node->norm_deps = e ? pool + off : NULL;
		off += e;
	}
	return pool + off;	/* room for the children and dependents */
}

/* down_revision and depends_on to node indexes; self-loops and dangling ids. */
static void resolve_edges(struct builder *b)
{
	struct revgraph *g = b->g;

	for (size_t i = 0; i < g->nr; i++) {
		struct revgraph_node *node = &g->nodes[i];
		const struct script *s = node->script;

		for (size_t j = 0; j < s->down_revisions.nr; j++) {
			const char *down = s->down_revisions.items[j];
			ssize_t p = revgraph_strmap_get(&g->index->ids, down);

			if (!strcmp(down, s->revision)) {
				problem(b, "MS004", s, s->down_revision_line,
					"a revision cannot be its own down_revision",
					s->revision,
					"revision \"%s\" (\"%s\"): self-loop: down_revision names the revision itself",
					s->revision, sp(s));
			} else if (p < 0) {
				bool is_label = revgraph_strmap_get(&g->index->labels, down) >= 0;

				problem(b, "MS002", s, s->down_revision_line,
					is_label ? "down_revision must name revision ids, not branch labels" :
					"restore the missing revision file or correct down_revision",
					s->revision,
					"revision \"%s\": down_revision \"%s\" is not present",
					s->revision, down);
			} else {
				push_idx(node->parents, &node->parents_nr, (size_t)p);
			}
		}
		for (size_t j = 0; j < s->depends_on.nr; j++) {
			const char *dep = s->depends_on.items[j];
			ssize_t p = revgraph_strmap_get(&g->index->ids, dep);

			/* As Alembic's _add_depends_on: ids and branch labels. */
			if (p < 0)
				p = revgraph_strmap_get(&g->index->labels, dep);
			if (!strcmp(dep, s->revision) || (p >= 0 && (size_t)p == i)) {
				problem(b, "MS004", s, s->depends_on_line,
					"a revision cannot depend on itself",
					s->revision,
					"revision \"%s\" (\"%s\"): dependency self-loop: depends_on names the revision itself",
					s->revision, sp(s));
			} else if (p < 0) {
				problem(b, "MS006", s, s->depends_on_line,
					"depends_on takes revision ids or branch labels",
					s->revision,
					"revision \"%s\": depends_on \"%s\" is neither a revision nor a branch label",
					s->revision, dep);
			} else {
				push_idx(node->deps, &node->deps_nr, (size_t)p);
			}
		}
	}
}

/*
 * Children and dependents, sorted by id: appending while walking the nodes
 * in id order keeps every list sorted without a per-list sort.
 */
static void link_reverse(struct revgraph *g, size_t *room)
{
	size_t *nchild = xcalloc(g->nr ? g->nr : 1, sizeof(size_t));
	size_t *ndep = xcalloc(g->nr ? g->nr : 1, sizeof(size_t));

	for (size_t i = 0; i < g->nr; i++) {
		for (size_t j = 0; j < g->nodes[i].parents_nr; j++)
			nchild[g->nodes[i].parents[j]]++;
		for (size_t j = 0; j < g->nodes[i].deps_nr; j++)
			ndep[g->nodes[i].deps[j]]++;
	}
	for (size_t i = 0; i < g->nr; i++) {
		g->nodes[i].children = nchild[i] ? room : NULL;
		room += nchild[i];
		g->nodes[i].dependents = ndep[i] ? room : NULL;
		room += ndep[i];
	}
	for (size_t k = 0; k < g->nr; k++) {
		size_t i = g->index->by_id[k];
		struct revgraph_node *node = &g->nodes[i];

		for (size_t j = 0; j < node->parents_nr; j++) {
			struct revgraph_node *p = &g->nodes[node->parents[j]];

			p->children[p->children_nr++] = i;
		}
		for (size_t j = 0; j < node->deps_nr; j++) {
			struct revgraph_node *p = &g->nodes[node->deps[j]];

			p->dependents[p->dependents_nr++] = i;
		}
	}
	free(nchild);
	free(ndep);
}

/* A binary min-heap of node ranks (positions in by_id). */
struct heap {
	size_t *v;
	size_t nr;
};

static void heap_push(struct heap *h, size_t x)
{
	size_t i = h->nr++;

	while (i) {
		size_t up = (i - 1) / 2;

		if (h->v[up] <= x)
			break;
		h->v[i] = h->v[up];
		i = up;
	}
	h->v[i] = x;
}

static size_t heap_pop(struct heap *h)
{
	size_t top = h->v[0], x = h->v[--h->nr], i = 0;

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= h->nr)
			break;
		if (c + 1 < h->nr && h->v[c + 1] < h->v[c])
			c++;
		if (x <= h->v[c])
			break;
		h->v[i] = h->v[c];
		i = c;
	}
	if (h->nr)
		h->v[i] = x;
	return top;
}

/*
 * Kahn's algorithm, lowest id first among ready nodes. Returns the number
 * of nodes ordered; fewer than g->nr means a cycle.
 */
static size_t topo_sort(struct revgraph *g)
{
	size_t *indeg = xcalloc(g->nr ? g->nr : 1, sizeof(size_t));
	size_t *rank = xmalloc((g->nr ? g->nr : 1) * sizeof(size_t));
	struct heap h = { xmalloc((g->nr ? g->nr : 1) * sizeof(size_t)), 0 };
	size_t done = 0;

	for (size_t k = 0; k < g->nr; k++)
		rank[g->index->by_id[k]] = k;
	for (size_t i = 0; i < g->nr; i++)
		indeg[i] = g->nodes[i].parents_nr + g->nodes[i].deps_nr;
	/* A parent named in depends_on too is one edge, counted twice: fine, both lists release it. */
	for (size_t k = 0; k < g->nr; k++)
		if (!indeg[g->index->by_id[k]])
			heap_push(&h, k);
	while (h.nr) {
		size_t n = g->index->by_id[heap_pop(&h)];
		const struct revgraph_node *node = &g->nodes[n];

		g->index->topo_pos[n] = done;
		g->index->topo[done++] = n;
		for (size_t j = 0; j < node->children_nr; j++)
			if (!--indeg[node->children[j]])
				heap_push(&h, rank[node->children[j]]);
		for (size_t j = 0; j < node->dependents_nr; j++)
			if (!--indeg[node->dependents[j]])
				heap_push(&h, rank[node->dependents[j]]);
	}
	free(h.v);
	free(rank);
	free(indeg);
	return done;
}

/*
 * Name the cycles: Tarjan's strongly connected components over the nodes
 * Kahn's algorithm could not order. Every component of more than one node
 * is a cycle (self-loops were reported when reading the edges).
 */
struct tarjan {
	const struct revgraph *g;
	const bool *stuck;
	size_t *index, *low, counter;
	bool *on_stack;
	size_t *stack, stack_nr;
};

static void report_cycle(struct builder *b, const size_t *members, size_t nr)
{
	struct strbuf sb = STRBUF_INIT;
	struct revgraph *g = b->g;
	size_t *sorted = xmalloc(nr * sizeof(size_t));
	const struct script *first;

	memcpy(sorted, members, nr * sizeof(size_t));
	for (size_t i = 1; i < nr; i++)
		for (size_t j = i; j > 0 && strcmp(g->nodes[sorted[j - 1]].id, g->nodes[sorted[j]].id) > 0; j--) {
			size_t t = sorted[j];

			sorted[j] = sorted[j - 1];
			sorted[j - 1] = t;
		}
	for (size_t i = 0; i < nr; i++)
		strbuf_addf(&sb, "%s\"%s\" (\"%s\")", i ? ", " : "",
			    g->nodes[sorted[i]].id, sp(g->nodes[sorted[i]].script));
	first = g->nodes[sorted[0]].script;
	problem(b, "MS004", first, first->down_revision_line,
		"break the cycle by correcting down_revision or depends_on",
		first->revision, "revisions %s: cycle in down_revision/depends_on",
		sb.buf);
	free(sorted);
	strbuf_release(&sb);
}

/* Iterative Tarjan to survive long chains. */
static void tarjan_run(struct builder *b, struct tarjan *t, size_t root)
{
	const struct revgraph *g = t->g;
	size_t *cs = xmalloc(g->nr * sizeof(size_t));	/* call stack: node */
	size_t *ci = xmalloc(g->nr * sizeof(size_t));	/* next edge position */
	size_t depth = 0;

	cs[0] = root;
	ci[0] = 0;
	t->index[root] = t->low[root] = ++t->counter;
	t->stack[t->stack_nr++] = root;
	t->on_stack[root] = true;
	depth = 1;
	while (depth) {
		size_t v = cs[depth - 1];
		const struct revgraph_node *node = &g->nodes[v];
		size_t e = ci[depth - 1]++;

		if (e < node->children_nr + node->dependents_nr) {
			size_t w = e < node->children_nr ? node->children[e] :
				node->dependents[e - node->children_nr];

			if (!t->stuck[w])
				continue;
			if (!t->index[w]) {
				t->index[w] = t->low[w] = ++t->counter;
				t->stack[t->stack_nr++] = w;
				t->on_stack[w] = true;
				cs[depth] = w;
				ci[depth] = 0;
				depth++;
			} else if (t->on_stack[w] && t->index[w] < t->low[v]) {
				t->low[v] = t->index[w];
			}
			continue;
		}
		if (t->low[v] == t->index[v]) {
			size_t start = t->stack_nr;

			do
				start--;
			while (t->stack[start] != v);
			if (t->stack_nr - start > 1)
				report_cycle(b, t->stack + start, t->stack_nr - start);
			for (size_t i = start; i < t->stack_nr; i++)
				t->on_stack[t->stack[i]] = false;
			t->stack_nr = start;
		}
		depth--;
		if (depth) {
			size_t u = cs[depth - 1];

			if (t->low[v] < t->low[u])
				t->low[u] = t->low[v];
		}
	}
	free(cs);
	free(ci);
}

static void find_cycles(struct builder *b, size_t ordered)
{
	struct revgraph *g = b->g;
	bool *stuck = xcalloc(g->nr, sizeof(*stuck));
	struct tarjan t = { g, stuck, xcalloc(g->nr, sizeof(size_t)),
		xcalloc(g->nr, sizeof(size_t)), 0, xcalloc(g->nr, sizeof(bool)),
		xmalloc(g->nr * sizeof(size_t)), 0 };

	for (size_t i = 0; i < g->nr; i++)
		stuck[i] = true;
	for (size_t k = 0; k < ordered; k++)
		stuck[g->index->topo[k]] = false;
	for (size_t k = 0; k < g->nr; k++) {
		size_t i = g->index->by_id[k];

		if (stuck[i] && !t.index[i])
			tarjan_run(b, &t, i);
	}
	free(t.index);
	free(t.low);
	free(t.on_stack);
	free(t.stack);
	free(stuck);
}

/*
 * Alembic's _normalize_depends_on: drop from a node's deps those already
 * named in the depends_on of one of its ancestors along down_revision.
 */
static void normalize_deps(struct revgraph *g)
{
	bool *mark = NULL;
	bool *drop = NULL;

	for (size_t i = 0; i < g->nr; i++) {
		struct revgraph_node *node = &g->nodes[i];

		if (!node->deps_nr)
			continue;
		if (!mark) {
			mark = xmalloc(g->nr * sizeof(*mark));
			drop = xmalloc(g->nr * sizeof(*drop));
		}
		memset(mark, 0, g->nr * sizeof(*mark));
		memset(drop, 0, g->nr * sizeof(*drop));
		revgraph_mark_ancestors(g, node->parents, node->parents_nr, false, mark);
		for (size_t a = 0; a < g->nr; a++)
			if (mark[a] && a != i)
				for (size_t j = 0; j < g->nodes[a].deps_nr; j++)
					drop[g->nodes[a].deps[j]] = true;
		for (size_t j = 0; j < node->deps_nr; j++)
			if (!drop[node->deps[j]])
				push_idx(node->norm_deps, &node->norm_deps_nr, node->deps[j]);
	}
	free(mark);
	free(drop);
}

/*
 * Label sets while labels propagate. Each distinct set of labels is kept
 * once, as ascending label numbers, and nodes refer to it by number; set 0
 * is the empty set. Adding a set to a node is then a lookup in a memo of
 * unions, not a search through strings, and a long labelled line ends up
 * sharing one list.
 */
struct lset {
	uint32_t *labels;
	uint32_t nr;
};

struct lsets {
	struct lset *sets;
	size_t nr, alloc;
	uint32_t *table;	/* set contents -> set number + 1 (0: free slot) */
	size_t table_cap;
	uint64_t *memo_keys;	/* (a << 32 | b) + 1 for a < b (0: free slot) */
	uint32_t *memo_vals;
	size_t memo_cap, memo_nr;
};

static uint64_t hash_labels(const uint32_t *labels, size_t nr)
{
	uint64_t h = 1469598103934665603ULL;

	for (size_t i = 0; i < nr; i++) {
		h ^= labels[i];
		h *= 1099511628211ULL;
	}
	return h;
}

static void lsets_table_put(struct lsets *ls, uint32_t set)
{
	size_t mask = ls->table_cap - 1;
	size_t i = hash_labels(ls->sets[set].labels, ls->sets[set].nr) & mask;

	while (ls->table[i])
		i = (i + 1) & mask;
	ls->table[i] = set + 1;
}

/* The number of the set holding exactly these labels (ascending), added if new. */
static uint32_t lsets_intern(struct lsets *ls, const uint32_t *labels, uint32_t nr)
{
	size_t mask, i;
	struct lset *set;

	if (2 * (ls->nr + 1) > ls->table_cap) {
		free(ls->table);
		ls->table_cap = ls->table_cap ? 2 * ls->table_cap : 64;
		ls->table = xcalloc(ls->table_cap, sizeof(*ls->table));
		for (size_t k = 0; k < ls->nr; k++)
			lsets_table_put(ls, (uint32_t)k);
	}
	mask = ls->table_cap - 1;
	for (i = hash_labels(labels, nr) & mask; ls->table[i]; i = (i + 1) & mask) {
		const struct lset *t = &ls->sets[ls->table[i] - 1];

		if (t->nr == nr && (!nr || !memcmp(t->labels, labels, nr * sizeof(*labels))))
			return ls->table[i] - 1;
	}
	ALLOC_GROW(ls->sets, ls->nr + 1, ls->alloc);
	set = &ls->sets[ls->nr];
	set->nr = nr;
	set->labels = nr ? xmalloc(nr * sizeof(*labels)) : NULL;
	if (nr)
		memcpy(set->labels, labels, nr * sizeof(*labels));
	ls->table[i] = (uint32_t)++ls->nr;
	return (uint32_t)(ls->nr - 1);
}

static void lsets_memo_put(struct lsets *ls, uint64_t key, uint32_t val)
{
	size_t mask = ls->memo_cap - 1, i = (size_t)(key * 0x9e3779b97f4a7c15ULL) & mask;

	while (ls->memo_keys[i])
		i = (i + 1) & mask;
	ls->memo_keys[i] = key;
	ls->memo_vals[i] = val;
	ls->memo_nr++;
}

/* The set a | b. */
static uint32_t lsets_union(struct lsets *ls, uint32_t a, uint32_t b)
{
	uint64_t key;
	size_t mask, i;
	uint32_t *merged, n = 0, res;
	const struct lset *x, *y;

	if (a == b || !b)
		return a;
	if (!a)
		return b;
	if (a > b) {
		uint32_t t = a;

		a = b;
		b = t;
	}
	key = ((uint64_t)a << 32 | b) + 1;
	if (ls->memo_cap) {
		mask = ls->memo_cap - 1;
		for (i = (size_t)(key * 0x9e3779b97f4a7c15ULL) & mask; ls->memo_keys[i]; i = (i + 1) & mask)
			if (ls->memo_keys[i] == key)
				return ls->memo_vals[i];
	}
	x = &ls->sets[a];
	y = &ls->sets[b];
	merged = xmalloc((x->nr + y->nr) * sizeof(*merged));
	for (uint32_t p = 0, q = 0; p < x->nr || q < y->nr;) {
		if (q >= y->nr || (p < x->nr && x->labels[p] < y->labels[q]))
			merged[n++] = x->labels[p++];
		else if (p >= x->nr || y->labels[q] < x->labels[p])
			merged[n++] = y->labels[q++];
		else
			merged[n++] = x->labels[p++], q++;
	}
	res = lsets_intern(ls, merged, n);
	free(merged);
	if (2 * (ls->memo_nr + 1) > ls->memo_cap) {
		uint64_t *keys = ls->memo_keys;
		uint32_t *vals = ls->memo_vals;
		size_t cap = ls->memo_cap;

		ls->memo_cap = cap ? 2 * cap : 64;
		ls->memo_keys = xcalloc(ls->memo_cap, sizeof(*ls->memo_keys));
		ls->memo_vals = xcalloc(ls->memo_cap, sizeof(*ls->memo_vals));
		ls->memo_nr = 0;
		for (size_t k = 0; k < cap; k++)
			if (keys[k])
				lsets_memo_put(ls, keys[k], vals[k]);
		free(keys);
		free(vals);
	}
	lsets_memo_put(ls, key, res);
	return res;
}

static void lsets_release(struct lsets *ls)
{
	for (size_t i = 0; i < ls->nr; i++)
		free(ls->sets[i].labels);
	free(ls->sets);
	free(ls->table);
	free(ls->memo_keys);
	free(ls->memo_vals);
}

static int cmp_label_ptr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * Give each node the strings of its set, sorted: one array per distinct
 * set, owned by the index. The strings are the scripts' own.
 */
static void attach_label_sets(struct revgraph *g, struct lsets *ls,
			      const uint32_t *node_set, char **names)
{
	struct revgraph_index *ix = g->index;

	ix->label_sets = xcalloc(ls->nr ? ls->nr : 1, sizeof(*ix->label_sets));
	ix->label_sets_nr = ls->nr;
	for (size_t i = 0; i < g->nr; i++) {
		uint32_t id = node_set[i];
		const struct lset *set = &ls->sets[id];

		if (!set->nr)
			continue;
		if (!ix->label_sets[id]) {
			ix->label_sets[id] = xmalloc(set->nr * sizeof(char *));
			for (uint32_t k = 0; k < set->nr; k++)
				ix->label_sets[id][k] = names[set->labels[k]];
			qsort(ix->label_sets[id], set->nr, sizeof(char *), cmp_label_ptr);
		}
		g->nodes[i].branch_labels.items = ix->label_sets[id];
		g->nodes[i].branch_labels.nr = set->nr;
		g->nodes[i].branch_labels.alloc = set->nr;
	}
}

/*
 * Alembic's _add_branches: the labels of a labelled revision go to the
 * revision, all its descendants along down_revision, and then, walking down
 * from the tip of that descendant set, to every revision on the line until
 * a (real) branch point or a merge point. Alembic walks down from the last
 * descendant its iteration happened to yield; when the descendants branch
 * that walk stops at or above the labelled revision whichever tip it
 * starts from, so following the first child gives the same result. The
 * labelled revisions are taken in id order and, as in Alembic, carry the
 * labels they received from those handled before them.
 */
static void propagate_labels(struct revgraph *g)
{
	struct lsets ls = { 0 };
	bool *mark = NULL;
	uint32_t *node_set = xcalloc(g->nr ? g->nr : 1, sizeof(*node_set));
	uint32_t *own = NULL;
	char **names = NULL;
	size_t names_nr = 0, own_alloc = 0;

	lsets_intern(&ls, NULL, 0);	/* set 0: no labels */
	for (size_t i = 0; i < g->nr; i++)
		names_nr += g->nodes[i].script->branch_labels.nr;
	if (!names_nr)
		goto done;
	names = xmalloc(names_nr * sizeof(*names));
	names_nr = 0;
	mark = xmalloc(g->nr * sizeof(*mark));
	for (size_t k = 0; k < g->nr; k++) {
		size_t i = g->index->by_id[k];
		const struct strvec *decl = &g->nodes[i].script->branch_labels;
		uint32_t own_nr = 0, labels;
		size_t tip = i;

		if (!decl->nr)
			continue;
		/*
		 * Number the labels in the order they are met; a label is
		 * declared by one revision only (or the build failed), but
		 * perhaps twice there.
		 */
		ALLOC_GROW(own, decl->nr, own_alloc);
		for (size_t j = 0; j < decl->nr; j++) {
			size_t first = j;

			for (size_t m = 0; m < j; m++)
				if (!strcmp(decl->items[m], decl->items[j]))
					first = m;
			if (first == j) {
				names[names_nr] = decl->items[j];
				own[own_nr++] = (uint32_t)names_nr++;
			}
		}
		/* numbers were handed out in ascending order: own is sorted */
		labels = lsets_union(&ls, node_set[i], lsets_intern(&ls, own, own_nr));
		node_set[i] = labels;
		memset(mark, 0, g->nr * sizeof(*mark));
		revgraph_mark_descendants(g, &i, 1, false, mark);
		for (size_t n = 0, last_in = 0, last_out = labels; n < g->nr; n++) {
			/* neighbours on a line mostly hold the same set */
			if (!mark[n])
				continue;
			if (node_set[n] != last_in) {
				last_in = node_set[n];
				last_out = lsets_union(&ls, last_in, labels);
			}
			node_set[n] = (uint32_t)last_out;
		}
		while (g->nodes[tip].children_nr)
			tip = g->nodes[tip].children[0];
		for (;;) {
			struct revgraph_node *p = &g->nodes[tip];
			bool real_bp = p->children_nr + p->dependents_nr > 1;

			/* a node both child and dependent counts once */
			if (real_bp && p->children_nr == 1 && p->dependents_nr == 1 &&
			    p->children[0] == p->dependents[0])
				real_bp = false;
			if (real_bp || p->parents_nr > 1)
				break;
			node_set[tip] = lsets_union(&ls, node_set[tip], labels);
			if (!p->parents_nr)
				break;
			tip = p->parents[0];
		}
	}
	attach_label_sets(g, &ls, node_set, names);
done:
	lsets_release(&ls);
	free(node_set);
	free(own);
	free(names);
	free(mark);
}

static size_t count_all_next(const struct revgraph_node *node)
{
	size_t n = node->children_nr;

	for (size_t j = 0; j < node->dependents_nr; j++) {
		bool also_child = false;

		for (size_t c = 0; c < node->children_nr; c++)
			if (node->children[c] == node->dependents[j])
				also_child = true;
		n += !also_child;
	}
	return n;
}

static void set_flags(struct revgraph *g)
{
	size_t nh = 0, nb = 0, nrh = 0, nrb = 0;

	for (size_t i = 0; i < g->nr; i++) {
		struct revgraph_node *node = &g->nodes[i];
		const struct script *s = node->script;
		size_t all_next = count_all_next(node);

		node->is_head = !node->children_nr;
		node->is_real_head = !all_next;
		node->is_base = !node->parents_nr;
		/* Alembic looks at the declared depends_on, resolved or not */
		node->is_real_base = !node->parents_nr && !s->depends_on.nr;
		node->is_branch_point = node->children_nr > 1;
		node->is_real_branch_point = all_next > 1;
		node->is_merge_point = node->parents_nr > 1;
		nh += node->is_head;
		nb += node->is_base;
		nrh += node->is_real_head;
		nrb += node->is_real_base;
	}
	g->heads = xmalloc((nh ? nh : 1) * sizeof(size_t));
	g->bases = xmalloc((nb ? nb : 1) * sizeof(size_t));
	g->real_heads = xmalloc((nrh ? nrh : 1) * sizeof(size_t));
	g->real_bases = xmalloc((nrb ? nrb : 1) * sizeof(size_t));
	for (size_t k = 0; k < g->nr; k++) {
		size_t i = g->index->by_id[k];
		const struct revgraph_node *node = &g->nodes[i];

		if (node->is_head)
			g->heads[g->heads_nr++] = i;
		if (node->is_base)
			g->bases[g->bases_nr++] = i;
		if (node->is_real_head)
			g->real_heads[g->real_heads_nr++] = i;
		if (node->is_real_base)
			g->real_bases[g->real_bases_nr++] = i;
	}
}

int revgraph_build(struct revgraph **out, const struct script_set *scripts,
		   struct diag_list *problems, struct ms_error *err)
{
	struct revgraph *g = xcalloc(1, sizeof(*g));
	struct builder b = { g, scripts, problems, err, 0 };
	size_t ordered, *room;
	int ret = 0;

	*out = NULL;
	g->nr = scripts->nr;
	g->nodes = xcalloc(g->nr ? g->nr : 1, sizeof(*g->nodes));
	g->index = xcalloc(1, sizeof(*g->index));
	g->index->topo = xmalloc((g->nr ? g->nr : 1) * sizeof(size_t));
	g->index->topo_pos = xmalloc((g->nr ? g->nr : 1) * sizeof(size_t));
	for (size_t i = 0; i < g->nr; i++) {
		g->nodes[i].script = &scripts->items[i];
		g->nodes[i].id = scripts->items[i].revision;
		strvec_init(&g->nodes[i].branch_labels);	/* filled by propagate_labels */
	}

	index_ids(&b);
	sort_by_id(g);
	index_labels(&b);
	room = alloc_edges(g);
	resolve_edges(&b);
	link_reverse(g, room);
	ordered = topo_sort(g);
	if (ordered < g->nr)
		find_cycles(&b, ordered);
	if (b.failed) {
		ret = MS_ERR_GRAPH;
		goto done;
	}
	normalize_deps(g);
	set_flags(g);
	propagate_labels(g);
	*out = g;
	g = NULL;

done:
	revgraph_free(g);
	return ret;
}

/* Merge sort of by_id on the ids (stable, no shared comparator state). */
static void sort_by_id(struct revgraph *g)
{
	size_t n = g->nr;
	size_t *a = g->index->by_id;
	size_t *tmp = xmalloc((n ? n : 1) * sizeof(size_t));

	for (size_t width = 1; width < n; width *= 2) {
		for (size_t lo = 0; lo < n; lo += 2 * width) {
			size_t mid = lo + width < n ? lo + width : n;
			size_t hi = lo + 2 * width < n ? lo + 2 * width : n;
			size_t i = lo, j = mid, k = lo;

			while (i < mid && j < hi)
				tmp[k++] = strcmp(g->nodes[a[j]].id, g->nodes[a[i]].id) < 0 ?
					a[j++] : a[i++];
			while (i < mid)
				tmp[k++] = a[i++];
			while (j < hi)
				tmp[k++] = a[j++];
		}
		memcpy(a, tmp, n * sizeof(size_t));
	}
	free(tmp);
}
