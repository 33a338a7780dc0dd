/*
 * Checking a stage against the one before it: the rollout order rule and
 * the gate (approvals, soak), and building a whole plan stage by stage.
 * The databases are read by the caller's plan_source (see plan.h), so
 * nothing here connects.
 */
#include <stdlib.h>
#include <string.h>

#include "migsync/ledger.h"
#include "migsync/plan.h"
#include "migsync/safety.h"
#include "migsync/strbuf.h"

static void mark_rows(bool *flags, const struct revgraph *g, const struct strvec *rows)
{
	for (size_t i = 0; i < rows->nr; i++) {
		ssize_t n = revgraph_find(g, rows->items[i]);

		if (n >= 0) {
			size_t node = (size_t)n;

			revgraph_mark_ancestors(g, &node, 1, true, flags);
		}
	}
}

bool plan_order_check(struct strvec *missing, const struct revgraph *g,
		      const struct strvec *prev_rows, size_t prev_nr,
		      const struct strvec *end_rows, size_t end_nr)
{
	size_t n = g->nr ? g->nr : 1;
	bool *held = xcalloc(n, sizeof(*held));
	bool *one = xcalloc(n, sizeof(*one));
	bool *want = xcalloc(n, sizeof(*want));
	size_t *topo = NULL;
	bool ok = true;

	if (!prev_nr)
		goto done;
	/* held by every previous database: the intersection */
	for (size_t i = 0; i < g->nr; i++)
		held[i] = true;
	for (size_t d = 0; d < prev_nr; d++) {
		memset(one, 0, n * sizeof(*one));
		mark_rows(one, g, &prev_rows[d]);
		for (size_t i = 0; i < g->nr; i++)
			held[i] = held[i] && one[i];
	}
	for (size_t d = 0; d < end_nr; d++)
		mark_rows(want, g, &end_rows[d]);
	revgraph_topo_order(&topo, g);
	for (size_t i = 0; i < g->nr; i++) {
		size_t node = topo[i];

		if (want[node] && !held[node]) {
			ok = false;
			if (missing)
				strvec_push(missing, g->nodes[node].id);
		}
	}
done:
	free(topo);
	free(held);
	free(one);
	free(want);
	return ok;
}

/* The order rule of st against prev (see plan.h): fills st->order_*. */
static void check_order(struct plan_stage *st, const struct plan_stage *prev, bool prev_planned,
			const struct plan_check_options *co)
{
	const char *bad = prev->error;
	struct strvec *prev_rows = NULL, *end_rows = NULL;

	for (size_t i = 0; !bad && i < prev->dbs_nr; i++)
		bad = prev->dbs[i].error;
	if (bad) {
		st->order_error = xstrfmt("environment \"%s\": cannot verify the rollout order: "
					  "the previous stage could not be read: %s",
					  st->env->name, bad);
	} else if (!prev->dbs_nr) {
		st->order_error = xstrfmt("environment \"%s\": cannot verify the rollout order: "
					  "environment \"%s\" has no databases",
					  st->env->name, prev->env->name);
	} else {
		prev_rows = xcalloc(prev->dbs_nr, sizeof(*prev_rows));
		end_rows = xcalloc(st->dbs_nr ? st->dbs_nr : 1, sizeof(*end_rows));
		for (size_t i = 0; i < prev->dbs_nr; i++)
			prev_rows[i] = prev_planned ? prev->dbs[i].end_rows : prev->dbs[i].rows;
		for (size_t i = 0; i < st->dbs_nr; i++)
			end_rows[i] = st->dbs[i].end_rows;
		if (!plan_order_check(&st->order_missing, co->g, prev_rows, prev->dbs_nr,
				      end_rows, st->dbs_nr)) {
			struct strbuf sb = STRBUF_INIT;

			for (size_t i = 0; i < st->order_missing.nr && i < 5; i++)
				strbuf_addf(&sb, "%s%s", i ? ", " : "", st->order_missing.items[i]);
			if (st->order_missing.nr > 5)
				strbuf_addf(&sb, " and %zu more", st->order_missing.nr - 5);
			st->order_error = xstrfmt("environment \"%s\": would go past environment \"%s\", "
						  "which does not hold %s",
						  st->env->name, prev->env->name, sb.buf);
			strbuf_release(&sb);
		}
	}
	if (st->order_error && co->allow_out_of_order)
		st->out_of_order_allowed = true;
	free(prev_rows);
	free(end_rows);
}

void plan_stage_revisions(struct strvec *out, const struct plan_stage *st)
{
	for (size_t i = 0; i < st->dbs_nr; i++)
		for (size_t k = 0; k < st->dbs[i].steps_nr; k++)
			if (!strvec_contains(out, st->dbs[i].steps[k].revision))
				strvec_push(out, st->dbs[i].steps[k].revision);
}

size_t plan_stage_risky(const struct plan_stage *st, const struct safety_list *safety)
{
	struct strvec revs = STRVEC_INIT;
	size_t n = 0;

	for (size_t i = 0; safety && i < st->dbs_nr; i++)
		for (size_t k = 0; k < st->dbs[i].steps_nr; k++)
			if (st->dbs[i].steps[k].step.up &&
			    !strvec_contains(&revs, st->dbs[i].steps[k].revision))
				strvec_push(&revs, st->dbs[i].steps[k].revision);
	for (size_t i = 0; safety && i < safety->nr; i++)
		n += !safety->items[i].allowed && safety->items[i].revision &&
			strvec_contains(&revs, safety->items[i].revision);
	strvec_release(&revs);
	return n;
}

int plan_stage_check(struct plan_stage *st, const struct plan_stage *prev, bool prev_planned,
		     const struct plan_check_options *co, const struct plan_source *src,
		     struct ms_error *err)
{
	struct gate_input in;
	int ret = 0;

	strvec_release(&st->order_missing);
	free(st->order_error);
	st->order_error = NULL;
	free(st->previous);
	st->previous = prev ? xstrdup(prev->env->name) : NULL;
	st->out_of_order_allowed = false;

	if (prev && co->up && plan_stage_steps(st))
		check_order(st, prev, prev_planned, co);

	memset(&in, 0, sizeof(in));
	in.gate = &st->env->gate;
	in.environment = st->env->name;
	in.plan_hash = st->plan_hash;
	in.approvals = st->approvals;
	in.approvals_nr = st->approvals_nr;
	in.now_ms = co->now_ms;
	in.has_previous = prev && co->up;
	in.previous = prev ? prev->env->name : NULL;
	in.risky = co->up ? plan_stage_risky(st, co->safety) : 0;
	if (in.has_previous && st->env->gate.soak > 0 && plan_stage_steps(st)) {
		if (prev_planned && plan_stage_steps(prev)) {
			/* the previous stage only gets the target in this very run */
			in.held_since_known = true;
			in.held_since_ms = in.now_ms;
			in.previous_planned = true;
		} else {
			struct strvec revs = STRVEC_INIT;

			plan_stage_revisions(&revs, st);
			ret = src->held_since(&in.held_since_known, &in.held_since_ms, prev->env,
					      &revs, src->ctx, err);
			strvec_release(&revs);
			if (ret < 0)
				goto done;
		}
	}
	gate_evaluate(&st->gate, &in);
done:
	return ret;
}

int plan_build(struct plan *p, const struct inventory *inv,
	       const struct environment *const *envs, size_t nr,
	       const struct plan_check_options *co, const struct plan_source *src,
	       struct ms_error *err)
{
	struct plan_stage prev_read;
	int ret = 0;

	plan_stage_init(&prev_read, NULL);
	for (size_t i = 0; i < nr; i++) {
		const struct environment *env = envs[i];
		struct plan_stage *st = plan_add_stage(p, env);
		const struct plan_stage *prev = NULL;
		bool planned = false;

		src->read(st, env, src->ctx);
		if (env->stage > 0) {
			const struct environment *pe = &inv->envs[env->stage - 1];

			if (i > 0 && p->stages[p->nr - 2].env == pe) {
				prev = &p->stages[p->nr - 2];
				planned = true;
			} else {
				src->read(&prev_read, pe, src->ctx);
				prev = &prev_read;
			}
		}
		ret = plan_stage_check(st, prev, planned, co, src, err);
		if (ret < 0)
			goto done;
	}
done:
	plan_stage_release(&prev_read);
	return ret;
}
