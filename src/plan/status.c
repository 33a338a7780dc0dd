/*
 * Classifying databases against a target revision set, and the rollout
 * order check across environments (see include/migsync/status.h).
 *
 * Everything is computed with ancestor sets ("closures") over the graph:
 * a database holds a revision when one of its version rows is that
 * revision or descends from it. Closures are flag arrays of g->nr bytes,
 * cheap enough for fleets of thousands of databases.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "migsync/status.h"
#include "migsync/strbuf.h"

/* Revisions named in a note or a violation before "and N more". */
#define STATUS_LIST_MAX 5

static const char *const state_names[] = {
	[STATUS_CURRENT] = "current",
	[STATUS_UNINITIALIZED] = "uninitialized",
	[STATUS_BEHIND] = "behind",
	[STATUS_AHEAD] = "ahead",
	[STATUS_DIVERGED] = "diverged",
	[STATUS_IN_PROGRESS] = "in_progress",
	[STATUS_UNKNOWN] = "unknown",
	[STATUS_MISSING] = "missing",
	[STATUS_UNREACHABLE] = "unreachable",
};

const char *status_state_name(enum status_state state)
{
	if ((size_t)state < ARRAY_SIZE(state_names))
		return state_names[state];
	return "?";
}

enum status_state status_state_worst(enum status_state a, enum status_state b)
{
	return a > b ? a : b;
}

const char *status_violation_kind_name(enum status_violation_kind kind)
{
	switch (kind) {
	case STATUS_VIOLATION_ORDER:
		return "order";
	}
	return "?";
}

/*
 * Relative identifiers as Alembic spells them ("+2", "-1", "rev+1",
 * "label@-1"): a sign and digits at the end of something that is not a
 * revision id in its own right.
 */
static bool is_relative(const struct revgraph *g, const char *ident)
{
	size_t len = strlen(ident), i = len;

	while (i > 0 && isdigit((unsigned char)ident[i - 1]))
		i--;
	if (i == len || i == 0 || (ident[i - 1] != '+' && ident[i - 1] != '-'))
		return false;
	return revgraph_find(g, ident) < 0;
}

static bool goal_is_heads(const struct status_goal *goal, const struct revgraph *g)
{
	if (goal->nodes.nr != g->heads_nr || !g->heads_nr)
		return false;
	for (size_t i = 0; i < g->heads_nr; i++) {
		bool found = false;

		for (size_t j = 0; j < goal->nodes.nr && !found; j++)
			found = goal->nodes.items[j] == g->heads[i];
		if (!found)
			return false;
	}
	return true;
}

int status_goal_init(struct status_goal *goal, const struct revgraph *g,
		     const char *ident, struct ms_error *err)
{
	struct status_goal tmp = STATUS_GOAL_INIT;
	int ret = 0;

	*goal = tmp;
	if (!ident)
		ident = "heads";
	goal->ident = xstrdup(ident);
	if (is_relative(g, ident)) {
		ret = ms_error_set(err, MS_ERR_USAGE,
				   "target \"%s\": a relative revision means a different revision on every database",
				   ident);
		ms_error_hint(err, "name a revision, a branch (label@head), or heads");
		goto done;
	}
	/* revgraph's messages name the identifier already */
	ret = revgraph_resolve(&goal->nodes, g, ident, NULL, err);
	if (ret < 0)
		goto done;
	goal->closure = xcalloc(g->nr ? g->nr : 1, sizeof(*goal->closure));
	for (size_t i = 0; i < goal->nodes.nr; i++)
		strvec_push(&goal->ids, g->nodes[goal->nodes.items[i]].id);
	revgraph_mark_ancestors(g, goal->nodes.items, goal->nodes.nr, true, goal->closure);
	strvec_sort(&goal->ids);
	revgraph_topo_order(&goal->topo, g);
	goal->rank = xcalloc(g->nr ? g->nr : 1, sizeof(*goal->rank));
	for (size_t i = 0; i < g->nr; i++)
		goal->rank[goal->topo[i]] = i;
	if (goal_is_heads(goal, g))
		goal->path_target = "heads";
	else if (goal->nodes.nr == 1)
		goal->path_target = goal->ids.items[0];
done:
	if (ret < 0)
		status_goal_release(goal);
	return ret;
}

void status_goal_release(struct status_goal *goal)
{
	struct status_goal tmp = STATUS_GOAL_INIT;

	free(goal->ident);
	revgraph_set_release(&goal->nodes);
	strvec_release(&goal->ids);
	free(goal->closure);
	free(goal->topo);
	free(goal->rank);
	*goal = tmp;
}

void status_result_init(struct status_result *r)
{
	struct status_result tmp = STATUS_RESULT_INIT;

	*r = tmp;
}

void status_result_release(struct status_result *r)
{
	strvec_release(&r->heads);
	strvec_release(&r->pending);
	strvec_release(&r->extra);
	strvec_release(&r->unknown);
	free(r->error);
	free(r->note);
	status_result_init(r);
}

/* Append the ids of the nodes flagged in set, in topological order. */
static void push_topo(struct strvec *out, const struct revgraph *g,
		      const struct status_goal *goal, const bool *set)
{
	for (size_t i = 0; i < g->nr; i++)
		if (set[goal->topo[i]])
			strvec_push(out, g->nodes[goal->topo[i]].id);
}

/* "a, b, c" or "a, b, c, d, e and 3 more" */
static void add_list(struct strbuf *sb, const struct strvec *v)
{
	for (size_t i = 0; i < v->nr && i < STATUS_LIST_MAX; i++)
		strbuf_addf(sb, "%s%s", i ? ", " : "", v->items[i]);
	if (v->nr > STATUS_LIST_MAX)
		strbuf_addf(sb, " and %zu more", v->nr - STATUS_LIST_MAX);
}

static char *list_note(const char *prefix, const struct strvec *v)
{
	struct strbuf sb = STRBUF_INIT;

	strbuf_addstr(&sb, prefix);
	add_list(&sb, v);
	return strbuf_detach(&sb, NULL);
}

/*
 * The revisions flagged in missing, in the order an upgrade applies them.
 * revgraph_upgrade_path knows Alembic's order; when it cannot be asked
 * (the goal is no single identifier) or does not cover every missing
 * revision, topological order is the honest fallback.
 */
static void push_pending(struct strvec *out, const struct revgraph *g,
			 const struct status_goal *goal, const bool *missing,
			 const struct strvec *rows)
{
	struct revgraph_path path = REVGRAPH_PATH_INIT;
	struct ms_error err = MS_ERROR_INIT;
	size_t *pos = NULL;
	bool complete = false;
	size_t nr_missing = 0;

	for (size_t i = 0; i < g->nr; i++)
		nr_missing += missing[i];
	if (!nr_missing)
		goto done;
	if (goal->path_target &&
	    revgraph_upgrade_path(&path, g, rows, goal->path_target, &err) == 0) {
		size_t covered = 0;

		pos = xcalloc(g->nr, sizeof(*pos));
		for (size_t i = 0; i < path.nr; i++) {
			size_t n = path.steps[i].node;

			if (path.steps[i].up && n < g->nr && missing[n] && !pos[n]) {
				pos[n] = i + 1;
				covered++;
			}
		}
		complete = covered == nr_missing;
	}
	if (complete) {
		for (size_t i = 0; i < path.nr; i++) {
			size_t n = path.steps[i].node;

			if (path.steps[i].up && n < g->nr && pos[n] == i + 1)
				strvec_push(out, g->nodes[n].id);
		}
	} else {
		push_topo(out, g, goal, missing);
	}
done:
	free(pos);
	revgraph_path_release(&path);
	ms_error_release(&err);
}

/*
 * A `transaction false` step that never finished: apply, hook and plan
 * refuse to run until it is resolved, so the database is stuck whatever
 * its version rows say. The note says what to do, with the command.
 */
static void mark_in_progress(struct status_result *out, const struct status_observation *obs)
{
	const struct strvec *v = obs->in_progress;
	struct strbuf sb = STRBUF_INIT;

	strbuf_addf(&sb, "in progress: revision%s ", v->nr == 1 ? "" : "s");
	add_list(&sb, v);
	strbuf_addf(&sb, " (transaction false) did not finish; check the database by hand, then run: "
		    "migsync resolve -e %s %s --applied (or --rolled-back)",
		    obs->environment ? obs->environment : "ENV", v->items[0]);
	out->state = STATUS_IN_PROGRESS;
	free(out->note);
	out->note = strbuf_detach(&sb, NULL);
}

void status_classify(struct status_result *out, const struct revgraph *g,
		     const struct status_goal *goal,
		     const struct status_observation *obs)
{
	size_t nodes_alloc = g->nr ? g->nr : 1;
	bool *applied = NULL, *row_closure = NULL, *missing = NULL, *extra = NULL;
	struct strvec known = STRVEC_INIT;
	size_t ahead = 0;
	struct strvec diverged = STRVEC_INIT;

	status_result_release(out);
	if (obs->error) {
		out->state = obs->missing ? STATUS_MISSING : STATUS_UNREACHABLE;
		out->error = xstrdup(obs->error);
		out->note = obs->missing ? xstrfmt("%s; %s", obs->error, STATUS_MISSING_HINT) :
			xstrdup(obs->error);
		goto done;
	}
	for (size_t i = 0; obs->rows && i < obs->rows->nr; i++) {
		const char *row = obs->rows->items[i];

		if (strvec_contains(&out->heads, row))
			continue;
		strvec_push(&out->heads, row);
		if (revgraph_find(g, row) < 0)
			strvec_push(&out->unknown, row);
		else
			strvec_push(&known, row);
	}
	strvec_sort(&out->heads);
	strvec_sort(&out->unknown);
	strvec_sort(&known);
	if (out->unknown.nr) {
		out->state = STATUS_UNKNOWN;
		out->note = list_note("not in the scripts: ", &out->unknown);
		goto done;
	}

	applied = xcalloc(nodes_alloc, sizeof(*applied));
	row_closure = xcalloc(nodes_alloc, sizeof(*row_closure));
	for (size_t i = 0; i < known.nr; i++) {
		size_t r = (size_t)revgraph_find(g, known.items[i]);
		bool descends = goal->nodes.nr == 0;

		revgraph_mark_ancestors(g, &r, 1, true, applied);
		if (goal->closure[r])
			continue;
		memset(row_closure, 0, nodes_alloc * sizeof(*row_closure));
		revgraph_mark_ancestors(g, &r, 1, true, row_closure);
		for (size_t j = 0; j < goal->nodes.nr && !descends; j++)
			descends = row_closure[goal->nodes.items[j]];
		if (descends)
			ahead++;
		else
			strvec_push(&diverged, known.items[i]);
	}

	missing = xcalloc(nodes_alloc, sizeof(*missing));
	extra = xcalloc(nodes_alloc, sizeof(*extra));
	for (size_t i = 0; i < g->nr; i++) {
		missing[i] = goal->closure[i] && !applied[i];
		extra[i] = applied[i] && !goal->closure[i];
	}
	push_topo(&out->extra, g, goal, extra);
	push_pending(&out->pending, g, goal, missing, &known);

	if (!known.nr) {
		out->state = STATUS_UNINITIALIZED;
		out->note = xstrdup(obs->has_version_table ? "version table is empty" :
				    "no version table");
	} else if (diverged.nr) {
		out->state = STATUS_DIVERGED;
		out->note = list_note("not on the way to the target: ", &diverged);
	} else if (ahead) {
		out->state = STATUS_AHEAD;
		out->note = list_note("not in the target: ", &out->extra);
	} else if (out->pending.nr) {
		out->state = STATUS_BEHIND;
	} else {
		out->state = STATUS_CURRENT;
	}
	if (obs->in_progress && obs->in_progress->nr)
		mark_in_progress(out, obs);
done:
	free(applied);
	free(row_closure);
	free(missing);
	free(extra);
	strvec_release(&known);
	strvec_release(&diverged);
}

void status_report_init(struct status_report *r)
{
	memset(r, 0, sizeof(*r));
	strvec_init(&r->goal);
	r->worst = STATUS_CURRENT;
}

static void env_release(struct status_env *env)
{
	for (size_t i = 0; i < env->targets_nr; i++) {
		free(env->targets[i].database);
		status_result_release(&env->targets[i].result);
	}
	free(env->targets);
	free(env->name);
	free(env->error);
	free(env->summary_error);
	strvec_release(&env->heads);
	strvec_release(&env->pending);
}

static void violation_release(struct status_violation *v)
{
	free(v->environment);
	free(v->earlier);
	free(v->detail);
	strvec_release(&v->revisions);
}

void status_report_release(struct status_report *r)
{
	for (size_t i = 0; i < r->envs_nr; i++)
		env_release(&r->envs[i]);
	free(r->envs);
	for (size_t i = 0; i < r->violations_nr; i++)
		violation_release(&r->violations[i]);
	free(r->violations);
	strvec_release(&r->goal);
	status_report_init(r);
}

struct status_env *status_report_add_env(struct status_report *r, const char *name, bool fleet)
{
	struct status_env *env;

	ALLOC_GROW(r->envs, r->envs_nr + 1, r->envs_alloc);
	env = &r->envs[r->envs_nr++];
	memset(env, 0, sizeof(*env));
	env->name = xstrdup(name);
	env->fleet = fleet;
	env->state = STATUS_CURRENT;
	strvec_init(&env->heads);
	strvec_init(&env->pending);
	return env;
}

struct status_target *status_env_add_target(struct status_env *env, const char *database)
{
	struct status_target *t;

	ALLOC_GROW(env->targets, env->targets_nr + 1, env->targets_alloc);
	t = &env->targets[env->targets_nr++];
	t->database = xstrdup(database ? database : "");
	status_result_init(&t->result);
	return t;
}

/* State, distinct heads and pending revisions, and error of one environment. */
static void env_summarize(struct status_env *env, const struct revgraph *g,
			  const struct status_goal *goal)
{
	bool *pending = xcalloc(g->nr ? g->nr : 1, sizeof(*pending));
	size_t unreachable = 0;

	strvec_release(&env->heads);
	strvec_release(&env->pending);
	free(env->summary_error);
	env->summary_error = NULL;
	env->state = env->error ? STATUS_UNREACHABLE : STATUS_CURRENT;
	for (size_t i = 0; i < env->targets_nr; i++) {
		const struct status_result *res = &env->targets[i].result;

		env->state = status_state_worst(env->state, res->state);
		if (res->state == STATUS_UNREACHABLE)
			unreachable++;
		for (size_t j = 0; j < res->heads.nr; j++)
			if (!strvec_contains(&env->heads, res->heads.items[j]))
				strvec_push(&env->heads, res->heads.items[j]);
		for (size_t j = 0; j < res->pending.nr; j++) {
			ssize_t n = revgraph_find(g, res->pending.items[j]);

			if (n >= 0)
				pending[n] = true;
		}
	}
	strvec_sort(&env->heads);
	/* one database: keep its own (upgrade path) order */
	if (env->targets_nr == 1 && !env->fleet) {
		const struct status_result *res = &env->targets[0].result;

		for (size_t j = 0; j < res->pending.nr; j++)
			strvec_push(&env->pending, res->pending.items[j]);
	} else {
		push_topo(&env->pending, g, goal, pending);
	}

	if (env->error)
		env->summary_error = xstrdup(env->error);
	else if (!env->fleet && env->targets_nr == 1 && env->targets[0].result.error)
		env->summary_error = xstrdup(env->targets[0].result.error);
	else if (unreachable)
		env->summary_error = xstrfmt("%zu of %zu databases unreachable",
					     unreachable, env->targets_nr);
	free(pending);
}

/*
 * What a stage holds, for the order check. held_any: revisions any
 * database holds (used when the stage is the later one); held_all: what
 * every database that can speak for the stage holds (used when it is the
 * earlier one). Returns the number of databases in held_all; 0 means the
 * stage cannot serve as the earlier one.
 */
static size_t stage_holdings(bool *held_any, bool *held_all, const struct status_env *env,
			     const struct revgraph *g)
{
	bool *one = xcalloc(g->nr ? g->nr : 1, sizeof(*one));
	size_t counted = 0;

	memset(held_any, 0, g->nr * sizeof(*held_any));
	memset(held_all, 0, g->nr * sizeof(*held_all));
	for (size_t i = 0; i < env->targets_nr; i++) {
		const struct status_result *res = &env->targets[i].result;

		if (res->state == STATUS_UNREACHABLE)
			continue;
		memset(one, 0, g->nr * sizeof(*one));
		for (size_t j = 0; j < res->heads.nr; j++) {
			ssize_t n = revgraph_find(g, res->heads.items[j]);

			if (n >= 0) {
				size_t node = (size_t)n;

				revgraph_mark_ancestors(g, &node, 1, true, one);
			}
		}
		for (size_t n = 0; n < g->nr; n++)
			held_any[n] |= one[n];
		if (res->state == STATUS_UNINITIALIZED || res->state == STATUS_UNKNOWN)
			continue;
		for (size_t n = 0; n < g->nr; n++)
			held_all[n] = counted ? held_all[n] && one[n] : one[n];
		counted++;
	}
	free(one);
	return counted;
}

static void check_order(struct status_report *r, const struct revgraph *g,
			const struct status_goal *goal)
{
	size_t nr = g->nr ? g->nr : 1;
	bool *held_any = xcalloc(nr, sizeof(*held_any));
	bool *held_all = xcalloc(nr, sizeof(*held_all));
	bool *ref_all = xcalloc(nr, sizeof(*ref_all));	/* held_all of the stage compared with */
	bool *beyond = xcalloc(nr, sizeof(*beyond));
	ssize_t ref = -1;

	for (size_t i = 0; i < r->envs_nr; i++) {
		size_t counted = stage_holdings(held_any, held_all, &r->envs[i], g);
		bool found = false;

		for (size_t n = 0; ref >= 0 && n < g->nr; n++) {
			beyond[n] = held_any[n] && !ref_all[n];
			found |= beyond[n];
		}
		if (found) {
			struct status_violation *v;
			struct strbuf sb = STRBUF_INIT;

			ALLOC_GROW(r->violations, r->violations_nr + 1, r->violations_alloc);
			v = &r->violations[r->violations_nr++];
			v->kind = STATUS_VIOLATION_ORDER;
			v->environment = xstrdup(r->envs[i].name);
			v->earlier = xstrdup(r->envs[ref].name);
			strvec_init(&v->revisions);
			push_topo(&v->revisions, g, goal, beyond);
			strbuf_addf(&sb, "environment \"%s\" holds %zu revision%s that \"%s\" %s: ",
				    v->environment, v->revisions.nr, v->revisions.nr == 1 ? "" : "s",
				    v->earlier,
				    r->envs[ref].fleet ? "does not hold on every database" : "lacks");
			add_list(&sb, &v->revisions);
			v->detail = strbuf_detach(&sb, NULL);
		}
		if (counted) {
			bool *swap = ref_all;

			ref_all = held_all;
			held_all = swap;
			ref = (ssize_t)i;
		}
	}
	free(held_any);
	free(held_all);
	free(ref_all);
	free(beyond);
}

void status_report_finish(struct status_report *r, const struct revgraph *g,
			  const struct status_goal *goal)
{
	strvec_release(&r->goal);
	for (size_t i = 0; i < goal->ids.nr; i++)
		strvec_push(&r->goal, goal->ids.items[i]);
	for (size_t i = 0; i < r->violations_nr; i++)
		violation_release(&r->violations[i]);
	r->violations_nr = 0;

	r->worst = STATUS_CURRENT;
	for (size_t i = 0; i < r->envs_nr; i++) {
		env_summarize(&r->envs[i], g, goal);
		r->worst = status_state_worst(r->worst, r->envs[i].state);
	}
	check_order(r, g, goal);
}

void status_report_positions(struct strvec *out, const struct status_report *r,
			     const struct revgraph *g)
{
	for (size_t e = 0; e < r->envs_nr; e++) {
		const struct status_env *env = &r->envs[e];

		for (size_t t = 0; t < env->targets_nr; t++) {
			const struct status_result *res = &env->targets[t].result;

			if (res->state == STATUS_UNREACHABLE)
				continue;
			for (size_t i = 0; i < res->heads.nr; i++) {
				ssize_t n = revgraph_find(g, res->heads.items[i]);

				if (n < 0)
					continue;
				/* environments come in rollout order: a repeat is the last name */
				if (!out[n].nr || strcmp(out[n].items[out[n].nr - 1], env->name))
					strvec_push(&out[n], env->name);
			}
		}
	}
}
