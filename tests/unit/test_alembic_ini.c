#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "migsync/error.h"
#include "migsync/scripts.h"
#include "migsync/strbuf.h"
#include "migsync/util.h"

#define HERE "/proj"

/* Read ini and compare the directories with the expected ones (NULL-terminated). */
static void expect_dirs(const char *ini, ...)
{
	struct strvec dirs = STRVEC_INIT;
	struct ms_error err = MS_ERROR_INIT;
	struct strbuf got = STRBUF_INIT, want = STRBUF_INIT;
	const char *d;
	va_list ap;

	if (alembic_ini_script_dirs(&dirs, ini, strlen(ini), "alembic.ini", HERE, &err)) {
		print_error("unexpected error: %s\n", err.message);
		fail();
	}
	va_start(ap, ini);
	while ((d = va_arg(ap, const char *)))
		strbuf_addf(&want, "[%s]", d);
	va_end(ap);
	for (size_t i = 0; i < dirs.nr; i++)
		strbuf_addf(&got, "[%s]", dirs.items[i]);
	if (strcmp(got.buf, want.buf)) {
		print_error("got %s, want %s\n", got.buf, want.buf);
		fail();
	}
	strbuf_release(&got);
	strbuf_release(&want);
	strvec_release(&dirs);
	ms_error_release(&err);
}

/* Reading ini fails with a message containing message and a hint containing hint (when not NULL). */
static void expect_error(const char *ini, const char *message, const char *hint)
{
	struct strvec dirs = STRVEC_INIT;
	struct ms_error err = MS_ERROR_INIT;

	assert_int_equal(alembic_ini_script_dirs(&dirs, ini, strlen(ini), "alembic.ini", HERE, &err),
			 MS_ERR_CONFIG);
	assert_int_equal(dirs.nr, 0);
	assert_non_null(err.message);
	if (!strstr(err.message, message)) {
		print_error("message [%s] lacks [%s]\n", err.message, message);
		fail();
	}
	if (hint && (!err.hint || !strstr(err.hint, hint))) {
		print_error("hint [%s] lacks [%s]\n", err.hint ? err.hint : "(none)", hint);
		fail();
	}
	strvec_release(&dirs);
	ms_error_release(&err);
}

static void test_script_location(void **state)
{
	(void)state;
	expect_dirs("[alembic]\nscript_location = alembic\n", "alembic/versions", NULL);
	expect_dirs("[alembic]\nscript_location: migrations\n", "migrations/versions", NULL);
	expect_dirs("[alembic]\nscript_location=%(here)s/alembic", HERE "/alembic/versions", NULL);
	expect_dirs("[alembic]\nScript_Location = /abs/dir  \n", "/abs/dir/versions", NULL);
	/* an absolute path with a colon is no package resource */
	expect_dirs("[alembic]\nscript_location = /srv/a:b\n", "/srv/a:b/versions", NULL);
	/* other sections and their keys do not count */
	expect_dirs("[loggers]\nscript_location = no\n[alembic]\nscript_location = yes\n"
		    "[post_write_hooks]\nscript_location = no\n", "yes/versions", NULL);
}

static void test_comments_and_lines(void **state)
{
	(void)state;
	expect_dirs("# A generic, single database configuration.\n"
		    "; another comment\n"
		    "\n"
		    "[alembic]\n"
		    "# path to migration scripts\n"
		    "    # an indented comment is a comment, not a continuation\n"
		    "script_location = alembic\n"
		    "\n", "alembic/versions", NULL);
	/* CRLF, a lone CR, a byte order mark, no final newline */
	expect_dirs("\xef\xbb\xbf[alembic]\r\nscript_location = crlf\r\n", "crlf/versions", NULL);
	expect_dirs("[alembic]\rscript_location = cr", "cr/versions", NULL);
	/* a comment only at the start of a line: the rest is the value */
	expect_dirs("[alembic]\nscript_location = a#b ;c\n", "a#b ;c/versions", NULL);
	/* the section header may carry text after its "]" */
	expect_dirs("[alembic] ; main\nscript_location = x\n", "x/versions", NULL);
}

static void test_default_section_and_interpolation(void **state)
{
	(void)state;
	expect_dirs("[DEFAULT]\nscript_location = from_default\n[alembic]\nx = 1\n",
		    "from_default/versions", NULL);
	expect_dirs("[DEFAULT]\nscript_location = d\n[alembic]\nscript_location = a\n",
		    "a/versions", NULL);
	expect_dirs("[DEFAULT]\nroot = %(here)s/db\n[alembic]\nname = mig\n"
		    "script_location = %(ROOT)s/%(name)s\n", HERE "/db/mig/versions", NULL);
	expect_dirs("[alembic]\nscript_location = 100%%\n", "100%/versions", NULL);
	/* the file's own "here" wins over the file's directory */
	expect_dirs("[alembic]\nhere = /else\nscript_location = %(here)s/a\n", "/else/a/versions", NULL);

	expect_error("[alembic]\nscript_location = 100%\n", "line 2: script_location: \"%\" must be", "%%");
	expect_error("[alembic]\nscript_location = %(here\n", "line 2: script_location: bad interpolation", NULL);
	expect_error("[alembic]\nscript_location = %(here)d\n", "bad interpolation", NULL);
	expect_error("[alembic]\nscript_location = %()s\n", "bad interpolation", NULL);
	expect_error("[alembic]\nscript_location = %(nope)s/x\n",
		     "\"alembic.ini\", line 2: script_location: %(nope)s names no option", NULL);
	expect_error("[alembic]\na = %(b)s\nb = %(a)s\nscript_location = %(a)s\n",
		     "more than 10 deep", "refers to itself");
}

static void test_version_locations_default(void **state)
{
	(void)state;
	/* no separator: spaces and commas, as Alembic's legacy split */
	expect_dirs("[alembic]\nscript_location = alembic\n"
		    "version_locations = %(here)s/core %(here)s/reporting\n",
		    HERE "/core", HERE "/reporting", NULL);
	expect_dirs("[alembic]\nscript_location = a\nversion_locations = x,y, z  w ,,\n",
		    "x", "y", "z", "w", NULL);
	/* a continued value: one location per line */
	expect_dirs("[alembic]\nscript_location = a\nversion_locations =\n    one\n\n    two, three\n",
		    "one", "two", "three", NULL);
	/* an empty version_locations means script_location */
	expect_dirs("[alembic]\nscript_location = a\nversion_locations =\n", "a/versions", NULL);
}

static void test_version_path_separator(void **state)
{
	(void)state;
	expect_dirs("[alembic]\nscript_location = a\nversion_path_separator = os\n"
		    "version_locations = /a b:/c,d\n", "/a b", "/c,d", NULL);
	expect_dirs("[alembic]\nscript_location = a\nversion_path_separator = :\n"
		    "version_locations = x::y : z\n", "x", "y", "z", NULL);
	expect_dirs("[alembic]\nscript_location = a\nversion_path_separator = ;\n"
		    "version_locations = x;y, z\n", "x", "y, z", NULL);
	expect_dirs("[alembic]\nscript_location = a\nversion_path_separator = space\n"
		    "version_locations = x,y  z\n", "x,y", "z", NULL);
	expect_dirs("[alembic]\nscript_location = a\nversion_path_separator = newline\n"
		    "version_locations =\n  /my dir/one\n  /my dir/two\n", "/my dir/one", "/my dir/two", NULL);
	/* nothing left after the split: script_location, as in Alembic */
	expect_dirs("[alembic]\nscript_location = a\nversion_path_separator = ;\n"
		    "version_locations =  ;\n", "a/versions", NULL);
	expect_dirs("[alembic]\nscript_location = a\nversion_locations = , ,\n", "a/versions", NULL);
	/* the separator counts only with version_locations, as in Alembic */
	expect_dirs("[alembic]\nscript_location = a\nversion_path_separator = bogus\n", "a/versions", NULL);

	expect_error("[alembic]\nscript_location = a\nversion_path_separator = colon\n"
		     "version_locations = x\n",
		     "\"alembic.ini\", line 3: version_path_separator: \"colon\" is not one of",
		     "Alembic refuses");
	expect_error("[alembic]\nscript_location = a\n"
		     "version_path_separator = os  # Use os.pathsep.\nversion_locations = x\n",
		     "line 3: version_path_separator", "comment on a line of its own");
}

static void test_continuation_lines(void **state)
{
	(void)state;
	/* deeper than the key continues it; the same depth starts a new key */
	expect_dirs("[alembic]\n  script_location = a\n  version_locations = x\n    y\n",
		    "x", "y", NULL);
	expect_dirs("[alembic]\nversion_locations = x\n y\nscript_location = a\n", "x", "y", NULL);
	/* a continuation line under another section's key is that key's */
	expect_dirs("[alembic]\nscript_location = a\n[other]\nk = v\n  version_locations = x\n",
		    "a/versions", NULL);
}

static void test_refused(void **state)
{
	(void)state;
	expect_error("", "\"alembic.ini\": no [alembic] section", "--scripts");
	expect_error("[other]\nscript_location = a\n", "no [alembic] section", NULL);
	expect_error("[alembic]\nsqlalchemy.url = x\n", "no script_location in the [alembic] section",
		     "--scripts DIR");
	expect_error("[alembic]\nscript_location =\n", "line 2: script_location is empty", NULL);
	expect_dirs("[alembic]\nscript_location =\n  on_the_next_line\n", "on_the_next_line/versions", NULL);
	expect_error("[alembic]\nscript_location = a\n  b\n", "line 2: script_location spans several lines",
		     "version_locations");
	expect_error("[alembic]\nscript_location = myapp:migrations\n",
		     "\"alembic.ini\", line 2: script_location: package resource locations "
		     "(\"myapp:migrations\") are not supported", "--scripts DIR");
	expect_error("[alembic]\nscript_location = a\nversion_locations = a myapp:versions\n",
		     "line 3: version_locations: package resource locations (\"myapp:versions\")", NULL);
	expect_error("[alembic]\nscript_location = a\nversion_locations = a b\n"
		     "recursive_version_locations = true\n",
		     "\"alembic.ini\", line 4: recursive_version_locations = true is not supported",
		     "list them in version_locations");
	/* Alembic recurses only for exactly "true" */
	expect_dirs("[alembic]\nscript_location = a\nrecursive_version_locations = false\n",
		    "a/versions", NULL);
	expect_dirs("[alembic]\nscript_location = a\nrecursive_version_locations = True\n",
		    "a/versions", NULL);
}

static void test_malformed(void **state)
{
	(void)state;
	expect_error("script_location = a\n[alembic]\n", "line 1: text before the first [section]", NULL);
	expect_error("[alembic]\nscript_location = a\njust words\n",
		     "\"alembic.ini\", line 3: expected \"key = value\"", NULL);
	expect_error("[alembic]\n= value\n", "line 2: expected", NULL);
	expect_error("[alembic]\nscript_location = a\nSCRIPT_LOCATION = b\n",
		     "line 3: option \"script_location\" given twice in section [alembic]", "configparser");
	expect_error("[alembic]\nscript_location = a\n[alembic]\n", "line 3: section [alembic] given twice", NULL);
	/* "[]" is no section header */
	expect_error("[alembic]\nscript_location = a\n[]\n", "line 3: expected", NULL);
	/* the same key in two sections is fine, and so is a repeated [DEFAULT] */
	expect_dirs("[DEFAULT]\nx = 1\n[alembic]\nx = 2\nscript_location = a\n[DEFAULT]\ny = 3\n",
		    "a/versions", NULL);
}

/* The NUL byte test above needs the length: strlen stops at it. */
static void test_nul_with_length(void **state)
{
	static const char ini[] = "[alembic]\nscript_location = a\n\0b = c\n";
	struct strvec dirs = STRVEC_INIT;
	struct ms_error err = MS_ERROR_INIT;

	(void)state;
	assert_int_equal(alembic_ini_script_dirs(&dirs, ini, sizeof(ini) - 1, "x/alembic.ini", HERE, &err),
			 MS_ERR_CONFIG);
	assert_string_equal(err.message, "\"x/alembic.ini\", line 3: a NUL byte: not a text file");
	ms_error_release(&err);
	/* a buffer that is not NUL-terminated is read only as far as len */
	assert_int_equal(alembic_ini_script_dirs(&dirs, "[alembic]\nscript_location = abcdef", 31,
						 "alembic.ini", HERE, &err), 0);
	assert_int_equal(dirs.nr, 1);
	assert_string_equal(dirs.items[0], "abc/versions");
	strvec_release(&dirs);
	ms_error_release(&err);
}

/*
 * alembic_config_parse over every form migsync takes from the main
 * section: its name (-n), Alembic 1.16's path_separator ahead of
 * version_path_separator, prepend_sys_path and sourceless. Lists are
 * written "[a][b]".
 */
struct config_case {
	const char *name;
	const char *section;	/* NULL: alembic */
	const char *ini;
	const char *versions;
	const char *sys_path;
	bool sourceless;
};

static const struct config_case config_cases[] = {
	{ "defaults", NULL, "[alembic]\nscript_location = m\n", "[m/versions]", "", false },
	{ "another section (-n)", "tenants",
	  "[alembic]\nscript_location = a\n[tenants]\nscript_location = %(here)s/t\n",
	  "[" HERE "/t/versions]", "", false },
	{ "[DEFAULT] under the named section", "tenants",
	  "[DEFAULT]\nsourceless = true\n[tenants]\nscript_location = t\n", "[t/versions]", "", true },
	{ "path_separator os", NULL,
	  "[alembic]\nscript_location = m\nversion_locations = a:b c\npath_separator = os\n",
	  "[a][b c]", "", false },
	{ "path_separator wins over version_path_separator", NULL,
	  "[alembic]\nscript_location = m\nversion_locations = a;/x/b:c\npath_separator = ;\n"
	  "version_path_separator = os\n", "[a][/x/b:c]", "", false },
	{ "version_path_separator alone", NULL,
	  "[alembic]\nscript_location = m\nversion_locations = a;b:c\nversion_path_separator = os\n",
	  "[a;b][c]", "", false },
	{ "path_separator newline", NULL,
	  "[alembic]\nscript_location = m\nversion_locations =\n  a b\n  c\npath_separator = newline\n",
	  "[a b][c]", "", false },
	{ "path_separator space", NULL,
	  "[alembic]\nscript_location = m\nversion_locations = a, b\npath_separator = space\n",
	  "[a,][b]", "", false },
	{ "legacy: spaces and commas", NULL,
	  "[alembic]\nscript_location = m\nversion_locations = %(here)s/a, %(here)s/b\n",
	  "[" HERE "/a][" HERE "/b]", "", false },
	{ "prepend_sys_path legacy: spaces, commas and colons", NULL,
	  "[alembic]\nscript_location = m\nprepend_sys_path = .:src, %(here)s/lib\n",
	  "[m/versions]", "[.][src][" HERE "/lib]", false },
	{ "prepend_sys_path by path_separator", NULL,
	  "[alembic]\nscript_location = m\nprepend_sys_path = a b;c\npath_separator = ;\n",
	  "[m/versions]", "[a b][c]", false },
	{ "sourceless only when exactly true", NULL,
	  "[alembic]\nscript_location = m\nsourceless = True\n", "[m/versions]", "", false },
	{ "sourceless = true", NULL,
	  "[alembic]\nscript_location = m\nsourceless = true\n", "[m/versions]", "", true },
};

static void list(struct strbuf *sb, const struct strvec *v)
{
	for (size_t i = 0; i < v->nr; i++)
		strbuf_addf(sb, "[%s]", v->items[i]);
}

static void test_config_forms(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(config_cases) / sizeof(config_cases[0]); i++) {
		const struct config_case *c = &config_cases[i];
		struct alembic_config cfg;
		struct ms_error err = MS_ERROR_INIT;
		struct strbuf versions = STRBUF_INIT, sys_path = STRBUF_INIT;

		alembic_config_init(&cfg);
		if (alembic_config_parse(&cfg, c->ini, strlen(c->ini), "alembic.ini", HERE, c->section,
					 &err)) {
			print_error("%s: unexpected error: %s\n", c->name, err.message);
			fail();
		}
		list(&versions, &cfg.version_dirs);
		list(&sys_path, &cfg.prepend_sys_path);
		if (strcmp(versions.buf, c->versions) || strcmp(sys_path.buf, c->sys_path) ||
		    cfg.sourceless != c->sourceless) {
			print_error("%s: versions %s sys.path %s sourceless %d, want %s %s %d\n", c->name,
				    versions.buf, sys_path.buf, cfg.sourceless, c->versions, c->sys_path,
				    c->sourceless);
			fail();
		}
		strbuf_release(&versions);
		strbuf_release(&sys_path);
		alembic_config_release(&cfg);
		ms_error_release(&err);
	}
}

/* A missing named section, and a bad path_separator, name themselves. */
static void test_config_refused(void **state)
{
	static const char bad_sep[] = "[alembic]\nscript_location = m\nversion_locations = a\n"
				      "path_separator = comma\n";
	struct alembic_config cfg;
	struct ms_error err = MS_ERROR_INIT;

	(void)state;
	alembic_config_init(&cfg);
	assert_int_equal(alembic_config_parse(&cfg, "[alembic]\nscript_location = m\n", 30,
					      "alembic.ini", HERE, "tenants", &err), MS_ERR_CONFIG);
	assert_string_equal(err.message, "\"alembic.ini\": no [tenants] section");
	assert_non_null(strstr(err.hint, "alembic_section"));
	ms_error_release(&err);
	assert_int_equal(alembic_config_parse(&cfg, bad_sep, strlen(bad_sep), "alembic.ini", HERE,
					      NULL, &err), MS_ERR_CONFIG);
	assert_string_equal(err.message, "\"alembic.ini\", line 4: path_separator: \"comma\" is not "
			    "one of space, newline, os, \":\", \";\"");
	assert_null(cfg.script_location);
	ms_error_release(&err);
	alembic_config_release(&cfg);
}

/* env.py read as text: the literal version_table of context.configure. */
static void test_env_py(void **state)
{
	static const char env_py[] =
		"from alembic import context\n"
		"# context.configure(version_table=\"commented\")\n"
		"x = \"version_table='not in a call'\"\n"
		"def run():\n"
		"    context.configure(url=u, target_metadata=m,\n"
		"                      version_table = 'app_version',\n"
		"                      version_table_schema=settings.SCHEMA)\n"
		"def online():\n"
		"    context.configure(connection=c, version_table=\"other\",\n"
		"                      version_table_schema=\"audit\")\n";
	struct env_py_facts f;

	(void)state;
	env_py_facts_init(&f);
	env_py_scan(&f, env_py, strlen(env_py));
	assert_string_equal(f.version_table, "app_version");
	assert_int_equal(f.version_table_line, 6);
	assert_string_equal(f.version_table_schema, "audit");
	assert_int_equal(f.version_table_schema_line, 10);
	env_py_facts_release(&f);
	env_py_scan(&f, "context.configure(version_table=f\"x\")\n", 38);
	assert_null(f.version_table);
	env_py_facts_release(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_script_location),
		cmocka_unit_test(test_comments_and_lines),
		cmocka_unit_test(test_default_section_and_interpolation),
		cmocka_unit_test(test_version_locations_default),
		cmocka_unit_test(test_version_path_separator),
		cmocka_unit_test(test_continuation_lines),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_nul_with_length),
		cmocka_unit_test(test_config_forms),
		cmocka_unit_test(test_config_refused),
		cmocka_unit_test(test_env_py),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
