/*
 * Unit tests of the squash-safety rules (src/plan/squash.c): each rule of
 * consolidate --check and --stamp passing and failing, on databases
 * described by a table instead of read from a server. A blocker is
 * written "check|environment|message" ("-" for no environment).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "migsync/diag.h"
#include "migsync/drift.h"
#include "migsync/inventory.h"
#include "migsync/ledger.h"
#include "migsync/squash.h"
#include "migsync/strbuf.h"
#include "migsync/util.h"

#include "graph_fixture.h"

/* The wall clock every case judges approvals at. */
#define NOW_MS 1000000

static struct environment envs[] = {
	{ .name = (char *)"dev" },
	{ .name = (char *)"staging" },
	{ .name = (char *)"prod" },
};

/* One database as a case describes it. */
struct db_spec {
	const char *env;	/* "dev", "staging" or "prod"; NULL ends the list */
	const char *label;	/* NULL: the environment's name */
	const char *rows;	/* version rows, space-separated; NULL: not read */
	const char *error;	/* with rows NULL: why (NULL: no message) */
	const char *schema;	/* NULL: the base schema; "extra", "missing", "many", "invalid", "fp" */
	const char *ledger;	/* "OUTCOME:REVISION:HASH ...", "-" for no hash */
	const char *approvals;	/* "APPROVER:HASH:EXPIRES_MS ...", "-" for NULL */
};

struct check_case {
	const char *name;
	const char *graph;	/* graph_fixture shape; NULL: it could not be built */
	const char *graph_error;	/* with graph NULL: why (NULL: no message) */
	int lint_errors;
	struct db_spec dbs[5];
	const char *head;
	const char *reference;	/* the reference's label, or NULL */
	const char *expect;	/* the blockers, one a line */
};

/* The blockers of the first ten lint errors a case makes. */
#define LINT_TEN \
	"lint|-|MS002: ?: problem 0\n" \
	"lint|-|MS002: v/1.py: problem 1\n" \
	"lint|-|MS002: v/2.py:2: problem 2\n" \
	"lint|-|MS002: v/3.py:3: problem 3\n" \
	"lint|-|MS002: v/4.py:4: problem 4\n" \
	"lint|-|MS002: v/5.py:5: problem 5\n" \
	"lint|-|MS002: v/6.py:6: problem 6\n" \
	"lint|-|MS002: v/7.py:7: problem 7\n" \
	"lint|-|MS002: v/8.py:8: problem 8\n" \
	"lint|-|MS002: v/9.py:9: problem 9\n"

static const struct check_case check_cases[] = {
	{ "safe: every database at the single head, one schema", "linear", NULL, 0,
	  { { .env = "dev", .rows = "d" }, { .env = "staging", .rows = "d" }, { .env = "prod", .rows = "d" } },
	  "d", "dev",
	  "" },
	{ "safe: an unused warning and a ledger with finished steps", "linear", NULL, 0,
	  { { .env = "dev", .rows = "d", .ledger = "applied:c:h1 failed:d:h2 stamped:d:h3" } },
	  "d", "dev",
	  "" },
	{ "head: a database behind the head", "linear", NULL, 0,
	  { { .env = "dev", .rows = "d" }, { .env = "prod", .rows = "c" } },
	  "d", "dev",
	  "head|prod|environment \"prod\": at c, not at the head d\n" },
	{ "head: a database at several rows, and one at none", "linear", NULL, 0,
	  { { .env = "dev", .rows = "b c" }, { .env = "prod", .rows = "" } },
	  "d", "dev",
	  "head|dev|environment \"dev\": at b,c, not at the head d\n"
	  "head|prod|environment \"prod\": at (none), not at the head d\n" },
	{ "head: a revision the scripts do not know", "linear", NULL, 0,
	  { { .env = "dev", .rows = "d" }, { .env = "prod", .label = "tenants/t1", .rows = "zz9" } },
	  "d", "dev",
	  "head|prod|environment \"tenants/t1\": at zz9, which the scripts do not know (their head is d)\n" },
	{ "head: several heads, databases compared with the reference", "bases", NULL, 0,
	  { { .env = "dev", .rows = "a2" }, { .env = "staging", .rows = "a2" }, { .env = "prod", .rows = "a2 b2" } },
	  NULL, "dev",
	  "head|-|the scripts have 2 heads (a2, b2): merge them first\n"
	  "head|prod|environment \"prod\": at a2,b2, \"dev\" at a2\n" },
	{ "head: several heads, a reference at no row", "bases", NULL, 0,
	  { { .env = "dev", .rows = "" }, { .env = "prod", .rows = "b2" } },
	  NULL, "dev",
	  "head|-|the scripts have 2 heads (a2, b2): merge them first\n"
	  "head|prod|environment \"prod\": at b2, \"dev\" at (none)\n" },
	{ "head: the graph cannot be built", NULL, "revision \"x\": cycle", 0,
	  { { .env = "dev", .rows = "d" }, { .env = "prod", .rows = "c" } },
	  NULL, "dev",
	  "head|-|the revision graph cannot be built: revision \"x\": cycle\n" },
	{ "head: the graph cannot be built, no message", NULL, NULL, 0,
	  { { .env = "dev", .rows = "d" } },
	  NULL, "dev",
	  "head|-|the revision graph cannot be built: unknown error\n" },
	{ "reachable: the next database read is the reference", "linear", NULL, 0,
	  { { .env = "dev", .error = "environment \"dev\": could not connect: timeout" },
	    { .env = "staging", .rows = "d" }, { .env = "prod", .rows = "c", .schema = "extra" } },
	  "d", "staging",
	  "reachable|dev|environment \"dev\": could not connect: timeout\n"
	  "head|prod|environment \"prod\": at c, not at the head d\n"
	  "schema|prod|environment \"prod\": schema differs from \"staging\" (1 difference: column public.t.extra extra)\n" },
	{ "reachable: nothing read, no other check (not even the heads)", "bases", NULL, 0,
	  { { .env = "dev" }, { .env = "prod", .error = "environment \"prod\": no databases" } },
	  NULL, NULL,
	  "reachable|dev|could not read the database\n"
	  "reachable|prod|environment \"prod\": no databases\n" },
	{ "schema: one difference, and one missing column", "linear", NULL, 0,
	  { { .env = "dev", .rows = "d" }, { .env = "staging", .rows = "d", .schema = "extra" },
	    { .env = "prod", .rows = "d", .schema = "missing" } },
	  "d", "dev",
	  "schema|staging|environment \"staging\": schema differs from \"dev\" (1 difference: column public.t.extra extra)\n"
	  "schema|prod|environment \"prod\": schema differs from \"dev\" (1 difference: column public.t.a missing)\n" },
	{ "schema: three differences named, the rest counted", "linear", NULL, 0,
	  { { .env = "dev", .rows = "d" }, { .env = "prod", .label = "tenants/t2", .rows = "d", .schema = "many" } },
	  "d", "dev",
	  "schema|prod|environment \"tenants/t2\": schema differs from \"dev\" (5 differences: column public.t.c1 extra; column public.t.c2 extra; column public.t.c3 extra; and 2 more)\n" },
	{ "schema: the same objects, another fingerprint", "linear", NULL, 0,
	  { { .env = "dev", .rows = "d" }, { .env = "prod", .rows = "d", .schema = "fp" } },
	  "d", "dev",
	  "schema|prod|environment \"prod\": schema differs from \"dev\" (0 differences: same objects, different fingerprint)\n" },
	{ "schema: INVALID indexes, the reference's too", "linear", NULL, 0,
	  { { .env = "dev", .rows = "d", .schema = "invalid" }, { .env = "prod", .rows = "d", .schema = "invalid" } },
	  "d", "dev",
	  "schema|dev|environment \"dev\": INVALID index public.ix\n"
	  "schema|prod|environment \"prod\": INVALID index public.ix\n" },
	{ "approvals: pending, never expiring or not yet expired", "linear", NULL, 0,
	  { { .env = "dev", .rows = "d", .approvals = "bob:abababababababab:0 eve:cdcdcdcdcdcdcdcd:1000001" } },
	  "d", "dev",
	  "approvals|dev|environment \"dev\": approval by \"bob\" of plan abababababab is pending (not applied, not expired)\n"
	  "approvals|dev|environment \"dev\": approval by \"eve\" of plan cdcdcdcdcdcd is pending (not applied, not expired)\n" },
	{ "approvals: expired, or without a plan hash", "linear", NULL, 0,
	  { { .env = "dev", .rows = "d", .approvals = "bob:abababababababab:1000000 eve:-:0" } },
	  "d", "dev",
	  "" },
	{ "approvals: used by any database of the environment", "linear", NULL, 0,
	  { { .env = "prod", .label = "fleet/a", .rows = "d", .ledger = "applied:d:h2", .approvals = "bob:h1:0 eve:h2:0 amy:h3:0" },
	    { .env = "prod", .label = "fleet/b", .rows = "d", .ledger = "resolved_applied:d:h1 stamped:d:h3" } },
	  "d", "fleet/a",
	  "" },
	{ "approvals: a failed plan, another environment's plan, no approver", "linear", NULL, 0,
	  { { .env = "dev", .rows = "d", .ledger = "applied:d:h2" },
	    { .env = "prod", .rows = "d", .ledger = "failed:d:h1 resolved_rolled_back:d:h3", .approvals = "bob:h1:0 eve:h2:0 -:h3:0" } },
	  "d", "dev",
	  "approvals|prod|environment \"prod\": approval by \"bob\" of plan h1 is pending (not applied, not expired)\n"
	  "approvals|prod|environment \"prod\": approval by \"eve\" of plan h2 is pending (not applied, not expired)\n"
	  "approvals|prod|environment \"prod\": approval by \"?\" of plan h3 is pending (not applied, not expired)\n" },
	{ "ledger: a step left in progress", "linear", NULL, 0,
	  { { .env = "dev", .rows = "d" }, { .env = "prod", .label = "fleet/a", .rows = "c", .ledger = "applied:c:h1 in_progress:d:-", .approvals = "bob:h9:0" } },
	  "d", "dev",
	  "head|prod|environment \"fleet/a\": at c, not at the head d\n"
	  "approvals|prod|environment \"prod\": approval by \"bob\" of plan h9 is pending (not applied, not expired)\n"
	  "ledger|prod|environment \"fleet/a\": revision \"d\" was left in progress\n" },
	{ "lint: errors listed with and without a line", "linear", NULL, 3,
	  { { .env = "dev", .rows = "d" } },
	  "d", "dev",
	  "lint|-|MS002: ?: problem 0\n"
	  "lint|-|MS002: v/1.py: problem 1\n"
	  "lint|-|MS002: v/2.py:2: problem 2\n" },
	{ "lint: ten listed, one more counted", "linear", NULL, 11,
	  { { .env = "dev", .rows = "d" } },
	  "d", "dev",
	  LINT_TEN
	  "lint|-|and 1 more lint error (run migsync lint)\n" },
	{ "order: lint, graph, reachable, head, schema, approvals, ledger", "bases", NULL, 13,
	  { { .env = "dev", .error = "environment \"dev\": refused" },
	    { .env = "staging", .rows = "a2", .ledger = "in_progress:a2:-", .approvals = "bob:h1:0" },
	    { .env = "prod", .rows = "b2", .schema = "extra" } },
	  NULL, "staging",
	  LINT_TEN
	  "lint|-|and 3 more lint errors (run migsync lint)\n"
	  "reachable|dev|environment \"dev\": refused\n"
	  "head|-|the scripts have 2 heads (a2, b2): merge them first\n"
	  "head|prod|environment \"prod\": at b2, \"staging\" at a2\n"
	  "schema|prod|environment \"prod\": schema differs from \"staging\" (1 difference: column public.t.extra extra)\n"
	  "approvals|staging|environment \"staging\": approval by \"bob\" of plan h1 is pending (not applied, not expired)\n"
	  "ledger|staging|environment \"staging\": revision \"a2\" was left in progress\n" },
};

struct stamp_case {
	const char *name;
	const char *baseline;	/* the rows the stamp writes */
	const char *expect;	/* --expect's rows; NULL: not given */
	struct db_spec dbs[5];
	const char *expect_after;
	const char *reference;
	const char *blockers;
};

static const struct stamp_case stamp_cases[] = {
	{ "every database at --expect", "base1", "d",
	  { { .env = "dev", .rows = "d" }, { .env = "prod", .rows = "d" } },
	  "d", "dev",
	  "" },
	{ "--expect defaults to the row the first one not yet at the baseline holds", "base1", NULL,
	  { { .env = "dev", .rows = "base1" }, { .env = "staging", .rows = "d" }, { .env = "prod", .rows = "d" } },
	  "d", "dev",
	  "" },
	{ "a database at other rows than --expect", "base1", "d",
	  { { .env = "dev", .rows = "base1" }, { .env = "prod", .label = "fleet/a", .rows = "c" } },
	  "d", "dev",
	  "head|prod|environment \"fleet/a\": at c, expected d\n" },
	{ "no default from several rows; the next single row is the default", "base1", NULL,
	  { { .env = "dev", .rows = "b c" }, { .env = "staging", .rows = "d" }, { .env = "prod", .rows = "c" } },
	  "d", "dev",
	  "head|dev|environment \"dev\": at b,c, expected one head shared by every environment\n"
	  "head|prod|environment \"prod\": at c, expected d\n" },
	{ "--expect none: only databases without rows pass", "base1", "",
	  { { .env = "dev", .rows = "" }, { .env = "prod", .rows = "d" } },
	  "", "dev",
	  "head|prod|environment \"prod\": at d, expected one head shared by every environment\n" },
	{ "an unreachable database and a differing schema", "base1", "d",
	  { { .env = "dev", .error = "environment \"dev\": timeout" },
	    { .env = "staging", .rows = "d", .schema = "invalid" }, { .env = "prod", .rows = "base1", .schema = "extra" } },
	  "d", "staging",
	  "reachable|dev|environment \"dev\": timeout\n"
	  "schema|staging|environment \"staging\": INVALID index public.ix\n"
	  "schema|prod|environment \"prod\": schema differs from \"staging\" (2 differences: column public.t.extra extra; index public.ix changed)\n" },
	{ "nothing read", "base1", NULL,
	  { { .env = "dev" } },
	  "", NULL,
	  "reachable|dev|could not read the database\n" },
};

static const struct environment *env_named(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(envs); i++)
		if (!strcmp(envs[i].name, name))
			return &envs[i];
	fail_msg("no environment %s", name);
	return NULL;
}

/* The base schema, changed as variant says. */
static struct schema_snapshot *snapshot(const char *variant, const char *rows)
{
	struct schema_snapshot *s = xmalloc(sizeof(*s));
	const char *v = variant ? variant : "";

	schema_snapshot_init(s);
	schema_snapshot_add(s, DRIFT_SCHEMA, "public", "schema", NULL, false);
	schema_snapshot_add(s, DRIFT_TABLE, "public.t", "table", NULL, false);
	if (strcmp(v, "missing"))
		schema_snapshot_add(s, DRIFT_COLUMN, "public.t.a", "integer", "public.t", false);
	schema_snapshot_add(s, DRIFT_INDEX, "public.ix", "CREATE INDEX ix ON public.t USING btree (a)",
			    "public.t", !strcmp(v, "invalid"));
	if (!strcmp(v, "extra"))
		schema_snapshot_add(s, DRIFT_COLUMN, "public.t.extra", "text", "public.t", false);
	for (int i = 1; !strcmp(v, "many") && i <= 5; i++) {
		char *name = xstrfmt("public.t.c%d", i);

		schema_snapshot_add(s, DRIFT_COLUMN, name, "text", "public.t", false);
		free(name);
	}
	schema_snapshot_finish(s);
	if (!strcmp(v, "fp"))
		memset(s->fingerprint, '0', SHA256_HEX_LEN);
	split_into(&s->version_rows, rows);
	strvec_sort(&s->version_rows);
	return s;
}

/*
 * The fields of each space-separated "A:B:C" of spec, three a record,
 * "-" as NULL. Callers take strings over by setting their slot to NULL.
 */
static size_t split_records(struct strvec *out, const char *spec)
{
	struct strvec items = STRVEC_INIT;

	split_into(&items, spec);
	for (size_t i = 0; i < items.nr; i++) {
		const char *p = items.items[i];

		for (int k = 0; k < 3; k++) {
			size_t n = strcspn(p, ":");

			strvec_push_owned(out, n == 1 && *p == '-' ? NULL : xstrndup(p, n));
			p += n + !!p[n];
		}
	}
	strvec_release(&items);
	return out->nr / 3;
}

static char *take(struct strvec *v, size_t i)
{
	char *s = v->items[i];

	v->items[i] = NULL;
	return s;
}

/* A ledger ("OUTCOME:REVISION:HASH ...") and approvals ("APPROVER:HASH:EXPIRES_MS ..."). */
static void add_records(struct squash_db *d, const char *ledger, const char *approvals)
{
	struct strvec f = STRVEC_INIT;
	size_t nr = split_records(&f, ledger);

	d->ledger = xcalloc(nr ? nr : 1, sizeof(*d->ledger));
	for (size_t i = 0; i < nr; i++) {
		struct ledger_entry *e = &d->ledger[d->ledger_nr++];

		ledger_entry_init(e);
		assert_int_equal(ledger_outcome_parse(&e->outcome, f.items[3 * i]), 0);
		e->revision = take(&f, 3 * i + 1);
		e->plan_hash = take(&f, 3 * i + 2);
	}
	strvec_release(&f);
	nr = split_records(&f, approvals);
	d->approvals = xcalloc(nr ? nr : 1, sizeof(*d->approvals));
	for (size_t i = 0; i < nr; i++) {
		struct approval *a = &d->approvals[d->approvals_nr++];

		approval_init(a);
		a->approver = take(&f, 3 * i);
		a->plan_hash = take(&f, 3 * i + 1);
		a->expires_at_ms = f.items[3 * i + 2] ? strtoll(f.items[3 * i + 2], NULL, 10) : 0;
	}
	strvec_release(&f);
}

/* The databases of a case, as apply_consolidate_read would leave them. */
static void load_dbs(struct squash_dbs *dbs, const struct db_spec *specs)
{
	const char *prev = NULL;

	for (const struct db_spec *s = specs; s->env; s++) {
		const struct environment *env = env_named(s->env);
		struct squash_db *d = squash_dbs_add(dbs, env, s->label ? s->label : s->env,
						     s->rows ? "user@host/db" : NULL,
						     !prev || strcmp(prev, s->env));

		prev = s->env;
		if (!s->rows) {
			if (s->error)
				ms_error_set(&d->err, MS_ERR_IO, "%s", s->error);
			continue;
		}
		d->snapshot = snapshot(s->schema, s->rows);
		add_records(d, s->ledger, s->approvals);
	}
}

static char *blockers_text(const struct squash_report *r)
{
	struct strbuf sb = STRBUF_INIT;

	for (size_t i = 0; i < r->nr; i++)
		strbuf_addf(&sb, "%s|%s|%s\n", r->items[i].check,
			    r->items[i].environment ? r->items[i].environment : "-",
			    r->items[i].message);
	return strbuf_detach(&sb, NULL);
}

static void assert_reference(const struct squash_report *r, const char *label, const char *name)
{
	if (!label) {
		if (r->reference)
			fail_msg("%s: reference %s, expected none", name, r->reference->label);
		return;
	}
	assert_non_null(r->reference);
	assert_string_equal(r->reference->label, label);
}

static void test_check_cases(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(check_cases); i++) {
		const struct check_case *c = &check_cases[i];
		struct fixture f = { SCRIPT_SET_INIT, NULL, DIAG_LIST_INIT, MS_ERROR_INIT };
		struct diag_list lint = DIAG_LIST_INIT;
		struct ms_error gerr = MS_ERROR_INIT;
		struct squash_dbs dbs;
		struct squash_report r;
		char *got;

		squash_dbs_init(&dbs);
		squash_report_init(&r);
		if (c->graph)
			load_graph(&f, c->graph);
		if (c->graph_error)
			ms_error_set(&gerr, MS_ERR_GRAPH, "%s", c->graph_error);
		diag_add(&lint, DIAG_WARNING, "MS023", "v/w.py", 1, NULL, NULL, "a warning");
		for (int k = 0; k < c->lint_errors; k++) {
			char *file = k ? xstrfmt("v/%d.py", k) : NULL;

			diag_add(&lint, DIAG_ERROR, "MS002", file, k > 1 ? (unsigned)k : 0, NULL, NULL,
				 "problem %d", k);
			free(file);
		}
		load_dbs(&dbs, c->dbs);

		squash_check(&r, &(struct squash_check_input){
			.lint = &lint,
			.g = f.g,
			.graph_err = &gerr,
			.dbs = &dbs,
			.now_ms = NOW_MS,
		});
		got = blockers_text(&r);
		if (strcmp(got, c->expect))
			fail_msg("%s:\ngot:\n%sexpected:\n%s", c->name, got, c->expect);
		if (strcmp_null(r.head, c->head))
			fail_msg("%s: head %s, expected %s", c->name, r.head ? r.head : "NULL",
				 c->head ? c->head : "NULL");
		assert_reference(&r, c->reference, c->name);

		free(got);
		squash_report_release(&r);
		squash_dbs_release(&dbs);
		ms_error_release(&gerr);
		diag_list_release(&lint);
		fixture_release(&f);
	}
}

static void test_stamp_cases(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(stamp_cases); i++) {
		const struct stamp_case *c = &stamp_cases[i];
		struct strvec baseline = STRVEC_INIT, expect = STRVEC_INIT;
		struct squash_dbs dbs;
		struct squash_report r;
		char *got, *after;

		squash_dbs_init(&dbs);
		squash_report_init(&r);
		split_into(&baseline, c->baseline);
		split_into(&expect, c->expect);
		load_dbs(&dbs, c->dbs);

		squash_check_stamp(&r, &expect, &dbs, &baseline, c->expect != NULL);
		got = blockers_text(&r);
		if (strcmp(got, c->blockers))
			fail_msg("%s:\ngot:\n%sexpected:\n%s", c->name, got, c->blockers);
		after = joined(&expect);
		if (strcmp(after, c->expect_after))
			fail_msg("%s: expect \"%s\", expected \"%s\"", c->name, after, c->expect_after);
		assert_reference(&r, c->reference, c->name);
		assert_null(r.head);

		free(after);
		free(got);
		squash_report_release(&r);
		squash_dbs_release(&dbs);
		strvec_release(&expect);
		strvec_release(&baseline);
	}
}

/* Release leaves both structures empty and reusable; adding copies the strings. */
static void test_lifecycle(void **state)
{
	struct squash_dbs dbs;
	struct squash_report r;
	char label[] = "tenants/t1";
	struct squash_db *d;

	(void)state;
	squash_dbs_init(&dbs);
	squash_report_init(&r);
	d = squash_dbs_add(&dbs, &envs[2], label, NULL, true);
	label[0] = 'X';
	assert_string_equal(d->label, "tenants/t1");
	assert_null(d->describe);
	assert_null(d->snapshot);
	assert_null(d->err.message);
	squash_check_stamp(&r, &(struct strvec)STRVEC_INIT, &dbs, &(struct strvec)STRVEC_INIT, true);
	assert_int_equal(r.nr, 1);
	squash_report_release(&r);
	assert_int_equal(r.nr, 0);
	assert_null(r.items);
	assert_null(r.reference);
	squash_dbs_release(&dbs);
	assert_int_equal(dbs.nr, 0);
	assert_null(dbs.items);
	squash_dbs_release(&dbs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check_cases),
		cmocka_unit_test(test_stamp_cases),
		cmocka_unit_test(test_lifecycle),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
