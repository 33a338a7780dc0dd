/*
 * The nightly check's rules (see migsync/nightly.h). Each judge_* fills
 * one case of one environment; the findings of a case are appended one
 * after the other, so that a case is a range of the report's findings.
 */
#include <stdlib.h>
#include <string.h>

#include "migsync/drift.h"
#include "migsync/lint.h"
#include "migsync/nightly.h"
#include "migsync/plan.h"
#include "migsync/status.h"

/* Drift differences listed per database before "... and N more". */
#define DIFFERENCES_SHOWN 10

static const char *const check_names[] = {
	"reachable", "status", "order", "drift", "checksums", "lint",
};

static const char *const outcome_names[] = { "passed", "failed", "skipped" };

const char *nightly_check_name(enum nightly_check check)
{
	return check_names[check];
}

const char *nightly_outcome_name(enum nightly_outcome outcome)
{
	return outcome_names[outcome];
}

void nightly_input_init(struct nightly_input *in)
{
	in->status = NULL;
	in->graph_error = NULL;
	in->drift = NULL;
	in->lint = NULL;
	in->checksums = NULL;
	in->fail_on_pending = false;
}

static void case_init(struct nightly_case *k, size_t first)
{
	k->outcome = NIGHTLY_PASSED;
	k->summary = NULL;
	k->first = first;
	k->nr = 0;
}

void nightly_report_init(struct nightly_report *r)
{
	r->envs = NULL;
	r->envs_nr = 0;
	case_init(&r->lint, 0);
	r->findings = NULL;
	r->findings_nr = 0;
	r->findings_alloc = 0;
	r->problems = 0;
	r->verdict = NIGHTLY_PASS;
}

void nightly_report_release(struct nightly_report *r)
{
	for (size_t i = 0; i < r->envs_nr; i++) {
		free(r->envs[i].name);
		for (size_t k = 0; k < NIGHTLY_ENV_CHECK_NR; k++)
			free(r->envs[i].cases[k].summary);
	}
	free(r->envs);
	free(r->lint.summary);
	for (size_t i = 0; i < r->findings_nr; i++) {
		free(r->findings[i].environment);
		free(r->findings[i].database);
		free(r->findings[i].message);
	}
	free(r->findings);
	nightly_report_init(r);
}

/* The case being judged: its check, its environment, and where its findings go. */
struct judging {
	struct nightly_report *r;
	const struct nightly_input *in;
	struct nightly_case *k;
	enum nightly_check check;
	const struct status_env *env;	/* NULL for lint */
	size_t e;			/* env's index in the status report */
	size_t first_target;		/* env's first database in the report */
};

static void add_finding(struct judging *j, enum nightly_severity severity,
			const char *database, char *message)
{
	struct nightly_finding *f;

	ALLOC_GROW(j->r->findings, j->r->findings_nr + 1, j->r->findings_alloc);
	f = &j->r->findings[j->r->findings_nr++];
	f->check = j->check;
	f->severity = severity;
	f->environment = j->env ? xstrdup(j->env->name) : NULL;
	f->database = database ? xstrdup(database) : NULL;
	f->message = message;
	j->k->nr++;
}

/* A problem: the case fails. message is taken over. */
static void fail(struct judging *j, const char *database, char *message)
{
	j->k->outcome = NIGHTLY_FAILED;
	add_finding(j, NIGHTLY_PROBLEM, database, message);
	j->r->problems++;
}

static void skip(struct judging *j, const char *why)
{
	j->k->outcome = NIGHTLY_SKIPPED;
	add_finding(j, NIGHTLY_SKIP_REASON, NULL, xstrdup(why));
	free(j->k->summary);
	j->k->summary = xstrdup("-");
}

/* `environment "ENV"` or `environment "ENV" (DB)` for a fleet's database. */
static char *subject(const struct status_env *env, const char *database)
{
	return ms_error_subject(env->name, env->fleet ? database : NULL);
}

static void judge_reachable(struct judging *j)
{
	const struct status_env *env = j->env;
	size_t down = 0;

	if (env->error) {
		fail(j, NULL, xstrfmt("environment \"%s\": %s", env->name, env->error));
		j->k->summary = xstrdup("no");
		return;
	}
	for (size_t t = 0; t < env->targets_nr; t++) {
		const struct status_result *res = &env->targets[t].result;
		const char *database = env->targets[t].database;
		char *who;

		if (res->state != STATUS_UNREACHABLE)
			continue;
		down++;
		/* probe errors name their database already */
		who = subject(env, database);
		if (res->error && starts_with(res->error, who))
			fail(j, database, xstrdup(res->error));
		else
			fail(j, database, xstrfmt("%s: unreachable: %s", who,
						  res->error ? res->error : "no answer"));
		free(who);
	}
	j->k->summary = !down ? xstrdup("yes") : env->fleet ?
		xstrfmt("%zu of %zu unreachable", down, env->targets_nr) : xstrdup("no");
}

static void judge_status(struct judging *j)
{
	const struct status_env *env = j->env;

	for (size_t t = 0; t < env->targets_nr; t++) {
		const struct status_result *res = &env->targets[t].result;
		const char *database = env->targets[t].database;
		bool pending = res->state == STATUS_BEHIND || res->state == STATUS_UNINITIALIZED;
		char *who;

		if (res->state == STATUS_CURRENT || res->state == STATUS_UNREACHABLE ||
		    (pending && !j->in->fail_on_pending))
			continue;
		who = subject(env, database);
		if (pending)
			fail(j, database, xstrfmt("%s: %s, %zu revision%s pending", who,
						  status_state_name(res->state), res->pending.nr,
						  res->pending.nr == 1 ? "" : "s"));
		else
			fail(j, database, xstrfmt("%s: %s%s%s", who, status_state_name(res->state),
						  res->note ? ": " : "", res->note ? res->note : ""));
		free(who);
	}
	if (env->pending.nr && env->state != STATUS_UNREACHABLE)
		j->k->summary = xstrfmt("%s, %zu pending", status_state_name(env->state),
					env->pending.nr);
	else
		j->k->summary = xstrdup(status_state_name(env->state));
}

static void judge_order(struct judging *j)
{
	const struct status_report *r = j->in->status;

	for (size_t v = 0; v < r->violations_nr; v++)
		if (!strcmp(r->violations[v].environment, j->env->name))
			fail(j, NULL, xstrdup(r->violations[v].detail));
	j->k->summary = xstrdup(j->k->nr ? "violation" : "ok");
}

/* The drift findings of one database; returns whether it drifted. */
static bool judge_drift_target(struct judging *j, const struct drift_target *t)
{
	char *who = subject(j->env, t->database);

	if (t->state == DRIFT_STATE_UNREACHABLE && j->env->state != STATUS_UNREACHABLE &&
	    j->env->state != STATUS_MISSING)
		fail(j, t->database, xstrfmt("%s: could not read the schema: %s", who,
					     t->error ? t->error : "no answer"));
	if (t->state == DRIFT_STATE_DRIFT) {
		for (size_t d = 0; d < t->diff.nr && d < DIFFERENCES_SHOWN; d++)
			fail(j, t->database, xstrfmt("%s: drift: %s %s: %s", who,
						     drift_kind_name(t->diff.items[d].kind),
						     t->diff.items[d].object,
						     drift_change_name(t->diff.items[d].change)));
		if (t->diff.nr > DIFFERENCES_SHOWN)
			add_finding(j, NIGHTLY_NOTE, t->database,
				    xstrfmt("%s: ... and %zu more differences", who,
					    t->diff.nr - DIFFERENCES_SHOWN));
	}
	for (size_t x = 0; x < t->invalid_indexes.nr; x++)
		fail(j, t->database, xstrfmt("%s: INVALID index %s", who,
					     t->invalid_indexes.items[x]));
	free(who);
	return t->state == DRIFT_STATE_DRIFT;
}

static void judge_drift(struct judging *j)
{
	const struct drift_report *dr = j->in->drift;
	const struct status_env *env = j->env;
	size_t targets = 0, drifted = 0, differences = 0, compared = 0;
	const char *state = NULL;

	for (size_t i = 0; dr && i < dr->targets_nr; i++) {
		const struct drift_target *t = &dr->targets[i];

		if (strcmp(t->environment, env->name))
			continue;
		targets++;
		state = drift_state_name(t->state);
		if (t->state != DRIFT_STATE_NOT_COMPARED && t->state != DRIFT_STATE_UNREACHABLE)
			compared++;
		if (judge_drift_target(j, t)) {
			drifted++;
			differences += t->diff.nr;
		}
	}
	if (drifted)
		j->k->summary = env->fleet ? xstrfmt("%zu of %zu drifted", drifted, targets) :
			xstrfmt("drift (%zu difference%s)", differences, differences == 1 ? "" : "s");
	else if (j->k->outcome == NIGHTLY_FAILED)
		j->k->summary = xstrdup("problems");
	else if (!compared)
		j->k->summary = xstrdup("not compared");
	else
		j->k->summary = xstrdup(env->fleet || !state ? "same" : state);
}

static void judge_checksums(struct judging *j)
{
	const struct status_env *env = j->env;
	size_t mismatches = 0;

	for (size_t t = 0; j->in->checksums && t < env->targets_nr; t++) {
		const struct nightly_checksums *cs = &j->in->checksums[j->first_target + t];
		const char *database = env->targets[t].database;
		char *who = subject(env, database);

		if (cs->error)
			fail(j, database, xstrdup(cs->error));
		for (size_t i = 0; i < cs->nr; i++)
			fail(j, database, xstrfmt("%s: revision %s: \"%s\" changed after it was applied "
						  "(sha256 %.12s then, %.12s now)", who,
						  cs->items[i].revision, cs->items[i].file,
						  cs->items[i].applied_sha256, cs->items[i].file_sha256));
		mismatches += cs->nr;
		free(who);
	}
	if (mismatches)
		j->k->summary = xstrfmt("%zu mismatch%s", mismatches, mismatches == 1 ? "" : "es");
	else
		j->k->summary = xstrdup(j->k->outcome == NIGHTLY_FAILED ? "unreadable" : "ok");
}

static void judge_lint(struct judging *j)
{
	const struct lint_report *r = j->in->lint;
	size_t revisions = r ? r->revisions : 0, errors = r ? r->errors : 0;
	size_t warnings = r ? r->warnings : 0, safety = 0;

	for (size_t i = 0; r && i < r->findings.nr; i++) {
		const struct diag *d = &r->findings.items[i];

		if (d->severity != DIAG_ERROR && !d->rule)
			continue;
		if (d->rule)
			safety++;
		if (d->rule && d->file && d->line)
			fail(j, NULL, xstrfmt("%s:%u:%u: %s %s (revision %s): %s", d->file, d->line,
					      d->column, d->code, d->rule, d->revision ? d->revision : "?",
					      d->message));
		else if (d->rule)
			fail(j, NULL, xstrfmt("%s: %s %s (revision %s): %s", d->file ? d->file : "?",
					      d->code, d->rule, d->revision ? d->revision : "?",
					      d->message));
		else if (d->file && d->line)
			fail(j, NULL, xstrfmt("%s:%u: %s %s", d->file, d->line, d->code, d->message));
		else if (d->file)
			fail(j, NULL, xstrfmt("%s: %s %s", d->file, d->code, d->message));
		else
			fail(j, NULL, xstrfmt("%s %s", d->code, d->message));
	}
	if (j->in->graph_error)
		fail(j, NULL, xstrfmt("the revision graph could not be built (%s): status, order, "
				      "drift and checksums were not run", j->in->graph_error));
	j->k->summary = xstrfmt("%zu revision%s, %zu error%s, %zu warning%s",
				revisions, revisions == 1 ? "" : "s",
				errors, errors == 1 ? "" : "s",
				warnings, warnings == 1 ? "" : "s");
	/* what fails a lint of no error: say it where the counts are read */
	if (safety) {
		char *counts = j->k->summary;

		j->k->summary = xstrfmt("%s; %zu safety finding%s on revisions some database "
					"still needs", counts, safety, safety == 1 ? "" : "s");
		free(counts);
	}
}

/* Start judging check of the environment ne (NULL: the lint). */
static void begin(struct judging *j, struct nightly_env *ne, enum nightly_check check)
{
	j->check = check;
	j->k = ne ? &ne->cases[check] : &j->r->lint;
	case_init(j->k, j->r->findings_nr);
}

static void judge_env(struct judging *j)
{
	static void (*const rules[NIGHTLY_ENV_CHECK_NR])(struct judging *) = {
		judge_reachable, judge_status, judge_order, judge_drift, judge_checksums,
	};
	struct nightly_env *ne = &j->r->envs[j->e];
	const struct status_env *env = j->env;
	/* nothing is known of it: the reachable (or status) case says why */
	bool none = env->error || env->state == STATUS_UNREACHABLE || env->state == STATUS_MISSING;
	const char *why = env->state == STATUS_MISSING && !env->error ?
		"the database does not exist" : "unreachable";

	ne->name = xstrdup(env->name);
	for (size_t k = 0; k < NIGHTLY_ENV_CHECK_NR; k++) {
		begin(j, ne, (enum nightly_check)k);
		if (k != NIGHTLY_REACHABLE && j->in->graph_error) {
			/* without a graph only reachability means anything */
			skip(j, none ? why : "not run: the revision graph could not be built");
			continue;
		}
		rules[k](j);
		if (k != NIGHTLY_REACHABLE && none && j->k->outcome == NIGHTLY_PASSED)
			skip(j, why);
	}
}

void nightly_judge(struct nightly_report *out, const struct nightly_input *in)
{
	const struct status_report *r = in->status;
	struct judging j = { out, in, NULL, NIGHTLY_REACHABLE, NULL, 0, 0 };

	nightly_report_release(out);
	out->envs = xcalloc(r->envs_nr ? r->envs_nr : 1, sizeof(*out->envs));
	out->envs_nr = r->envs_nr;
	for (size_t e = 0; e < r->envs_nr; e++) {
		j.env = &r->envs[e];
		j.e = e;
		judge_env(&j);
		j.first_target += j.env->targets_nr;
	}
	j.env = NULL;
	begin(&j, NULL, NIGHTLY_LINT);
	judge_lint(&j);
	out->verdict = out->problems ? NIGHTLY_FAIL : NIGHTLY_PASS;
}
