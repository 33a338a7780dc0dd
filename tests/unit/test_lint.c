/*
 * Unit tests for the lint rules: each rule on scripts built in memory,
 * placeholder detection on seed 004's ids and on random ones, the health
 * counts, options, and the tolerant directory reader.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "migsync/lint.h"
#include "migsync/strbuf.h"

/*
 * Append a Python revision that breaks no rule: down is a comma-separated
 * list (NULL for a base); the file is "<rev>_<slug>.py". The pointer is
 * valid until the next addition.
 */
static struct script *add_py(struct script_set *set, const char *rev, const char *down,
			     const char *slug)
{
	struct script *s;

	ALLOC_GROW(set->items, set->nr + 1, set->alloc);
	s = &set->items[set->nr++];
	script_init(s);
	s->kind = SCRIPT_PYTHON;
	s->filename = xstrfmt("%s_%s.py", rev, slug);
	s->path = xstrfmt("versions/%s", s->filename);
	s->revision = xstrdup(rev);
	if (down) {
		char *copy = xstrdup(down), *save = NULL;

		for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
			strvec_push(&s->down_revisions, t);
		free(copy);
	}
	s->message = xstrfmt("%s", slug);
	s->revision_line = 10;
	s->down_revision_line = 11;
	s->has_upgrade = true;
	s->upgrade_line = 18;
	s->has_downgrade = true;
	s->downgrade_line = 22;
	return s;
}

static struct script *add_sql(struct script_set *set, const char *rev, const char *down,
			      const char *slug)
{
	struct script *s = add_py(set, rev, down, slug);

	s->kind = SCRIPT_SQL;
	free(s->filename);
	free(s->path);
	s->filename = xstrfmt("%s_%s.sql", rev, slug);
	s->path = xstrfmt("versions/%s", s->filename);
	s->revision_line = 1;
	s->has_upgrade = s->has_up_section = true;
	s->up_line = s->upgrade_line = 6;
	s->down_line = s->downgrade_line = 9;
	return s;
}

static void set_filename(struct script *s, const char *name)
{
	free(s->filename);
	free(s->path);
	s->filename = xstrdup(name);
	s->path = xstrfmt("versions/%s", name);
}

/* Run lint with default options (or opts) and check it succeeded. */
static void run(struct lint_report *r, const struct script_set *set,
		const struct diag_list *reader, const struct lint_options *opts)
{
	struct ms_error err = MS_ERROR_INIT;

	lint_report_init(r);
	if (lint_run(r, set, reader, opts, &err) != 0)
		fail_msg("lint_run: %s", err.message);
	ms_error_release(&err);
}

static size_t count(const struct lint_report *r, const char *code)
{
	size_t n = 0;

	for (size_t i = 0; i < r->findings.nr; i++)
		n += !strcmp(r->findings.items[i].code, code);
	return n;
}

static const struct diag *first(const struct lint_report *r, const char *code)
{
	for (size_t i = 0; i < r->findings.nr; i++)
		if (!strcmp(r->findings.items[i].code, code))
			return &r->findings.items[i];
	fail_msg("no %s finding", code);
	return NULL;
}

static void test_clean_set(void **state)
{
	struct script_set set = SCRIPT_SET_INIT;
	struct lint_report r;

	(void)state;
	add_py(&set, "3f2a9c1d0b7e", NULL, "add_users");
	add_sql(&set, "9b2fcf59ac80", "3f2a9c1d0b7e", "add_sync_tables");
	add_py(&set, "e41c7b9d2a58", "9b2fcf59ac80", "add_orders");
	run(&r, &set, NULL, NULL);
	assert_int_equal(r.findings.nr, 0);
	assert_int_equal(r.revisions, 3);
	for (int c = 0; c < LINT_CATEGORY_NR; c++) {
		assert_int_equal(r.categories[c].clean, 3);
		assert_int_equal(r.categories[c].total, 3);
		assert_true(lint_category_percent(&r.categories[c]) == 100.0);
	}
	lint_report_release(&r);
	script_set_release(&set);
}

static void test_ms001_multiple_heads(void **state)
{
	struct script_set set = SCRIPT_SET_INIT;
	struct lint_report r;
	const struct diag *d;

	(void)state;
	add_py(&set, "3f2a9c1d0b7e", NULL, "base");
	add_py(&set, "9b2fcf59ac80", "3f2a9c1d0b7e", "left");
	add_py(&set, "e41c7b9d2a58", "3f2a9c1d0b7e", "right");
	run(&r, &set, NULL, NULL);
	assert_int_equal(count(&r, "MS001"), 2);
	d = first(&r, "MS001");
	assert_int_equal(d->severity, DIAG_ERROR);
	assert_string_equal(d->file, "versions/9b2fcf59ac80_left.py");
	assert_int_equal(d->line, 10);
	assert_string_equal(d->message,
			    "revision \"9b2fcf59ac80\": one of 2 heads: \"9b2fcf59ac80\", \"e41c7b9d2a58\"");
	assert_non_null(strstr(d->hint, "alembic merge"));
	assert_int_equal(r.categories[LINT_DEPENDENCIES].clean, 1);
	assert_int_equal(r.errors, 2);
	lint_report_release(&r);

	/* a merge revision ends it */
	add_py(&set, "5c81e0b3f7a2", "9b2fcf59ac80,e41c7b9d2a58", "merge");
	run(&r, &set, NULL, NULL);
	assert_int_equal(r.findings.nr, 0);
	lint_report_release(&r);
	script_set_release(&set);
}

static void test_ms001_labelled_branches(void **state)
{
	struct script_set set = SCRIPT_SET_INIT;
	struct lint_report r;

	(void)state;
	/* independent branches with their own labels are a design, not a mistake */
	strvec_push(&add_py(&set, "3f2a9c1d0b7e", NULL, "app_base")->branch_labels, "app");
	add_py(&set, "9b2fcf59ac80", "3f2a9c1d0b7e", "app_users");
	strvec_push(&add_py(&set, "e41c7b9d2a58", NULL, "audit_base")->branch_labels, "audit");
	run(&r, &set, NULL, NULL);
	assert_int_equal(count(&r, "MS001"), 0);
	lint_report_release(&r);

	/* two heads on the "app" line are not */
	add_py(&set, "5c81e0b3f7a2", "3f2a9c1d0b7e", "app_orders");
	run(&r, &set, NULL, NULL);
	assert_int_equal(count(&r, "MS001"), 2);
	for (size_t i = 0; i < r.findings.nr; i++)
		if (!strcmp(r.findings.items[i].code, "MS001"))
			assert_string_not_equal(r.findings.items[i].revision, "e41c7b9d2a58");
	lint_report_release(&r);
	script_set_release(&set);
}

static void test_graph_problems(void **state)
{
	struct script_set set = SCRIPT_SET_INIT;
	struct lint_report r;

	(void)state;
	add_py(&set, "3f2a9c1d0b7e", NULL, "base");
	add_py(&set, "9b2fcf59ac80", "71d0c5e3a9f4", "dangling");		/* MS002 */
	add_py(&set, "e41c7b9d2a58", "3f2a9c1d0b7e", "dup_one");
	add_sql(&set, "e41c7b9d2a58", "3f2a9c1d0b7e", "dup_two");		/* MS003 */
	add_py(&set, "5c81e0b3f7a2", "5c81e0b3f7a2", "self_loop");		/* MS004 */
	strvec_push(&add_py(&set, "b7d24e9a0c13", "e41c7b9d2a58", "l1")->branch_labels, "x");
	strvec_push(&add_py(&set, "c92f5a1e6d08", "e41c7b9d2a58", "l2")->branch_labels, "x");	/* MS005 */
	strvec_push(&add_py(&set, "d3a8e61f2b97", "b7d24e9a0c13", "needs")->depends_on,
		    "0a9e2d7c4b61");						/* MS006 */
	run(&r, &set, NULL, NULL);
	assert_true(count(&r, "MS002") >= 1);
	assert_true(count(&r, "MS003") >= 1);
	assert_true(count(&r, "MS004") >= 1);
	assert_true(count(&r, "MS005") >= 1);
	assert_true(count(&r, "MS006") >= 1);
	assert_int_equal(first(&r, "MS002")->severity, DIAG_ERROR);
	/* heads are still computed on the broken set; the duplicate id is one revision */
	assert_true(count(&r, "MS001") >= 2);
	/* and the per-file rules still run */
	assert_int_equal(count(&r, "MS023"), 0);
	assert_int_equal(r.revisions, 8);
	assert_true(r.categories[LINT_INTEGRITY].clean < 8);
	lint_report_release(&r);
	script_set_release(&set);
}

static void test_placeholder_seed_examples(void **state)
{
	static const char *const placeholders[] = {
		"abc123def456", "123456789abc", "000000000000", "c0ff00000001",
		"ffaaaaaa0000", "ffcccccc0002", "aaaaaaaaaaaa", "fedcba987654",
		"1a2b3c4d5e6f", "deadbeef0042", "abc123", "0000", "xxxx", "TODO",
		"placeholder",
	};
	static const char *const real[] = {
		"3f2a9c1d0b7e", "9b2fcf59ac80", "e41c7b9d2a58", "27c6a30d7c24",
		"4ce3b8d2a1f0", "ae1027a6acf4", "1975ea83b712",
		/* custom schemes are not placeholders */
		"0001", "000042", "20250824", "20250824_001", "202508241530",
		"add_users", "1a2b",
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(placeholders); i++)
		if (!lint_placeholder_reason(placeholders[i]))
			fail_msg("\"%s\" not taken for a placeholder", placeholders[i]);
	for (size_t i = 0; i < ARRAY_SIZE(real); i++)
		if (lint_placeholder_reason(real[i]))
			fail_msg("\"%s\" taken for a placeholder (%s)", real[i],
				 lint_placeholder_reason(real[i]));
	assert_string_equal(lint_placeholder_reason("abc123def456"), "a counting sequence");
	assert_string_equal(lint_placeholder_reason("000000000000"), "one repeated character");
	assert_null(lint_placeholder_reason(""));
	assert_null(lint_placeholder_reason(NULL));
}

/* xorshift64*, so that the ids are the same on every run */
static uint64_t next_random(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545F4914F6CDD1DULL;
}

static void test_placeholder_random_ids(void **state)
{
	uint64_t seed = 20250824;
	char id[33];

	(void)state;
	/* like alembic's uuid4().hex[-12:] */
	for (int i = 0; i < 1000; i++) {
		uint64_t v = next_random(&seed);

		for (int k = 0; k < 12; k++, v >>= 4)
			id[k] = "0123456789abcdef"[v & 15];
		id[12] = '\0';
		if (lint_placeholder_reason(id))
			fail_msg("random id \"%s\" taken for a placeholder (%s)", id,
				 lint_placeholder_reason(id));
	}
	/* full uuid hex, as some projects use */
	for (int i = 0; i < 1000; i++) {
		for (int k = 0; k < 32; k += 16) {
			uint64_t v = next_random(&seed);

			for (int j = 0; j < 16; j++, v >>= 4)
				id[k + j] = "0123456789abcdef"[v & 15];
		}
		id[32] = '\0';
		if (lint_placeholder_reason(id))
			fail_msg("random id \"%s\" taken for a placeholder (%s)", id,
				 lint_placeholder_reason(id));
	}
}

static void test_ms010_in_run(void **state)
{
	struct script_set set = SCRIPT_SET_INIT;
	struct lint_report r;
	const struct diag *d;

	(void)state;
	add_py(&set, "3f2a9c1d0b7e", NULL, "base");
	add_py(&set, "abc123def456", "3f2a9c1d0b7e", "add_cloud_urls_to_all_tasks");
	run(&r, &set, NULL, NULL);
	assert_int_equal(r.findings.nr, 1);
	d = first(&r, "MS010");
	assert_int_equal(d->severity, DIAG_WARNING);
	assert_int_equal(d->line, 10);
	assert_string_equal(d->revision, "abc123def456");
	assert_string_equal(d->message,
			    "revision \"abc123def456\": id looks like a placeholder (a counting sequence)");
	assert_int_equal(r.categories[LINT_NAMING].clean, 1);
	assert_true(lint_category_percent(&r.categories[LINT_NAMING]) == 50.0);
	lint_report_release(&r);
	script_set_release(&set);
}

static void test_ms011_id_pattern(void **state)
{
	struct script_set set = SCRIPT_SET_INIT;
	struct lint_options opts;
	struct lint_report r;

	(void)state;
	add_py(&set, "3f2a9c1d0b7e", NULL, "alembic_id");
	add_py(&set, "0e8fd2b4a6c14c7f9a3b5d1e7f2c8a60", "3f2a9c1d0b7e", "uuid_id");
	add_py(&set, "0003", "0e8fd2b4a6c14c7f9a3b5d1e7f2c8a60", "counter");
	add_py(&set, "20250824_001", "0003", "dated");
	add_py(&set, "7f3e91c2", "20250824_001", "short");		/* too short */
	add_py(&set, "3F2A9C1D0B7F", "7f3e91c2", "upper");		/* upper case */
	run(&r, &set, NULL, NULL);
	assert_int_equal(count(&r, "MS011"), 2);
	assert_string_equal(r.findings.items[0].revision, "3F2A9C1D0B7F");
	assert_non_null(strstr(r.findings.items[0].message, LINT_DEFAULT_ID_PATTERN));
	lint_report_release(&r);

	lint_options_init(&opts);
	opts.id_pattern = "^[0-9A-Fa-f_]+$";
	run(&r, &set, NULL, &opts);
	assert_int_equal(count(&r, "MS011"), 0);
	lint_report_release(&r);
	lint_options_release(&opts);
	script_set_release(&set);
}

static void test_ms012_ms013_file_names(void **state)
{
	struct script_set set = SCRIPT_SET_INIT;
	struct lint_options opts;
	struct lint_report r;

	(void)state;
	add_py(&set, "3f2a9c1d0b7e", NULL, "add_users");
	set_filename(add_py(&set, "9b2fcf59ac80", "3f2a9c1d0b7e", "x"),
		     "2025_08_24_1530-9b2fcf59ac80_add_orders.py");	/* dated template: fine */
	set_filename(add_py(&set, "20250824_001", "9b2fcf59ac80", "x"),
		     "20250824_001_init_base_tables.py");		/* seed 004's scheme: fine */
	set_filename(add_py(&set, "e41c7b9d2a58", "20250824_001", "x"),
		     "e41c7b9d2a58_AddInvoices.py");			/* MS012 */
	set_filename(add_py(&set, "5c81e0b3f7a2", "e41c7b9d2a58", "x"),
		     "merge_heads_final.py");				/* MS013 */
	set_filename(add_py(&set, "b7d24e9a0c13", "5c81e0b3f7a2", "x"),
		     "b7d24e9a0c1_add_things.py");			/* MS013: one char short */
	run(&r, &set, NULL, NULL);
	assert_int_equal(count(&r, "MS012"), 1);
	assert_string_equal(first(&r, "MS012")->revision, "e41c7b9d2a58");
	assert_int_equal(first(&r, "MS012")->line, 0);
	assert_int_equal(count(&r, "MS013"), 2);
	/* sorted by file: "b7d2..." before "merge_heads_final.py" */
	assert_string_equal(first(&r, "MS013")->revision, "b7d24e9a0c13");
	assert_non_null(strstr(first(&r, "MS013")->hint, "b7d24e9a0c13_<slug>.py"));
	assert_int_equal(r.categories[LINT_NAMING].clean, 3);
	lint_report_release(&r);

	lint_options_init(&opts);
	opts.file_pattern = "\\.py$";
	run(&r, &set, NULL, &opts);
	assert_int_equal(count(&r, "MS012"), 0);
	lint_report_release(&r);
	lint_options_release(&opts);
	script_set_release(&set);
}

static void test_python_bodies(void **state)
{
	struct script_set set = SCRIPT_SET_INIT;
	struct lint_report r;
	struct script *s;

	(void)state;
	add_py(&set, "3f2a9c1d0b7e", NULL, "base");
	add_py(&set, "9b2fcf59ac80", "3f2a9c1d0b7e", "empty_down")->downgrade_empty = true;
	add_py(&set, "e41c7b9d2a58", "9b2fcf59ac80", "no_down")->has_downgrade = false;
	add_py(&set, "5c81e0b3f7a2", "e41c7b9d2a58", "empty_up")->upgrade_empty = true;
	add_py(&set, "b7d24e9a0c13", "5c81e0b3f7a2", "no_up")->has_upgrade = false;
	add_py(&set, "c92f5a1e6d08", "5c81e0b3f7a2", "side");
	/* alembic's merge revisions have pass in both: not a finding */
	s = add_py(&set, "d3a8e61f2b97", "b7d24e9a0c13,c92f5a1e6d08", "merge");
	s->upgrade_empty = s->downgrade_empty = true;
	run(&r, &set, NULL, NULL);
	assert_int_equal(count(&r, "MS020"), 1);
	assert_string_equal(first(&r, "MS020")->message,
			    "revision \"9b2fcf59ac80\": downgrade() is empty");
	assert_int_equal(first(&r, "MS020")->line, 22);
	assert_int_equal(count(&r, "MS021"), 1);
	assert_string_equal(first(&r, "MS021")->revision, "e41c7b9d2a58");
	assert_int_equal(count(&r, "MS022"), 2);
	assert_int_equal(r.warnings, 4);
	assert_int_equal(r.errors, 0);
	assert_int_equal(r.categories[LINT_INTEGRITY].clean, 3);
	assert_int_equal(r.categories[LINT_INTEGRITY].total, 7);
	assert_true(lint_category_percent(&r.categories[LINT_INTEGRITY]) == 42.9);
	lint_report_release(&r);
	script_set_release(&set);
}

static void test_sql_bodies(void **state)
{
	struct script_set set = SCRIPT_SET_INIT;
	struct lint_report r;
	struct script *s;

	(void)state;
	add_sql(&set, "3f2a9c1d0b7e", NULL, "base");
	add_sql(&set, "9b2fcf59ac80", "3f2a9c1d0b7e", "empty_down")->downgrade_empty = true;
	add_sql(&set, "e41c7b9d2a58", "9b2fcf59ac80", "no_down")->has_downgrade = false;
	add_sql(&set, "5c81e0b3f7a2", "e41c7b9d2a58", "empty_up")->upgrade_empty = true;
	s = add_sql(&set, "b7d24e9a0c13", "5c81e0b3f7a2", "no_up");
	s->has_up_section = s->has_upgrade = false;
	run(&r, &set, NULL, NULL);
	assert_int_equal(count(&r, "MS020"), 1);
	assert_string_equal(first(&r, "MS020")->message,
			    "revision \"9b2fcf59ac80\": down section is empty");
	assert_int_equal(first(&r, "MS020")->line, 9);
	assert_int_equal(count(&r, "MS021"), 1);
	assert_int_equal(count(&r, "MS022"), 1);
	assert_int_equal(first(&r, "MS022")->line, 6);
	assert_int_equal(count(&r, "MS024"), 1);
	assert_int_equal(first(&r, "MS024")->severity, DIAG_ERROR);
	assert_string_equal(first(&r, "MS024")->revision, "b7d24e9a0c13");
	assert_int_equal(r.errors, 1);
	lint_report_release(&r);
	script_set_release(&set);
}

static void test_ms023_message(void **state)
{
	struct script_set set = SCRIPT_SET_INIT;
	struct lint_report r;
	struct script *s;

	(void)state;
	s = add_py(&set, "3f2a9c1d0b7e", NULL, "base");
	free(s->message);
	s->message = NULL;
	s = add_py(&set, "9b2fcf59ac80", "3f2a9c1d0b7e", "blank");
	free(s->message);
	s->message = xstrdup("  ");
	s = add_py(&set, "e41c7b9d2a58", "9b2fcf59ac80", "flask");
	free(s->message);
	s->message = xstrdup("empty message");
	s = add_sql(&set, "5c81e0b3f7a2", "e41c7b9d2a58", "none");
	free(s->message);
	s->message = xstrdup("None");
	add_py(&set, "b7d24e9a0c13", "5c81e0b3f7a2", "documented");
	run(&r, &set, NULL, NULL);
	assert_int_equal(count(&r, "MS023"), 4);
	assert_string_equal(first(&r, "MS023")->message, "revision \"3f2a9c1d0b7e\": no message");
	assert_int_equal(r.categories[LINT_DOCUMENTATION].clean, 1);
	assert_true(lint_category_percent(&r.categories[LINT_DOCUMENTATION]) == 20.0);
	for (size_t i = 0; i < r.findings.nr; i++) {
		const struct diag *d = &r.findings.items[i];

		if (!strcmp(d->revision, "e41c7b9d2a58"))
			assert_string_equal(d->message,
					    "revision \"e41c7b9d2a58\": message is a placeholder (\"empty message\")");
		if (!strcmp(d->revision, "5c81e0b3f7a2"))
			assert_non_null(strstr(d->hint, "migsync:message"));
	}
	lint_report_release(&r);
	script_set_release(&set);
}

static void test_reader_diagnostics(void **state)
{
	struct script_set set = SCRIPT_SET_INIT;
	struct diag_list reader = DIAG_LIST_INIT;
	struct lint_report r;

	(void)state;
	add_py(&set, "3f2a9c1d0b7e", NULL, "base");
	add_sql(&set, "9b2fcf59ac80", "3f2a9c1d0b7e", "stray");
	diag_add(&reader, DIAG_WARNING, "MS030", "versions/3f2a9c1d0b7e_base.py", 13,
		 "3f2a9c1d0b7e", NULL, "branch_labels is not a literal; it is left out");
	diag_add(&reader, DIAG_WARNING, "MS031", "versions/9b2fcf59ac80_stray.sql", 5,
		 "9b2fcf59ac80", "put SQL after -- migsync:up", "SQL before the first section is ignored");
	diag_add(&reader, DIAG_WARNING, "X999", "versions/9b2fcf59ac80_stray.sql", 7,
		 NULL, NULL, "something else");
	diag_add(&reader, DIAG_ERROR, "MS040", "versions/e41c7b9d2a58_broken.py", 12,
		 NULL, NULL, "file \"e41c7b9d2a58_broken.py\": revision is not a string literal");
	run(&r, &set, &reader, NULL);
	assert_int_equal(count(&r, "MS030"), 2);
	assert_int_equal(count(&r, "MS031"), 1);
	assert_int_equal(count(&r, "MS040"), 1);
	assert_string_equal(first(&r, "MS030")->message,
			    "revision \"3f2a9c1d0b7e\": branch_labels is not a literal; it is left out");
	assert_int_equal(first(&r, "MS030")->line, 13);
	assert_non_null(first(&r, "MS030")->hint);
	assert_int_equal(first(&r, "MS040")->severity, DIAG_ERROR);
	/* the broken file counts as a revision, not clean */
	assert_int_equal(r.revisions, 3);
	assert_int_equal(r.categories[LINT_INTEGRITY].clean, 1);
	/* MS030 on both scripts (the unknown X999 is one too); MS031 is integrity */
	assert_int_equal(r.categories[LINT_DEPENDENCIES].clean, 1);
	assert_int_equal(r.errors, 1);
	lint_report_release(&r);
	diag_list_release(&reader);
	script_set_release(&set);
}

static void test_options(void **state)
{
	struct script_set set = SCRIPT_SET_INIT;
	struct lint_options opts;
	struct lint_report r;
	struct ms_error err = MS_ERROR_INIT;

	(void)state;
	add_py(&set, "3f2a9c1d0b7e", NULL, "base");
	add_py(&set, "000000000000", "3f2a9c1d0b7e", "zeros")->downgrade_empty = true;
	lint_options_init(&opts);
	strvec_push(&opts.disabled, "ms010");
	strvec_push(&opts.disabled, "MS020");
	run(&r, &set, NULL, &opts);
	assert_int_equal(r.findings.nr, 0);
	assert_int_equal(r.categories[LINT_NAMING].clean, 2);
	lint_report_release(&r);

	strvec_push(&opts.disabled, "MS999");
	lint_report_init(&r);
	assert_int_equal(lint_run(&r, &set, NULL, &opts, &err), MS_ERR_USAGE);
	assert_string_equal(err.message, "unknown lint code \"MS999\"");
	lint_report_release(&r);
	lint_options_release(&opts);

	lint_options_init(&opts);
	opts.file_pattern = "([";
	lint_report_init(&r);
	assert_int_equal(lint_run(&r, &set, NULL, &opts, &err), MS_ERR_USAGE);
	assert_true(starts_with(err.message, "file pattern \"([\": "));
	lint_report_release(&r);
	lint_options_release(&opts);
	ms_error_release(&err);
	script_set_release(&set);
}

static void test_sorted_and_empty(void **state)
{
	struct script_set set = SCRIPT_SET_INIT;
	struct lint_report r;

	(void)state;
	run(&r, &set, NULL, NULL);
	assert_int_equal(r.revisions, 0);
	assert_true(lint_category_percent(&r.categories[LINT_NAMING]) == 100.0);
	lint_report_release(&r);

	add_py(&set, "e41c7b9d2a58", NULL, "b")->downgrade_empty = true;
	add_py(&set, "3f2a9c1d0b7e", "e41c7b9d2a58", "a")->has_downgrade = false;
	set.items[1].downgrade_empty = false;
	set.items[1].upgrade_empty = true;
	run(&r, &set, NULL, NULL);
	for (size_t i = 1; i < r.findings.nr; i++) {
		const struct diag *a = &r.findings.items[i - 1], *b = &r.findings.items[i];
		int c = strcmp(a->file, b->file);

		assert_true(c < 0 || (c == 0 && a->line <= b->line));
	}
	lint_report_release(&r);
	script_set_release(&set);
}

static void write_file(const char *dir, const char *name, const char *text)
{
	char *path = xstrfmt("%s/%s", dir, name);
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	free(path);
}

static void test_read_dir_goes_on(void **state)
{
	char dir[] = "/tmp/migsync-lint-XXXXXX";
	struct script_set set = SCRIPT_SET_INIT;
	struct diag_list reader = DIAG_LIST_INIT;
	struct ms_error err = MS_ERROR_INIT;
	struct lint_report r;
	char *sub;

	(void)state;
	assert_non_null(mkdtemp(dir));
	write_file(dir, "aa11bb22cc33_broken.py",
		   "\"\"\"broken\"\"\"\nrevision = make_id()\ndown_revision = None\n");
	write_file(dir, "3f2a9c1d0b7e_good.py",
		   "\"\"\"good\"\"\"\nrevision = \"3f2a9c1d0b7e\"\ndown_revision = None\n"
		   "\ndef upgrade():\n    op.execute(\"x\")\n\ndef downgrade():\n    op.execute(\"y\")\n");
	write_file(dir, "__init__.py", "");
	sub = xstrfmt("%s/sub.py", dir);
	assert_int_equal(mkdir(sub, 0700), 0);

	assert_int_equal(lint_read_dir(&set, &reader, dir, 0, NULL, &err), 0);
	assert_int_equal(set.nr, 1);
	assert_string_equal(set.items[0].revision, "3f2a9c1d0b7e");
	assert_int_equal(reader.nr, 1);
	assert_string_equal(reader.items[0].code, "MS040");
	assert_int_equal(reader.items[0].line, 2);
	assert_true(ends_with(reader.items[0].file, "/aa11bb22cc33_broken.py"));
	assert_true(starts_with(reader.items[0].message, "file \"aa11bb22cc33_broken.py\": "));

	run(&r, &set, &reader, NULL);
	assert_int_equal(r.revisions, 2);
	assert_int_equal(r.errors, 1);
	lint_report_release(&r);

	assert_int_equal(lint_read_dir(&set, &reader, "/nonexistent/versions", 0, NULL, &err), MS_ERR_IO);
	assert_non_null(strstr(err.message, "\"/nonexistent/versions\""));

	rmdir(sub);
	free(sub);
	sub = xstrfmt("%s/aa11bb22cc33_broken.py", dir);
	unlink(sub);
	free(sub);
	sub = xstrfmt("%s/3f2a9c1d0b7e_good.py", dir);
	unlink(sub);
	free(sub);
	sub = xstrfmt("%s/__init__.py", dir);
	unlink(sub);
	free(sub);
	rmdir(dir);
	ms_error_release(&err);
	diag_list_release(&reader);
	script_set_release(&set);
}

static void test_rule_table(void **state)
{
	size_t nr;
	const struct lint_rule *rules = lint_rules(&nr);

	(void)state;
	assert_true(nr >= 18);
	for (size_t i = 1; i < nr; i++)
		assert_true(strcmp(rules[i - 1].code, rules[i].code) < 0);
	assert_int_equal(lint_rule_find("MS001")->category, LINT_DEPENDENCIES);
	assert_int_equal(lint_rule_find("MS005")->category, LINT_DEPENDENCIES);
	assert_int_equal(lint_rule_find("MS030")->category, LINT_DEPENDENCIES);
	assert_int_equal(lint_rule_find("MS023")->category, LINT_DOCUMENTATION);
	assert_int_equal(lint_rule_find("MS013")->category, LINT_NAMING);
	assert_int_equal(lint_rule_find("MS024")->severity, DIAG_ERROR);
	assert_int_equal(lint_rule_find("MS021")->severity, DIAG_WARNING);
	assert_null(lint_rule_find("MS999"));
	assert_string_equal(lint_category_name(LINT_DOCUMENTATION), "documentation");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_clean_set),
		cmocka_unit_test(test_ms001_multiple_heads),
		cmocka_unit_test(test_ms001_labelled_branches),
		cmocka_unit_test(test_graph_problems),
		cmocka_unit_test(test_placeholder_seed_examples),
		cmocka_unit_test(test_placeholder_random_ids),
		cmocka_unit_test(test_ms010_in_run),
		cmocka_unit_test(test_ms011_id_pattern),
		cmocka_unit_test(test_ms012_ms013_file_names),
		cmocka_unit_test(test_python_bodies),
		cmocka_unit_test(test_sql_bodies),
		cmocka_unit_test(test_ms023_message),
		cmocka_unit_test(test_reader_diagnostics),
		cmocka_unit_test(test_options),
		cmocka_unit_test(test_sorted_and_empty),
		cmocka_unit_test(test_read_dir_goes_on),
		cmocka_unit_test(test_rule_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
