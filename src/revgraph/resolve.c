/*
 * Resolving identifiers as Alembic 1.8.1's RevisionMap does
 * (_resolve_revision_number, _revision_for_ident, _resolve_branch,
 * filter_for_lineage, _walk, _parse_upgrade_target,
 * _parse_downgrade_target). The functions keep Alembic's names and
 * structure so that the two can be read side by side.
 *
 * Values that Alembic passes around as "a Revision, None or 'base'" are
 * ssize_t here: a node index, RV_NONE or RV_BASE.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "migsync/revgraph.h"
#include "migsync/strbuf.h"
#include "internal.h"

static const char *const four_chars =
	"please ensure at least four characters are present for partial revision identifier matches";

/* Exact lookup in Alembic's _revision_map: revision ids and branch labels. */
static ssize_t map_get(const struct revgraph *g, const char *key)
{
	ssize_t i = revgraph_strmap_get(&g->index->ids, key);

	if (i < 0)
		i = revgraph_strmap_get(&g->index->labels, key);
	return i;
}

static void set_multiple_heads(const struct revgraph *g, struct ms_error *err,
			       const char *arg, const size_t *heads, size_t nr)
{
	struct strbuf sb = STRBUF_INIT;

	for (size_t i = 0; i < nr; i++)
		strbuf_addf(&sb, "%s%s", i ? ", " : "", g->nodes[heads[i]].id);
	ms_error_set(err, MS_ERR_AMBIGUOUS,
		     "identifier \"%s\": multiple heads are present: %s", arg, sb.buf);
	ms_error_hint(err, "specify the head revision to use, \"<branch>@head\" to narrow to one branch, \"heads\" for all heads, or merge the heads");
	strbuf_release(&sb);
}

static bool shares_lineage(const struct revgraph *g, size_t target, size_t against)
{
	return revgraph_reaches(g, against, target, false) ||
	       revgraph_reaches(g, target, against, false);
}

static int resolve_number(struct strvec *ids, char **label,
			  const struct revgraph *g, const char *ident,
			  struct ms_error *err);
static int revision_for_ident(ssize_t *out, const struct revgraph *g,
			      const char *rid, const char *check_branch,
			      struct ms_error *err);

/*
 * filter_for_lineage(targets, check_against): keep the targets that are an
 * ancestor or descendant (along down_revision) of what check_against
 * names, usually a branch label and so the revision declaring it.
 */
static int filter_for_lineage(struct revgraph_set *out, const struct revgraph *g,
			      const size_t *targets, size_t nr,
			      const char *check_against, struct ms_error *err)
{
	struct strvec shares = STRVEC_INIT;
	char *label = NULL;
	struct revgraph_set against = REVGRAPH_SET_INIT;
	int ret = 0;

	out->nr = 0;
	ret = resolve_number(&shares, &label, g, check_against, err);
	if (ret)
		goto done;
	if (label)
		strvec_push(&shares, label);
	for (size_t i = 0; i < shares.nr; i++) {
		ssize_t r;

		ret = revision_for_ident(&r, g, shares.items[i], NULL, err);
		if (ret)
			goto done;
		if (r >= 0)
			revgraph_set_add(&against, (size_t)r);
	}
	for (size_t i = 0; i < nr; i++) {
		bool keep = !shares.nr;

		for (size_t j = 0; !keep && j < against.nr; j++)
			keep = shares_lineage(g, targets[i], against.items[j]);
		if (keep)
			revgraph_set_add(out, targets[i]);
	}
done:
	revgraph_set_release(&against);
	strvec_release(&shares);
	free(label);
	return ret;
}

static int resolve_branch(ssize_t *out, const struct revgraph *g,
			  const char *label, struct ms_error *err)
{
	int ret = 0;

	*out = map_get(g, label);
	if (*out >= 0)
		return 0;
	ret = revision_for_ident(out, g, label, NULL, err);
	if (ret) {
		ret = ms_error_set(err, MS_ERR_NOTFOUND, "branch \"%s\": no such branch", label);
		ms_error_hint(err, "run \"migsync branches\" to list the branch labels");
	}
	return ret;
}

/* Alembic's partial match: keys longer than 3 characters starting with rid. */
static void prefix_candidates(struct revgraph_set *out, struct strvec *keys,
			      const struct revgraph *g, const char *rid)
{
	size_t len = strlen(rid), lo = 0, hi = g->nr;
	const size_t *by_id = g->index->by_id;
	const struct revgraph_strmap *labels = &g->index->labels;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(g->nodes[by_id[mid]].id, rid) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t k = lo; k < g->nr; k++) {
		const char *id = g->nodes[by_id[k]].id;

		if (strncmp(id, rid, len))
			break;
		if (strlen(id) > 3) {
			revgraph_set_add(out, by_id[k]);
			strvec_push(keys, id);
		}
	}
	for (size_t i = 0; i < labels->cap; i++) {
		const char *key = labels->keys[i];

		if (key && strlen(key) > 3 && !strncmp(key, rid, len)) {
			revgraph_set_add(out, labels->vals[i]);
			strvec_push(keys, key);
		}
	}
}

/*
 * _revision_for_ident: rid is an id, a label or a prefix (NULL is Alembic's
 * "()", i.e. base: *out = RV_NONE). With check_branch the revision must
 * share lineage with that branch.
 */
static int revision_for_ident(ssize_t *out, const struct revgraph *g,
			      const char *rid, const char *check_branch,
			      struct ms_error *err)
{
	ssize_t branch_rev = RV_NONE, rev = RV_NONE;
	struct revgraph_set cands = REVGRAPH_SET_INIT, kept = REVGRAPH_SET_INIT;
	struct strvec keys = STRVEC_INIT;
	int ret = 0;

	*out = RV_NONE;
	if (check_branch) {
		ret = resolve_branch(&branch_rev, g, check_branch, err);
		if (ret)
			goto done;
	}
	if (rid) {
		rev = map_get(g, rid);
		if (rev < 0) {
			prefix_candidates(&cands, &keys, g, rid);
			if (branch_rev >= 0) {
				ret = filter_for_lineage(&kept, g, cands.items, cands.nr,
							 check_branch, err);
				if (ret)
					goto done;
			} else {
				for (size_t i = 0; i < cands.nr; i++)
					revgraph_set_add(&kept, cands.items[i]);
			}
			if (!kept.nr) {
				if (strlen(rid) < 4)
					ret = ms_error_set(err, MS_ERR_NOTFOUND,
							   "identifier \"%s\": no such revision or branch; %s",
							   rid, four_chars);
				else
					ret = ms_error_set(err, MS_ERR_NOTFOUND,
							   "identifier \"%s\": no such revision or branch", rid);
				ms_error_hint(err, "run \"migsync history\" to list the revisions");
				goto done;
			}
			if (kept.nr > 1) {
				struct strbuf sb = STRBUF_INIT;

				/* keys name each candidate as it matched (id or label) */
				for (size_t i = 0; i < keys.nr; i++) {
					bool listed = false;

					for (size_t j = 0; j < kept.nr; j++)
						if (!strcmp(g->nodes[kept.items[j]].id, keys.items[i]) ||
						    map_get(g, keys.items[i]) == (ssize_t)kept.items[j])
							listed = true;
					if (listed)
						strbuf_addf(&sb, "%s\"%s\"", sb.len ? ", " : "", keys.items[i]);
				}
				ret = ms_error_set(err, MS_ERR_AMBIGUOUS,
						   "identifier \"%s\": multiple revisions start with \"%s\": %s",
						   rid, rid, sb.buf);
				ms_error_hint(err, "give more characters of the revision id");
				strbuf_release(&sb);
				goto done;
			}
			rev = (ssize_t)kept.items[0];
		}
	}
	if (check_branch && rev >= 0 && !shares_lineage(g, (size_t)rev, (size_t)branch_rev)) {
		ret = ms_error_set(err, MS_ERR_NOTFOUND,
				   "revision \"%s\": not a member of branch \"%s\"",
				   g->nodes[rev].id, check_branch);
		goto done;
	}
	*out = rev;
done:
	revgraph_set_release(&cands);
	revgraph_set_release(&kept);
	strvec_release(&keys);
	return ret;
}

/* get_current_head(branch_label): the one head (of the branch), or none. */
static int current_head(ssize_t *out, const struct revgraph *g,
			const char *label, struct ms_error *err)
{
	struct revgraph_set heads = REVGRAPH_SET_INIT;
	int ret = 0;

	*out = RV_NONE;
	if (label) {
		ret = filter_for_lineage(&heads, g, g->heads, g->heads_nr, label, err);
		if (ret)
			goto done;
	} else {
		for (size_t i = 0; i < g->heads_nr; i++)
			revgraph_set_add(&heads, g->heads[i]);
	}
	if (heads.nr > 1) {
		char *arg = label ? xstrfmt("%s@head", label) : xstrdup("head");

		set_multiple_heads(g, err, arg, heads.items, heads.nr);
		free(arg);
		ret = MS_ERR_AMBIGUOUS;
		goto done;
	}
	if (heads.nr)
		*out = (ssize_t)heads.items[0];
done:
	revgraph_set_release(&heads);
	return ret;
}

/*
 * _resolve_revision_number: split "label@rest", expand "heads", "head" and
 * "base" into ids; anything else stays as given for revision_for_ident.
 */
static int resolve_number(struct strvec *ids, char **label,
			  const struct revgraph *g, const char *ident,
			  struct ms_error *err)
{
	const char *at = ident ? strchr(ident, '@') : NULL;
	const char *id = at ? at + 1 : ident;
	struct revgraph_set heads = REVGRAPH_SET_INIT;
	int ret = 0;

	*label = at ? xstrndup(ident, (size_t)(at - ident)) : NULL;
	if (!id || !strcmp(id, "base"))
		goto done;
	if (!strcmp(id, "heads")) {
		if (*label) {
			ret = filter_for_lineage(&heads, g, g->heads, g->heads_nr, *label, err);
			if (ret)
				goto done;
			for (size_t i = 0; i < heads.nr; i++)
				strvec_push(ids, g->nodes[heads.items[i]].id);
		} else {
			for (size_t i = 0; i < g->real_heads_nr; i++)
				strvec_push(ids, g->nodes[g->real_heads[i]].id);
		}
	} else if (!strcmp(id, "head")) {
		ssize_t h;

		ret = current_head(&h, g, *label, err);
		if (!ret && h >= 0)
			strvec_push(ids, g->nodes[h].id);
	} else {
		strvec_push(ids, id);
	}
done:
	if (ret) {
		free(*label);
		*label = NULL;
	}
	revgraph_set_release(&heads);
	return ret;
}

int revgraph_get_revision(ssize_t *out, const struct revgraph *g,
			  const char *ident, struct ms_error *err)
{
	struct strvec ids = STRVEC_INIT;
	char *label = NULL;
	int ret;

	*out = RV_NONE;
	ret = resolve_number(&ids, &label, g, ident, err);
	if (ret)
		goto done;
	if (ids.nr > 1) {
		struct revgraph_set s = REVGRAPH_SET_INIT;

		for (size_t i = 0; i < ids.nr; i++)
			revgraph_set_add(&s, (size_t)revgraph_find(g, ids.items[i]));
		set_multiple_heads(g, err, ident, s.items, s.nr);
		revgraph_set_release(&s);
		ret = MS_ERR_AMBIGUOUS;
		goto done;
	}
	ret = revision_for_ident(out, g, ids.nr ? ids.items[0] : NULL, label, err);
done:
	strvec_release(&ids);
	free(label);
	return ret;
}

/* Python's int(s) < 0 for s as _resolve_revision_number leaves it: "-N" (spaces around allowed). */
static bool negative_int(const char *s, long *out)
{
	char *end;
	long v;

	while (*s == ' ' || *s == '\t')
		s++;
	if (s[0] != '-' || s[1] < '0' || s[1] > '9')
		return false;
	v = strtol(s, &end, 10);
	while (*end == ' ' || *end == '\t')
		end++;
	if (*end || v >= 0)
		return false;
	*out = v;
	return true;
}

static int walk(ssize_t *out, const struct revgraph *g, ssize_t start, long steps,
		const char *branch_label, bool no_overwalk, const char *ident,
		struct ms_error *err);

/* Revisions from start down to its base, along a line without merges. */
static long line_length(const struct revgraph *g, size_t start)
{
	long n = 1;

	while (g->nodes[start].parents_nr == 1) {
		start = g->nodes[start].parents[0];
		n++;
	}
	return n;
}

/*
 * A walk of steps (< 0) down from start that reached base or went past
 * it where a revision is needed (show, history). Alembic stops there with
 * an assertion or a traceback; migsync says what its upgrade and
 * downgrade targets say.
 */
static int walked_to_base(struct ms_error *err, const struct revgraph *g, const char *ident,
			  size_t start, long steps)
{
	long len = line_length(g, start);

	ms_error_set(err, MS_ERR_NOTFOUND,
		     "identifier \"%s\": relative revision %ld didn't produce %ld migrations",
		     ident, steps, -steps);
	if (len > 1)
		ms_error_hint(err, "from %s, base is %ld steps back: take at most %ld",
			      g->nodes[start].id, len, len - 1);
	else
		ms_error_hint(err, "%s is a base revision: nothing lies below it",
			      g->nodes[start].id);
	return MS_ERR_NOTFOUND;
}

/*
 * get_revisions("-N") and ("label@-N"): walk N steps down from each head
 * (each head carrying the label). A walk that reaches base or would go
 * past it is an error here (Alembic crashes on it).
 */
static int walk_down_from_heads(struct revgraph_set *out, const struct revgraph *g,
				const char *label, long steps, const char *ident,
				struct ms_error *err)
{
	int ret = 0;

	for (size_t i = 0; !ret && i < g->real_heads_nr; i++) {
		const struct revgraph_node *head = &g->nodes[g->real_heads[i]];
		ssize_t r;

		if (label && !strvec_contains(&head->branch_labels, label))
			continue;
		ret = walk(&r, g, (ssize_t)g->real_heads[i], steps, NULL, true, ident, err);
		if (!ret && (r == RV_NONE || r == RV_BASE))
			ret = walked_to_base(err, g, ident, g->real_heads[i], steps);
		if (!ret && r >= 0)
			revgraph_set_add(out, (size_t)r);
	}
	return ret;
}

int revgraph_get_revisions(struct revgraph_set *out, const struct revgraph *g,
			   const char *ident, struct ms_error *err)
{
	struct strvec ids = STRVEC_INIT;
	char *label = NULL;
	long steps;
	int ret;

	ret = resolve_number(&ids, &label, g, ident, err);
	if (!ret && ids.nr == 1 && negative_int(ids.items[0], &steps)) {
		ret = walk_down_from_heads(out, g, label, steps, ident, err);
		goto done;
	}
	for (size_t i = 0; !ret && i < ids.nr; i++) {
		ssize_t r;

		ret = revision_for_ident(&r, g, ids.items[i], label, err);
		if (!ret && r >= 0)
			revgraph_set_add(out, (size_t)r);
	}
done:
	strvec_release(&ids);
	free(label);
	return ret;
}

/*
 * _walk: steps up (> 0, along children, restricted to branch_label's
 * lineage when given) or down (< 0, along down_revision). Past the end
 * the result is RV_NONE (no_overwalk) or the last revision reached.
 */
static int walk(ssize_t *out, const struct revgraph *g, ssize_t start, long steps,
		const char *branch_label, bool no_overwalk, const char *ident,
		struct ms_error *err)
{
	ssize_t initial = start;
	struct revgraph_set children = REVGRAPH_SET_INIT;
	long n = steps < 0 ? -steps : steps;
	int ret = 0;

	*out = RV_NONE;
	for (long i = 0; i < n; i++) {
		children.nr = 0;
		if (steps > 0) {
			const size_t *up = initial >= 0 ? g->nodes[initial].children : g->bases;
			size_t up_nr = initial >= 0 ? g->nodes[initial].children_nr : g->bases_nr;

			if (initial == RV_BASE)
				up_nr = 0;
			if (branch_label) {
				ret = filter_for_lineage(&children, g, up, up_nr, branch_label, err);
				if (ret)
					goto done;
			} else {
				for (size_t j = 0; j < up_nr; j++)
					revgraph_set_add(&children, up[j]);
			}
		} else if (initial != RV_BASE) {
			const size_t *down = initial >= 0 ? g->nodes[initial].parents : g->heads;
			size_t down_nr = initial >= 0 ? g->nodes[initial].parents_nr : g->heads_nr;

			for (size_t j = 0; j < down_nr; j++)
				revgraph_set_add(&children, down[j]);
			if (!children.nr) {
				initial = RV_BASE;	/* Alembic's ("base",) */
				continue;
			}
		}
		if (!children.nr) {
			*out = no_overwalk ? RV_NONE : initial;
			goto done;
		}
		if (children.nr > 1) {
			ret = ms_error_set(err, MS_ERR_AMBIGUOUS,
					   "identifier \"%s\": ambiguous walk: more than one revision %s %s",
					   ident, steps > 0 ? "follows" : "precedes",
					   initial >= 0 ? g->nodes[initial].id : "base");
			ms_error_hint(err, "name the revision to start from, or a branch as \"<branch>@%+ld\"", steps);
			goto done;
		}
		initial = (ssize_t)children.items[0];
	}
	*out = initial;
done:
	revgraph_set_release(&children);
	return ret;
}

/*
 * Alembic's _relative_destination, r"(?:(.+?)@)?(\w+)?((?:\+|-)\d+)",
 * applied with re.match (anchored at the start only).
 */
struct relative {
	char *label;
	char *symbol;
	char *relative_str;
	long relative;
};

static bool match_rest(struct relative *rel, const char *rest)
{
	size_t w = 0, d;

	while (isalnum((unsigned char)rest[w]) || rest[w] == '_')
		w++;
	if (rest[w] != '+' && rest[w] != '-')
		return false;
	d = strspn(rest + w + 1, "0123456789");
	if (!d)
		return false;
	rel->symbol = w ? xstrndup(rest, w) : NULL;
	rel->relative_str = xstrndup(rest + w, d + 1);
	rel->relative = strtol(rel->relative_str, NULL, 10);
	return true;
}

static bool match_relative(struct relative *rel, const char *target)
{
	memset(rel, 0, sizeof(*rel));
	for (const char *at = strchr(target, '@'); at; at = strchr(at + 1, '@')) {
		if (at > target && match_rest(rel, at + 1)) {
			rel->label = xstrndup(target, (size_t)(at - target));
			return true;
		}
	}
	return match_rest(rel, target);
}

static void relative_release(struct relative *rel)
{
	free(rel->label);
	free(rel->symbol);
	free(rel->relative_str);
}

static int relative_error(struct ms_error *err, const char *ident, const struct relative *rel)
{
	ms_error_set(err, MS_ERR_NOTFOUND,
		     "identifier \"%s\": relative revision %s didn't produce %ld migrations",
		     ident, rel->relative_str, labs(rel->relative));
	return MS_ERR_NOTFOUND;
}

/* get_revision(symbol) or get_revision("label@symbol"). */
static int symbol_revision(ssize_t *out, const struct revgraph *g,
			   const struct relative *rel, struct ms_error *err)
{
	char *s = rel->label ? xstrfmt("%s@%s", rel->label, rel->symbol) : xstrdup(rel->symbol);
	int ret = revgraph_get_revision(out, g, s, err);

	free(s);
	return ret;
}

/* The tips of the current revisions' ancestry on a branch (for "label@+N"). */
static int branch_tips(struct revgraph_set *out, const struct revgraph *g,
		       const struct revgraph_set *cur, const char *label,
		       struct ms_error *err)
{
	bool *mark = xcalloc(g->nr ? g->nr : 1, sizeof(*mark));
	bool *down = xcalloc(g->nr ? g->nr : 1, sizeof(*down));
	struct revgraph_set active = REVGRAPH_SET_INIT, on_branch = REVGRAPH_SET_INIT;
	int ret;

	revgraph_mark_ancestors(g, cur->items, cur->nr, true, mark);
	for (size_t i = 0; i < g->nr; i++)
		if (mark[i])
			revgraph_set_add(&active, i);
	ret = filter_for_lineage(&on_branch, g, active.items, active.nr, label, err);
	if (ret)
		goto done;
	for (size_t i = 0; i < on_branch.nr; i++) {
		const struct revgraph_node *n = &g->nodes[on_branch.items[i]];

		for (size_t j = 0; j < n->parents_nr; j++)
			down[n->parents[j]] = true;
		for (size_t j = 0; j < n->norm_deps_nr; j++)
			down[n->norm_deps[j]] = true;
	}
	for (size_t i = 0; i < on_branch.nr; i++)
		if (!down[on_branch.items[i]])
			revgraph_set_add(out, on_branch.items[i]);
done:
	revgraph_set_release(&active);
	revgraph_set_release(&on_branch);
	free(mark);
	free(down);
	return ret;
}

/*
 * _parse_upgrade_target: the revisions an upgrade to target aims at.
 * assert_len is Alembic's assert_relative_length: without it a relative
 * walk stops quietly at the end of the line (what history does).
 */
static int parse_upgrade_target(struct revgraph_set *out, const struct revgraph *g,
				const struct revgraph_set *cur, const char *target,
				bool assert_len, struct ms_error *err)
{
	struct relative rel;
	struct revgraph_set start_revs = REVGRAPH_SET_INIT;
	ssize_t start = RV_NONE, rev = RV_NONE;
	int ret = 0;

	if (!match_relative(&rel, target))
		return revgraph_get_revisions(out, g, target, err);

	if (rel.relative > 0) {
		if (!rel.symbol) {
			if (rel.label) {
				ret = filter_for_lineage(&start_revs, g, cur->items, cur->nr,
							 rel.label, err);
				if (!ret && !start_revs.nr)
					ret = branch_tips(&start_revs, g, cur, rel.label, err);
				if (ret)
					goto done;
			} else {
				for (size_t i = 0; i < cur->nr; i++)
					revgraph_set_add(&start_revs, cur->items[i]);
			}
			if (start_revs.nr > 1) {
				ret = ms_error_set(err, MS_ERR_AMBIGUOUS,
						   "identifier \"%s\": ambiguous upgrade from multiple current revisions",
						   target);
				ms_error_hint(err, "name a branch as \"<branch>@%s\" or give the target revision",
					      rel.relative_str);
				goto done;
			}
			start = start_revs.nr ? (ssize_t)start_revs.items[0] : RV_NONE;
		} else {
			ret = revgraph_get_revision(&start, g, rel.symbol, err);
			if (ret)
				goto done;
		}
		ret = walk(&rev, g, start, rel.relative, rel.label, assert_len, target, err);
	} else {
		if (!rel.symbol) {
			ret = relative_error(err, target, &rel);
			ms_error_hint(err, "an upgrade goes forward: use \"+N\", or downgrade with \"-N\"");
			goto done;
		}
		ret = symbol_revision(&start, g, &rel, err);
		if (!ret)
			ret = walk(&rev, g, start, rel.relative, NULL, assert_len, target, err);
		/* history's "X:REV-N": a range has no end at base or below it */
		if (!ret && !assert_len && start >= 0 && (rev == RV_BASE || rev == RV_NONE)) {
			ret = walked_to_base(err, g, target, (size_t)start, rel.relative);
			goto done;
		}
	}
	if (ret)
		goto done;
	if (rev == RV_NONE && (assert_len || (rel.relative > 0 && !rel.symbol))) {
		ret = relative_error(err, target, &rel);
		goto done;
	}
	if (rev >= 0)
		revgraph_set_add(out, (size_t)rev);
done:
	revgraph_set_release(&start_revs);
	relative_release(&rel);
	return ret;
}

int revgraph_parse_upgrade_target(struct revgraph_set *out, const struct revgraph *g,
				  const struct revgraph_set *cur, const char *target,
				  struct ms_error *err)
{
	return parse_upgrade_target(out, g, cur, target, true, err);
}

/*
 * _parse_downgrade_target: the branch label the target names (owned by
 * the caller, or NULL) and the revision to go down to (RV_NONE for base).
 */
int revgraph_parse_downgrade_target(ssize_t *out, char **label,
				    const struct revgraph *g,
				    const struct revgraph_set *cur,
				    const struct strvec *cur_ids,
				    const char *target, struct ms_error *err)
{
	struct relative rel;
	struct revgraph_set list = REVGRAPH_SET_INIT;
	ssize_t start = RV_NONE, rev = RV_NONE;
	char *symbol = NULL;
	int ret = 0;

	*out = RV_NONE;
	*label = NULL;
	if (!match_relative(&rel, target)) {
		const char *at = strrchr(target, '@');

		if (at && at > target)
			*label = xstrndup(target, (size_t)(at - target));
		ret = revgraph_get_revision(out, g, at ? at + 1 : target, err);
		return ret;
	}
	if (rel.relative >= 0) {
		if (!rel.symbol) {
			ret = relative_error(err, target, &rel);
			ms_error_hint(err, "a downgrade goes back: use \"-N\"");
			goto done;
		}
		ret = revgraph_get_revision(&start, g, rel.symbol, err);
		if (!ret)
			ret = walk(&rev, g, start, rel.relative, rel.label, true, target, err);
		if (ret)
			goto done;
		if (rev == RV_NONE) {
			ret = ms_error_set(err, MS_ERR_NOTFOUND,
					   "identifier \"%s\": walked too far", target);
			goto done;
		}
	} else {
		bool relative_revision = !rel.symbol;

		if (relative_revision) {
			if (rel.label) {
				ret = filter_for_lineage(&list, g, cur->items, cur->nr, rel.label, err);
				if (!ret && !list.nr) {
					/* _get_all_current, then the branch heads of it */
					bool *mark = xcalloc(g->nr ? g->nr : 1, sizeof(*mark));
					struct revgraph_set all = REVGRAPH_SET_INIT;

					revgraph_mark_ancestors(g, cur->items, cur->nr, true, mark);
					for (size_t i = 0; i < g->nr; i++) {
						bool tip = mark[i];

						for (size_t j = 0; tip && j < g->nodes[i].children_nr; j++)
							tip = !mark[g->nodes[i].children[j]];
						if (tip)
							revgraph_set_add(&all, i);
					}
					ret = filter_for_lineage(&list, g, all.items, all.nr, rel.label, err);
					revgraph_set_release(&all);
					free(mark);
				}
				if (ret)
					goto done;
				if (list.nr != 1) {
					ret = ms_error_set(err, list.nr ? MS_ERR_AMBIGUOUS : MS_ERR_NOTFOUND,
							   "identifier \"%s\": %s current revision on branch \"%s\"",
							   target, list.nr ? "more than one" : "no", rel.label);
					goto done;
				}
				symbol = xstrdup(g->nodes[list.items[0]].id);
			} else {
				/*
				 * Alembic takes the first current row (and warns when
				 * there are several); so do we, in the order given.
				 */
				if (!cur_ids || !cur_ids->nr) {
					ret = relative_error(err, target, &rel);
					ms_error_hint(err, "the database is at base already");
					goto done;
				}
				symbol = xstrdup(cur_ids->items[0]);
				rel.label = xstrdup(symbol);
			}
			free(rel.symbol);
			rel.symbol = symbol;
			symbol = NULL;
		}
		ret = symbol_revision(&start, g, &rel, err);
		if (!ret)
			ret = walk(&rev, g, start, rel.relative, NULL, true, target, err);
		if (ret)
			goto done;
		if (rev == RV_NONE) {
			if (relative_revision)
				ret = relative_error(err, target, &rel);
			else
				ret = ms_error_set(err, MS_ERR_NOTFOUND,
						   "identifier \"%s\": walked too far", target);
			goto done;
		}
	}
	*out = rev == RV_BASE ? RV_NONE : rev;
	*label = rel.label;
	rel.label = NULL;
done:
	free(symbol);
	revgraph_set_release(&list);
	relative_release(&rel);
	return ret;
}

/* Current rows (exact ids) to nodes. */
int revgraph_current_nodes(struct revgraph_set *out, const struct revgraph *g,
			   const struct strvec *current, struct ms_error *err)
{
	for (size_t i = 0; current && i < current->nr; i++) {
		ssize_t n = revgraph_find(g, current->items[i]);

		if (n < 0) {
			ms_error_set(err, MS_ERR_NOTFOUND,
				     "revision \"%s\": in the version table but not among the revision files",
				     current->items[i]);
			ms_error_hint(err, "the database was migrated with revisions this checkout lacks; update the checkout");
			return MS_ERR_NOTFOUND;
		}
		revgraph_set_add(out, (size_t)n);
	}
	return 0;
}

/*
 * "+N" and "label@+N" are read as upgrade targets, "-N" and "label@-N" as
 * downgrade targets, which is how Alembic accepts them; "rev+N" and
 * "rev-N" walk from rev either way.
 */
int revgraph_resolve(struct revgraph_set *out, const struct revgraph *g,
		     const char *ident, const struct strvec *current,
		     struct ms_error *err)
{
	struct revgraph_set cur = REVGRAPH_SET_INIT;
	struct relative rel;
	char *label = NULL;
	int ret;

	out->nr = 0;
	ret = revgraph_current_nodes(&cur, g, current, err);
	if (ret)
		goto done;
	if (match_relative(&rel, ident)) {
		bool up = rel.relative > 0;

		relative_release(&rel);
		if (up) {
			ret = revgraph_parse_upgrade_target(out, g, &cur, ident, err);
		} else {
			ssize_t rev;

			ret = revgraph_parse_downgrade_target(&rev, &label, g, &cur,
							      current, ident, err);
			if (!ret && rev >= 0)
				revgraph_set_add(out, (size_t)rev);
		}
	} else {
		ret = revgraph_get_revisions(out, g, ident, err);
	}
	revgraph_set_normalize(out);
done:
	if (ret)
		out->nr = 0;
	free(label);
	revgraph_set_release(&cur);
	return ret;
}

int revgraph_resolve_branch_node(ssize_t *out, const struct revgraph *g,
				 const char *label, struct ms_error *err)
{
	return resolve_branch(out, g, label, err);
}

/*
 * The ends of `alembic history -r LOWER:UPPER`, as walk_revisions passes
 * them to _collect_upgrade_revisions (inclusive, assert_relative_length
 * off): lower through get_revisions ("-N" and "label@-N" walk down from
 * the heads), upper as an upgrade target from lower, where a relative
 * walk ("+N", "rev+N", "label@+N") stops quietly at the end of its line.
 */
int revgraph_history_range(struct revgraph_set *lower_out, struct revgraph_set *upper_out,
			   const struct revgraph *g, const char *lower,
			   const char *upper, struct ms_error *err)
{
	int ret;

	lower_out->nr = upper_out->nr = 0;
	if (!lower || !*lower)
		lower = "base";
	if (!upper || !*upper)
		upper = "heads";
	ret = revgraph_get_revisions(lower_out, g, lower, err);
	if (!ret)
		ret = parse_upgrade_target(upper_out, g, lower_out, upper, false, err);
	if (ret) {
		lower_out->nr = upper_out->nr = 0;
		return ret;
	}
	revgraph_set_normalize(lower_out);
	revgraph_set_normalize(upper_out);
	return 0;
}
