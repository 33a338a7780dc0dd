/*
 * Unit tests of the drift core without a server: the object model, its
 * canonical order and listing, the fingerprint, the object-by-object
 * comparison, and the grouping of targets by revision.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "migsync/drift.h"
#include "migsync/sha256.h"
#include "migsync/strbuf.h"
#include "migsync/util.h"

/* A small schema, added in the order given. */
static void add_base(struct schema_snapshot *s)
{
	schema_snapshot_add(s, DRIFT_SCHEMA, "public", "schema", NULL, false);
	schema_snapshot_add(s, DRIFT_TABLE, "public.stock_daily", "table", NULL, false);
	schema_snapshot_add(s, DRIFT_COLUMN, "public.stock_daily.close", "double precision", "public.stock_daily", false);
	schema_snapshot_add(s, DRIFT_COLUMN, "public.stock_daily.third_code",
			    "character varying(16) NOT NULL", "public.stock_daily", false);
	schema_snapshot_add(s, DRIFT_INDEX, "public.ix_stock_daily_trade_date",
			    "CREATE INDEX ix_stock_daily_trade_date ON public.stock_daily USING btree (trade_date)",
			    "public.stock_daily", false);
	schema_snapshot_add(s, DRIFT_EXTENSION, "plpgsql", "version 1.0 in schema pg_catalog", NULL, false);
	schema_snapshot_add(s, DRIFT_ENUM, "public.mood", "ENUM ('sad', 'ok')", NULL, false);
	schema_snapshot_add(s, DRIFT_VIEW, "public.v", " SELECT 1 AS one;", NULL, false);
}

/* The same objects, added in reverse order (another catalog order). */
static void add_base_reversed(struct schema_snapshot *s)
{
	struct schema_snapshot tmp;

	schema_snapshot_init(&tmp);
	add_base(&tmp);
	for (size_t i = tmp.nr; i-- > 0; )
		schema_snapshot_add(s, tmp.objects[i].kind, tmp.objects[i].name,
				    tmp.objects[i].definition, tmp.objects[i].parent, false);
	schema_snapshot_release(&tmp);
}

static void test_kind_names(void **state)
{
	(void)state;
	for (int k = 0; k < DRIFT_KIND_NR; k++)
		assert_non_null(drift_kind_name((enum drift_kind)k));
	assert_string_equal(drift_kind_name(DRIFT_COLUMN), "column");
	assert_string_equal(drift_kind_name(DRIFT_MATVIEW), "materialized view");
	assert_string_equal(drift_change_name(DRIFT_MISSING), "missing");
	assert_string_equal(drift_change_name(DRIFT_EXTRA), "extra");
	assert_string_equal(drift_change_name(DRIFT_CHANGED), "changed");
	assert_string_equal(drift_state_name(DRIFT_STATE_NOT_COMPARED), "not-compared");
}

static void test_canonical_order(void **state)
{
	struct schema_snapshot s;

	(void)state;
	schema_snapshot_init(&s);
	add_base(&s);
	schema_snapshot_finish(&s);
	assert_int_equal(s.nr, 8);
	/* kind order first, then name */
	assert_int_equal(s.objects[0].kind, DRIFT_EXTENSION);
	assert_int_equal(s.objects[1].kind, DRIFT_SCHEMA);
	assert_int_equal(s.objects[2].kind, DRIFT_ENUM);
	assert_int_equal(s.objects[3].kind, DRIFT_TABLE);
	assert_string_equal(s.objects[4].name, "public.stock_daily.close");
	assert_string_equal(s.objects[5].name, "public.stock_daily.third_code");
	assert_int_equal(s.objects[6].kind, DRIFT_INDEX);
	assert_int_equal(s.objects[7].kind, DRIFT_VIEW);
	assert_non_null(schema_snapshot_find(&s, DRIFT_VIEW, "public.v"));
	assert_null(schema_snapshot_find(&s, DRIFT_TABLE, "public.v"));
	assert_null(schema_snapshot_find(&s, DRIFT_COLUMN, "public.nope"));
	schema_snapshot_release(&s);
}

static void test_fingerprint_insensitive_to_order(void **state)
{
	struct schema_snapshot a, b;

	(void)state;
	schema_snapshot_init(&a);
	schema_snapshot_init(&b);
	add_base(&a);
	add_base_reversed(&b);
	schema_snapshot_finish(&a);
	schema_snapshot_finish(&b);
	assert_int_equal(strlen(a.fingerprint), SHA256_HEX_LEN);
	assert_string_equal(a.fingerprint, b.fingerprint);

	/* any change of a definition changes it */
	schema_snapshot_add(&b, DRIFT_COLUMN, "public.stock_daily.note", "text", "public.stock_daily", false);
	assert_string_equal(b.fingerprint, "");
	schema_snapshot_finish(&b);
	assert_string_not_equal(a.fingerprint, b.fingerprint);
	schema_snapshot_release(&a);
	schema_snapshot_release(&b);
}

static void test_fingerprint_is_sha256_of_listing(void **state)
{
	struct schema_snapshot s;
	struct strbuf listing = STRBUF_INIT;
	char hex[SHA256_HEX_LEN + 1];

	(void)state;
	schema_snapshot_init(&s);
	schema_snapshot_add(&s, DRIFT_FUNCTION, "public.f()",
			    "CREATE FUNCTION public.f()\n RETURNS int\nAS $$\tselect 1 \\ $$", NULL, false);
	schema_snapshot_add(&s, DRIFT_SCHEMA, "public", "schema", NULL, false);
	schema_snapshot_finish(&s);
	schema_snapshot_listing(&listing, &s);
	/* one line per object: tabs, newlines and backslashes escaped */
	assert_string_equal(listing.buf,
			    "schema\tpublic\tschema\n"
			    "function\tpublic.f()\tCREATE FUNCTION public.f()\\n RETURNS int\\nAS $$\\tselect 1 \\\\ $$\n");
	sha256_hex(listing.buf, listing.len, hex);
	assert_string_equal(s.fingerprint, hex);
	strbuf_release(&listing);
	schema_snapshot_release(&s);
}

static void test_empty_snapshot(void **state)
{
	struct schema_snapshot a, b;
	struct drift_diff d = DRIFT_DIFF_INIT;

	(void)state;
	schema_snapshot_init(&a);
	schema_snapshot_init(&b);
	schema_snapshot_finish(&a);
	schema_snapshot_finish(&b);
	/* SHA-256 of the empty string */
	assert_string_equal(a.fingerprint,
			    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	drift_compare(&d, &a, &b);
	assert_int_equal(d.nr, 0);
	drift_diff_release(&d);
	schema_snapshot_release(&a);
	schema_snapshot_release(&b);
}

static void test_compare_missing_extra_changed(void **state)
{
	struct schema_snapshot ref, other;
	struct drift_diff d = DRIFT_DIFF_INIT;

	(void)state;
	schema_snapshot_init(&ref);
	schema_snapshot_init(&other);
	add_base(&ref);
	/* other: an extra column, a missing index, a changed enum and view */
	for (size_t i = 0; i < 8; i++) {
		struct schema_snapshot tmp;
		const struct schema_object *o;

		schema_snapshot_init(&tmp);
		add_base(&tmp);
		o = &tmp.objects[i];
		if (o->kind == DRIFT_INDEX) {
			schema_snapshot_release(&tmp);
			continue;
		}
		if (o->kind == DRIFT_ENUM)
			schema_snapshot_add(&other, o->kind, o->name, "ENUM ('sad', 'ok', 'happy')", NULL, false);
		else if (o->kind == DRIFT_VIEW)
			schema_snapshot_add(&other, o->kind, o->name, " SELECT 2 AS one;", NULL, false);
		else
			schema_snapshot_add(&other, o->kind, o->name, o->definition, o->parent, false);
		schema_snapshot_release(&tmp);
	}
	schema_snapshot_add(&other, DRIFT_COLUMN, "public.stock_daily.note", "text", "public.stock_daily", false);
	schema_snapshot_finish(&ref);
	schema_snapshot_finish(&other);

	drift_compare(&d, &ref, &other);
	assert_int_equal(d.nr, 4);
	/* listing order: enum, column, index, view */
	assert_int_equal(d.items[0].kind, DRIFT_ENUM);
	assert_int_equal(d.items[0].change, DRIFT_CHANGED);
	assert_string_equal(d.items[0].reference, "ENUM ('sad', 'ok')");
	assert_string_equal(d.items[0].actual, "ENUM ('sad', 'ok', 'happy')");
	assert_int_equal(d.items[1].kind, DRIFT_COLUMN);
	assert_string_equal(d.items[1].object, "public.stock_daily.note");
	assert_int_equal(d.items[1].change, DRIFT_EXTRA);
	assert_null(d.items[1].reference);
	assert_string_equal(d.items[1].actual, "text");
	assert_int_equal(d.items[2].kind, DRIFT_INDEX);
	assert_int_equal(d.items[2].change, DRIFT_MISSING);
	assert_null(d.items[2].actual);
	assert_non_null(strstr(d.items[2].reference, "CREATE INDEX"));
	assert_int_equal(d.items[3].kind, DRIFT_VIEW);
	assert_int_equal(d.items[3].change, DRIFT_CHANGED);
	drift_diff_release(&d);

	/* the other way round, extra and missing swap */
	drift_compare(&d, &other, &ref);
	assert_int_equal(d.nr, 4);
	assert_int_equal(d.items[1].change, DRIFT_MISSING);
	assert_int_equal(d.items[2].change, DRIFT_EXTRA);
	drift_diff_release(&d);
	schema_snapshot_release(&ref);
	schema_snapshot_release(&other);
}

static void test_compare_whole_table(void **state)
{
	struct schema_snapshot ref, other;
	struct drift_diff d = DRIFT_DIFF_INIT;

	(void)state;
	schema_snapshot_init(&ref);
	schema_snapshot_init(&other);
	add_base(&ref);
	add_base(&other);
	/* a whole table by hand: its parts are not listed one by one */
	schema_snapshot_add(&other, DRIFT_TABLE, "public.scratch", "table", NULL, false);
	schema_snapshot_add(&other, DRIFT_COLUMN, "public.scratch.a", "integer", "public.scratch", false);
	schema_snapshot_add(&other, DRIFT_CONSTRAINT, "public.scratch.scratch_pkey", "PRIMARY KEY (a)",
			    "public.scratch", false);
	schema_snapshot_add(&other, DRIFT_INDEX, "public.scratch_pkey",
			    "CREATE UNIQUE INDEX scratch_pkey ON public.scratch USING btree (a)",
			    "public.scratch", false);
	/* an index on a materialized view that both have is compared */
	schema_snapshot_add(&ref, DRIFT_MATVIEW, "public.mv", " SELECT 1;", NULL, false);
	schema_snapshot_add(&other, DRIFT_MATVIEW, "public.mv", " SELECT 1;", NULL, false);
	schema_snapshot_add(&other, DRIFT_INDEX, "public.ix_mv", "CREATE INDEX ix_mv ON public.mv USING btree (x)",
			    "public.mv", false);
	schema_snapshot_finish(&ref);
	schema_snapshot_finish(&other);

	drift_compare(&d, &ref, &other);
	assert_int_equal(d.nr, 2);
	assert_int_equal(d.items[0].kind, DRIFT_TABLE);
	assert_string_equal(d.items[0].object, "public.scratch");
	assert_int_equal(d.items[0].change, DRIFT_EXTRA);
	assert_int_equal(d.items[1].kind, DRIFT_INDEX);
	assert_string_equal(d.items[1].object, "public.ix_mv");
	drift_diff_release(&d);

	drift_compare(&d, &other, &ref);
	assert_int_equal(d.nr, 2);
	assert_int_equal(d.items[0].change, DRIFT_MISSING);
	drift_diff_release(&d);
	schema_snapshot_release(&ref);
	schema_snapshot_release(&other);
}

static void test_invalid_index(void **state)
{
	struct schema_snapshot a, b;
	struct drift_diff d = DRIFT_DIFF_INIT;
	const char *def = "CREATE UNIQUE INDEX ix_u ON public.t USING btree (c)";

	(void)state;
	schema_snapshot_init(&a);
	schema_snapshot_init(&b);
	schema_snapshot_add(&a, DRIFT_INDEX, "public.ix_u", def, "public.t", false);
	schema_snapshot_add(&b, DRIFT_INDEX, "public.ix_u", def, "public.t", true);
	schema_snapshot_finish(&a);
	schema_snapshot_finish(&b);
	assert_true(b.objects[0].invalid);
	assert_non_null(strstr(b.objects[0].definition, "INVALID"));
	assert_string_not_equal(a.fingerprint, b.fingerprint);
	drift_compare(&d, &a, &b);
	assert_int_equal(d.nr, 1);
	assert_int_equal(d.items[0].change, DRIFT_CHANGED);
	drift_diff_release(&d);
	schema_snapshot_release(&a);
	schema_snapshot_release(&b);
}

/* A finished snapshot at rows (space-separated) with one column of type type. */
static struct schema_snapshot *snap(const char *rows, const char *type, bool invalid_index)
{
	struct schema_snapshot *s = xmalloc(sizeof(*s));
	char *copy = xstrdup(rows), *tok, *save = NULL;

	schema_snapshot_init(s);
	for (tok = strtok_r(copy, " ", &save); tok; tok = strtok_r(NULL, " ", &save))
		strvec_push(&s->version_rows, tok);
	free(copy);
	s->version_table_exists = true;
	schema_snapshot_add(s, DRIFT_TABLE, "public.t", "table", NULL, false);
	schema_snapshot_add(s, DRIFT_COLUMN, "public.t.c", type, "public.t", false);
	if (invalid_index)
		schema_snapshot_add(s, DRIFT_INDEX, "public.ix_bad", "CREATE INDEX ix_bad ON public.t USING btree (c)",
				    "public.t", true);
	schema_snapshot_finish(s);
	return s;
}

static void test_report_groups(void **state)
{
	struct drift_report r;
	struct ms_error err = MS_ERROR_INIT;

	(void)state;
	drift_report_init(&r);
	drift_report_add(&r, "dev", "dev")->snapshot = snap("r2", "integer", false);
	drift_report_add(&r, "staging", "staging")->snapshot = snap("r2", "bigint", false);
	drift_report_add(&r, "prod", "prod")->snapshot = snap("r1", "integer", false);
	drift_report_add(&r, "qa", "qa")->snapshot = snap("r2", "integer", true);
	drift_report_add(&r, "down", "down")->error = xstrdup("environment \"down\": could not connect");
	assert_int_equal(drift_report_finish(&r, NULL, &err), 0);

	assert_int_equal(r.groups_nr, 2);
	assert_int_equal(r.groups[0].revision.nr, 1);
	assert_string_equal(r.groups[0].revision.items[0], "r2");
	assert_int_equal(r.groups[0].members_nr, 3);
	assert_int_equal(r.groups[0].reference, 0);
	assert_int_equal(r.targets[0].state, DRIFT_STATE_REFERENCE);
	assert_int_equal(r.targets[1].state, DRIFT_STATE_DRIFT);
	assert_int_equal(r.targets[1].diff.nr, 1);
	assert_string_equal(r.targets[1].diff.items[0].reference, "integer");
	assert_string_equal(r.targets[1].diff.items[0].actual, "bigint");
	assert_int_equal(r.targets[2].state, DRIFT_STATE_NOT_COMPARED);
	assert_string_equal(r.targets[2].note, "no other target at this revision");
	assert_int_equal(r.targets[3].state, DRIFT_STATE_DRIFT);
	assert_int_equal(r.targets[3].invalid_indexes.nr, 1);
	assert_string_equal(r.targets[3].invalid_indexes.items[0], "public.ix_bad");
	assert_int_equal(r.targets[4].state, DRIFT_STATE_UNREACHABLE);
	assert_int_equal(r.drifted, 2);
	assert_int_equal(r.unreachable, 1);
	assert_int_equal(r.invalid_indexes, 1);
	assert_true(drift_report_failed(&r));
	drift_report_release(&r);
	ms_error_release(&err);
}

static void test_report_against(void **state)
{
	struct drift_report r;
	struct ms_error err = MS_ERROR_INIT;

	(void)state;
	drift_report_init(&r);
	drift_report_add(&r, "dev", "dev")->snapshot = snap("r2", "integer", false);
	drift_report_add(&r, "staging", "staging")->snapshot = snap("r2", "bigint", false);
	drift_report_add(&r, "prod", "prod")->snapshot = snap("r2", "bigint", false);
	drift_report_add(&r, "old", "old")->snapshot = snap("r1", "bigint", false);
	drift_report_add(&r, "old2", "old2")->snapshot = snap("r1", "bigint", false);
	assert_int_equal(drift_report_finish(&r, "prod", &err), 0);
	assert_int_equal(r.groups[0].reference, 2);
	assert_int_equal(r.targets[0].state, DRIFT_STATE_DRIFT);
	assert_int_equal(r.targets[0].diff.items[0].change, DRIFT_CHANGED);
	assert_string_equal(r.targets[0].diff.items[0].reference, "bigint");
	assert_int_equal(r.targets[1].state, DRIFT_STATE_SAME);
	assert_int_equal(r.targets[2].state, DRIFT_STATE_REFERENCE);
	/* prod is not at r1: that group has no reference */
	assert_int_equal(r.targets[3].state, DRIFT_STATE_NOT_COMPARED);
	assert_string_equal(r.targets[3].note, "\"prod\" is at another revision");
	assert_int_equal(r.targets[4].state, DRIFT_STATE_NOT_COMPARED);
	assert_int_equal(r.drifted, 1);
	drift_report_release(&r);

	drift_report_init(&r);
	drift_report_add(&r, "dev", "dev")->snapshot = snap("r2", "integer", false);
	assert_int_equal(drift_report_finish(&r, "nope", &err), MS_ERR_NOTFOUND);
	assert_string_equal(err.message, "environment \"nope\": not among the targets");
	drift_report_release(&r);
	ms_error_release(&err);
}

static void test_report_clean(void **state)
{
	struct drift_report r;
	struct ms_error err = MS_ERROR_INIT;

	(void)state;
	drift_report_init(&r);
	drift_report_add(&r, "dev", "dev")->snapshot = snap("r1 r2", "integer", false);
	drift_report_add(&r, "prod", "prod")->snapshot = snap("r2 r1", "integer", false);
	drift_report_add(&r, "fresh", "fresh")->snapshot = snap("", "integer", false);
	assert_int_equal(drift_report_finish(&r, NULL, &err), 0);
	/* version rows compare as sets: several heads, in any order */
	assert_int_equal(r.groups_nr, 2);
	assert_int_equal(r.targets[1].state, DRIFT_STATE_SAME);
	assert_int_equal(r.targets[2].state, DRIFT_STATE_NOT_COMPARED);
	assert_int_equal(r.groups[1].revision.nr, 0);
	assert_false(drift_report_failed(&r));
	drift_report_release(&r);
	ms_error_release(&err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kind_names),
		cmocka_unit_test(test_canonical_order),
		cmocka_unit_test(test_fingerprint_insensitive_to_order),
		cmocka_unit_test(test_fingerprint_is_sha256_of_listing),
		cmocka_unit_test(test_empty_snapshot),
		cmocka_unit_test(test_compare_missing_extra_changed),
		cmocka_unit_test(test_compare_whole_table),
		cmocka_unit_test(test_invalid_index),
		cmocka_unit_test(test_report_groups),
		cmocka_unit_test(test_report_against),
		cmocka_unit_test(test_report_clean),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
