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
	struct project_options o = { NULL, &dirs, PROJECT_GRAPH, 0, NULL };

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
	struct project_options o = { NULL, NULL, PROJECT_INVENTORY | PROJECT_GRAPH, 0, NULL };

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
	struct project_options o = { NULL, NULL, PROJECT_SCRIPTS, 0, NULL };
	struct strvec dirs = STRVEC_INIT, import_path = STRVEC_INIT;
	char *src = xstrfmt("%s/src", f->dir);

	assert_int_equal(mkdir("mig", 0700), 0);
	assert_int_equal(rename("a", "mig/versions"), 0);
	write_file("alembic.ini", "[alembic]\nscript_location = %(here)s/mig\n");
	assert_int_equal(project_open(&f->p, &o, &f->err), 0);
	assert_dirs(&f->p, "mig/versions", 1);
	assert_int_equal(f->p.scripts.nr, 2);
	assert_null(f->p.graph);
	assert_int_equal(project_script_dirs(&dirs, &import_path, &o, &f->err), 0);
	assert_int_equal(dirs.nr, 1);
	assert_string_equal(dirs.items[0], f->p.script_dirs.items[0]);
	/* Alembic's default prepend_sys_path: the ini's directory */
	assert_int_equal(import_path.nr, 1);
	assert_string_equal(import_path.items[0], f->dir);

	/* lint and the graph commands look for imported modules in the same places */
	strvec_release(&dirs);
	strvec_release(&import_path);
	write_file("alembic.ini", "[alembic]\nscript_location = %(here)s/mig\nprepend_sys_path = src\n");
	assert_int_equal(project_script_dirs(&dirs, &import_path, &o, &f->err), 0);
	assert_int_equal(import_path.nr, 1);
	assert_string_equal(import_path.items[0], src);
	strvec_release(&dirs);
	strvec_release(&import_path);
	free(src);
}

/* Nothing to read: a configuration error that says what to pass. */
static void test_nothing(void **state)
{
	struct fixture *f = *state;
	struct project_options o = { NULL, NULL, PROJECT_GRAPH, 0, NULL };

	assert_int_equal(project_open(&f->p, &o, &f->err), MS_ERR_CONFIG);
	assert_string_equal(f->err.message, "no revision scripts to read");
	assert_non_null(strstr(f->err.hint, "--scripts DIR"));
}

/* A missing inventory named by -i: an I/O error with a way out for graph commands. */
static void test_missing_inventory(void **state)
{
	struct fixture *f = *state;
	struct project_options o = { "nowhere", NULL, PROJECT_GRAPH, 0, NULL };

	assert_int_equal(project_open(&f->p, &o, &f->err), MS_ERR_IO);
	assert_non_null(strstr(f->err.hint, "-i PATH"));
}

/* Two heads with a down_revision that does not exist: refused, or kept going. */
static void test_broken_graph(void **state)
{
	struct fixture *f = *state;
	struct strvec dirs = STRVEC_INIT;
	struct project_options o = { NULL, &dirs, PROJECT_GRAPH, 0, NULL };

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

/*
 * An Alembic project: proj/alembic.ini (two version locations, the
 * second with a .py revision), proj/mig/env.py with a version table of
 * its own, and an inventory in proj/env/ that says nothing of migrations
 * beyond what migrations_yaml adds.
 */
static void write_alembic_project(const char *migrations_yaml)
{
	char *inv = xstrfmt("project: t\n%srollout: [dev]\n", migrations_yaml);

	assert_int_equal(mkdir("proj", 0700), 0);
	assert_int_equal(mkdir("proj/mig", 0700), 0);
	assert_int_equal(mkdir("proj/env", 0700), 0);
	assert_int_equal(rename("a", "proj/mig/versions"), 0);
	assert_int_equal(mkdir("proj/mig/more", 0700), 0);
	write_file("proj/mig/more/cccc00000003_c.py",
		   "revision = 'cccc00000003'\ndown_revision = 'aaaa00000002'\n");
	write_file("proj/alembic.ini", "[alembic]\nscript_location = %(here)s/mig\n"
		   "version_locations = %(here)s/mig/versions mig/more\npath_separator = space\n");
	write_file("proj/mig/env.py", "context.configure(connection=c,\n"
		   "    version_table='app_version')\n");
	write_file("proj/env/inventory.yaml", inv);
	write_file("proj/env/dev.yaml", "database: { host: 127.0.0.1, dbname: d }\n");
	free(inv);
}

static const struct diag *find_diag(const struct diag_list *list, const char *code)
{
	for (size_t i = 0; i < list->nr; i++)
		if (!strcmp(list->items[i].code, code))
			return &list->items[i];
	return NULL;
}

/* No scripts, executor or alembic_ini in the inventory: alembic.ini beside it says. */
static void test_alembic_inferred(void **state)
{
	struct fixture *f = *state;
	struct project_options o = { "proj/env", NULL, PROJECT_INVENTORY | PROJECT_GRAPH, 0, NULL };
	const struct diag *d;

	write_alembic_project("");
	assert_int_equal(project_open(&f->p, &o, &f->err), 0);
	assert_int_equal(f->p.script_dirs.nr, 2);
	assert_true(ends_with(f->p.script_dirs.items[0], "/proj/mig/versions"));
	/* a relative location is the ini directory's, where Alembic runs */
	assert_true(ends_with(f->p.script_dirs.items[1], "/proj/mig/more"));
	assert_int_equal(f->p.scripts.nr, 3);
	assert_int_equal(f->p.inv->migrations.executor, EXECUTOR_ALEMBIC);
	assert_true(ends_with(f->p.inv->migrations.alembic_ini, "/proj/alembic.ini"));
	assert_true(ends_with(f->p.alembic.prepend_sys_path.items[0], "/proj"));
	d = find_diag(&f->p.diags, PROJECT_W_ENV_PY);
	assert_non_null(d);
	assert_int_equal(d->line, 2);
	assert_string_equal(d->message, "environment \"dev\": version_table is \"alembic_version\" "
			    "but env.py configures version_table=\"app_version\"");
	assert_non_null(strstr(d->hint, "version_table: app_version"));
	assert_int_equal(project_executor_ready(f->p.inv, "apply", &f->err), 0);
}

/* Only .sql revisions: the sql executor, and alembic.ini is not needed. */
static void test_sql_inferred(void **state)
{
	struct fixture *f = *state;
	struct project_options o = { NULL, NULL, PROJECT_INVENTORY | PROJECT_GRAPH, 0, NULL };

	write_file("environments/inventory.yaml", "project: t\nmigrations: { scripts: ../a }\n"
		   "rollout: [dev]\n");
	write_file("environments/dev.yaml", "database: { host: 127.0.0.1, dbname: d }\n");
	assert_int_equal(project_open(&f->p, &o, &f->err), 0);
	assert_int_equal(f->p.inv->migrations.executor, EXECUTOR_SQL);
	assert_null(f->p.inv->migrations.alembic_ini);
	assert_int_equal(project_executor_ready(f->p.inv, "apply", &f->err), 0);
}

/* migsync.scripts and the ini's locations differ: refused, naming both lists. */
static void test_locations_differ(void **state)
{
	struct fixture *f = *state;
	struct project_options o = { "proj/env", NULL, PROJECT_INVENTORY | PROJECT_GRAPH, 0, NULL };

	write_alembic_project("migrations: { scripts: ../mig/versions, executor: alembic }\n");
	assert_int_equal(project_open(&f->p, &o, &f->err), MS_ERR_CONFIG);
	assert_non_null(strstr(f->err.message, "migrations.scripts (proj/mig/versions) and "
			       "the version locations of"));
	assert_non_null(strstr(f->err.message, "/proj/mig/more) name different directories"));
	project_release(&f->p);
	ms_error_release(&f->err);

	/* the same directories, written otherwise: fine */
	write_file("proj/env/inventory.yaml", "project: t\nmigrations:\n  scripts: [../mig/more, "
		   "../mig/versions/]\n  executor: alembic\nrollout: [dev]\n");
	assert_int_equal(project_open(&f->p, &o, &f->err), 0);
}

/* An unknown executor loads (a warning); applying refuses it, naming the command. */
static void test_executor_not_ready(void **state)
{
	struct fixture *f = *state;
	struct project_options o = { NULL, NULL, PROJECT_INVENTORY | PROJECT_GRAPH, 0, NULL };

	write_file("environments/inventory.yaml", "project: t\nmigrations: { scripts: ../a, "
		   "executor: alembik }\nrollout: [dev]\n");
	write_file("environments/dev.yaml", "database: { host: 127.0.0.1, dbname: d }\n");
	assert_int_equal(project_open(&f->p, &o, &f->err), 0);
	assert_int_equal(project_executor_ready(f->p.inv, "apply", &f->err), MS_ERR_CONFIG);
	assert_string_equal(f->err.message, "apply: migrations.executor \"alembik\" is not sql or alembic");
	ms_error_release(&f->err);
	project_release(&f->p);
	write_file("environments/inventory.yaml", "project: t\nmigrations: { scripts: ../a, "
		   "executor: alembic }\nrollout: [dev]\n");
	assert_int_equal(project_open(&f->p, &o, &f->err), 0);
	assert_int_equal(project_executor_ready(f->p.inv, "hook", &f->err), MS_ERR_CONFIG);
	assert_non_null(strstr(f->err.message, "hook: the Alembic executor needs an alembic.ini"));
}

/* sourceless = true: a .pyc Alembic would load is an error naming it. */
static void test_sourceless(void **state)
{
	struct fixture *f = *state;
	struct project_options o = { "proj/env", NULL, PROJECT_INVENTORY | PROJECT_GRAPH, 0, NULL };

	write_alembic_project("");
	write_file("proj/alembic.ini", "[alembic]\nscript_location = %(here)s/mig\n"
		   "version_locations = mig/versions mig/more\nsourceless = true\n");
	/* beside its .py: Alembic reads the source */
	write_file("proj/mig/more/cccc00000003_c.pyc", "compiled");
	assert_int_equal(project_open(&f->p, &o, &f->err), 0);
	project_release(&f->p);
	assert_int_equal(mkdir("proj/mig/more/__pycache__", 0700), 0);
	write_file("proj/mig/more/__pycache__/dddd_d.cpython-311.pyc", "compiled");
	assert_int_equal(project_open(&f->p, &o, &f->err), MS_ERR_PARSE);
	assert_non_null(strstr(f->err.message, "__pycache__/dddd_d.cpython-311.pyc\": a compiled "
			       "revision without its source (sourceless = true)"));
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
		cmocka_unit_test_setup_teardown(test_alembic_inferred, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sql_inferred, setup, teardown),
		cmocka_unit_test_setup_teardown(test_locations_differ, setup, teardown),
		cmocka_unit_test_setup_teardown(test_executor_not_ready, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sourceless, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
