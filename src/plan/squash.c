/*
 * Squash safety: consolidate's rules over what was read (see
 * include/migsync/squash.h). The messages are the ones consolidate
 * prints, word for word.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "migsync/diag.h"
#include "migsync/drift.h"
#include "migsync/inventory.h"
#include "migsync/ledger.h"
#include "migsync/plan.h"
#include "migsync/revgraph.h"
#include "migsync/squash.h"
#include "migsync/strbuf.h"

/* Lint errors listed one by one; the rest are counted. */
#define LINT_SHOWN 10
/* Schema differences named in a blocker; the rest are counted. */
#define DIFF_SHOWN 3

void squash_dbs_init(struct squash_dbs *dbs)
{
	dbs->items = NULL;
	dbs->nr = 0;
	dbs->alloc = 0;
}

void squash_dbs_release(struct squash_dbs *dbs)
{
	for (size_t i = 0; i < dbs->nr; i++) {
		struct squash_db *d = &dbs->items[i];

		free(d->label);
		free(d->describe);
		schema_snapshot_free(d->snapshot);
		ledger_entries_free(d->ledger, d->ledger_nr);
		approvals_free(d->approvals, d->approvals_nr);
		ms_error_release(&d->err);
	}
	free(dbs->items);
	squash_dbs_init(dbs);
}

struct squash_db *squash_dbs_add(struct squash_dbs *dbs, const struct environment *env,
				 const char *label, const char *describe, bool first)
{
	struct squash_db *d;

	ALLOC_GROW(dbs->items, dbs->nr + 1, dbs->alloc);
	d = &dbs->items[dbs->nr++];
	d->env = env;
	d->label = xstrdup(label);
	d->describe = describe ? xstrdup(describe) : NULL;
	d->first = first;
	d->snapshot = NULL;
	d->ledger = NULL;
	d->ledger_nr = 0;
	d->approvals = NULL;
	d->approvals_nr = 0;
	ms_error_init(&d->err);
	return d;
}

void squash_report_init(struct squash_report *r)
{
	r->items = NULL;
	r->nr = 0;
	r->alloc = 0;
	r->reference = NULL;
	r->head = NULL;
}

void squash_report_release(struct squash_report *r)
{
	for (size_t i = 0; i < r->nr; i++) {
		free(r->items[i].environment);
		free(r->items[i].message);
	}
	free(r->items);
	squash_report_init(r);
}

static void block(struct squash_report *r, const char *check, const char *environment,
		  const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void block(struct squash_report *r, const char *check, const char *environment,
		  const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT;
	struct squash_blocker *b;
	va_list ap;

	va_start(ap, fmt);
	strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	ALLOC_GROW(r->items, r->nr + 1, r->alloc);
	b = &r->items[r->nr++];
	b->check = check;
	b->environment = environment ? xstrdup(environment) : NULL;
	b->message = strbuf_detach(&sb, NULL);
}

/* Every database that could not be read; the first one read is the reference. */
static void check_reachable(struct squash_report *r, const struct squash_dbs *dbs)
{
	for (size_t i = 0; i < dbs->nr; i++) {
		const struct squash_db *d = &dbs->items[i];

		if (!d->snapshot)
			block(r, "reachable", d->env->name, "%s",
			      d->err.message ? d->err.message : "could not read the database");
		else if (!r->reference)
			r->reference = d;
	}
}

/* Every schema against the reference's; every INVALID index. */
static void check_schemas(struct squash_report *r, const struct squash_dbs *dbs)
{
	const struct squash_db *ref = r->reference;

	for (size_t i = 0; ref && i < dbs->nr; i++) {
		const struct squash_db *d = &dbs->items[i];
		const struct schema_snapshot *s = d->snapshot;
		struct drift_diff diff = DRIFT_DIFF_INIT;
		struct strbuf sb = STRBUF_INIT;

		if (!s)
			continue;
		for (size_t k = 0; k < s->nr; k++)
			if (s->objects[k].invalid)
				block(r, "schema", d->env->name, "environment \"%s\": INVALID index %s",
				      d->label, s->objects[k].name);
		if (d == ref || !strcmp(s->fingerprint, ref->snapshot->fingerprint))
			continue;
		drift_compare(&diff, ref->snapshot, s);
		for (size_t k = 0; k < diff.nr && k < DIFF_SHOWN; k++)
			strbuf_addf(&sb, "%s%s %s %s", k ? "; " : "", drift_kind_name(diff.items[k].kind),
				    diff.items[k].object, drift_change_name(diff.items[k].change));
		if (diff.nr > DIFF_SHOWN)
			strbuf_addf(&sb, "; and %zu more", diff.nr - DIFF_SHOWN);
		block(r, "schema", d->env->name,
		      "environment \"%s\": schema differs from \"%s\" (%zu difference%s: %s)",
		      d->label, ref->label, diff.nr, diff.nr == 1 ? "" : "s",
		      sb.len ? sb.buf : "same objects, different fingerprint");
		strbuf_release(&sb);
		drift_diff_release(&diff);
	}
}

/*
 * Every database at exactly the scripts' single head; with several heads
 * (already a blocker), every database at the reference's rows.
 */
static void check_heads(struct squash_report *r, const struct squash_dbs *dbs,
			const struct revgraph *g)
{
	const char *head = r->head;
	const struct strvec *ref_rows = r->reference ? &r->reference->snapshot->version_rows : NULL;

	if (!g)
		return;
	if (!head) {
		struct strbuf sb = STRBUF_INIT;

		for (size_t i = 0; i < g->real_heads_nr; i++)
			strbuf_addf(&sb, "%s%s", i ? ", " : "", g->nodes[g->real_heads[i]].id);
		block(r, "head", NULL, "the scripts have %zu heads%s%s%s: merge them first",
		      g->real_heads_nr, sb.len ? " (" : "", sb.buf, sb.len ? ")" : "");
		strbuf_release(&sb);
	}
	for (size_t i = 0; ref_rows && i < dbs->nr; i++) {
		const struct squash_db *d = &dbs->items[i];
		const struct strvec *rows;
		char *have;

		if (!d->snapshot)
			continue;
		rows = &d->snapshot->version_rows;
		if (head ? rows->nr == 1 && !strcmp(rows->items[0], head) : strvec_equal(rows, ref_rows))
			continue;
		have = plan_rows_text(rows, ",");
		if (!head)
			block(r, "head", d->env->name, "environment \"%s\": at %s, \"%s\" at %s",
			      d->label, have, r->reference->label,
			      ref_rows->nr ? ref_rows->items[0] : "(none)");
		else if (rows->nr == 1 && revgraph_find(g, rows->items[0]) < 0)
			block(r, "head", d->env->name,
			      "environment \"%s\": at %s, which the scripts do not know (their head is %s)",
			      d->label, have, head);
		else
			block(r, "head", d->env->name, "environment \"%s\": at %s, not at the head %s",
			      d->label, have, head);
		free(have);
	}
}

/* Whether any database of env recorded plan hash as done. */
static bool plan_done(const struct squash_dbs *dbs, const struct environment *env,
		      const char *hash)
{
	for (size_t i = 0; i < dbs->nr; i++) {
		const struct squash_db *d = &dbs->items[i];

		if (d->env != env)
			continue;
		for (size_t k = 0; k < d->ledger_nr; k++) {
			const struct ledger_entry *e = &d->ledger[k];

			if (e->plan_hash && !strcmp(e->plan_hash, hash) &&
			    (e->outcome == LEDGER_APPLIED || e->outcome == LEDGER_RESOLVED_APPLIED ||
			     e->outcome == LEDGER_STAMPED))
				return true;
		}
	}
	return false;
}

/* Approvals not yet used, and steps left in progress. */
static void check_ledgers(struct squash_report *r, const struct squash_dbs *dbs, int64_t now)
{
	for (size_t i = 0; i < dbs->nr; i++) {
		const struct squash_db *d = &dbs->items[i];

		for (size_t k = 0; k < d->approvals_nr; k++) {
			const struct approval *a = &d->approvals[k];

			if (a->expires_at_ms && a->expires_at_ms <= now)
				continue;
			if (!a->plan_hash || plan_done(dbs, d->env, a->plan_hash))
				continue;
			block(r, "approvals", d->env->name,
			      "environment \"%s\": approval by \"%s\" of plan %.12s is pending (not applied, not expired)",
			      d->env->name, a->approver ? a->approver : "?", a->plan_hash);
		}
		for (size_t k = 0; k < d->ledger_nr; k++)
			if (d->ledger[k].outcome == LEDGER_IN_PROGRESS)
				block(r, "ledger", d->env->name,
				      "environment \"%s\": revision \"%s\" was left in progress",
				      d->label, d->ledger[k].revision);
	}
}

/* The first LINT_SHOWN lint errors, then how many more; a graph that cannot be built. */
static void check_lint(struct squash_report *r, const struct diag_list *lint,
		       const struct revgraph *g, const struct ms_error *graph_err)
{
	size_t shown = 0;

	for (size_t i = 0; lint && i < lint->nr; i++) {
		const struct diag *d = &lint->items[i];

		if (d->severity != DIAG_ERROR || shown++ >= LINT_SHOWN)
			continue;
		if (d->line)
			block(r, "lint", NULL, "%s: %s:%u: %s", d->code, d->file ? d->file : "?",
			      d->line, d->message);
		else
			block(r, "lint", NULL, "%s: %s: %s", d->code, d->file ? d->file : "?", d->message);
	}
	if (shown > LINT_SHOWN)
		block(r, "lint", NULL, "and %zu more lint error%s (run migsync lint)",
		      shown - LINT_SHOWN, shown - LINT_SHOWN == 1 ? "" : "s");
	if (!g)
		block(r, "head", NULL, "the revision graph cannot be built: %s",
		      graph_err && graph_err->message ? graph_err->message : "unknown error");
}

void squash_check(struct squash_report *out, const struct squash_check_input *in)
{
	const struct revgraph *g = in->g;

	out->head = g && g->real_heads_nr == 1 ? g->nodes[g->real_heads[0]].id : NULL;
	check_lint(out, in->lint, g, in->graph_err);
	check_reachable(out, in->dbs);
	if (out->reference) {
		check_heads(out, in->dbs, g);
		check_schemas(out, in->dbs);
	}
	check_ledgers(out, in->dbs, in->now_ms);
}

/*
 * The rows every database must hold before the stamp: *expect, or the
 * single row the first database not yet at the baseline holds. A
 * database at other rows blocks the whole stamp.
 */
static void check_expect(struct squash_report *r, struct strvec *expect,
			 const struct squash_dbs *dbs, const struct strvec *baseline, bool given)
{
	for (size_t i = 0; i < dbs->nr; i++) {
		const struct squash_db *d = &dbs->items[i];
		const struct strvec *rows = d->snapshot ? &d->snapshot->version_rows : NULL;
		char *have, *want;

		if (!rows || strvec_equal(rows, baseline))
			continue;
		if (!given && !expect->nr && rows->nr == 1) {
			strvec_push(expect, rows->items[0]);
			given = true;
		}
		if (strvec_equal(rows, expect))
			continue;
		have = plan_rows_text(rows, ",");
		want = plan_rows_text(expect, ",");
		block(r, "head", d->env->name, "environment \"%s\": at %s, expected %s", d->label,
		      have, expect->nr ? want : "one head shared by every environment");
		free(have);
		free(want);
	}
}

void squash_check_stamp(struct squash_report *out, struct strvec *expect,
			const struct squash_dbs *dbs, const struct strvec *baseline,
			bool expect_given)
{
	check_reachable(out, dbs);
	check_schemas(out, dbs);
	check_expect(out, expect, dbs, baseline, expect_given);
}
