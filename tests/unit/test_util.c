#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "migsync/clock.h"
#include "migsync/diag.h"
#include "migsync/error.h"
#include "migsync/json.h"
#include "migsync/sha256.h"
#include "migsync/strbuf.h"
#include "migsync/util.h"

static void test_strbuf_basics(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	char *s;
	size_t len;

	(void)state;
	assert_string_equal(sb.buf, "");
	strbuf_addstr(&sb, "abc");
	strbuf_addch(&sb, 'd');
	strbuf_addf(&sb, "%d-%s", 42, "x");
	assert_string_equal(sb.buf, "abcd42-x");
	for (int i = 0; i < 1000; i++)
		strbuf_addf(&sb, "%04d", i);
	assert_int_equal(sb.len, 8 + 4000);
	strbuf_reset(&sb);
	strbuf_addstr(&sb, "  padded \t\n");
	strbuf_trim(&sb);
	assert_string_equal(sb.buf, "padded");
	s = strbuf_detach(&sb, &len);
	assert_int_equal(len, 6);
	assert_string_equal(sb.buf, "");
	free(s);
	strbuf_release(&sb);
}

/* Hints print commands to paste: every word comes back as one argument, unexpanded. */
static void test_shell_word(void **state)
{
	static const struct {
		const char *in;
		const char *out;
	} cases[] = {
		{ "prod", "prod" },
		{ "eu-west.2", "eu-west.2" },
		{ "/srv/app/environments", "/srv/app/environments" },
		{ "a1b2c3d4e5f6", "a1b2c3d4e5f6" },
		{ "label@head", "label@head" },
		{ "", "''" },
		{ "my inventory", "'my inventory'" },
		{ "a$(id)", "'a$(id)'" },
		{ "`id`", "'`id`'" },
		{ "it's", "'it'\\''s'" },
		{ "a;b|c&d", "'a;b|c&d'" },
		{ "~/envs", "'~/envs'" },
		{ "*", "'*'" },
		{ "new\nline", "'new\nline'" },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct strbuf sb = STRBUF_INIT;

		strbuf_add_shell_word(&sb, cases[i].in);
		assert_string_equal(sb.buf, cases[i].out);
		strbuf_release(&sb);
	}
}

static void test_error_object(void **state)
{
	struct ms_error err = MS_ERROR_INIT;

	(void)state;
	assert_int_equal(ms_error_set(&err, MS_ERR_IO, "file \"%s\": gone", "a.py"), MS_ERR_IO);
	ms_error_hint(&err, "create it");
	ms_error_prefix(&err, "reading %s", "versions");
	assert_string_equal(err.message, "reading versions: file \"a.py\": gone");
	assert_string_equal(err.hint, "create it");
	assert_int_equal(err.code, MS_ERR_IO);
	ms_error_release(&err);
	assert_null(err.message);
	assert_int_equal(ms_error_set(NULL, MS_ERR_PARSE, "ignored"), MS_ERR_PARSE);
}

static void test_json_writer(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	struct json_writer jw;

	(void)state;
	json_init(&jw, &sb);
	json_object_begin(&jw);
	json_kv_string(&jw, "a", "q\"\n\x01");
	json_key(&jw, "list");
	json_array_begin(&jw);
	json_int(&jw, 1);
	json_string(&jw, NULL);
	json_bool(&jw, true);
	json_object_begin(&jw);
	json_object_end(&jw);
	json_array_end(&jw);
	json_kv_int(&jw, "n", -5);
	json_object_end(&jw);
	assert_string_equal(sb.buf, "{\"a\":\"q\\\"\\n\\u0001\",\"list\":[1,null,true,{}],\"n\":-5}");
	strbuf_release(&sb);
}

/* Every byte sequence json_quote may meet, and what the document holds. */
static const struct {
	const char *in;
	const char *out;
} utf8_cases[] = {
	{ "plain", "\"plain\"" },
	{ "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\x98", "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\x98\"" },
	{ "a\xff" "b", "\"a\\ufffdb\"" },			/* never a UTF-8 byte */
	{ "\xc3", "\"\\ufffd\"" },				/* cut short at the end */
	{ "\xc3(", "\"\\ufffd(\"" },				/* continuation missing */
	{ "\xc0\xaf", "\"\\ufffd\\ufffd\"" },			/* overlong "/" */
	{ "\xe0\x80\xaf", "\"\\ufffd\\ufffd\\ufffd\"" },	/* overlong, three bytes */
	{ "\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\"" },	/* a UTF-16 surrogate */
	{ "\xf4\x90\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\"" },	/* past U+10FFFF */
	{ "\x80rev", "\"\\ufffdrev\"" },			/* a lone continuation byte */
	{ "\xf0\x9f\x90", "\"\\ufffd\\ufffd\\ufffd\"" },	/* four-byte form cut short */
	{ "tab\there\x1f", "\"tab\\there\\u001f\"" },
};

static void test_json_utf8(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(utf8_cases); i++) {
		struct strbuf sb = STRBUF_INIT;

		json_quote(&sb, utf8_cases[i].in);
		if (strcmp(sb.buf, utf8_cases[i].out))
			fail_msg("case %zu: got %s, expected %s", i, sb.buf, utf8_cases[i].out);
		strbuf_release(&sb);
	}
}

static void test_json_document(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	struct json_writer jw;

	(void)state;
	json_init(&jw, &sb);
	/* 2026-12-05T19:52:17.500Z */
	json_document_begin(&jw, "status", "0.1.0", INT64_C(1796500337500));
	json_kv_string(&jw, "id", "\xfe");
	json_object_end(&jw);
	assert_string_equal(sb.buf, "{\"format\":\"migsync.status/1\",\"migsync\":\"0.1.0\","
			    "\"generated_at\":\"2026-12-05T19:52:17Z\",\"id\":\"\\ufffd\"}");
	strbuf_release(&sb);
}

static void test_sha256(void **state)
{
	char hex[SHA256_HEX_LEN + 1];

	(void)state;
	sha256_hex("abc", 3, hex);
	assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

static void test_strvec_and_diag(void **state)
{
	struct strvec v = STRVEC_INIT, w = STRVEC_INIT;
	struct diag_list list = DIAG_LIST_INIT;

	(void)state;
	strvec_push(&v, "b");
	strvec_push(&v, "a");
	strvec_sort(&v);
	assert_string_equal(v.items[0], "a");
	assert_true(strvec_contains(&v, "b"));
	assert_false(strvec_contains(&v, "c"));
	strvec_push(&w, "a");
	assert_false(strvec_equal(&v, &w));
	strvec_push(&w, "b");
	assert_true(strvec_equal(&v, &w));
	strvec_push(&w, "c");
	assert_false(strvec_equal(&v, &w));
	strvec_release(&w);
	strvec_release(&v);

	diag_add(&list, DIAG_WARNING, "MS010", "z.py", 3, "abc", NULL, "second %d", 2);
	diag_add(&list, DIAG_ERROR, "MS002", "a.py", 9, NULL, "fix it", "first");
	diag_list_sort(&list);
	assert_string_equal(list.items[0].file, "a.py");
	assert_int_equal(diag_list_count(&list, DIAG_ERROR), 1);
	assert_string_equal(list.items[1].message, "second 2");
	diag_list_release(&list);
}

static int64_t fake_wall(void *ctx)
{
	return *(int64_t *)ctx;
}

static int64_t fake_mono(void *ctx)
{
	return *(int64_t *)ctx / 2;
}

/* A test clock replaces the system's for every reader, and NULL restores it. */
static void test_clock_injected(void **state)
{
	int64_t now = 1700000000000;
	struct clock_source fake = { fake_wall, fake_mono, &now };
	int64_t before = clock_wall_ms(), m0 = clock_mono_ms();

	(void)state;
	assert_true(before > 1600000000000);
	assert_true(clock_mono_ms() >= m0);
	clock_set(&fake);
	assert_int_equal(clock_wall_ms(), 1700000000000);
	now += 5000;
	assert_int_equal(clock_wall_ms(), 1700000005000);
	assert_int_equal(clock_mono_ms(), 850000002500);
	clock_set(NULL);
	assert_true(clock_wall_ms() >= before);
}

/* "dir/.." taken out only over a real directory: a link's parent is elsewhere. */
static void test_path_fold_parents(void **state)
{
	static const struct {
		const char *in, *out;	/* under the test's directory */
	} under[] = {
		{ "env/../versions", "versions" },
		{ "env/sub/../../versions", "versions" },
		{ "env/./sub//x/", "env/sub/x" },
		{ "link/../versions", "link/../versions" },
		{ "missing/../versions", "missing/../versions" },
	};
	static const struct {
		const char *in, *out;
	} as_is[] = {
		{ "../x", "../x" }, { "./a", "a" }, { ".", "." }, { "", "." },
		{ "/", "/" }, { "a//b", "a/b" }, { "nowhere-7f3a/..", "nowhere-7f3a/.." },
	};
	char tmpl[] = "/tmp/migsync-fold.XXXXXX";
	const char *dir = mkdtemp(tmpl);
	char *p;

	(void)state;
	assert_non_null(dir);
	p = xstrfmt("%s/env", dir);
	assert_int_equal(mkdir(p, 0700), 0);
	free(p);
	p = xstrfmt("%s/env/sub", dir);
	assert_int_equal(mkdir(p, 0700), 0);
	free(p);
	p = xstrfmt("%s/link", dir);
	assert_int_equal(symlink("env/sub", p), 0);
	free(p);
	for (size_t i = 0; i < ARRAY_SIZE(under); i++) {
		char *in = xstrfmt("%s/%s", dir, under[i].in);
		char *want = xstrfmt("%s/%s", dir, under[i].out);
		char *got = path_fold_parents(in);

		print_message("%s\n", under[i].in);
		assert_string_equal(got, want);
		free(got);
		free(want);
		free(in);
	}
	p = xstrfmt("%s/env/..", dir);
	{
		char *got = path_fold_parents(p);

		assert_string_equal(got, dir);
		free(got);
	}
	free(p);
	for (size_t i = 0; i < ARRAY_SIZE(as_is); i++) {
		char *got = path_fold_parents(as_is[i].in);

		print_message("\"%s\"\n", as_is[i].in);
		assert_string_equal(got, as_is[i].out);
		free(got);
	}
	p = xstrfmt("rm -rf '%s'", dir);
	assert_int_equal(system(p), 0);
	free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_strbuf_basics),
		cmocka_unit_test(test_shell_word),
		cmocka_unit_test(test_error_object),
		cmocka_unit_test(test_json_writer),
		cmocka_unit_test(test_json_utf8),
		cmocka_unit_test(test_json_document),
		cmocka_unit_test(test_sha256),
		cmocka_unit_test(test_strvec_and_diag),
		cmocka_unit_test(test_clock_injected),
		cmocka_unit_test(test_path_fold_parents),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
