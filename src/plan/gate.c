/*
 * Gates (approvals, allow-list, soak) and the checksum comparison between
 * the ledger and the revision files (see include/migsync/plan.h).
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "migsync/ledger.h"
#include "migsync/plan.h"
#include "migsync/strbuf.h"

void gate_result_init(struct gate_result *r)
{
	memset(r, 0, sizeof(*r));
	strvec_init(&r->approved_by);
	strvec_init(&r->notes);
}

void gate_result_release(struct gate_result *r)
{
	strvec_release(&r->approved_by);
	strvec_release(&r->notes);
	gate_result_init(r);
}

static char *short_hash(const char *hash)
{
	return xstrndup(hash ? hash : "", 12);
}

/* Why approval a does not count for in, or NULL when it does. */
static char *refusal(const struct approval *a, const struct gate_input *in)
{
	const struct inventory_gate *gate = in->gate;
	const char *who = a->approver ? a->approver : "";
	char *h = NULL, *why = NULL;

	if (strcmp_null(a->environment, in->environment)) {
		why = xstrfmt("approval by \"%s\" is for environment \"%s\"", who,
			      a->environment ? a->environment : "");
	} else if (!a->plan_hash || strcasecmp(a->plan_hash, in->plan_hash)) {
		h = short_hash(a->plan_hash);
		why = xstrfmt("approval by \"%s\" is for another plan (%s), not this one", who, h);
	} else if (a->revoked_at_ms) {
		why = xstrfmt("approval by \"%s\" was revoked by \"%s\"", who,
			      a->revoked_by ? a->revoked_by : "?");
	} else if (a->expires_at_ms && a->expires_at_ms <= in->now_ms) {
		why = xstrfmt("approval by \"%s\" has expired", who);
	} else if (gate && gate->approvers.nr && !strvec_contains(&gate->approvers, who)) {
		why = xstrfmt("approval by \"%s\" does not count: not on the approvers list", who);
	}
	free(h);
	return why;
}

void gate_evaluate(struct gate_result *out, const struct gate_input *in)
{
	const struct inventory_gate *gate = in->gate;
	bool approvals_ok, soak_ok = true;

	gate_result_release(out);
	out->needed = gate ? gate->approvals : 0;
	out->risky = in->risky;
	if (in->risky && gate && gate->risky_approvals > out->needed) {
		out->needed = gate->risky_approvals;
		strvec_push_owned(&out->notes,
				  xstrfmt("risky: %zu safety finding%s no comment allows: %d distinct "
					  "approvers needed instead of %d", in->risky,
					  in->risky == 1 ? "" : "s", gate->risky_approvals,
					  gate->approvals));
	}
	out->soak = gate ? gate->soak : 0;
	out->gated = out->needed > 0 || out->soak > 0;

	for (size_t i = 0; i < in->approvals_nr; i++) {
		const struct approval *a = &in->approvals[i];
		char *why = refusal(a, in);

		if (why) {
			/* other environments' approvals are noise, not news */
			if (!strcmp_null(a->environment, in->environment))
				strvec_push_owned(&out->notes, why);
			else
				free(why);
			continue;
		}
		if (!strvec_contains(&out->approved_by, a->approver))
			strvec_push(&out->approved_by, a->approver);
	}
	strvec_sort(&out->approved_by);
	approvals_ok = (int64_t)out->approved_by.nr >= out->needed;
	if (!approvals_ok)
		strvec_push_owned(&out->notes,
				  xstrfmt("%zu of %d approvals", out->approved_by.nr, out->needed));

	if (out->soak > 0 && in->has_previous) {
		char *prev = in->previous ? xstrfmt("environment \"%s\"", in->previous) :
			xstrdup("the previous stage");
		char *asked = inventory_format_duration(out->soak);

		if (!in->held_since_known) {
			soak_ok = false;
			out->soak_unknown = true;
			out->soak_remaining = out->soak;
			strvec_push_owned(&out->notes,
					  xstrfmt("soak: cannot verify the soak of %s: %s holds the target, but its ledger "
						  "has no record of migsync applying it (applied outside migsync?)",
						  asked, prev));
		} else {
			int64_t held = (in->now_ms - in->held_since_ms) / 1000;

			if (held < 0)
				held = 0;
			if (held < out->soak) {
				char *left, *since;

				soak_ok = false;
				out->soak_remaining = out->soak - held;
				left = inventory_format_duration(out->soak_remaining);
				since = inventory_format_duration(held);
				if (in->previous_planned)
					strvec_push_owned(&out->notes,
							  xstrfmt("soak: %s gets the target in this run and must then hold it for %s",
								  prev, asked));
				else
					strvec_push_owned(&out->notes,
							  xstrfmt("soak: %s has held the target for %s of %s; wait %s more",
								  prev, since, asked, left));
				free(left);
				free(since);
			}
		}
		free(prev);
		free(asked);
	}
	out->passed = approvals_ok && soak_ok;
}

static const char *const approval_state_names[] = {
	[APPROVAL_VALID] = "valid",
	[APPROVAL_STALE] = "stale",
	[APPROVAL_EXPIRED] = "expired",
	[APPROVAL_USED] = "used",
	[APPROVAL_REVOKED] = "revoked",
};

const char *approval_state_name(enum approval_state s)
{
	if ((size_t)s < ARRAY_SIZE(approval_state_names))
		return approval_state_names[s];
	return "?";
}

enum approval_state approval_state_of(const struct approval *a, const char *plan_now,
				      const struct ledger_entry *entries, size_t entries_nr,
				      int64_t now_ms)
{
	if (a->revoked_at_ms)
		return APPROVAL_REVOKED;
	for (size_t i = 0; a->plan_hash && i < entries_nr; i++) {
		const struct ledger_entry *e = &entries[i];
		bool took = e->outcome == LEDGER_APPLIED || e->outcome == LEDGER_STAMPED ||
			e->outcome == LEDGER_REHASHED || e->outcome == LEDGER_RESOLVED_APPLIED;

		if (took && e->plan_hash && !strcasecmp(e->plan_hash, a->plan_hash))
			return APPROVAL_USED;
	}
	if (a->expires_at_ms && a->expires_at_ms <= now_ms)
		return APPROVAL_EXPIRED;
	if (plan_now && (!a->plan_hash || strcasecmp(plan_now, a->plan_hash)))
		return APPROVAL_STALE;
	return APPROVAL_VALID;
}

void checksum_mismatches_free(struct checksum_mismatch *list, size_t nr)
{
	for (size_t i = 0; i < nr; i++) {
		free(list[i].revision);
		free(list[i].file);
		free(list[i].applied_sha256);
		free(list[i].file_sha256);
	}
	free(list);
}

static int mismatch_cmp(const void *a, const void *b)
{
	const struct checksum_mismatch *x = a, *y = b;

	return strcmp(x->revision, y->revision);
}

void plan_checksum_compare(struct checksum_mismatch **out, size_t *nr,
			   const struct revgraph *g, const struct ledger_entry *entries,
			   size_t entries_nr, const struct strvec *rows)
{
	/* per node: the latest entry that applied it upward, or -1 */
	ssize_t *last = xcalloc(g->nr ? g->nr : 1, sizeof(*last));
	bool *held = NULL;
	size_t alloc = 0;

	*out = NULL;
	*nr = 0;
	for (size_t i = 0; i < g->nr; i++)
		last[i] = -1;
	if (rows) {
		held = xcalloc(g->nr ? g->nr : 1, sizeof(*held));
		for (size_t i = 0; i < rows->nr; i++) {
			ssize_t n = revgraph_find(g, rows->items[i]);

			if (n >= 0) {
				size_t node = (size_t)n;

				revgraph_mark_ancestors(g, &node, 1, true, held);
			}
		}
	}
	/* entries come oldest first: later ones win */
	for (size_t i = 0; i < entries_nr; i++) {
		const struct ledger_entry *e = &entries[i];
		ssize_t n = e->revision ? revgraph_find(g, e->revision) : -1;
		/* a rehash is the file's hash accepted anew: it counts as the applied one */
		bool done = e->outcome == LEDGER_APPLIED || e->outcome == LEDGER_RESOLVED_APPLIED ||
			e->outcome == LEDGER_REHASHED;

		if (n < 0 || !done)
			continue;
		last[n] = e->up ? (ssize_t)i : -1;
	}
	for (size_t i = 0; i < g->nr; i++) {
		const struct ledger_entry *e;
		const struct script *s = g->nodes[i].script;
		struct checksum_mismatch *m;

		if (last[i] < 0 || (held && !held[i]))
			continue;
		e = &entries[last[i]];
		if (!e->sha256 || !e->sha256[0] || !s->sha256[0] ||
		    !strcasecmp(e->sha256, s->sha256))
			continue;
		ALLOC_GROW(*out, *nr + 1, alloc);
		m = &(*out)[(*nr)++];
		m->revision = xstrdup(g->nodes[i].id);
		m->file = xstrdup(s->path);
		m->applied_sha256 = xstrdup(e->sha256);
		m->file_sha256 = xstrdup(s->sha256);
		m->applied_at_ms = e->started_at_ms;
	}
	if (*nr)
		qsort(*out, *nr, sizeof(**out), mismatch_cmp);
	free(last);
	free(held);
}
