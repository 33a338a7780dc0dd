/*
 * A drift run over many targets: group them by revision, pick each
 * group's reference, compare, and count what was found.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "migsync/drift.h"
#include "migsync/strbuf.h"

const char *drift_state_name(enum drift_state state)
{
	switch (state) {
	case DRIFT_STATE_SAME:
		return "same";
	case DRIFT_STATE_REFERENCE:
		return "reference";
	case DRIFT_STATE_NOT_COMPARED:
		return "not-compared";
	case DRIFT_STATE_DRIFT:
		return "drift";
	case DRIFT_STATE_UNREACHABLE:
		return "unreachable";
	}
	return "unreachable";
}

void drift_report_init(struct drift_report *r)
{
	memset(r, 0, sizeof(*r));
}

void drift_report_release(struct drift_report *r)
{
	for (size_t i = 0; i < r->targets_nr; i++) {
		struct drift_target *t = &r->targets[i];

		free(t->environment);
		free(t->database);
		schema_snapshot_free(t->snapshot);
		free(t->error);
		free(t->note);
		drift_diff_release(&t->diff);
		strvec_release(&t->invalid_indexes);
	}
	free(r->targets);
	for (size_t i = 0; i < r->groups_nr; i++) {
		strvec_release(&r->groups[i].revision);
		free(r->groups[i].members);
	}
	free(r->groups);
	drift_report_init(r);
}

struct drift_target *drift_report_add(struct drift_report *r, const char *environment,
				      const char *database)
{
	struct drift_target *t;

	ALLOC_GROW(r->targets, r->targets_nr + 1, r->targets_alloc);
	t = &r->targets[r->targets_nr++];
	memset(t, 0, sizeof(*t));
	t->environment = xstrdup(environment);
	t->database = xstrdup(database ? database : "");
	t->state = DRIFT_STATE_UNREACHABLE;
	t->group = SIZE_MAX;
	drift_diff_init(&t->diff);
	strvec_init(&t->invalid_indexes);
	return t;
}

/* The group holding rows, created (after the others) when there is none. */
static size_t group_for(struct drift_report *r, const struct strvec *rows)
{
	struct drift_group *g;

	for (size_t i = 0; i < r->groups_nr; i++)
		if (strvec_equal(&r->groups[i].revision, rows))
			return i;
	ALLOC_GROW(r->groups, r->groups_nr + 1, r->groups_alloc);
	g = &r->groups[r->groups_nr];
	memset(g, 0, sizeof(*g));
	strvec_init(&g->revision);
	for (size_t i = 0; i < rows->nr; i++)
		strvec_push(&g->revision, rows->items[i]);
	g->reference = SIZE_MAX;
	return r->groups_nr++;
}

/*
 * Compare a group's members with its reference. against_read tells why a
 * group has no reference: the environment is elsewhere, or unreadable.
 */
static void compare_group(struct drift_report *r, struct drift_group *g, const char *against,
			  bool against_read)
{
	const struct drift_target *ref;

	if (g->reference == SIZE_MAX || g->members_nr < 2) {
		for (size_t k = 0; k < g->members_nr; k++) {
			struct drift_target *t = &r->targets[g->members[k]];

			t->state = DRIFT_STATE_NOT_COMPARED;
			if (g->reference == SIZE_MAX && !against_read)
				t->note = xstrfmt("\"%s\" could not be read", against);
			else if (g->reference == SIZE_MAX)
				t->note = xstrfmt("\"%s\" is at another revision", against);
			else if (r->groups_nr > 1)
				t->note = xstrdup("no other target at this revision");
			else
				t->note = xstrdup("no other target to compare with");
		}
		return;
	}
	ref = &r->targets[g->reference];
	for (size_t k = 0; k < g->members_nr; k++) {
		struct drift_target *t = &r->targets[g->members[k]];

		if (g->members[k] == g->reference) {
			t->state = DRIFT_STATE_REFERENCE;
			continue;
		}
		if (!strcmp(t->snapshot->fingerprint, ref->snapshot->fingerprint)) {
			t->state = DRIFT_STATE_SAME;
			continue;
		}
		drift_compare(&t->diff, ref->snapshot, t->snapshot);
		t->state = DRIFT_STATE_DRIFT;
		r->drifted++;
	}
}

int drift_report_finish(struct drift_report *r, const char *against, struct ms_error *err)
{
	bool found = !against, against_read = false;
	int ret = 0;

	for (size_t i = 0; against && i < r->targets_nr; i++) {
		if (!strcmp(r->targets[i].environment, against)) {
			found = true;
			if (r->targets[i].snapshot)
				against_read = true;
		}
	}
	if (!found) {
		ret = ms_error_set(err, MS_ERR_NOTFOUND, "environment \"%s\": not among the targets",
				   against);
		ms_error_hint(err, "--against must name one of the environments compared");
		goto done;
	}

	for (size_t i = 0; i < r->targets_nr; i++) {
		struct drift_target *t = &r->targets[i];
		struct drift_group *g;

		if (!t->snapshot) {
			t->state = DRIFT_STATE_UNREACHABLE;
			r->unreachable++;
			continue;
		}
		for (size_t k = 0; k < t->snapshot->nr; k++)
			if (t->snapshot->objects[k].kind == DRIFT_INDEX && t->snapshot->objects[k].invalid)
				strvec_push(&t->invalid_indexes, t->snapshot->objects[k].name);
		strvec_sort(&t->invalid_indexes);
		r->invalid_indexes += t->invalid_indexes.nr;

		t->group = group_for(r, &t->snapshot->version_rows);
		g = &r->groups[t->group];
		ALLOC_GROW(g->members, g->members_nr + 1, g->members_alloc);
		g->members[g->members_nr++] = i;
		if (g->reference == SIZE_MAX && (!against || !strcmp(t->environment, against)))
			g->reference = i;
	}
	for (size_t i = 0; i < r->groups_nr; i++)
		compare_group(r, &r->groups[i], against, against_read);
done:
	return ret;
}

bool drift_report_failed(const struct drift_report *r)
{
	return r->drifted || r->unreachable || r->invalid_indexes;
}
