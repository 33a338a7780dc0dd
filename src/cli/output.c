/*
 * Shared by the graph commands: loading the graph, the order in which
 * Alembic walks revisions, Alembic 1.8.1's text lines, and the JSON dump
 * of nodes and edges.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/output.h"

int output_graph_load(struct output_graph *og, const struct cli_common *c)
{
	struct diag_list warnings = DIAG_LIST_INIT;
	struct diag_list problems = DIAG_LIST_INIT;
	struct ms_error err = MS_ERROR_INIT;
	int ret = EXIT_OK;

	if (cli_load_scripts(&og->scripts, c, 0, &warnings, &err) < 0) {
		cli_print_warnings(&warnings);
		cli_print_error(&err);
		ret = cli_exit_code(&err);
		goto done;
	}
	diag_list_sort(&warnings);
	cli_print_warnings(&warnings);
	if (revgraph_build(&og->graph, &og->scripts, &problems, &err) < 0) {
		/* the problems include the first error, each with its hint */
		if (problems.nr) {
			diag_list_sort(&problems);
			cli_print_warnings(&problems);
		} else {
			cli_print_error(&err);
		}
		ret = cli_exit_code(&err);
	}
done:
	diag_list_release(&warnings);
	diag_list_release(&problems);
	ms_error_release(&err);
	return ret;
}

void output_graph_release(struct output_graph *og)
{
	revgraph_free(og->graph);
	og->graph = NULL;
	script_set_release(&og->scripts);
}

int output_option_error(const char *cmd, int opt, char **argv)
{
	const char *arg = optind > 0 ? argv[optind - 1] : "";

	if (opt == ':')
		return cli_usage_error(cmd, "option \"%s\" requires an argument", arg);
	if (optopt && optopt < 0x100 && !starts_with(arg, "--"))
		return cli_usage_error(cmd, "invalid option -- '%c'", optopt);
	return cli_usage_error(cmd, "unrecognized option \"%s\"", arg);
}

bool output_option_done(int *ret, struct cli_common *c, const char *cmd, int opt,
			char **argv, void (*usage)(void))
{
	switch (opt) {
	case OPT_HELP:
		usage();
		*ret = EXIT_OK;
		return true;
	case '?':
	case ':':
		*ret = output_option_error(cmd, opt, argv);
		return true;
	}
	*ret = cli_default_option(c, cmd, opt, optarg);
	return *ret != EXIT_OK;
}

int output_extra_arguments(const char *cmd, int argc, char **argv, int first)
{
	if (first >= argc)
		return EXIT_OK;
	return cli_usage_error(cmd, "too many command-line arguments (first is \"%s\")",
			       argv[first]);
}

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

void output_sort_file_order(const struct revgraph *g, size_t *items, size_t nr)
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
	output_sort_file_order(g, order, g->nr);
	for (size_t i = 0; i < g->nr; i++)
		rank[order[i]] = i;
	free(order);
	return rank;
}

/* pos[n] = position of node n in revgraph_topo_order; caller frees. */
static size_t *topo_positions(const struct revgraph *g)
{
	size_t *order = NULL;
	size_t *pos = xmalloc((g->nr ? g->nr : 1) * sizeof(*pos));

	revgraph_topo_order(&order, g);
	for (size_t i = 0; i < g->nr; i++)
		pos[order[i]] = i;
	free(order);
	return pos;
}

void output_heads(size_t **out, size_t *nr, const struct revgraph *g, bool real)
{
	size_t *heads = xmalloc((g->nr ? g->nr : 1) * sizeof(*heads));
	size_t n = 0;

	for (size_t i = 0; i < g->nr; i++)
		if (real ? g->nodes[i].is_real_head : g->nodes[i].is_head)
			heads[n++] = i;
	output_sort_file_order(g, heads, n);
	*out = heads;
	*nr = n;
}

/*
 * Revision._normalized_down_revisions: the down_revisions, then the
 * normalized dependencies not already among them. out must hold
 * parents_nr + norm_deps_nr entries.
 */
static size_t normalized_downs(size_t *out, const struct revgraph_node *node)
{
	size_t nr = 0;

	for (size_t i = 0; i < node->parents_nr; i++)
		out[nr++] = node->parents[i];
	for (size_t i = 0; i < node->norm_deps_nr; i++) {
		bool dup = false;

		for (size_t k = 0; k < nr; k++)
			dup = dup || out[k] == node->norm_deps[i];
		if (!dup)
			out[nr++] = node->norm_deps[i];
	}
	return nr;
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
	size_t *topo_pos;
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
		downs_nr = normalized_downs(w->downs, node);
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

int output_walk(size_t **out, size_t *nr, const struct revgraph *g,
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
	if (!strcmp(lower, "current") || !strcmp(upper, "current")) {
		ret = ms_error_set(err, MS_ERR_USAGE,
				   "revision \"current\" needs a database: this command reads only the revision scripts");
		ms_error_hint(err, "give a revision id, or use 'migsync status' to see each environment's revision");
		goto done;
	}
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
	w.topo_pos = topo_positions(g);
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
	free(w.topo_pos);
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

/*
 * Python's str.isspace() and str.splitlines() boundaries, for UTF-8 text:
 * the length of the character at p when it is one, else 0.
 */
static size_t py_space(const unsigned char *p, const unsigned char *end)
{
	if (*p == ' ' || (*p >= '\t' && *p <= '\r') || (*p >= 0x1c && *p <= 0x1f))
		return 1;
	if (end - p >= 2 && p[0] == 0xc2 && (p[1] == 0x85 || p[1] == 0xa0))
		return 2;
	if (end - p >= 3) {
		if (p[0] == 0xe1 && p[1] == 0x9a && p[2] == 0x80)
			return 3;
		if (p[0] == 0xe2 && p[1] == 0x80 &&
		    ((p[2] >= 0x80 && p[2] <= 0x8a) || p[2] == 0xa8 || p[2] == 0xa9 || p[2] == 0xaf))
			return 3;
		if ((p[0] == 0xe2 && p[1] == 0x81 && p[2] == 0x9f) ||
		    (p[0] == 0xe3 && p[1] == 0x80 && p[2] == 0x80))
			return 3;
	}
	return 0;
}

static size_t py_linebreak(const unsigned char *p, const unsigned char *end)
{
	if (*p == '\r')
		return end - p >= 2 && p[1] == '\n' ? 2 : 1;
	if (*p == '\n' || *p == '\v' || *p == '\f' || (*p >= 0x1c && *p <= 0x1e))
		return 1;
	if (end - p >= 2 && p[0] == 0xc2 && p[1] == 0x85)
		return 2;
	if (end - p >= 3 && p[0] == 0xe2 && p[1] == 0x80 && (p[2] == 0xa8 || p[2] == 0xa9))
		return 3;
	return 0;
}

/*
 * Script.longdoc: the docstring, stripped as str.strip() does, as a
 * span of s's own text (no copy: the graph commands ask for it once
 * per line).
 */
static const char *longdoc_span(size_t *len, const struct script *s)
{
	const char *text = s->doc ? s->doc : s->message ? s->message : "";
	const unsigned char *p = (const unsigned char *)text;
	const unsigned char *end = p + strlen(text);
	size_t k;

	while (p < end && (k = py_space(p, end)) > 0)
		p += k;
	while (end > p) {
		if (py_space(end - 1, end) == 1)
			end -= 1;
		else if (end - p >= 2 && py_space(end - 2, end) == 2)
			end -= 2;
		else if (end - p >= 3 && py_space(end - 3, end) == 3)
			end -= 3;
		else
			break;
	}
	*len = (size_t)(end - p);
	return (const char *)p;
}

/* Script.doc as a span: longdoc up to its first blank line ("\n\n"). */
static const char *doc_span(size_t *len, const struct script *s)
{
	size_t n = 0;
	const char *p = longdoc_span(&n, s);

	for (size_t i = 0; i + 1 < n; i++) {
		if (p[i] == '\n' && p[i + 1] == '\n') {
			n = i;
			break;
		}
	}
	*len = n;
	return p;
}

char *output_doc(const struct script *s)
{
	size_t len = 0;
	const char *doc = doc_span(&len, s);

	return xstrndup(doc, len);
}

static void add_comma(struct strbuf *sb, const struct strvec *v)
{
	for (size_t i = 0; i < v->nr; i++) {
		if (i)
			strbuf_add(sb, ", ", 2);
		strbuf_addstr(sb, v->items[i]);
	}
}

/* Script._format_down_revision */
static void add_down_revision(struct strbuf *sb, const struct script *s)
{
	if (!s->down_revisions.nr)
		strbuf_addstr(sb, "<base>");
	else
		add_comma(sb, &s->down_revisions);
}

/*
 * Script.path: os.path.join(os.path.abspath(versions_dir), filename),
 * abspath being os.path.normpath of the path joined to the working
 * directory (symbolic links are not resolved).
 */
static void add_script_path(struct strbuf *sb, const struct script *s)
{
	const char *slash = strrchr(s->path, '/');
	const char *file = s->filename ? s->filename : slash ? slash + 1 : s->path;
	char *dir = slash ? xstrndup(s->path, slash == s->path ? 1 : (size_t)(slash - s->path)) : xstrdup(".");
	char *cwd = dir[0] == '/' ? NULL : getcwd(NULL, 0);
	char *full = cwd ? xstrfmt("%s/%s", cwd, dir) : xstrdup(dir);
	size_t start = sb->len, lead = 0;
	char *tok, *save = NULL;

	while (full[lead] == '/')
		lead++;
	strbuf_addstr(sb, lead == 2 ? "//" : "/");
	for (tok = strtok_r(full, "/", &save); tok; tok = strtok_r(NULL, "/", &save)) {
		if (!strcmp(tok, "."))
			continue;
		if (!strcmp(tok, "..")) {
			/* drop the last component, never the leading slashes */
			char *last = strrchr(sb->buf + start, '/');
			size_t keep = (size_t)(last - sb->buf);

			if (keep < start + (lead == 2 ? 2 : 1))
				keep = start + (lead == 2 ? 2 : 1);
			strbuf_setlen(sb, keep);
			continue;
		}
		if (sb->buf[sb->len - 1] != '/')
			strbuf_addch(sb, '/');
		strbuf_addstr(sb, tok);
	}
	if (sb->buf[sb->len - 1] != '/')
		strbuf_addch(sb, '/');
	strbuf_addstr(sb, file);
	free(full);
	free(cwd);
	free(dir);
}

void output_head_only(struct strbuf *sb, const struct revgraph *g, size_t n, unsigned flags)
{
	const struct revgraph_node *node = &g->nodes[n];
	const struct script *s = node->script;

	if (flags & OUT_PARENTS) {
		add_down_revision(sb, s);
		if (s->depends_on.nr) {
			strbuf_addstr(sb, " (");
			add_comma(sb, &s->depends_on);
			strbuf_addch(sb, ')');
		}
		strbuf_addstr(sb, " -> ");
	}
	strbuf_addstr(sb, node->id);
	if ((flags & OUT_BRANCHES) && node->branch_labels.nr) {
		strbuf_addstr(sb, " (");
		add_comma(sb, &node->branch_labels);
		strbuf_addch(sb, ')');
	}
	if (node->is_real_head)
		strbuf_addstr(sb, " (head)");
	else if (node->is_head)
		strbuf_addstr(sb, " (effective head)");
	if ((flags & OUT_TREE) && node->is_branch_point)
		strbuf_addstr(sb, " (branchpoint)");
	if ((flags & OUT_TREE) && node->is_merge_point)
		strbuf_addstr(sb, " (mergepoint)");
	if (flags & OUT_DOC) {
		size_t len = 0;
		const char *doc = doc_span(&len, s);

		strbuf_add(sb, ", ", 2);
		strbuf_add(sb, doc, len);
	}
}

void output_log_entry(struct strbuf *sb, const struct revgraph *g, size_t n)
{
	const struct revgraph_node *node = &g->nodes[n];
	const struct script *s = node->script;
	size_t doc_len = 0;
	const unsigned char *p = (const unsigned char *)longdoc_span(&doc_len, s);
	const unsigned char *end = p + doc_len;

	strbuf_addstr(sb, "Rev: ");
	strbuf_addstr(sb, node->id);
	if (node->is_head)
		strbuf_addstr(sb, " (head)");
	if (node->is_branch_point)
		strbuf_addstr(sb, " (branchpoint)");
	if (node->is_merge_point)
		strbuf_addstr(sb, " (mergepoint)");
	strbuf_addch(sb, '\n');
	strbuf_addstr(sb, node->is_merge_point ? "Merges: " : "Parent: ");
	add_down_revision(sb, s);
	strbuf_addch(sb, '\n');
	if (s->depends_on.nr) {
		strbuf_addstr(sb, "Also depends on: ");
		add_comma(sb, &s->depends_on);
		strbuf_addch(sb, '\n');
	}
	if (node->is_branch_point) {
		/* Alembic iterates a frozenset here; migsync sorts by id */
		strbuf_addstr(sb, "Branches into: ");
		for (size_t i = 0; i < node->children_nr; i++) {
			if (i)
				strbuf_add(sb, ", ", 2);
			strbuf_addstr(sb, g->nodes[node->children[i]].id);
		}
		strbuf_addch(sb, '\n');
	}
	if (node->branch_labels.nr) {
		strbuf_addstr(sb, "Branch names: ");
		add_comma(sb, &node->branch_labels);
		strbuf_addch(sb, '\n');
	}
	strbuf_addstr(sb, "Path: ");
	add_script_path(sb, s);
	strbuf_addstr(sb, "\n\n");

	/* "\n".join("    %s" % para for para in longdoc.splitlines()) */
	while (p < end) {
		const unsigned char *q = p;
		size_t k = 0;

		while (q < end && (k = py_linebreak(q, end)) == 0)
			q++;
		strbuf_addstr(sb, "    ");
		strbuf_add(sb, p, (size_t)(q - p));
		p = q < end ? q + k : q;
		if (p < end)
			strbuf_addch(sb, '\n');
	}
	strbuf_addch(sb, '\n');
}

void output_cmd_format(struct strbuf *sb, const struct revgraph *g, size_t n,
		       bool verbose, unsigned flags)
{
	if (verbose)
		output_log_entry(sb, g, n);
	else
		output_head_only(sb, g, n, flags);
}

static void json_edge(struct json_writer *jw, const char *from, const char *to, const char *kind)
{
	json_object_begin(jw);
	json_kv_string(jw, "from", from);
	json_kv_string(jw, "to", to);
	json_kv_string(jw, "kind", kind);
	json_object_end(jw);
}

void output_json_nodes_edges(struct json_writer *jw, const struct revgraph *g,
			     const size_t *nodes, size_t nr)
{
	bool *in = xcalloc(g->nr ? g->nr : 1, sizeof(*in));

	for (size_t i = 0; i < nr; i++)
		in[nodes[i]] = true;

	json_key(jw, "nodes");
	json_array_begin(jw);
	for (size_t i = 0; i < nr; i++) {
		const struct revgraph_node *node = &g->nodes[nodes[i]];
		char *doc = output_doc(node->script);

		json_object_begin(jw);
		json_kv_string(jw, "id", node->id);
		json_kv_string(jw, "message", doc);
		json_kv_string(jw, "file", node->script->path);
		cli_json_strvec(jw, "down_revisions", &node->script->down_revisions);
		cli_json_strvec(jw, "depends_on", &node->script->depends_on);
		cli_json_strvec(jw, "branch_labels", &node->branch_labels);
		json_kv_bool(jw, "is_head", node->is_head);
		json_kv_bool(jw, "is_base", node->is_base);
		json_kv_bool(jw, "is_branch_point", node->is_branch_point);
		json_kv_bool(jw, "is_merge_point", node->is_merge_point);
		json_object_end(jw);
		free(doc);
	}
	json_array_end(jw);

	json_key(jw, "edges");
	json_array_begin(jw);
	for (size_t i = 0; i < nr; i++) {
		const struct revgraph_node *node = &g->nodes[nodes[i]];

		for (size_t k = 0; k < node->parents_nr; k++)
			if (in[node->parents[k]])
				json_edge(jw, g->nodes[node->parents[k]].id, node->id, "down_revision");
		for (size_t k = 0; k < node->deps_nr; k++)
			if (in[node->deps[k]])
				json_edge(jw, g->nodes[node->deps[k]].id, node->id, "depends_on");
	}
	json_array_end(jw);
	free(in);
}

void output_json_ids(struct json_writer *jw, const char *key,
		     const struct revgraph *g, const size_t *nodes, size_t nr)
{
	json_key(jw, key);
	json_array_begin(jw);
	for (size_t i = 0; i < nr; i++)
		json_string(jw, g->nodes[nodes[i]].id);
	json_array_end(jw);
}

void output_json_listing(struct strbuf *sb, const struct revgraph *g, const char *key,
			 const size_t *items, size_t items_nr, const size_t *nodes, size_t nodes_nr)
{
	struct json_writer jw;

	json_init(&jw, sb);
	json_object_begin(&jw);
	output_json_ids(&jw, key, g, items, items_nr);
	output_json_nodes_edges(&jw, g, nodes, nodes_nr);
	json_object_end(&jw);
	strbuf_addch(sb, '\n');
}
