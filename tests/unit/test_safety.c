/*
 * The safety rules: for every rule a case that must find it and the
 * near-miss that must stay silent, as "rule@line" lists of what was found
 * (allowed findings end in "+allowed").
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "migsync/safety.h"
#include "migsync/strbuf.h"
#include "migsync/util.h"
#include "src/lint/safety_int.h"

struct safety_case {
	const char *name;
	bool transactional;
	const char *sql;
	const char *expect;	/* "rule@line rule@line", "" for none */
};

/* ten letters, for names longer than PostgreSQL keeps */
#define A10 "aaaaaaaaaa"

static const struct safety_case cases[] = {
	/* require-concurrent-index */
	{ "index on an existing table", false,
	  "SET lock_timeout = '5s';\nCREATE INDEX i ON users (email);",
	  "require-concurrent-index@2" },
	{ "index on a table created in the same revision", true,
	  "CREATE TABLE t (a int);\nCREATE INDEX i ON t (a);", "" },
	{ "schema-qualified creation, unqualified index", true,
	  "CREATE TABLE app.t (a int);\nCREATE INDEX i ON t (a);", "" },
	/* concurrent-index-in-transaction */
	{ "concurrently in a transaction", true,
	  "CREATE INDEX CONCURRENTLY i ON users (email);",
	  "concurrent-index-in-transaction@1" },
	{ "drop concurrently in a transaction", true,
	  "DROP INDEX CONCURRENTLY i;", "concurrent-index-in-transaction@1" },
	{ "transaction false and concurrently", false,
	  "CREATE INDEX CONCURRENTLY i ON users (email);", "" },
	{ "concurrently after END", true,
	  "END;\nCREATE INDEX CONCURRENTLY i ON users (email);", "" },
	{ "concurrently after ROLLBACK TO SAVEPOINT: still in the transaction", true,
	  "ROLLBACK WORK TO SAVEPOINT s;\nCREATE INDEX CONCURRENTLY i ON users (email);",
	  "concurrent-index-in-transaction@2" },
	{ "concurrently after COMMIT PREPARED: still in the transaction", true,
	  "COMMIT PREPARED 'x';\nCREATE INDEX CONCURRENTLY i ON users (email);",
	  "concurrent-index-in-transaction@2" },
	{ "concurrently after START TRANSACTION", false,
	  "START TRANSACTION;\nCREATE INDEX CONCURRENTLY i ON users (email);",
	  "concurrent-index-in-transaction@2" },
	{ "concurrently after an explicit COMMIT", true,
	  "COMMIT;\nCREATE INDEX CONCURRENTLY i ON users (email);\nBEGIN;", "" },
	/* adding-not-null-column */
	{ "not null column without a default", false,
	  "SET lock_timeout = '5s';\nALTER TABLE users ADD COLUMN age int NOT NULL;",
	  "adding-not-null-column@2" },
	{ "not null column with a default", false,
	  "SET lock_timeout = '5s';\nALTER TABLE users ADD COLUMN age int NOT NULL DEFAULT 0;", "" },
	{ "not null column on a new table", true,
	  "CREATE TABLE t (a int);\nALTER TABLE t ADD COLUMN b int NOT NULL;", "" },
	/* volatile-default */
	{ "volatile default", false,
	  "SET lock_timeout = '5s';\nALTER TABLE users ADD COLUMN token uuid DEFAULT gen_random_uuid();",
	  "volatile-default@2" },
	{ "serial column", false,
	  "SET lock_timeout = '5s';\nALTER TABLE users ADD COLUMN n bigserial;",
	  "volatile-default@2" },
	{ "stable default", false,
	  "SET lock_timeout = '5s';\nALTER TABLE users ADD COLUMN at timestamptz DEFAULT now();", "" },
	/* changing-column-type */
	{ "type change", false,
	  "SET lock_timeout = '5s';\nALTER TABLE users ALTER COLUMN id TYPE bigint;",
	  "changing-column-type@2" },
	{ "type change on a new table", true,
	  "CREATE TABLE t (a int);\nALTER TABLE t ALTER COLUMN a TYPE bigint;", "" },
	/* set-not-null */
	{ "set not null", false,
	  "SET lock_timeout = '5s';\nALTER TABLE users ALTER COLUMN email SET NOT NULL;",
	  "set-not-null@2" },
	{ "set not null behind a validated check", false,
	  "SET lock_timeout = '5s';\n"
	  "ALTER TABLE users ADD CONSTRAINT c CHECK (email IS NOT NULL) NOT VALID;\n"
	  "ALTER TABLE users VALIDATE CONSTRAINT c;\n"
	  "ALTER TABLE users ALTER COLUMN email SET NOT NULL;", "" },
	{ "set not null behind an unvalidated check", false,
	  "SET lock_timeout = '5s';\n"
	  "ALTER TABLE users ADD CONSTRAINT c CHECK (email IS NOT NULL) NOT VALID;\n"
	  "ALTER TABLE users ALTER COLUMN email SET NOT NULL;", "set-not-null@3" },
	/* constraint-missing-not-valid */
	{ "foreign key without not valid", false,
	  "SET lock_timeout = '5s';\n"
	  "ALTER TABLE orders ADD CONSTRAINT fk FOREIGN KEY (user_id) REFERENCES users (id);",
	  "constraint-missing-not-valid@2" },
	{ "check without not valid", false,
	  "SET lock_timeout = '5s';\nALTER TABLE orders ADD CONSTRAINT c CHECK (n > 0);",
	  "constraint-missing-not-valid@2" },
	{ "foreign key not valid", false,
	  "ALTER TABLE orders ADD CONSTRAINT fk FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID;",
	  "" },
	{ "validate constraint in a later revision", false,
	  "ALTER TABLE orders VALIDATE CONSTRAINT fk;", "" },
	/* unique-constraint-without-index */
	{ "unique without an index", false,
	  "SET lock_timeout = '5s';\nALTER TABLE users ADD CONSTRAINT u UNIQUE (email);",
	  "unique-constraint-without-index@2" },
	{ "primary key without an index", false,
	  "SET lock_timeout = '5s';\nALTER TABLE users ADD PRIMARY KEY (id);",
	  "unique-constraint-without-index@2" },
	{ "unique using an index", false,
	  "SET lock_timeout = '5s';\nALTER TABLE users ADD CONSTRAINT u UNIQUE USING INDEX users_email;",
	  "" },
	/* drop-column, drop-table */
	{ "drop column", false,
	  "SET lock_timeout = '5s';\nALTER TABLE users DROP COLUMN legacy;", "drop-column@2" },
	{ "drop column of a new table", true,
	  "CREATE TABLE t (a int, b int);\nALTER TABLE t DROP COLUMN b;", "" },
	{ "drop table", false,
	  "SET lock_timeout = '5s';\nDROP TABLE public.users;", "drop-table@2" },
	{ "drop a table created in the revision", true,
	  "CREATE TABLE tmp (a int);\nDROP TABLE tmp;", "" },
	/* rename-column, rename-table */
	{ "rename column", false,
	  "SET lock_timeout = '5s';\nALTER TABLE users RENAME COLUMN name TO full_name;",
	  "rename-column@2" },
	{ "rename table", false,
	  "SET lock_timeout = '5s';\nALTER TABLE users RENAME TO accounts;", "rename-table@2" },
	{ "rename an index", false,
	  "SET lock_timeout = '5s';\nALTER INDEX i RENAME TO j;", "" },
	/* missing-lock-timeout: once per revision */
	{ "exclusive lock without lock_timeout", false,
	  "ALTER TABLE users ADD COLUMN note text;\nALTER TABLE users ADD COLUMN more text;",
	  "missing-lock-timeout@1" },
	{ "lock_timeout set after the lock", false,
	  "ALTER TABLE users ADD COLUMN note text;\nSET lock_timeout = '5s';",
	  "missing-lock-timeout@1" },
	{ "exclusive lock with lock_timeout", false,
	  "SET LOCAL lock_timeout = '5s';\nALTER TABLE users ADD COLUMN note text;", "" },
	{ "lock_timeout back to its default", false,
	  "SET lock_timeout TO '5s';\nSET lock_timeout = DEFAULT;\n"
	  "ALTER TABLE users ADD COLUMN note text;", "missing-lock-timeout@3" },
	{ "lock_timeout reset", false,
	  "SET SESSION lock_timeout TO 5000;\nRESET lock_timeout;\n"
	  "ALTER TABLE users ADD COLUMN note text;", "missing-lock-timeout@3" },
	{ "lock_timeout set again after a reset", false,
	  "RESET lock_timeout;\nSET lock_timeout=5000;\nALTER TABLE users ADD COLUMN note text;", "" },
	{ "another setting is not lock_timeout", false,
	  "SET statement_timeout = '5s';\nALTER TABLE users ADD COLUMN note text;",
	  "missing-lock-timeout@2" },
	{ "lock_timeout as a quoted name", false,
	  "SET \"lock_timeout\" = '5s';\nALTER TABLE users ADD COLUMN note text;", "" },
	{ "lock_timeout FROM CURRENT sets no value of the revision's own", false,
	  "SET lock_timeout FROM CURRENT;\nALTER TABLE users ADD COLUMN note text;",
	  "missing-lock-timeout@2" },
	{ "validate constraint takes a weaker lock", false,
	  "ALTER TABLE users VALIDATE CONSTRAINT c;", "" },
	/* syntax-error */
	{ "syntax error", true,
	  "CREATE TABLE t (a int);\n  SELEC 1;", "syntax-error@2" },
	{ "valid PostgreSQL 15 syntax", true,
	  "MERGE INTO t USING s ON t.a = s.a WHEN MATCHED THEN DELETE;", "" },
	/* names read from a statement's tokens agree with the parser's */
	{ "quoted names keep their case and quotes", true,
	  "CREATE TABLE \"Odd\"\"Name\" (a int);\nCREATE INDEX ON \"Odd\"\"Name\" (a);\n"
	  "CREATE TABLE \"Users\" (a int);\nCREATE INDEX ON users (a);",
	  "require-concurrent-index@4" },
	{ "unquoted names fold to lower case", true,
	  "CREATE TABLE Users (a int);\nCREATE INDEX ON USERS (a);", "" },
	{ "a table and an index named if", true,
	  "CREATE TABLE if (a int);\nCREATE INDEX if ON if (a);", "" },
	{ "if not exists, unique, concurrently, only", false,
	  "CREATE TABLE IF NOT EXISTS t (a int);\n"
	  "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS i ON ONLY t (a);", "" },
	{ "temporary and unlogged tables", true,
	  "CREATE GLOBAL TEMPORARY TABLE t (a int);\nCREATE UNLOGGED TABLE u (a int);\n"
	  "CREATE INDEX ON t (a);\nCREATE INDEX ON u (a);", "" },
	{ "catalog, schema and table; comments between tokens", true,
	  "CREATE /* c */ TABLE db.app . -- x\n t (a int);\nCREATE INDEX ON app.t (a);\n"
	  "CREATE INDEX ON other.t (a);", "require-concurrent-index@4" },
	{ "unicode escape name", true,
	  "CREATE TABLE U&\"d\\0061t\" (a int);\nCREATE INDEX ON dat (a);", "" },
	{ "a name PostgreSQL truncates to 63 bytes", true,
	  "CREATE TABLE " A10 A10 A10 A10 A10 A10 A10 " (a int);\n"
	  "CREATE INDEX ON " A10 A10 A10 A10 A10 A10 "aaa (a);", "" },
	{ "create table as and materialized view", true,
	  "CREATE TABLE t AS SELECT 1 AS a;\nCREATE MATERIALIZED VIEW mv AS SELECT 1 AS a;\n"
	  "CREATE INDEX ON t (a);\nCREATE INDEX ON mv (a);", "" },
	{ "a foreign table is not created here", true,
	  "CREATE FOREIGN TABLE f (a int) SERVER s;\nCREATE INDEX ON f (a);",
	  "require-concurrent-index@2" },
	{ "lower-case concurrently in a transaction", true,
	  "create index concurrently on users (a);", "concurrent-index-in-transaction@1" },
	/* allowances */
	{ "allowed with a reason", false,
	  "-- migsync:allow require-concurrent-index: table is empty in every environment\n"
	  "SET lock_timeout = '5s';\nCREATE INDEX i ON users (email);",
	  "require-concurrent-index@3+allowed" },
	{ "allowance without a reason", false,
	  "-- migsync:allow require-concurrent-index\n"
	  "SET lock_timeout = '5s';\nCREATE INDEX i ON users (email);",
	  "require-concurrent-index@3 invalid-allowance@1" },
	{ "allowance of no rule", false,
	  "--migsync:allow no-such-rule: because\nSELECT 1;", "invalid-allowance@1" },
};

static char *describe(const struct safety_list *l)
{
	struct strbuf sb = STRBUF_INIT;

	for (size_t i = 0; i < l->nr; i++)
		strbuf_addf(&sb, "%s%s@%u%s", i ? " " : "", l->items[i].rule->name,
			    l->items[i].line, l->items[i].allowed ? "+allowed" : "");
	return strbuf_detach(&sb, NULL);
}

static void test_cases(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct safety_case *c = &cases[i];
		struct safety_list l = SAFETY_LIST_INIT;
		struct safety_input in = {
			.revision = "r1", .file = "r1_x.sql", .sql = c->sql, .first_line = 1,
			.transactional = c->transactional, .comments = c->sql, .comment_mark = '-',
		};
		char *got;

		safety_review(&l, &in);
		got = describe(&l);
		if (strcmp(got, c->expect)) {
			print_error("case \"%s\": got [%s], want [%s]\n", c->name, got, c->expect);
			fail();
		}
		free(got);
		safety_list_release(&l);
	}
}

/* Every rule is reachable by name and code, and says why and what instead. */
static void test_rules(void **state)
{
	size_t nr;
	const struct safety_rule *rules = safety_rules(&nr);

	(void)state;
	assert_true(nr >= 15);
	for (size_t i = 0; i < nr; i++) {
		assert_ptr_equal(safety_rule_find(rules[i].name), &rules[i]);
		assert_ptr_equal(safety_rule_find(rules[i].code), &rules[i]);
		assert_true(*rules[i].why && *rules[i].instead && *rules[i].summary);
	}
	assert_null(safety_rule_find("no-such-rule"));
}

/* A finding names file, revision, line, column and the statement. */
static void test_finding_detail(void **state)
{
	struct safety_list l = SAFETY_LIST_INIT;
	struct safety_input in = {
		.revision = "ab12", .file = "v/ab12_x.sql", .first_line = 10,
		.sql = "SET lock_timeout = '1s';\n  CREATE   INDEX i\n ON users (email);",
		.comment_mark = '#', .comments = "# migsync:allow drop-table: not here",
	};
	struct diag_list diags = DIAG_LIST_INIT;

	(void)state;
	safety_review(&l, &in);
	assert_int_equal(l.nr, 1);
	assert_string_equal(l.items[0].file, "v/ab12_x.sql");
	assert_string_equal(l.items[0].revision, "ab12");
	assert_int_equal(l.items[0].line, 11);
	assert_int_equal(l.items[0].column, 3);
	assert_string_equal(l.items[0].statement, "CREATE INDEX i ON users (email)");
	assert_string_equal(l.items[0].message, "CREATE INDEX on table \"users\" without CONCURRENTLY");
	safety_to_diags(&diags, &l);
	assert_int_equal(diags.nr, 1);
	assert_string_equal(diags.items[0].rule, "require-concurrent-index");
	assert_string_equal(diags.items[0].code, "MS101");
	assert_int_equal(diags.items[0].severity, DIAG_WARNING);
	assert_non_null(diags.items[0].hint);
	diag_list_release(&diags);
	safety_list_release(&l);
}

/*
 * A downgrade: the lock and failure rules run, drops and renames (what a
 * downgrade is for) do not; findings are marked down, syntax errors are
 * warnings, and a bad allowance is left to the upgrade's review.
 */
static void test_downgrade(void **state)
{
	static const struct {
		const char *sql;
		const char *expect;
	} down_cases[] = {
		{ "DROP TABLE users;\nALTER TABLE users DROP COLUMN a;\n"
		  "ALTER TABLE users RENAME COLUMN a TO b;\nALTER TABLE users RENAME TO people;",
		  "" },
		{ "ALTER TABLE users DROP COLUMN a, ADD COLUMN b int NOT NULL;",
		  "adding-not-null-column@1 missing-lock-timeout@1" },
		{ "SET lock_timeout = '5s';\nCREATE INDEX i ON users (a);\n"
		  "ALTER TABLE users ALTER COLUMN a TYPE bigint;",
		  "require-concurrent-index@2 changing-column-type@3" },
		{ "-- migsync:allow drop-table\n-- migsync:allow require-concurrent-index: empty\n"
		  "SET lock_timeout = '5s';\nCREATE INDEX i ON users (a);",
		  "require-concurrent-index@4+allowed" },
		{ "SELEC 1;", "syntax-error@1" },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(down_cases); i++) {
		struct safety_list l = SAFETY_LIST_INIT;
		struct diag_list diags = DIAG_LIST_INIT;
		struct safety_input in = {
			.revision = "r1", .file = "r1_x.sql", .sql = down_cases[i].sql,
			.first_line = 1, .transactional = true, .comments = down_cases[i].sql,
			.comment_mark = '-', .down = true,
		};
		char *got;

		safety_review(&l, &in);
		got = describe(&l);
		if (strcmp(got, down_cases[i].expect)) {
			print_error("downgrade case %zu: got [%s], want [%s]\n", i, got,
				    down_cases[i].expect);
			fail();
		}
		for (size_t k = 0; k < l.nr; k++)
			assert_true(l.items[k].down);
		safety_to_diags(&diags, &l);
		for (size_t k = 0; k < diags.nr; k++) {
			assert_int_equal(diags.items[k].severity, DIAG_WARNING);
			assert_true(diags.items[k].down);
			assert_non_null(strstr(diags.items[k].message, "(downgrade) "));
		}
		free(got);
		diag_list_release(&diags);
		safety_list_release(&l);
	}
}

/* The op.* calls of upgrade(), read without running it: "name@line:column" in order. */
static void test_calls(void **state)
{
	static const struct {
		const char *py;
		unsigned def_line;
		const char *expect;
	} call_cases[] = {
		{ "import x\n\ndef upgrade():\n    op.add_column('t', sa.Column('a'))\n"
		  "    op.create_index(op.f('ix'), 't',\n                    ['a'])\n\n"
		  "def downgrade():\n    op.drop_column('t', 'a')\n", 3,
		  "add_column@4:5 create_index@5:5" },
		/* strings, comments and brackets never start a statement; nested blocks do */
		{ "def upgrade() -> None:\n    \"\"\"Docs.\n    op.fake()\n    \"\"\"\n"
		  "    # op.commented()\n    x = (1,\n op.inside())\n"
		  "    with op.get_context().autocommit_block():\n"
		  "        op.execute('SELECT 1; -- op.no()')\n    s = '\\''; op.same_line()\n"
		  "    bind = op.get_bind()\n    op . spaced()\n    top.op.x()\n"
		  "    op.execute(\n        \"x\"\n    )\n", 1,
		  "execute@9:9 execute@14:5" },
		/* the body ends at the first line no deeper than the def */
		{ "class A:\n    def upgrade(self):\n        op.a()\n\n        op.b()\n"
		  "    def other(self):\n        op.c()\n", 2, "a@3:9 b@5:9" },
		{ "def upgrade():\n    pass\n", 1, "" },
		{ "def upgrade():\n    op.a()\n", 0, "" },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(call_cases); i++) {
		struct safety_calls calls = { NULL, 0, 0 };
		struct strbuf sb = STRBUF_INIT;

		safety_calls_read(&calls, call_cases[i].py, call_cases[i].def_line);
		for (size_t k = 0; k < calls.nr; k++)
			strbuf_addf(&sb, "%s%s@%u:%u", k ? " " : "", calls.items[k].name,
				    calls.items[k].line, calls.items[k].column);
		if (strcmp(sb.buf, call_cases[i].expect)) {
			print_error("case %zu: got [%s], want [%s]\n", i, sb.buf, call_cases[i].expect);
			fail();
		}
		strbuf_release(&sb);
		safety_calls_release(&calls);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cases),
		cmocka_unit_test(test_rules),
		cmocka_unit_test(test_finding_detail),
		cmocka_unit_test(test_calls),
		cmocka_unit_test(test_downgrade),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
