/*
 * Upgrade and downgrade paths: which revisions `alembic upgrade` /
 * `alembic downgrade` would run, in which order, and what each step does
 * to the version table. Follows Alembic 1.8.1: RevisionMap
 * _collect_upgrade_revisions / _collect_downgrade_revisions /
 * _topological_sort (script/revision.py) and HeadMaintainer with
 * RevisionStep's should_* and *_idents (runtime/migration.py).
 *
 * Ordering: Alembic's _topological_sort breaks ties by the order of its
 * revision map, which is the order os.listdir() returned the files in.
 * migsync uses the order of the script_set (sorted by file name), so the
 * order is stable, and it is Alembic's whenever the directory listing
 * is in file name order. Alembic also takes the row to UPDATE on a merge
 * from an unordered set; migsync lists the removed rows sorted by id (the
 * executor deletes all but the last and updates the last).
 */
#include <stdlib.h>
#include <string.h>

#include "migsync/revgraph.h"
#include "migsync/strbuf.h"
#include "internal.h"

void revgraph_path_release(struct revgraph_path *path)
{
	for (size_t i = 0; i < path->nr; i++) {
		strvec_release(&path->steps[i].rows_removed);
		strvec_release(&path->steps[i].rows_added);
	}
	free(path->steps);
	path->steps = NULL;
	path->nr = path->alloc = 0;
	strvec_release(&path->final_rows);
}

size_t revgraph_down_revs(const struct revgraph *g, size_t n, size_t *out)
{
	const struct revgraph_node *node = &g->nodes[n];
	size_t nr = 0;

	for (size_t i = 0; i < node->parents_nr; i++)
		out[nr++] = node->parents[i];
	for (size_t i = 0; i < node->norm_deps_nr; i++) {
		bool dup = false;

		for (size_t j = 0; j < nr; j++)
			dup |= out[j] == node->norm_deps[i];
		if (!dup)
			out[nr++] = node->norm_deps[i];
	}
	return nr;
}

static size_t down_revs_nr(const struct revgraph *g, size_t n)
{
	return g->nodes[n].parents_nr + g->nodes[n].norm_deps_nr;
}

/* RevisionMap._topological_sort: ids of todo, heads first. */
static void topological_sort(size_t **out, size_t *out_nr, const struct revgraph *g,
			     bool *todo, const struct revgraph_set *heads)
{
	size_t *cur = NULL, cur_nr = 0, cur_alloc = 0;
	bool **anc = NULL;
	size_t anc_alloc = 0;
	size_t *downs = NULL, downs_alloc = 0;
	size_t *add = NULL;
	size_t idx = 0, nout = 0;

	*out = xmalloc((g->nr ? g->nr : 1) * sizeof(size_t));
	/* heads in todo, in map (file) order: heads->items is sorted by index */
	for (size_t i = 0; i < heads->nr; i++) {
		if (!todo[heads->items[i]])
			continue;
		ALLOC_GROW(cur, cur_nr + 1, cur_alloc);
		ALLOC_GROW(anc, cur_nr + 1, anc_alloc);
		cur[cur_nr] = heads->items[i];
		anc[cur_nr] = xcalloc(g->nr, sizeof(**anc));
		revgraph_mark_ancestors(g, &cur[cur_nr], 1, true, anc[cur_nr]);
		cur_nr++;
	}
	while (cur_nr) {
		size_t cand = cur[idx], nd, nadd = 0;
		bool blocked = false;

		for (size_t j = 0; j < cur_nr; j++) {
			if (j != idx && anc[j][cand]) {
				/* another head needs us: walk that one first */
				idx = j;
				blocked = true;
				break;
			}
		}
		if (blocked)
			continue;
		if (todo[cand]) {
			(*out)[nout++] = cand;
			todo[cand] = false;
		}
		nd = down_revs_nr(g, cand);
		ALLOC_GROW(downs, nd + 1, downs_alloc);
		nd = revgraph_down_revs(g, cand, downs);
		add = xrealloc(add, (nd ? nd : 1) * sizeof(size_t));
		for (size_t i = 0; i < nd; i++) {
			bool is_head = false;

			for (size_t j = 0; j < cur_nr; j++)
				is_head |= cur[j] == downs[i];
			if (todo[downs[i]] && !is_head)
				add[nadd++] = downs[i];
		}
		if (!nadd) {
			free(anc[idx]);
			memmove(cur + idx, cur + idx + 1, (cur_nr - idx - 1) * sizeof(*cur));
			memmove(anc + idx, anc + idx + 1, (cur_nr - idx - 1) * sizeof(*anc));
			cur_nr--;
			idx = idx ? idx - 1 : 0;
		} else if (!g->nodes[cand].norm_deps_nr && g->nodes[cand].parents_nr == 1) {
			cur[idx] = add[0];
			anc[idx][cand] = false;
		} else {
			cur[idx] = add[0];
			memset(anc[idx], 0, g->nr * sizeof(**anc));
			revgraph_mark_ancestors(g, &add[0], 1, true, anc[idx]);
			for (size_t i = 1; i < nadd; i++) {
				ALLOC_GROW(cur, cur_nr + 1, cur_alloc);
				ALLOC_GROW(anc, cur_nr + 1, anc_alloc);
				cur[cur_nr] = add[i];
				anc[cur_nr] = xcalloc(g->nr, sizeof(**anc));
				revgraph_mark_ancestors(g, &add[i], 1, true, anc[cur_nr]);
				cur_nr++;
			}
		}
	}
	*out_nr = nout;
	free(cur);
	free(anc);
	free(downs);
	free(add);
}

/*
 * The check=True of Alembic's _get_ancestor_nodes: no requested revision
 * may be an ancestor of another.
 */
static int check_overlap(const struct revgraph *g, const struct revgraph_set *set,
			 struct ms_error *err)
{
	for (size_t i = 0; i < set->nr; i++)
		for (size_t j = 0; j < set->nr; j++)
			if (i != j && set->items[i] != set->items[j] &&
			    revgraph_reaches(g, set->items[j], set->items[i], true)) {
				ms_error_set(err, MS_ERR_GRAPH,
					     "revision \"%s\": overlaps with other requested revision \"%s\"",
					     g->nodes[set->items[i]].id, g->nodes[set->items[j]].id);
				return MS_ERR_GRAPH;
			}
	return 0;
}

/* The version rows, as HeadMaintainer.heads. */
struct rows {
	bool *in;
	size_t nr;
};

static void rows_add(struct rows *r, size_t n)
{
	if (!r->in[n])
		r->nr++;
	r->in[n] = true;
}

static void rows_del(struct rows *r, size_t n)
{
	if (r->in[n])
		r->nr--;
	r->in[n] = false;
}

/* The ancestors (deps included) of every row except the given ones. */
static bool *ancestors_of_others(const struct revgraph *g, const struct rows *r,
				 const size_t *except, size_t except_nr)
{
	bool *mark = xcalloc(g->nr, sizeof(*mark));
	struct revgraph_set others = REVGRAPH_SET_INIT;

	for (size_t i = 0; i < g->nr; i++) {
		bool skip = false;

		if (!r->in[i])
			continue;
		for (size_t j = 0; j < except_nr; j++)
			skip |= except[j] == i;
		if (!skip)
			revgraph_set_add(&others, i);
	}
	revgraph_mark_ancestors(g, others.items, others.nr, true, mark);
	revgraph_set_release(&others);
	return mark;
}

static void push_sorted_ids(struct strvec *v, const struct revgraph *g,
			    const size_t *nodes, size_t nr)
{
	for (size_t i = 0; i < nr; i++)
		strvec_push(v, g->nodes[nodes[i]].id);
	strvec_sort(v);
}

/* One step of HeadMaintainer.update_to_step. */
static int apply_step(struct revgraph_step *st, const struct revgraph *g,
		      struct rows *r, struct ms_error *err)
{
	size_t n = st->node, nd = down_revs_nr(g, n);
	size_t *downs = xmalloc((nd + 1) * sizeof(size_t));
	size_t *sel = xmalloc((nd + 1) * sizeof(size_t));
	size_t sel_nr = 0, in_rows = 0;
	bool *anc = NULL;
	int ret = 0;

	nd = revgraph_down_revs(g, n, downs);
	for (size_t i = 0; i < nd; i++)
		in_rows += r->in[downs[i]];
	if (st->up) {
		if (!nd || !in_rows) {
			/* should_create_branch */
			st->op = ROW_INSERT;
			rows_add(r, n);
			strvec_push(&st->rows_added, g->nodes[n].id);
		} else if (nd > 1 && in_rows > 1) {
			/* should_merge_branches, merge_branch_idents */
			anc = ancestors_of_others(g, r, downs, nd);
			for (size_t i = 0; i < nd; i++)
				if (!anc[downs[i]] && r->in[downs[i]])
					sel[sel_nr++] = downs[i];
			st->op = ROW_MERGE;
			for (size_t i = 0; i < sel_nr; i++)
				rows_del(r, sel[i]);
			rows_add(r, n);
			push_sorted_ids(&st->rows_removed, g, sel, sel_nr);
			strvec_push(&st->rows_added, g->nodes[n].id);
		} else {
			/* update_version_num: the one down revision in the rows */
			for (size_t i = 0; i < nd; i++)
				if (r->in[downs[i]])
					sel[sel_nr++] = downs[i];
			st->op = ROW_UPDATE;
			rows_del(r, sel[0]);
			rows_add(r, n);
			strvec_push(&st->rows_removed, g->nodes[sel[0]].id);
			strvec_push(&st->rows_added, g->nodes[n].id);
		}
		goto done;
	}

	if (!r->in[n]) {
		ret = ms_error_set(err, MS_ERR_GRAPH,
				   "revision \"%s\": downgrade step for a revision that is not a current head",
				   g->nodes[n].id);
		goto done;
	}
	/* _unmerge_to_revisions */
	if (r->nr > 1) {
		anc = ancestors_of_others(g, r, &n, 1);
		for (size_t i = 0; i < nd; i++)
			if (!anc[downs[i]])
				sel[sel_nr++] = downs[i];
	} else {
		for (size_t i = 0; i < nd; i++)
			sel[sel_nr++] = downs[i];
	}
	if (!sel_nr) {
		/* should_delete_branch: a base, or going where other heads stay */
		st->op = ROW_DELETE;
		rows_del(r, n);
		strvec_push(&st->rows_removed, g->nodes[n].id);
	} else if (nd > 1) {
		/* should_unmerge_branches, unmerge_branch_idents */
		st->op = ROW_UNMERGE;
		rows_del(r, n);
		for (size_t i = 0; i < sel_nr; i++)
			rows_add(r, sel[i]);
		strvec_push(&st->rows_removed, g->nodes[n].id);
		push_sorted_ids(&st->rows_added, g, sel, sel_nr);
	} else {
		st->op = ROW_UPDATE;
		rows_del(r, n);
		rows_add(r, downs[0]);
		strvec_push(&st->rows_removed, g->nodes[n].id);
		strvec_push(&st->rows_added, g->nodes[downs[0]].id);
	}
done:
	free(anc);
	free(downs);
	free(sel);
	return ret;
}

static int fill_steps(struct revgraph_path *out, const struct revgraph *g,
		      const size_t *order, size_t nr, bool reverse, bool up,
		      const struct revgraph_set *cur, struct ms_error *err)
{
	struct rows r = { xcalloc(g->nr ? g->nr : 1, sizeof(bool)), 0 };
	int ret = 0;

	for (size_t i = 0; i < cur->nr; i++)
		rows_add(&r, cur->items[i]);
	for (size_t i = 0; i < nr && !ret; i++) {
		struct revgraph_step *st;

		ALLOC_GROW(out->steps, out->nr + 1, out->alloc);
		st = &out->steps[out->nr++];
		memset(st, 0, sizeof(*st));
		strvec_init(&st->rows_removed);
		strvec_init(&st->rows_added);
		st->node = reverse ? order[nr - 1 - i] : order[i];
		st->up = up;
		ret = apply_step(st, g, &r, err);
	}
	for (size_t k = 0; !ret && k < g->nr; k++) {
		size_t i = g->index->by_id[k];

		if (r.in[i])
			strvec_push(&out->final_rows, g->nodes[i].id);
	}
	free(r.in);
	return ret;
}

static void path_reset(struct revgraph_path *out)
{
	revgraph_path_release(out);
	strvec_init(&out->final_rows);
}

int revgraph_upgrade_path(struct revgraph_path *out, const struct revgraph *g,
			  const struct strvec *current, const char *target,
			  struct ms_error *err)
{
	struct revgraph_set cur = REVGRAPH_SET_INIT, targets = REVGRAPH_SET_INIT;
	bool *need = xcalloc(g->nr ? g->nr : 1, sizeof(*need));
	bool *have = xcalloc(g->nr ? g->nr : 1, sizeof(*have));
	size_t *order = NULL, order_nr = 0;
	int ret;

	path_reset(out);
	ret = revgraph_current_nodes(&cur, g, current, err);
	if (!ret)
		ret = check_overlap(g, &cur, err);
	if (!ret)
		ret = revgraph_parse_upgrade_target(&targets, g, &cur, target, err);
	if (ret)
		goto done;
	revgraph_set_normalize(&targets);
	ret = check_overlap(g, &targets, err);
	if (ret)
		goto done;
	/* needs = ancestors of the targets - ancestors of the current rows */
	revgraph_mark_ancestors(g, targets.items, targets.nr, true, need);
	revgraph_mark_ancestors(g, cur.items, cur.nr, true, have);
	for (size_t i = 0; i < g->nr; i++)
		need[i] = need[i] && !have[i];
	topological_sort(&order, &order_nr, g, need, &targets);
	ret = fill_steps(out, g, order, order_nr, true, true, &cur, err);
done:
	if (ret)
		path_reset(out);
	free(order);
	free(need);
	free(have);
	revgraph_set_release(&cur);
	revgraph_set_release(&targets);
	return ret;
}

int revgraph_downgrade_path(struct revgraph_path *out, const struct revgraph *g,
			    const struct strvec *current, const char *target,
			    struct ms_error *err)
{
	struct revgraph_set cur = REVGRAPH_SET_INIT, roots = REVGRAPH_SET_INIT;
	bool *drop = xcalloc(g->nr ? g->nr : 1, sizeof(*drop));
	bool *active = xcalloc(g->nr ? g->nr : 1, sizeof(*active));
	size_t *order = NULL, order_nr = 0;
	ssize_t trev = RV_NONE;
	char *label = NULL;
	bool any = false, target_in_heads = false;
	int ret;

	path_reset(out);
	ret = revgraph_current_nodes(&cur, g, current, err);
	if (!ret)
		ret = revgraph_parse_downgrade_target(&trev, &label, g, &cur, current,
						      target, err);
	if (ret)
		goto done;
	if (trev < 0) {
		/* back to base: every root */
		for (size_t i = 0; i < g->nr; i++)
			if (!g->nodes[i].parents_nr)
				revgraph_set_add(&roots, i);
	} else {
		for (size_t i = 0; i < g->nodes[trev].children_nr; i++)
			revgraph_set_add(&roots, g->nodes[trev].children[i]);
	}
	if (label && roots.nr > 1) {
		bool *anc = xcalloc(g->nr, sizeof(*anc));
		ssize_t branch;
		size_t j = 0;

		ret = revgraph_resolve_branch_node(&branch, g, label, err);
		if (ret) {
			free(anc);
			goto done;
		}
		if (branch >= 0) {
			size_t b = (size_t)branch;

			revgraph_mark_ancestors(g, &b, 1, false, anc);
		}
		for (size_t i = 0; i < roots.nr; i++)
			if (anc[roots.items[i]])
				roots.items[j++] = roots.items[i];
		roots.nr = j;
		free(anc);
		if (!roots.nr) {
			ret = ms_error_set(err, MS_ERR_NOTFOUND,
					   "target \"%s\": not a valid downgrade target from current heads",
					   target);
			goto done;
		}
	}
	revgraph_mark_descendants(g, roots.items, roots.nr, true, drop);
	revgraph_mark_ancestors(g, cur.items, cur.nr, true, active);
	for (size_t i = 0; i < g->nr; i++) {
		drop[i] = drop[i] && active[i];
		any = any || drop[i];
	}
	for (size_t i = 0; i < cur.nr; i++)
		target_in_heads |= (ssize_t)cur.items[i] == trev;
	if (trev >= 0 && !any && !target_in_heads) {
		ret = ms_error_set(err, MS_ERR_NOTFOUND,
				   "target \"%s\": not a valid downgrade target from current head(s)",
				   target);
		ms_error_hint(err, "the target is not an ancestor of the current version rows");
		goto done;
	}
	revgraph_set_normalize(&cur);
	topological_sort(&order, &order_nr, g, drop, &cur);
	ret = fill_steps(out, g, order, order_nr, false, false, &cur, err);
done:
	if (ret)
		path_reset(out);
	free(label);
	free(order);
	free(drop);
	free(active);
	revgraph_set_release(&cur);
	revgraph_set_release(&roots);
	return ret;
}
