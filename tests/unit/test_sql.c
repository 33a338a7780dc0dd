/*
 * The statement reader: libpg_query splits and parses; these cases pin
 * what migsync adds (positions of first tokens, lines from first_line,
 * trimmed ends, errors with line and column) and that the parser, not a
 * guess, decides where statements end.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include <pg_query/pg_query.pb-c.h>

#include "migsync/error.h"
#include "migsync/sql.h"
#include "migsync/strbuf.h"
#include "migsync/util.h"

/*
 * Split sql and compare with the expected statements, given as
 * "LINE:TEXT" strings (NULL-terminated); sql_parse must find the same.
 */
static void expect_split(const char *sql, unsigned first_line, ...)
{
	struct sql_script st, parsed;
	struct ms_error err = MS_ERROR_INIT;
	size_t i = 0;
	const char *want;
	va_list ap;

	sql_script_init(&st);
	sql_script_init(&parsed);
	if (sql_split(&st, sql, strlen(sql), first_line, &err) ||
	    sql_parse(&parsed, sql, strlen(sql), first_line, &err)) {
		print_error("unexpected error: %s\n", err.message);
		fail();
	}
	va_start(ap, first_line);
	while ((want = va_arg(ap, const char *))) {
		char *got;

		if (i >= st.nr) {
			print_error("missing statement %zu: %s\n", i, want);
			fail();
		}
		got = xstrfmt("%u:%.*s", st.items[i].line, (int)st.items[i].len, st.items[i].text);
		if (strcmp(got, want)) {
			print_error("statement %zu: got [%s], want [%s]\n", i, got, want);
			free(got);
			fail();
		}
		free(got);
		assert_ptr_equal(parsed.items[i].text, st.items[i].text);
		assert_int_equal(parsed.items[i].len, st.items[i].len);
		assert_non_null(parsed.items[i].tree);
		i++;
	}
	va_end(ap);
	assert_int_equal(st.nr, i);
	assert_int_equal(parsed.nr, i);
	sql_script_release(&st);
	sql_script_release(&parsed);
	ms_error_release(&err);
}

static void expect_error(const char *sql, unsigned first_line, const char *message)
{
	struct sql_script st;
	struct ms_error err = MS_ERROR_INIT;

	sql_script_init(&st);
	assert_int_equal(sql_split(&st, sql, strlen(sql), first_line, &err), MS_ERR_PARSE);
	assert_null(st.items);
	assert_int_equal(st.nr, 0);
	assert_string_equal(err.message, message);
	assert_non_null(err.hint);
	sql_script_release(&st);
	ms_error_release(&err);
	assert_int_equal(sql_parse(&st, sql, strlen(sql), first_line, &err), MS_ERR_PARSE);
	assert_string_equal(err.message, message);
	sql_script_release(&st);
	ms_error_release(&err);
}

static void test_basic(void **state)
{
	(void)state;
	expect_split("", 1, NULL);
	expect_split("  \n\t ;;\n ; ", 1, NULL);
	expect_split("SELECT 1", 1, "1:SELECT 1", NULL);
	expect_split("SELECT 1;SELECT 2;", 1, "1:SELECT 1", "1:SELECT 2", NULL);
	expect_split("CREATE TABLE t (a int);\n\n  INSERT INTO t\n  VALUES (1);\n", 1,
		     "1:CREATE TABLE t (a int)", "3:INSERT INTO t\n  VALUES (1)", NULL);
	/* first_line: the line of the section's first line */
	expect_split("\nSELECT 1;\nSELECT 2;", 10, "11:SELECT 1", "12:SELECT 2", NULL);
	expect_split("SELECT 1", 0, "1:SELECT 1", NULL);
	/* trailing whitespace is dropped, a \r\n too */
	expect_split("SELECT 1  \r\n;", 1, "1:SELECT 1", NULL);
}

static void test_comments(void **state)
{
	(void)state;
	expect_split("-- only a comment\n-- another; with semicolon\n", 1, NULL);
	expect_split("/* only; */ ; -- x;\n", 1, NULL);
	/* a last statement without ';' keeps its trailing comment: harmless to send */
	expect_split("-- lead\nSELECT 1; -- trailing; comment\nSELECT 2 -- no end", 1,
		     "2:SELECT 1", "3:SELECT 2 -- no end", NULL);
	expect_split("SELECT /* a; b */ 1;", 1, "1:SELECT /* a; b */ 1", NULL);
	/* nested block comments */
	expect_split("/* outer /* inner; */ still; */ SELECT 1; SELECT 2", 1,
		     "1:SELECT 1", "1:SELECT 2", NULL);
	expect_split("/* a\n/* b\n*/\n;\n*/\nSELECT 3;", 1, "6:SELECT 3", NULL);
	/* a comment opener inside a string is not a comment */
	expect_split("SELECT '/*', '--';SELECT 2", 1, "1:SELECT '/*', '--'", "1:SELECT 2", NULL);
	/* a line comment ends at the end of its line */
	expect_split("SELECT 1 -- x\n, 2;", 1, "1:SELECT 1 -- x\n, 2", NULL);
}

static void test_strings(void **state)
{
	(void)state;
	expect_split("SELECT 'a;b';", 1, "1:SELECT 'a;b'", NULL);
	expect_split("SELECT 'it''s; ok'; SELECT 2", 1, "1:SELECT 'it''s; ok'", "1:SELECT 2", NULL);
	expect_split("SELECT '';SELECT ''''", 1, "1:SELECT ''", "1:SELECT ''''", NULL);
	/* standard_conforming_strings: a backslash is a plain character */
	expect_split("SELECT 'a\\';SELECT 2", 1, "1:SELECT 'a\\'", "1:SELECT 2", NULL);
	/* E'' strings: backslash escapes a quote */
	expect_split("SELECT E'a\\';b';SELECT 2", 1, "1:SELECT E'a\\';b'", "1:SELECT 2", NULL);
	expect_split("SELECT e'\\\\';SELECT 2", 1, "1:SELECT e'\\\\'", "1:SELECT 2", NULL);
	expect_split("SELECT E'x''y;z';", 1, "1:SELECT E'x''y;z'", NULL);
	/* strings spanning lines keep line numbers right */
	expect_split("SELECT 'a\nb\nc';\nSELECT 2;", 1, "1:SELECT 'a\nb\nc'", "4:SELECT 2", NULL);
	expect_split("SELECT U&'d\\0061t;a', B'101', X'1F';", 1,
		     "1:SELECT U&'d\\0061t;a', B'101', X'1F'", NULL);
}

static void test_identifiers(void **state)
{
	(void)state;
	expect_split("CREATE TABLE \"a;b\" (\"x\"\"y;\" int);SELECT 1", 1,
		     "1:CREATE TABLE \"a;b\" (\"x\"\"y;\" int)", "1:SELECT 1", NULL);
	expect_split("SELECT \"--\", \"/*\";SELECT 2", 1, "1:SELECT \"--\", \"/*\"", "1:SELECT 2", NULL);
	expect_split("SELECT \"it's\"; SELECT 2", 1, "1:SELECT \"it's\"", "1:SELECT 2", NULL);
}

static void test_dollar_quotes(void **state)
{
	(void)state;
	expect_split("CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql;SELECT 2", 1,
		     "1:CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql", "1:SELECT 2", NULL);
	expect_split("DO $body$\nBEGIN\n  RAISE NOTICE 'x;$$;';\nEND\n$body$;\nSELECT 2;", 1,
		     "1:DO $body$\nBEGIN\n  RAISE NOTICE 'x;$$;';\nEND\n$body$", "6:SELECT 2", NULL);
	/* a different tag inside does not close the quote */
	expect_split("SELECT $a$ $b$ ; $b$ ; $a$;", 1, "1:SELECT $a$ $b$ ; $b$ ; $a$", NULL);
	expect_split("SELECT $_x1$;$_x1$;", 1, "1:SELECT $_x1$;$_x1$", NULL);
	/* $1 is a parameter, not a quote */
	expect_split("PREPARE p AS SELECT $1; EXECUTE p(1);", 1,
		     "1:PREPARE p AS SELECT $1", "1:EXECUTE p(1)", NULL);
	/* '$' inside an identifier does not open a quote */
	expect_split("SELECT a$$b, c$x$;SELECT 2", 1, "1:SELECT a$$b, c$x$", "1:SELECT 2", NULL);
	/* quotes and comments mean nothing inside a dollar quote */
	expect_split("SELECT $$ ' \" /* -- $$;SELECT 2", 1,
		     "1:SELECT $$ ' \" /* -- $$", "1:SELECT 2", NULL);
	expect_split("SELECT $$\n\n$$;\nSELECT 2", 1, "1:SELECT $$\n\n$$", "4:SELECT 2", NULL);
}

static void test_parens_and_begin(void **state)
{
	(void)state;
	/* CREATE RULE bodies hold several statements */
	expect_split("CREATE RULE r AS ON INSERT TO t DO ALSO (SELECT 1; SELECT 2);SELECT 3", 1,
		     "1:CREATE RULE r AS ON INSERT TO t DO ALSO (SELECT 1; SELECT 2)", "1:SELECT 3",
		     NULL);
	/* SQL-standard function bodies (psql's heuristic) */
	expect_split("CREATE FUNCTION f() RETURNS int LANGUAGE sql\nBEGIN ATOMIC\n"
		     "  SELECT 1;\n  SELECT CASE WHEN true THEN 2 END;\nEND;\nSELECT 4;", 1,
		     "1:CREATE FUNCTION f() RETURNS int LANGUAGE sql\nBEGIN ATOMIC\n"
		     "  SELECT 1;\n  SELECT CASE WHEN true THEN 2 END;\nEND",
		     "6:SELECT 4", NULL);
	expect_split("create or replace procedure p() begin atomic select 1; end; select 2", 1,
		     "1:create or replace procedure p() begin atomic select 1; end",
		     "1:select 2", NULL);
	/* BEGIN alone is a transaction statement */
	expect_split("BEGIN; SELECT 1; END;", 1, "1:BEGIN", "1:SELECT 1", "1:END", NULL);
}

static void test_errors(void **state)
{
	(void)state;
	expect_error("SELECT 1;\nSELECT 'abc", 1,
		     "line 2, column 8: unterminated quoted string at or near \"'abc\"");
	expect_error("\n\nSELECT \"abc", 5,
		     "line 7, column 8: unterminated quoted identifier at or near \"\"abc\"");
	expect_error("SELECT $$ abc", 1,
		     "line 1, column 8: unterminated dollar-quoted string at or near \"$$ abc\"");
	expect_error("SELECT 1;\n/* a /* b */", 1,
		     "line 2, column 1: unterminated /* comment at or near \"/* a /* b */\"");
	expect_error("CREATE TABLE t (a int);\n  SELEC 1;", 10,
		     "line 11, column 3: syntax error at or near \"SELEC\"");
	/* columns count characters, not bytes */
	expect_error("SELECT 'é', 'ü' FRM t", 1,
		     "line 1, column 21: syntax error at or near \"t\"");
	/* the parser, not a guess: a ';' inside parentheses is an error */
	expect_error("SELECT (1;2)", 1, "line 1, column 10: syntax error at or near \";\"");
}

/* Positions of first tokens: line and column after comments. */
static void test_positions(void **state)
{
	struct sql_script st;
	struct ms_error err = MS_ERROR_INIT;
	const char *sql = "-- c\n  /* x */ SELECT 1;\n\tSELECT 'é'; SELECT 3";
	unsigned line, column;

	(void)state;
	sql_script_init(&st);
	assert_int_equal(sql_parse(&st, sql, strlen(sql), 3, &err), 0);
	assert_int_equal(st.nr, 3);
	assert_int_equal(st.items[0].line, 4);
	assert_int_equal(st.items[0].column, 11);
	assert_int_equal(st.items[1].line, 5);
	assert_int_equal(st.items[1].column, 2);
	assert_int_equal(st.items[2].column, 14);
	assert_int_equal(st.items[2].offset, strlen(sql) - 8);
	sql_script_release(&st);
	sql_position(&line, &column, "ab\ncd", 4, 0);
	assert_int_equal(line, 2);
	assert_int_equal(column, 2);
}

/*
 * Every prefix of tricky inputs, copied to an exact-size heap buffer so
 * that ASan catches any read past len; results must not crash.
 */
static void test_prefixes(void **state)
{
	static const char *const inputs[] = {
		"SELECT E'a\\'b' /* c /* d */ e */ $x$ $$ $x$ \"q\"\"r\" -- s\n;$1$;",
		"CREATE FUNCTION f() BEGIN ATOMIC SELECT (1; CASE END; END;",
		"$", "$a", "$a$", "E'", "e'\\", "/", "-", "/*/", "\"", "'", ";",
	};

	(void)state;
	for (size_t k = 0; k < ARRAY_SIZE(inputs); k++) {
		size_t n = strlen(inputs[k]);

		for (size_t len = 0; len <= n; len++) {
			char *buf = xmalloc(len ? len : 1);
			struct sql_script st;
			struct ms_error err = MS_ERROR_INIT;

			sql_script_init(&st);
			memcpy(buf, inputs[k], len);
			if (!sql_parse(&st, buf, len, 1, &err)) {
				for (size_t i = 0; i < st.nr; i++)
					assert_true(st.items[i].text >= buf &&
						    st.items[i].text + st.items[i].len <= buf + len);
			}
			sql_script_release(&st);
			free(buf);
			ms_error_release(&err);
		}
	}
}

/* A NUL byte would end the parser's input early: refused with its position. */
static void test_nul_bytes(void **state)
{
	static const char sql[] = "SELECT 1;\nSELECT '\0;';SELECT 2";
	struct sql_script st;
	struct ms_error err = MS_ERROR_INIT;

	(void)state;
	sql_script_init(&st);
	assert_int_equal(sql_split(&st, sql, sizeof(sql) - 1, 1, &err), MS_ERR_PARSE);
	assert_string_equal(err.message, "line 2, column 9: NUL byte in SQL text");
	assert_int_equal(st.nr, 0);
	sql_script_release(&st);
	ms_error_release(&err);
}

/* Tokens as "kind:text" words: W word, Q quoted, . dot, ? other, = equals. */
static char *describe_tokens(const char *sql)
{
	struct sql_statement st = { .text = sql, .len = strlen(sql) };
	struct sql_token tok[8];
	struct strbuf sb = STRBUF_INIT;
	size_t nr = sql_tokens(&st, tok, ARRAY_SIZE(tok));

	for (size_t i = 0; i < nr; i++)
		strbuf_addf(&sb, "%s%c%s", i ? " " : "", "WQ.?="[tok[i].kind], tok[i].text);
	return strbuf_detach(&sb, NULL);
}

/* The leading tokens: what the parser would read, or OTHER where reading stops. */
static void test_tokens(void **state)
{
	static const char *const cases[][2] = {
		{ "CREATE TABLE Foo.\"B\"\"ar\" (a int)", "Wcreate Wtable Wfoo . QB\"ar ?" },
		{ "-- c\n/* a /* nested */ b */ ALTER\tTABLE x", "Walter Wtable Wx" },
		{ "create index on t$1_x(a)", "Wcreate Windex Won Wt$1_x ?" },
		{ "SELECT U&\"x\"", "Wselect ?" },
		{ "SELECT E'x'", "Wselect ?" },
		{ "CREATE TABLE caf\xc3\xa9 (a int)", "Wcreate Wtable ?" },
		{ "SELECT \"\"", "Wselect ?" },
		{ "SELECT \"unterminated", "Wselect ?" },
		{ "a b c d e f g h i j", "Wa Wb Wc Wd We Wf Wg Wh" },
		{ "SET lock_timeout='5s'", "Wset Wlock_timeout = ?" },
		{ "SET x = DEFAULT", "Wset Wx = Wdefault" },
		{ "SELECT a => b", "Wselect Wa ?" },
		{ "SELECT a ==", "Wselect Wa ?" },
		{ "SELECT a =", "Wselect Wa =" },
		{ "", "" },
	};
	char longer[80];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char *got = describe_tokens(cases[i][0]);

		if (strcmp(got, cases[i][1])) {
			print_error("tokens of [%s]: got [%s], want [%s]\n", cases[i][0], got,
				    cases[i][1]);
			fail();
		}
		free(got);
	}
	/* 63 bytes is a name; from 64 on the parser truncates it: OTHER */
	memset(longer, 'x', sizeof(longer));
	longer[63] = '\0';
	{
		char *got = describe_tokens(longer);

		assert_int_equal(strlen(got), 64);
		free(got);
	}
	longer[63] = 'x';
	longer[64] = '\0';
	{
		char *got = describe_tokens(longer);

		assert_string_equal(got, "?");
		free(got);
	}
}

static bool want_alter(const struct sql_statement *st, void *ctx)
{
	(*(int *)ctx)++;
	return st->len >= 5 && !memcmp(st->text, "ALTER", 5);
}

/* Trees only for the statements asked for, each the right one; errors as sql_parse. */
static void test_parse_some(void **state)
{
	const char *sql = "CREATE TABLE t (a int);\nALTER TABLE t ADD b int -- x\n;\n"
		"SELECT 1;\nALTER TABLE u DROP c";
	const char *bad = "ALTER TABLE t ADD b int;\nSELEC 1";
	struct sql_script st;
	struct ms_error err = MS_ERROR_INIT;
	int calls = 0;

	(void)state;
	sql_script_init(&st);
	assert_int_equal(sql_parse_some(&st, sql, strlen(sql), 1, want_alter, &calls, &err), 0);
	assert_int_equal(calls, 4);
	assert_int_equal(st.nr, 4);
	assert_null(st.items[0].tree);
	assert_null(st.items[2].tree);
	assert_non_null(st.items[1].tree);
	assert_non_null(st.items[3].tree);
	assert_int_equal(st.items[1].tree->node_case, PG_QUERY__NODE__NODE_ALTER_TABLE_STMT);
	assert_string_equal(st.items[1].tree->alter_table_stmt->relation->relname, "t");
	assert_string_equal(st.items[3].tree->alter_table_stmt->relation->relname, "u");
	assert_int_equal(st.items[3].line, 5);
	assert_int_equal(sql_parse_some(&st, bad, strlen(bad), 1, want_alter, &calls, &err),
			 MS_ERR_PARSE);
	assert_string_equal(err.message, "line 2, column 1: syntax error at or near \"SELEC\"");
	assert_int_equal(st.nr, 0);
	sql_script_release(&st);
	ms_error_release(&err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basic),
		cmocka_unit_test(test_comments),
		cmocka_unit_test(test_strings),
		cmocka_unit_test(test_identifiers),
		cmocka_unit_test(test_dollar_quotes),
		cmocka_unit_test(test_parens_and_begin),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_positions),
		cmocka_unit_test(test_prefixes),
		cmocka_unit_test(test_nul_bytes),
		cmocka_unit_test(test_tokens),
		cmocka_unit_test(test_parse_some),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
