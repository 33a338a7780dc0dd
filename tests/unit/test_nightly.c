/*
 * Unit tests of the nightly check's rules (migsync/nightly.h). Each case
 * builds a status report, a drift report, ledger checksums and a lint
 * report in memory, as the collectors would hand them over, judges them,
 * and compares a digest of the judgement (every case's outcome and
 * summary, every finding, the verdict) with the expected one.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "migsync/drift.h"
#include "migsync/lint.h"
#include "migsync/nightly.h"
#include "migsync/plan.h"
#include "migsync/status.h"
#include "migsync/strbuf.h"
#include "migsync/util.h"

#define MAX_TARGETS 16
#define MAX_MISMATCHES 8

/* What the collectors would hand to the rules. */
struct inputs {
	struct status_report status;
	struct drift_report drift;
	struct lint_report lint;
	struct checksum_mismatch mismatches[MAX_MISMATCHES];
	size_t mismatches_nr;
	struct nightly_checksums checksums[MAX_TARGETS];	/* one per target, in report order */
	size_t targets_nr;
	const char *graph_error;
	bool fail_on_pending;
};

static void inputs_init(struct inputs *in)
{
	memset(in, 0, sizeof(*in));
	status_report_init(&in->status);
	drift_report_init(&in->drift);
	lint_report_init(&in->lint);
}

static void inputs_release(struct inputs *in)
{
	status_report_release(&in->status);
	drift_report_release(&in->drift);
	lint_report_release(&in->lint);
	for (size_t i = 0; i < in->mismatches_nr; i++) {
		free(in->mismatches[i].revision);
		free(in->mismatches[i].file);
		free(in->mismatches[i].applied_sha256);
		free(in->mismatches[i].file_sha256);
	}
}

static struct status_env *env(struct inputs *in, const char *name, bool fleet)
{
	return status_report_add_env(&in->status, name, fleet);
}

/*
 * A database of e (the last environment added: the checksums are kept in
 * report order) in state, with pending revisions ("" or a space-separated
 * list) and text: the probe error when unreachable, else the note. The
 * environment's summary follows, as status_report_finish would make it.
 */
static void target(struct inputs *in, struct status_env *e, const char *database,
		   enum status_state state, const char *pending, const char *text)
{
	struct status_target *t = status_env_add_target(e, database);
	char *copy = xstrdup(pending), *save = NULL;

	assert_true(in->targets_nr < MAX_TARGETS);
	assert_ptr_equal(e, &in->status.envs[in->status.envs_nr - 1]);
	in->targets_nr++;
	t->result.state = state;
	for (char *tok = strtok_r(copy, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
		strvec_push(&t->result.pending, tok);
		if (!strvec_contains(&e->pending, tok))
			strvec_push(&e->pending, tok);
	}
	free(copy);
	if (text && state == STATUS_UNREACHABLE)
		t->result.error = xstrdup(text);
	else if (text)
		t->result.note = xstrdup(text);
	e->state = status_state_worst(e->state, state);
}

/* A changed file on the last target added. */
static void mismatch(struct inputs *in, const char *revision)
{
	struct nightly_checksums *cs = &in->checksums[in->targets_nr - 1];
	struct checksum_mismatch *m = &in->mismatches[in->mismatches_nr];

	assert_true(in->mismatches_nr < MAX_MISMATCHES);
	assert_true(!cs->nr || cs->items + cs->nr == m);
	m->revision = xstrdup(revision);
	m->file = xstrfmt("versions/%s_x.sql", revision);
	m->applied_sha256 = xstrdup("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
	m->file_sha256 = xstrdup("bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb");
	if (!cs->nr)
		cs->items = m;
	cs->nr++;
	in->mismatches_nr++;
}

static void violation(struct inputs *in, const char *later, const char *earlier)
{
	struct status_report *r = &in->status;
	struct status_violation *v;

	ALLOC_GROW(r->violations, r->violations_nr + 1, r->violations_alloc);
	v = &r->violations[r->violations_nr++];
	v->kind = STATUS_VIOLATION_ORDER;
	v->environment = xstrdup(later);
	v->earlier = xstrdup(earlier);
	strvec_init(&v->revisions);
	strvec_push(&v->revisions, "a4");
	v->detail = xstrfmt("environment \"%s\": holds a4, which \"%s\" does not", later, earlier);
}

/* A schema read of environment/database in state, with differences extra columns. */
static struct drift_target *schema(struct inputs *in, const char *environment, const char *database,
				   enum drift_state state, size_t differences)
{
	struct drift_target *t = drift_report_add(&in->drift, environment, database);

	t->state = state;
	if (state == DRIFT_STATE_UNREACHABLE)
		t->error = xstrdup("connection refused");
	for (size_t i = 0; i < differences; i++) {
		struct drift_difference *d;

		ALLOC_GROW(t->diff.items, t->diff.nr + 1, t->diff.alloc);
		d = &t->diff.items[t->diff.nr++];
		memset(d, 0, sizeof(*d));
		d->kind = DRIFT_COLUMN;
		d->object = xstrfmt("public.t.c%02zu", i);
		d->change = DRIFT_EXTRA;
	}
	return t;
}

/* dev, staging and prod, one database each, current and the same schema. */
static void three_green(struct inputs *in)
{
	static const char *const names[] = { "dev", "staging", "prod" };

	for (size_t i = 0; i < 3; i++) {
		target(in, env(in, names[i], false), names[i], STATUS_CURRENT, "", NULL);
		schema(in, names[i], names[i], i ? DRIFT_STATE_SAME : DRIFT_STATE_REFERENCE, 0);
	}
	in->lint.revisions = 4;
}

/* ---- the scenarios */

static void s_green(struct inputs *in)
{
	three_green(in);
	diag_add(&in->lint.findings, DIAG_WARNING, "MS023", "versions/a2_x.sql", 0, "a2", NULL,
		 "revision \"a2\": no message");
	in->lint.warnings = 1;
}

static void s_diverged(struct inputs *in)
{
	target(in, env(in, "dev", false), "dev", STATUS_CURRENT, "", NULL);
	target(in, env(in, "staging", false), "staging", STATUS_DIVERGED, "",
	       "holds b2, not on the way to a4");
	target(in, env(in, "prod", false), "prod", STATUS_UNKNOWN, "", NULL);
	schema(in, "dev", "dev", DRIFT_STATE_NOT_COMPARED, 0);
	schema(in, "staging", "staging", DRIFT_STATE_NOT_COMPARED, 0);
	schema(in, "prod", "prod", DRIFT_STATE_NOT_COMPARED, 0);
}

static void s_pending(struct inputs *in)
{
	target(in, env(in, "dev", false), "dev", STATUS_BEHIND, "a4", NULL);
	target(in, env(in, "new", false), "new", STATUS_UNINITIALIZED, "a1 a2 a3 a4", NULL);
}

static void s_pending_fail(struct inputs *in)
{
	s_pending(in);
	in->fail_on_pending = true;
}

static void s_out_of_order(struct inputs *in)
{
	target(in, env(in, "staging", false), "staging", STATUS_BEHIND, "a4", NULL);
	target(in, env(in, "prod", false), "prod", STATUS_CURRENT, "", NULL);
	schema(in, "staging", "staging", DRIFT_STATE_NOT_COMPARED, 0);
	schema(in, "prod", "prod", DRIFT_STATE_NOT_COMPARED, 0);
	violation(in, "prod", "staging");
}

static void s_unreachable(struct inputs *in)
{
	struct status_env *e;

	target(in, env(in, "dev", false), "dev", STATUS_CURRENT, "", NULL);
	target(in, env(in, "staging", false), "staging", STATUS_UNREACHABLE, "", "timeout after 2 s");
	target(in, env(in, "prod", false), "prod", STATUS_UNREACHABLE, "",
	       "environment \"prod\": could not connect: connection refused");
	e = env(in, "tenants", true);
	e->error = xstrdup("discovery failed: permission denied");
	e->state = STATUS_UNREACHABLE;
	schema(in, "dev", "dev", DRIFT_STATE_NOT_COMPARED, 0);
	schema(in, "staging", "staging", DRIFT_STATE_UNREACHABLE, 0);
	schema(in, "prod", "prod", DRIFT_STATE_UNREACHABLE, 0);
	schema(in, "tenants", NULL, DRIFT_STATE_UNREACHABLE, 0);
}

static void s_fleet_unreachable(struct inputs *in)
{
	struct status_env *e = env(in, "tenants", true);

	target(in, e, "t1", STATUS_CURRENT, "", NULL);
	target(in, e, "t2", STATUS_UNREACHABLE, "", NULL);
	target(in, e, "t3", STATUS_CURRENT, "", NULL);
	schema(in, "tenants", "t1", DRIFT_STATE_REFERENCE, 0);
	schema(in, "tenants", "t2", DRIFT_STATE_UNREACHABLE, 0);
	schema(in, "tenants", "t3", DRIFT_STATE_SAME, 0);
}

/* dev, staging and prod, one database each, current. */
static void three_current(struct inputs *in)
{
	target(in, env(in, "dev", false), "dev", STATUS_CURRENT, "", NULL);
	target(in, env(in, "staging", false), "staging", STATUS_CURRENT, "", NULL);
	target(in, env(in, "prod", false), "prod", STATUS_CURRENT, "", NULL);
}

static void s_drift(struct inputs *in)
{
	three_current(in);
	schema(in, "dev", "dev", DRIFT_STATE_REFERENCE, 0);
	schema(in, "staging", "staging", DRIFT_STATE_DRIFT, 1);
	strvec_push(&schema(in, "prod", "prod", DRIFT_STATE_SAME, 0)->invalid_indexes,
		    "public.t_idx");
	in->lint.revisions = 4;
}

static void s_fleet_drift(struct inputs *in)
{
	struct status_env *e = env(in, "tenants", true);

	target(in, e, "t1", STATUS_CURRENT, "", NULL);
	target(in, e, "t2", STATUS_CURRENT, "", NULL);
	target(in, e, "t3", STATUS_CURRENT, "", NULL);
	target(in, env(in, "solo", false), "solo", STATUS_CURRENT, "", NULL);
	schema(in, "tenants", "t1", DRIFT_STATE_REFERENCE, 0);
	schema(in, "tenants", "t2", DRIFT_STATE_DRIFT, 12);
	schema(in, "tenants", "t3", DRIFT_STATE_UNREACHABLE, 0);
	schema(in, "solo", "solo", DRIFT_STATE_NOT_COMPARED, 0);
}

static void s_checksums(struct inputs *in)
{
	struct status_env *e;

	target(in, env(in, "dev", false), "dev", STATUS_CURRENT, "", NULL);
	mismatch(in, "a1");
	target(in, env(in, "staging", false), "staging", STATUS_CURRENT, "", NULL);
	in->checksums[in->targets_nr - 1].error =
		"environment \"staging\": could not read the ledger: permission denied";
	e = env(in, "tenants", true);
	target(in, e, "t1", STATUS_CURRENT, "", NULL);
	mismatch(in, "a1");
	mismatch(in, "a2");
	target(in, e, "t2", STATUS_CURRENT, "", NULL);
	schema(in, "dev", "dev", DRIFT_STATE_REFERENCE, 0);
	schema(in, "staging", "staging", DRIFT_STATE_SAME, 0);
	schema(in, "tenants", "t1", DRIFT_STATE_SAME, 0);
	schema(in, "tenants", "t2", DRIFT_STATE_SAME, 0);
}

static void s_lint(struct inputs *in)
{
	three_green(in);
	in->lint.revisions = 1;
	diag_add(&in->lint.findings, DIAG_ERROR, "MS040", "versions/b_x.py", 4, NULL, NULL,
		 "\"versions/b_x.py\": revision is not a string literal");
	diag_add(&in->lint.findings, DIAG_ERROR, "MS001", "versions/c_x.sql", 0, NULL, NULL,
		 "several heads");
	diag_add(&in->lint.findings, DIAG_ERROR, "MS004", NULL, 0, NULL, NULL, "a cycle");
	diag_add(&in->lint.findings, DIAG_WARNING, "MS021", "versions/d_x.py", 0, NULL, NULL,
		 "no downgrade()");
	in->lint.errors = 3;
	in->lint.warnings = 1;
}

/* A safety finding on a pending revision fails the lint though it is a warning. */
static void s_safety(struct inputs *in)
{
	struct diag *d;

	three_green(in);
	d = diag_add(&in->lint.findings, DIAG_WARNING, "MS101", "versions/a4_x.sql", 3, "a4",
		     NULL, "CREATE INDEX without CONCURRENTLY");
	d->column = 1;
	d->rule = xstrdup("require-concurrent-index");
	in->lint.warnings = 1;
}

static void s_graph_error(struct inputs *in)
{
	target(in, env(in, "dev", false), "dev", STATUS_CURRENT, "", NULL);
	target(in, env(in, "down", false), "down", STATUS_UNREACHABLE, "", "timeout after 2 s");
	in->graph_error = "revision \"b\": down_revision \"a\" not found";
	diag_add(&in->lint.findings, DIAG_ERROR, "MS040", "versions/a_x.py", 4, NULL, NULL,
		 "revision is not a string literal");
	in->lint.revisions = 2;
	in->lint.errors = 1;
}

static void s_combined(struct inputs *in)
{
	target(in, env(in, "dev", false), "dev", STATUS_CURRENT, "", NULL);
	target(in, env(in, "staging", false), "staging", STATUS_DIVERGED, "",
	       "holds b2, not on the way to a4");
	target(in, env(in, "prod", false), "prod", STATUS_UNKNOWN, "", NULL);
	mismatch(in, "a3");
	schema(in, "dev", "dev", DRIFT_STATE_REFERENCE, 0);
	schema(in, "staging", "staging", DRIFT_STATE_DRIFT, 2);
	schema(in, "prod", "prod", DRIFT_STATE_NOT_COMPARED, 0);
	violation(in, "prod", "staging");
	diag_add(&in->lint.findings, DIAG_ERROR, "MS003", "versions/a_x.sql", 1, NULL, NULL,
		 "duplicate revision id");
	in->lint.revisions = 5;
	in->lint.errors = 1;
}

/* ---- the digest: what the report says, one line a case and one a finding */

static void digest_case(struct strbuf *sb, const struct nightly_report *r, const char *who,
			enum nightly_check check, const struct nightly_case *k)
{
	static const char *const severities[] = { "problem", "note", "skip" };

	strbuf_addf(sb, "%s %s: %s (%s)\n", who, nightly_check_name(check),
		    nightly_outcome_name(k->outcome), k->summary);
	for (size_t i = k->first; i < k->first + k->nr; i++) {
		const struct nightly_finding *f = &r->findings[i];

		assert_int_equal(f->check, check);
		assert_true(!strcmp_null(f->environment, check == NIGHTLY_LINT ? NULL : who));
		strbuf_addf(sb, "  %s%s%s%s %s\n", severities[f->severity],
			    f->database ? " [" : "", f->database ? f->database : "",
			    f->database ? "]" : "", f->message);
	}
}

static char *digest(const struct nightly_report *r)
{
	struct strbuf sb = STRBUF_INIT;
	size_t findings = 0, problems = 0;

	for (size_t i = 0; i < r->envs_nr; i++)
		for (size_t k = 0; k < NIGHTLY_ENV_CHECK_NR; k++) {
			const struct nightly_case *c = &r->envs[i].cases[k];

			/* the cases cover the findings in order, without gaps */
			assert_int_equal(c->first, findings);
			findings += c->nr;
			digest_case(&sb, r, r->envs[i].name, (enum nightly_check)k, c);
		}
	assert_int_equal(r->lint.first, findings);
	findings += r->lint.nr;
	assert_int_equal(findings, r->findings_nr);
	digest_case(&sb, r, "scripts", NIGHTLY_LINT, &r->lint);
	for (size_t i = 0; i < r->findings_nr; i++)
		problems += r->findings[i].severity == NIGHTLY_PROBLEM;
	assert_int_equal(problems, r->problems);
	strbuf_addf(&sb, "%s, %zu problem%s\n", r->verdict == NIGHTLY_PASS ? "pass" : "fail",
		    r->problems, r->problems == 1 ? "" : "s");
	return strbuf_detach(&sb, NULL);
}

/* The digest of an environment that passed every check. */
#define PASSED(env, status, drift) \
	env " reachable: passed (yes)\n" \
	env " status: passed (" status ")\n" \
	env " order: passed (ok)\n" \
	env " drift: passed (" drift ")\n" \
	env " checksums: passed (ok)\n"

/* The digest of the checks after "reachable", each skipped for why. */
#define SKIPPED(env, why) \
	env " status: skipped (-)\n  skip " why "\n" \
	env " order: skipped (-)\n  skip " why "\n" \
	env " drift: skipped (-)\n  skip " why "\n" \
	env " checksums: skipped (-)\n  skip " why "\n"

struct nightly_test {
	const char *name;
	void (*setup)(struct inputs *in);
	const char *expect;
};

static const struct nightly_test tests[] = {
	{ "all green", s_green,
	  PASSED("dev", "current", "reference")
	  PASSED("staging", "current", "same")
	  PASSED("prod", "current", "same")
	  "scripts lint: passed (4 revisions, 0 errors, 1 warning)\n"
	  "pass, 0 problems\n" },
	{ "diverged and unknown", s_diverged,
	  PASSED("dev", "current", "not compared")
	  "staging reachable: passed (yes)\n"
	  "staging status: failed (diverged)\n"
	  "  problem [staging] environment \"staging\": diverged: holds b2, not on the way to a4\n"
	  "staging order: passed (ok)\n"
	  "staging drift: passed (not compared)\n"
	  "staging checksums: passed (ok)\n"
	  "prod reachable: passed (yes)\n"
	  "prod status: failed (unknown)\n"
	  "  problem [prod] environment \"prod\": unknown\n"
	  "prod order: passed (ok)\n"
	  "prod drift: passed (not compared)\n"
	  "prod checksums: passed (ok)\n"
	  "scripts lint: passed (0 revisions, 0 errors, 0 warnings)\n"
	  "fail, 2 problems\n" },
	{ "pending is not a problem", s_pending,
	  PASSED("dev", "behind, 1 pending", "not compared")
	  PASSED("new", "uninitialized, 4 pending", "not compared")
	  "scripts lint: passed (0 revisions, 0 errors, 0 warnings)\n"
	  "pass, 0 problems\n" },
	{ "pending with fail_on_pending", s_pending_fail,
	  "dev reachable: passed (yes)\n"
	  "dev status: failed (behind, 1 pending)\n"
	  "  problem [dev] environment \"dev\": behind, 1 revision pending\n"
	  "dev order: passed (ok)\n"
	  "dev drift: passed (not compared)\n"
	  "dev checksums: passed (ok)\n"
	  "new reachable: passed (yes)\n"
	  "new status: failed (uninitialized, 4 pending)\n"
	  "  problem [new] environment \"new\": uninitialized, 4 revisions pending\n"
	  "new order: passed (ok)\n"
	  "new drift: passed (not compared)\n"
	  "new checksums: passed (ok)\n"
	  "scripts lint: passed (0 revisions, 0 errors, 0 warnings)\n"
	  "fail, 2 problems\n" },
	{ "out of order", s_out_of_order,
	  PASSED("staging", "behind, 1 pending", "not compared")
	  "prod reachable: passed (yes)\n"
	  "prod status: passed (current)\n"
	  "prod order: failed (violation)\n"
	  "  problem environment \"prod\": holds a4, which \"staging\" does not\n"
	  "prod drift: passed (not compared)\n"
	  "prod checksums: passed (ok)\n"
	  "scripts lint: passed (0 revisions, 0 errors, 0 warnings)\n"
	  "fail, 1 problem\n" },
	{ "unreachable", s_unreachable,
	  PASSED("dev", "current", "not compared")
	  "staging reachable: failed (no)\n"
	  "  problem [staging] environment \"staging\": unreachable: timeout after 2 s\n"
	  SKIPPED("staging", "unreachable")
	  "prod reachable: failed (no)\n"
	  "  problem [prod] environment \"prod\": could not connect: connection refused\n"
	  SKIPPED("prod", "unreachable")
	  "tenants reachable: failed (no)\n"
	  "  problem environment \"tenants\": discovery failed: permission denied\n"
	  SKIPPED("tenants", "unreachable")
	  "scripts lint: passed (0 revisions, 0 errors, 0 warnings)\n"
	  "fail, 3 problems\n" },
	/*
	 * A fleet's state is its worst database's, so one unreachable tenant
	 * makes the checks the others passed "skipped": what the command did
	 * before the rules moved here.
	 */
	{ "a fleet with one database unreachable", s_fleet_unreachable,
	  "tenants reachable: failed (1 of 3 unreachable)\n"
	  "  problem [t2] environment \"tenants\" (t2): unreachable: no answer\n"
	  SKIPPED("tenants", "unreachable")
	  "scripts lint: passed (0 revisions, 0 errors, 0 warnings)\n"
	  "fail, 1 problem\n" },
	{ "drift and an invalid index", s_drift,
	  PASSED("dev", "current", "reference")
	  "staging reachable: passed (yes)\n"
	  "staging status: passed (current)\n"
	  "staging order: passed (ok)\n"
	  "staging drift: failed (drift (1 difference))\n"
	  "  problem [staging] environment \"staging\": drift: column public.t.c00: extra\n"
	  "staging checksums: passed (ok)\n"
	  "prod reachable: passed (yes)\n"
	  "prod status: passed (current)\n"
	  "prod order: passed (ok)\n"
	  "prod drift: failed (problems)\n"
	  "  problem [prod] environment \"prod\": INVALID index public.t_idx\n"
	  "prod checksums: passed (ok)\n"
	  "scripts lint: passed (4 revisions, 0 errors, 0 warnings)\n"
	  "fail, 2 problems\n" },
	{ "drift in a fleet: ten differences shown, a schema not read", s_fleet_drift,
	  "tenants reachable: passed (yes)\n"
	  "tenants status: passed (current)\n"
	  "tenants order: passed (ok)\n"
	  "tenants drift: failed (1 of 3 drifted)\n"
	  "  problem [t2] environment \"tenants\" (t2): drift: column public.t.c00: extra\n"
	  "  problem [t2] environment \"tenants\" (t2): drift: column public.t.c01: extra\n"
	  "  problem [t2] environment \"tenants\" (t2): drift: column public.t.c02: extra\n"
	  "  problem [t2] environment \"tenants\" (t2): drift: column public.t.c03: extra\n"
	  "  problem [t2] environment \"tenants\" (t2): drift: column public.t.c04: extra\n"
	  "  problem [t2] environment \"tenants\" (t2): drift: column public.t.c05: extra\n"
	  "  problem [t2] environment \"tenants\" (t2): drift: column public.t.c06: extra\n"
	  "  problem [t2] environment \"tenants\" (t2): drift: column public.t.c07: extra\n"
	  "  problem [t2] environment \"tenants\" (t2): drift: column public.t.c08: extra\n"
	  "  problem [t2] environment \"tenants\" (t2): drift: column public.t.c09: extra\n"
	  "  note [t2] environment \"tenants\" (t2): ... and 2 more differences\n"
	  "  problem [t3] environment \"tenants\" (t3): could not read the schema: connection refused\n"
	  "tenants checksums: passed (ok)\n"
	  PASSED("solo", "current", "not compared")
	  "scripts lint: passed (0 revisions, 0 errors, 0 warnings)\n"
	  "fail, 11 problems\n" },
	{ "checksum mismatches and an unreadable ledger", s_checksums,
	  "dev reachable: passed (yes)\n"
	  "dev status: passed (current)\n"
	  "dev order: passed (ok)\n"
	  "dev drift: passed (reference)\n"
	  "dev checksums: failed (1 mismatch)\n"
	  "  problem [dev] environment \"dev\": revision a1: \"versions/a1_x.sql\" changed after it "
	  "was applied (sha256 aaaaaaaaaaaa then, bbbbbbbbbbbb now)\n"
	  "staging reachable: passed (yes)\n"
	  "staging status: passed (current)\n"
	  "staging order: passed (ok)\n"
	  "staging drift: passed (same)\n"
	  "staging checksums: failed (unreadable)\n"
	  "  problem [staging] environment \"staging\": could not read the ledger: permission denied\n"
	  "tenants reachable: passed (yes)\n"
	  "tenants status: passed (current)\n"
	  "tenants order: passed (ok)\n"
	  "tenants drift: passed (same)\n"
	  "tenants checksums: failed (2 mismatches)\n"
	  "  problem [t1] environment \"tenants\" (t1): revision a1: \"versions/a1_x.sql\" "
	  "changed after it was applied (sha256 aaaaaaaaaaaa then, bbbbbbbbbbbb now)\n"
	  "  problem [t1] environment \"tenants\" (t1): revision a2: \"versions/a2_x.sql\" "
	  "changed after it was applied (sha256 aaaaaaaaaaaa then, bbbbbbbbbbbb now)\n"
	  "scripts lint: passed (0 revisions, 0 errors, 0 warnings)\n"
	  "fail, 4 problems\n" },
	{ "lint errors count, warnings do not", s_lint,
	  PASSED("dev", "current", "reference")
	  PASSED("staging", "current", "same")
	  PASSED("prod", "current", "same")
	  "scripts lint: failed (1 revision, 3 errors, 1 warning)\n"
	  "  problem versions/b_x.py:4: MS040 \"versions/b_x.py\": revision is not a string literal\n"
	  "  problem versions/c_x.sql: MS001 several heads\n"
	  "  problem MS004 a cycle\n"
	  "fail, 3 problems\n" },
	{ "a safety finding fails the lint, and the summary says so", s_safety,
	  PASSED("dev", "current", "reference")
	  PASSED("staging", "current", "same")
	  PASSED("prod", "current", "same")
	  "scripts lint: failed (4 revisions, 0 errors, 1 warning; 1 safety finding on "
	  "revisions some database still needs)\n"
	  "  problem versions/a4_x.sql:3:1: MS101 require-concurrent-index (revision a4): "
	  "CREATE INDEX without CONCURRENTLY\n"
	  "fail, 1 problem\n" },
	{ "no graph: reachability and lint only", s_graph_error,
	  "dev reachable: passed (yes)\n"
	  SKIPPED("dev", "not run: the revision graph could not be built")
	  "down reachable: failed (no)\n"
	  "  problem [down] environment \"down\": unreachable: timeout after 2 s\n"
	  SKIPPED("down", "unreachable")
	  "scripts lint: failed (2 revisions, 1 error, 0 warnings)\n"
	  "  problem versions/a_x.py:4: MS040 revision is not a string literal\n"
	  "  problem the revision graph could not be built (revision \"b\": down_revision \"a\" "
	  "not found): status, order, drift and checksums were not run\n"
	  "fail, 3 problems\n" },
	{ "everything at once", s_combined,
	  PASSED("dev", "current", "reference")
	  "staging reachable: passed (yes)\n"
	  "staging status: failed (diverged)\n"
	  "  problem [staging] environment \"staging\": diverged: holds b2, not on the way to a4\n"
	  "staging order: passed (ok)\n"
	  "staging drift: failed (drift (2 differences))\n"
	  "  problem [staging] environment \"staging\": drift: column public.t.c00: extra\n"
	  "  problem [staging] environment \"staging\": drift: column public.t.c01: extra\n"
	  "staging checksums: passed (ok)\n"
	  "prod reachable: passed (yes)\n"
	  "prod status: failed (unknown)\n"
	  "  problem [prod] environment \"prod\": unknown\n"
	  "prod order: failed (violation)\n"
	  "  problem environment \"prod\": holds a4, which \"staging\" does not\n"
	  "prod drift: passed (not compared)\n"
	  "prod checksums: failed (1 mismatch)\n"
	  "  problem [prod] environment \"prod\": revision a3: \"versions/a3_x.sql\" changed after it "
	  "was applied (sha256 aaaaaaaaaaaa then, bbbbbbbbbbbb now)\n"
	  "scripts lint: failed (5 revisions, 1 error, 0 warnings)\n"
	  "  problem versions/a_x.sql:1: MS003 duplicate revision id\n"
	  "fail, 7 problems\n" },
};

static void test_rules(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(tests); i++) {
		struct inputs in;
		struct nightly_input input;
		struct nightly_report report;
		char *got;

		inputs_init(&in);
		tests[i].setup(&in);
		nightly_input_init(&input);
		input.status = &in.status;
		input.graph_error = in.graph_error;
		input.drift = &in.drift;
		input.lint = &in.lint;
		input.checksums = in.checksums;
		input.fail_on_pending = in.fail_on_pending;
		nightly_report_init(&report);
		nightly_judge(&report, &input);
		/* judging again into the same report starts afresh */
		nightly_judge(&report, &input);
		got = digest(&report);
		if (strcmp(got, tests[i].expect)) {
			print_error("%s:\n--- expected\n%s", tests[i].name, tests[i].expect);
			print_error("--- got\n%s", got);
			fail_msg("%s: the judgement differs", tests[i].name);
		}
		free(got);
		nightly_report_release(&report);
		inputs_release(&in);
	}
}

/* No drift read, no lint run, no ledgers: only what status says. */
static void test_missing_inputs(void **state)
{
	struct inputs in;
	struct nightly_input input;
	struct nightly_report report;
	char *got;

	(void)state;
	inputs_init(&in);
	target(&in, env(&in, "dev", false), "dev", STATUS_CURRENT, "", NULL);
	nightly_input_init(&input);
	input.status = &in.status;
	nightly_report_init(&report);
	nightly_judge(&report, &input);
	got = digest(&report);
	assert_string_equal(got,
			    "dev reachable: passed (yes)\n"
			    "dev status: passed (current)\n"
			    "dev order: passed (ok)\n"
			    "dev drift: passed (not compared)\n"
			    "dev checksums: passed (ok)\n"
			    "scripts lint: passed (0 revisions, 0 errors, 0 warnings)\n"
			    "pass, 0 problems\n");
	free(got);
	nightly_report_release(&report);
	inputs_release(&in);
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(nightly_check_name(NIGHTLY_REACHABLE), "reachable");
	assert_string_equal(nightly_check_name(NIGHTLY_CHECKSUMS), "checksums");
	assert_string_equal(nightly_check_name(NIGHTLY_LINT), "lint");
	assert_string_equal(nightly_outcome_name(NIGHTLY_PASSED), "passed");
	assert_string_equal(nightly_outcome_name(NIGHTLY_FAILED), "failed");
	assert_string_equal(nightly_outcome_name(NIGHTLY_SKIPPED), "skipped");
}

int main(void)
{
	const struct CMUnitTest tests_list[] = {
		cmocka_unit_test(test_rules),
		cmocka_unit_test(test_missing_inputs),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests_list, NULL, NULL);
}
