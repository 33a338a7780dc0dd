/*
 * Unit tests of the plan core: plan hash stability and sensitivity (each
 * input changes it), the rollout order check, gate evaluation (distinct
 * approvers, allow-list, expiry, stale hash, other environment, soak) and
 * the ledger checksum comparison. No file or server is involved.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "migsync/ledger.h"
#include "migsync/plan.h"
#include "migsync/revgraph.h"
#include "migsync/scripts.h"
#include "migsync/util.h"

#define HASH_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define HASH_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define NOW 1700000000000LL

/* ---- plan hash */

/* A database at rows (space separated) with steps "rev:sha rev:sha". */
static void make_db(struct plan_db *db, const char *identity, const char *rows,
		    const char *steps, bool up)
{
	char *copy, *tok, *save = NULL;

	plan_db_init(db);
	db->identity = identity ? xstrdup(identity) : NULL;
	copy = xstrdup(rows);
	for (tok = strtok_r(copy, " ", &save); tok; tok = strtok_r(NULL, " ", &save))
		strvec_push(&db->rows, tok);
	free(copy);
	/* steps borrow their strings: keep them in static storage */
	copy = xstrdup(steps);
	save = NULL;
	for (tok = strtok_r(copy, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
		char *colon = strchr(tok, ':');

		*colon = '\0';
		plan_db_add_step(db, strvec_push(&db->in_progress, tok),
				 strvec_push(&db->end_rows, colon + 1), up);
	}
	free(copy);
	/* in_progress/end_rows served as string storage only; the hash ignores them */
}

static void hash_of(char out[65], const char *env, const char *target, struct plan_db *dbs,
		    size_t nr)
{
	struct strvec t = STRVEC_INIT;

	if (target)
		strvec_push(&t, target);
	plan_hash_compute(out, env, &t, dbs, nr);
	strvec_release(&t);
}

static void test_hash_stable(void **state)
{
	struct plan_db a[2], b[2];
	char h1[65], h2[65];

	(void)state;
	make_db(&a[0], "db1 oid=1", "r1", "r2:s2 r3:s3", true);
	make_db(&a[1], "db2 oid=2", "r1", "r2:s2", true);
	/* the same databases in another order: the hash sorts by identity */
	make_db(&b[0], "db2 oid=2", "r1", "r2:s2", true);
	make_db(&b[1], "db1 oid=1", "r1", "r2:s2 r3:s3", true);
	hash_of(h1, "staging", "r3", a, 2);
	hash_of(h2, "staging", "r3", b, 2);
	assert_string_equal(h1, h2);
	assert_int_equal(strlen(h1), 64);
	assert_true(plan_hash_valid(h1));
	hash_of(h2, "staging", "r3", a, 2);
	assert_string_equal(h1, h2);
	for (size_t i = 0; i < 2; i++) {
		plan_db_release(&a[i]);
		plan_db_release(&b[i]);
	}
}

/* Each input of the hash changes it. */
static void test_hash_sensitive(void **state)
{
	struct plan_db base, other;
	char h0[65], h[65];

	(void)state;
	make_db(&base, "db1 oid=1", "r1", "r2:s2 r3:s3", true);
	hash_of(h0, "staging", "r3", &base, 1);

	hash_of(h, "prod", "r3", &base, 1);		/* environment */
	assert_string_not_equal(h0, h);
	hash_of(h, "staging", "r2", &base, 1);		/* target */
	assert_string_not_equal(h0, h);

	make_db(&other, "db1 oid=9", "r1", "r2:s2 r3:s3", true);	/* database identity */
	hash_of(h, "staging", "r3", &other, 1);
	assert_string_not_equal(h0, h);
	plan_db_release(&other);

	make_db(&other, "db1 oid=1", "r0", "r2:s2 r3:s3", true);	/* current heads */
	hash_of(h, "staging", "r3", &other, 1);
	assert_string_not_equal(h0, h);
	plan_db_release(&other);

	make_db(&other, "db1 oid=1", "r1", "r2:s2 r3:sX", true);	/* a file changed */
	hash_of(h, "staging", "r3", &other, 1);
	assert_string_not_equal(h0, h);
	plan_db_release(&other);

	make_db(&other, "db1 oid=1", "r1", "r2:s2 r3:s3 r4:s4", true);	/* a revision added */
	hash_of(h, "staging", "r3", &other, 1);
	assert_string_not_equal(h0, h);
	plan_db_release(&other);

	make_db(&other, "db1 oid=1", "r1", "r2:s2 r3:s3", false);	/* direction */
	hash_of(h, "staging", "r3", &other, 1);
	assert_string_not_equal(h0, h);
	plan_db_release(&other);

	make_db(&other, "db1 oid=1", "r1", "r3:s3 r2:s2", true);	/* step order */
	hash_of(h, "staging", "r3", &other, 1);
	assert_string_not_equal(h0, h);
	plan_db_release(&other);

	/* field boundaries: "r1" + "0" is not "r10" */
	make_db(&other, "db1 oid=1", "r1 0", "r2:s2 r3:s3", true);
	hash_of(h, "staging", "r3", &other, 1);
	assert_string_not_equal(h0, h);
	plan_db_release(&other);

	plan_db_release(&base);
}

static void test_hash_valid(void **state)
{
	(void)state;
	assert_true(plan_hash_valid(HASH_A));
	assert_false(plan_hash_valid("abc"));
	assert_false(plan_hash_valid(HASH_A "a"));
	assert_false(plan_hash_valid("zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz"));
}

/* A stamp's hash: stable under database order, never a plan's hash, sensitive to its rows. */
static void test_stamp_hash(void **state)
{
	struct plan_db a[2], b[2];
	struct strvec to = STRVEC_INIT;
	char h1[65], h2[65], plan[65];

	(void)state;
	make_db(&a[0], "db1 oid=1", "r1", "", true);
	make_db(&a[1], "db2 oid=2", "r2", "", true);
	make_db(&b[0], "db2 oid=2", "r2", "", true);
	make_db(&b[1], "db1 oid=1", "r1", "", true);
	strvec_push(&to, "r3");
	plan_stamp_hash(h1, "prod", NULL, &to, a, 2);
	plan_stamp_hash(h2, "prod", NULL, &to, b, 2);
	assert_string_equal(h1, h2);
	assert_true(plan_hash_valid(h1));
	plan_hash_compute(plan, "prod", &to, a, 2);
	assert_string_not_equal(h1, plan);
	plan_stamp_hash(h2, "prod", NULL, &to, a, 1);
	assert_string_not_equal(h1, h2);
	strvec_release(&to);
	strvec_push(&to, "r4");
	plan_stamp_hash(h2, "prod", NULL, &to, a, 2);
	assert_string_not_equal(h1, h2);
	strvec_release(&to);
	for (size_t i = 0; i < 2; i++) {
		plan_db_release(&a[i]);
		plan_db_release(&b[i]);
	}
}

/* ---- graphs for the order check and checksums */

struct fixture {
	struct script_set scripts;
	struct revgraph *g;
};

static void add_rev(struct script_set *set, const char *rev, const char *down, const char *sha)
{
	struct script *s;
	char *copy, *tok, *save = NULL;

	ALLOC_GROW(set->items, set->nr + 1, set->alloc);
	s = &set->items[set->nr++];
	script_init(s);
	s->kind = SCRIPT_SQL;
	s->filename = xstrfmt("%s_x.sql", rev);
	s->path = xstrfmt("versions/%s", s->filename);
	s->revision = xstrdup(rev);
	s->revision_line = 1;
	snprintf(s->sha256, sizeof(s->sha256), "%s", sha ? sha : "");
	copy = xstrdup(down);
	for (tok = strtok_r(copy, " ", &save); tok; tok = strtok_r(NULL, " ", &save))
		strvec_push(&s->down_revisions, tok);
	free(copy);
}

/* r1 - r2 - r3 - r4, and a branch x3 off r2 */
static int setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	struct ms_error err = MS_ERROR_INIT;

	script_set_init(&f->scripts);
	add_rev(&f->scripts, "r1", "", "s1");
	add_rev(&f->scripts, "r2", "r1", "s2");
	add_rev(&f->scripts, "r3", "r2", "s3");
	add_rev(&f->scripts, "r4", "r3", "s4");
	add_rev(&f->scripts, "x3", "r2", "sx");
	if (revgraph_build(&f->g, &f->scripts, NULL, &err) < 0) {
		fprintf(stderr, "%s\n", err.message);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	revgraph_free(f->g);
	script_set_release(&f->scripts);
	free(f);
	return 0;
}

static void rows(struct strvec *v, const char *s)
{
	char *copy = xstrdup(s), *tok, *save = NULL;

	strvec_init(v);
	for (tok = strtok_r(copy, " ", &save); tok; tok = strtok_r(NULL, " ", &save))
		strvec_push(v, tok);
	free(copy);
}

static void test_order(void **state)
{
	struct fixture *f = *state;
	struct strvec prev[2], end[2], missing = STRVEC_INIT;

	/* the previous stage holds r3: this stage may go to r3, not to r4 */
	rows(&prev[0], "r3");
	rows(&end[0], "r3");
	assert_true(plan_order_check(&missing, f->g, prev, 1, end, 1));
	assert_int_equal(missing.nr, 0);
	strvec_release(&end[0]);
	rows(&end[0], "r4");
	assert_false(plan_order_check(&missing, f->g, prev, 1, end, 1));
	assert_int_equal(missing.nr, 1);
	assert_string_equal(missing.items[0], "r4");
	strvec_release(&missing);

	/* a branch the previous stage does not hold */
	strvec_release(&end[0]);
	rows(&end[0], "x3");
	assert_false(plan_order_check(&missing, f->g, prev, 1, end, 1));
	assert_int_equal(missing.nr, 1);
	assert_string_equal(missing.items[0], "x3");
	strvec_release(&missing);

	/* a fleet before: what every database holds (one tenant at r2 holds it back) */
	rows(&prev[1], "r2");
	strvec_release(&end[0]);
	rows(&end[0], "r3");
	assert_false(plan_order_check(&missing, f->g, prev, 2, end, 1));
	assert_string_equal(missing.items[0], "r3");
	strvec_release(&missing);

	/* a fleet now: the union of its end states */
	rows(&end[1], "r2");
	strvec_release(&prev[1]);
	rows(&prev[1], "r3 x3");
	assert_true(plan_order_check(&missing, f->g, prev, 2, end, 2));
	strvec_release(&end[1]);
	rows(&end[1], "r4");
	assert_false(plan_order_check(&missing, f->g, prev, 2, end, 2));
	strvec_release(&missing);

	/* an uninitialized previous stage holds nothing; unknown rows are ignored */
	strvec_release(&prev[0]);
	rows(&prev[0], "zz");
	strvec_release(&end[1]);
	rows(&end[1], "r1");
	assert_false(plan_order_check(&missing, f->g, prev, 1, &end[1], 1));
	assert_string_equal(missing.items[0], "r1");
	strvec_release(&missing);

	/* no previous stage: nothing to compare with */
	assert_true(plan_order_check(&missing, f->g, NULL, 0, end, 2));

	for (size_t i = 0; i < 2; i++) {
		strvec_release(&prev[i]);
		strvec_release(&end[i]);
	}
}

/* ---- gates */

static void approval(struct approval *a, const char *hash, const char *env, const char *who,
		     int64_t expires)
{
	approval_init(a);
	a->plan_hash = xstrdup(hash);
	a->environment = xstrdup(env);
	a->approver = xstrdup(who);
	a->created_at_ms = NOW - 1000;
	a->expires_at_ms = expires;
}

static void gate_in(struct gate_input *in, const struct inventory_gate *gate,
		    const struct approval *list, size_t nr)
{
	memset(in, 0, sizeof(*in));
	in->gate = gate;
	in->environment = "prod";
	in->plan_hash = HASH_A;
	in->approvals = list;
	in->approvals_nr = nr;
	in->now_ms = NOW;
}

/* Each approval state, table-driven: the first that applies wins. */
static void test_approval_states(void **state)
{
	static const struct {
		int64_t expires, revoked;
		const char *used_by;		/* plan hash of a ledger entry, or NULL */
		enum ledger_outcome outcome;
		const char *plan_now;
		enum approval_state want;
	} cases[] = {
		{ 0, 0, NULL, LEDGER_APPLIED, HASH_A, APPROVAL_VALID },
		{ 0, 0, NULL, LEDGER_APPLIED, NULL, APPROVAL_VALID },
		{ 0, 0, NULL, LEDGER_APPLIED, HASH_B, APPROVAL_STALE },
		{ NOW - 1, 0, NULL, LEDGER_APPLIED, HASH_B, APPROVAL_EXPIRED },
		{ NOW + 1, 0, NULL, LEDGER_APPLIED, HASH_A, APPROVAL_VALID },
		{ NOW - 1, 0, HASH_A, LEDGER_APPLIED, HASH_B, APPROVAL_USED },
		{ 0, 0, HASH_A, LEDGER_STAMPED, HASH_B, APPROVAL_USED },
		{ 0, 0, HASH_A, LEDGER_FAILED, HASH_A, APPROVAL_VALID },
		{ 0, 0, HASH_B, LEDGER_APPLIED, HASH_A, APPROVAL_VALID },
		{ 0, NOW - 5, HASH_A, LEDGER_APPLIED, HASH_A, APPROVAL_REVOKED },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct approval a;
		struct ledger_entry e;

		approval(&a, HASH_A, "prod", "alice", cases[i].expires);
		a.revoked_at_ms = cases[i].revoked;
		ledger_entry_init(&e);
		e.plan_hash = cases[i].used_by ? xstrdup(cases[i].used_by) : NULL;
		e.outcome = cases[i].outcome;
		if (approval_state_of(&a, cases[i].plan_now, &e, 1, NOW) != cases[i].want)
			fail_msg("case %zu: %s, expected %s", i,
				 approval_state_name(approval_state_of(&a, cases[i].plan_now, &e, 1, NOW)),
				 approval_state_name(cases[i].want));
		approval_release(&a);
		ledger_entry_release(&e);
	}
	assert_string_equal(approval_state_name(APPROVAL_REVOKED), "revoked");
}

static void test_gate_open(void **state)
{
	struct inventory_gate gate;
	struct gate_result r;
	struct gate_input in;

	(void)state;
	memset(&gate, 0, sizeof(gate));
	strvec_init(&gate.approvers);
	gate_result_init(&r);
	gate_in(&in, &gate, NULL, 0);
	gate_evaluate(&r, &in);
	assert_true(r.passed);
	assert_false(r.gated);
	gate_result_release(&r);
}

static void test_gate_distinct(void **state)
{
	struct inventory_gate gate;
	struct approval list[4];
	struct gate_result r;
	struct gate_input in;

	(void)state;
	memset(&gate, 0, sizeof(gate));
	strvec_init(&gate.approvers);
	gate.approvals = 2;
	gate_result_init(&r);
	approval(&list[0], HASH_A, "prod", "alice", 0);
	approval(&list[1], HASH_A, "prod", "alice", 0);
	gate_in(&in, &gate, list, 2);
	gate_evaluate(&r, &in);
	assert_false(r.passed);
	assert_true(r.gated);
	assert_int_equal(r.approved_by.nr, 1);

	approval(&list[2], HASH_A, "prod", "bob", 0);
	gate_in(&in, &gate, list, 3);
	gate_evaluate(&r, &in);
	assert_true(r.passed);
	assert_int_equal(r.approved_by.nr, 2);
	assert_string_equal(r.approved_by.items[0], "alice");
	assert_string_equal(r.approved_by.items[1], "bob");

	/* an upper-case hash is the same hash */
	approval(&list[3], "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "prod",
		 "carol", 0);
	gate.approvals = 3;
	gate_in(&in, &gate, list, 4);
	gate_evaluate(&r, &in);
	assert_true(r.passed);

	for (size_t i = 0; i < 4; i++)
		approval_release(&list[i]);
	gate_result_release(&r);
}

static void test_gate_refusals(void **state)
{
	struct inventory_gate gate;
	struct approval list[5];
	struct gate_result r;
	struct gate_input in;

	(void)state;
	memset(&gate, 0, sizeof(gate));
	strvec_init(&gate.approvers);
	strvec_push(&gate.approvers, "alice");
	strvec_push(&gate.approvers, "bob");
	gate.approvals = 1;
	gate_result_init(&r);
	approval(&list[0], HASH_B, "prod", "alice", 0);		/* stale hash */
	approval(&list[1], HASH_A, "staging", "alice", 0);	/* another environment */
	approval(&list[2], HASH_A, "prod", "bob", NOW);		/* expired (at now) */
	approval(&list[3], HASH_A, "prod", "mallory", 0);	/* not on the list */
	for (size_t i = 0; i < 4; i++) {
		gate_in(&in, &gate, &list[i], 1);
		gate_evaluate(&r, &in);
		assert_false(r.passed);
		assert_int_equal(r.approved_by.nr, 0);
	}
	gate_in(&in, &gate, &list[0], 1);
	gate_evaluate(&r, &in);
	assert_non_null(strstr(r.notes.items[0], "another plan"));
	gate_in(&in, &gate, &list[2], 1);
	gate_evaluate(&r, &in);
	assert_non_null(strstr(r.notes.items[0], "expired"));
	gate_in(&in, &gate, &list[3], 1);
	gate_evaluate(&r, &in);
	assert_non_null(strstr(r.notes.items[0], "approvers list"));

	/* not yet expired counts */
	approval(&list[4], HASH_A, "prod", "bob", NOW + 1);
	gate_in(&in, &gate, list, 5);
	gate_evaluate(&r, &in);
	assert_true(r.passed);
	assert_int_equal(r.approved_by.nr, 1);
	assert_string_equal(r.approved_by.items[0], "bob");

	for (size_t i = 0; i < 5; i++)
		approval_release(&list[i]);
	strvec_release(&gate.approvers);
	gate_result_release(&r);
}

static void test_gate_soak(void **state)
{
	struct inventory_gate gate;
	struct gate_result r;
	struct gate_input in;

	(void)state;
	memset(&gate, 0, sizeof(gate));
	strvec_init(&gate.approvers);
	gate.soak = 1800;
	gate_result_init(&r);

	gate_in(&in, &gate, NULL, 0);
	gate_evaluate(&r, &in);		/* no previous stage: nothing to soak */
	assert_true(r.passed);
	assert_true(r.gated);

	in.has_previous = true;
	in.previous = "staging";
	gate_evaluate(&r, &in);		/* the ledger cannot say */
	assert_false(r.passed);
	assert_true(r.soak_unknown);
	assert_non_null(strstr(r.notes.items[r.notes.nr - 1],
			       "cannot verify the soak of 30m: environment \"staging\" holds the target"));

	in.held_since_known = true;
	in.held_since_ms = NOW - 600 * 1000;
	gate_evaluate(&r, &in);
	assert_false(r.passed);
	assert_false(r.soak_unknown);
	assert_int_equal(r.soak_remaining, 1200);
	assert_string_equal(r.notes.items[r.notes.nr - 1],
			    "soak: environment \"staging\" has held the target for 10m of 30m; wait 20m more");

	/* the previous stage gets the target in the same run */
	in.held_since_ms = NOW;
	in.previous_planned = true;
	gate_evaluate(&r, &in);
	assert_false(r.passed);
	assert_string_equal(r.notes.items[r.notes.nr - 1],
			    "soak: environment \"staging\" gets the target in this run and must then hold it for 30m");
	in.previous_planned = false;

	/* a clock ahead of the ledger's: never more than the soak to wait */
	in.held_since_ms = NOW + 60 * 1000;
	gate_evaluate(&r, &in);
	assert_int_equal(r.soak_remaining, 1800);

	in.held_since_ms = NOW - 1800 * 1000;
	gate_evaluate(&r, &in);
	assert_true(r.passed);
	assert_int_equal(r.soak_remaining, 0);
	gate_result_release(&r);
}

/* ---- checksums */

static void entry(struct ledger_entry *e, const char *rev, bool up, const char *sha,
		  enum ledger_outcome outcome)
{
	ledger_entry_init(e);
	e->revision = xstrdup(rev);
	e->up = up;
	e->sha256 = sha ? xstrdup(sha) : NULL;
	e->outcome = outcome;
}

static void test_checksums(void **state)
{
	struct fixture *f = *state;
	struct ledger_entry e[6];
	struct checksum_mismatch *m = NULL;
	struct strvec held;
	size_t nr = 0;

	entry(&e[0], "r1", true, "s1", LEDGER_APPLIED);
	entry(&e[1], "r2", true, "old2", LEDGER_APPLIED);	/* changed since */
	entry(&e[2], "r3", true, "old3", LEDGER_FAILED);	/* never applied */
	entry(&e[3], "r3", true, "s3", LEDGER_APPLIED);
	entry(&e[4], "x3", true, "oldx", LEDGER_APPLIED);	/* applied, then undone */
	entry(&e[5], "x3", false, "oldx", LEDGER_APPLIED);
	plan_checksum_compare(&m, &nr, f->g, e, 6, NULL);
	assert_int_equal(nr, 1);
	assert_string_equal(m[0].revision, "r2");
	assert_string_equal(m[0].applied_sha256, "old2");
	assert_string_equal(m[0].file_sha256, "s2");
	assert_string_equal(m[0].file, "versions/r2_x.sql");
	checksum_mismatches_free(m, nr);

	/* only what the database holds now */
	rows(&held, "r1");
	plan_checksum_compare(&m, &nr, f->g, e, 6, &held);
	assert_int_equal(nr, 0);
	checksum_mismatches_free(m, nr);
	strvec_release(&held);

	for (size_t i = 0; i < 6; i++)
		ledger_entry_release(&e[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hash_stable),
		cmocka_unit_test(test_hash_sensitive),
		cmocka_unit_test(test_hash_valid),
		cmocka_unit_test(test_stamp_hash),
		cmocka_unit_test_setup_teardown(test_order, setup, teardown),
		cmocka_unit_test(test_approval_states),
		cmocka_unit_test(test_gate_open),
		cmocka_unit_test(test_gate_distinct),
		cmocka_unit_test(test_gate_refusals),
		cmocka_unit_test(test_gate_soak),
		cmocka_unit_test_setup_teardown(test_checksums, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
