/*
 * project_open: where the scripts come from (--scripts, the inventory,
 * alembic.ini), the graph, and a broken graph kept going.
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

#include "migsync/inventory.h"
#include "migsync/project.h"
#include "migsync/revgraph.h"
#include "migsync/util.h"

struct fixture {
	char dir[64];
	char *cwd;
	struct project p;
	struct ms_error err;
};

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static void write_revision(const char *dir, const char *id, const char *down)
{
	char *path = xstrfmt("%s/%s_r.sql", dir, id);
	char *text = xstrfmt("-- migsync:revision %s\n-- migsync:down_revision %s\n"
			     "-- migsync:message r %s\n\n-- migsync:up\nSELECT 1;\n\n"
			     "-- migsync:down\nSELECT 1;\n", id, down, id);

	write_file(path, text);
	free(text);
	free(path);
}

/* A project in a fresh directory: a/ and b/ hold revisions, the cwd is it. */
static int setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));

	strcpy(f->dir, "/tmp/migsync-project-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	f->cwd = getcwd(NULL, 0);
	if (chdir(f->dir) < 0 || mkdir("a", 0700) < 0 || mkdir("b", 0700) < 0 ||
	    mkdir("environments", 0700) < 0)
		return -1;
	write_revision("a", "aaaa00000001", "none");
	write_revision("a", "aaaa00000002", "aaaa00000001");
	write_revision("b", "bbbb00000001", "none");
	project_init(&f->p);
	ms_error_init(&f->err);
	unsetenv("MIGSYNC_INVENTORY");
	unsetenv("PGPASSWORD");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char *cmd = xstrfmt("rm -rf '%s'", f->dir);

	if (chdir(f->cwd) < 0 || system(cmd) != 0)
		return -1;
	free(cmd);
	free(f->cwd);
	project_release(&f->p);
	ms_error_release(&f->err);
	free(f);
	return 0;
}

static void write_inventory(const char *scripts)
{
	char *text = xstrfmt("project: t\nmigrations:\n  scripts: %s\n  executor: sql\n"
			     "rollout: [dev]\n", scripts);

	write_file("environments/inventory.yaml", text);
	write_file("environments/dev.yaml",
		   "name: dev\ndatabase:\n  host: 127.0.0.1\n  dbname: d\n"
		   "  user: ${PROJECT_TEST_PASSWORD}\n");
	free(text);
}

static void assert_dirs(const struct project *p, const char *first, size_t nr)
{
	assert_int_equal(p->script_dirs.nr, nr);
	assert_non_null(strstr(p->script_dirs.items[0], first));
}

/* --scripts wins, and the graph commands then read no inventory at all. */
static void test_scripts_option(void **state)
{
	struct fixture *f = *state;
	struct strvec dirs = STRVEC_INIT;
	struct project_options o = { NULL, &dirs, PROJECT_GRAPH, 0 };

	write_inventory("../a");
	strvec_push(&dirs, "b");
	assert_int_equal(project_open(&f->p, &o, &f->err), 0);
	assert_null(f->p.inv);
	assert_dirs(&f->p, "b", 1);
	assert_int_equal(f->p.scripts.nr, 1);
	assert_non_null(f->p.graph);
	strvec_release(&dirs);
}

/* environments/inventory.yaml names the scripts; its secrets are kept. */
static void test_inventory_scripts(void **state)
{
	struct fixture *f = *state;
	struct project_options o = { NULL, NULL, PROJECT_INVENTORY | PROJECT_GRAPH, 0 };

	write_inventory("../a");
	setenv("PROJECT_TEST_PASSWORD", "hunter2-secret", 1);
	setenv("PGPASSWORD", "pg-secret", 1);
	assert_int_equal(project_open(&f->p, &o, &f->err), 0);
	assert_non_null(f->p.inv);
	assert_dirs(&f->p, "a", 1);
	assert_int_equal(f->p.scripts.nr, 2);
	assert_true(strvec_contains(&f->p.secrets, "pg-secret"));
	assert_true(strvec_contains(&f->p.secrets, "hunter2-secret"));
	unsetenv("PGPASSWORD");
	unsetenv("PROJECT_TEST_PASSWORD");
}

/* Without inventory or --scripts, alembic.ini's script_location. */
static void test_alembic_ini(void **state)
{
	struct fixture *f = *state;
	struct project_options o = { NULL, NULL, PROJECT_SCRIPTS, 0 };
	struct strvec dirs = STRVEC_INIT;

	assert_int_equal(mkdir("mig", 0700), 0);
	assert_int_equal(rename("a", "mig/versions"), 0);
	write_file("alembic.ini", "[alembic]\nscript_location = %(here)s/mig\n");
	assert_int_equal(project_open(&f->p, &o, &f->err), 0);
	assert_dirs(&f->p, "mig/versions", 1);
	assert_int_equal(f->p.scripts.nr, 2);
	assert_null(f->p.graph);
	assert_int_equal(project_script_dirs(&dirs, &o, &f->err), 0);
	assert_int_equal(dirs.nr, 1);
	assert_string_equal(dirs.items[0], f->p.script_dirs.items[0]);
	strvec_release(&dirs);
}

/* Nothing to read: a configuration error that says what to pass. */
static void test_nothing(void **state)
{
	struct fixture *f = *state;
	struct project_options o = { NULL, NULL, PROJECT_GRAPH, 0 };

	assert_int_equal(project_open(&f->p, &o, &f->err), MS_ERR_CONFIG);
	assert_string_equal(f->err.message, "no revision scripts to read");
	assert_non_null(strstr(f->err.hint, "--scripts DIR"));
}

/* A missing inventory named by -i: an I/O error with a way out for graph commands. */
static void test_missing_inventory(void **state)
{
	struct fixture *f = *state;
	struct project_options o = { "nowhere", NULL, PROJECT_GRAPH, 0 };

	assert_int_equal(project_open(&f->p, &o, &f->err), MS_ERR_IO);
	assert_non_null(strstr(f->err.hint, "-i PATH"));
}

/* Two heads with a down_revision that does not exist: refused, or kept going. */
static void test_broken_graph(void **state)
{
	struct fixture *f = *state;
	struct strvec dirs = STRVEC_INIT;
	struct project_options o = { NULL, &dirs, PROJECT_GRAPH, 0 };

	write_revision("b", "bbbb00000002", "cccc00000009");
	strvec_push(&dirs, "b");
	assert_true(project_open(&f->p, &o, &f->err) < 0);
	assert_true(f->p.graph_problems.nr > 0);
	project_release(&f->p);
	ms_error_release(&f->err);

	o.need |= PROJECT_KEEP_GOING;
	assert_int_equal(project_open(&f->p, &o, &f->err), 0);
	assert_non_null(f->p.graph_error);
	assert_non_null(strstr(f->p.graph_error, "cccc00000009"));
	assert_non_null(f->p.graph);
	strvec_release(&dirs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_scripts_option, setup, teardown),
		cmocka_unit_test_setup_teardown(test_inventory_scripts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_alembic_ini, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_inventory, setup, teardown),
		cmocka_unit_test_setup_teardown(test_broken_graph, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
