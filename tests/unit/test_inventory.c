#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "migsync/diag.h"
#include "migsync/error.h"
#include "migsync/inventory.h"
#include "migsync/strbuf.h"
#include "migsync/util.h"

/* ---- fixtures: an inventory directory written by the test ---- */

struct fixture {
	char dir[64];
	struct inventory *inv;
	struct diag_list problems;
	struct ms_error err;
};

static int setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));

	strcpy(f->dir, "/tmp/migsync-inv-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	diag_list_init(&f->problems);
	ms_error_init(&f->err);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	DIR *d = opendir(f->dir);
	struct dirent *de;

	while (d && (de = readdir(d)) != NULL) {
		if (de->d_name[0] != '.') {
			char *p = xstrfmt("%s/%s", f->dir, de->d_name);

			unlink(p);
			free(p);
		}
	}
	if (d)
		closedir(d);
	rmdir(f->dir);
	inventory_free(f->inv);
	diag_list_release(&f->problems);
	ms_error_release(&f->err);
	free(f);
	return 0;
}

static void put(struct fixture *f, const char *name, const char *text)
{
	char *p = xstrfmt("%s/%s", f->dir, name);
	FILE *fp = fopen(p, "w");

	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
	free(p);
}

static int load(struct fixture *f)
{
	inventory_free(f->inv);
	f->inv = NULL;
	diag_list_release(&f->problems);
	ms_error_release(&f->err);
	return inventory_load(&f->inv, f->dir, &f->problems, &f->err);
}

/* The problem with this code in file name at line:column, or NULL. */
static const struct diag *find(const struct fixture *f, const char *code, const char *name,
			       unsigned line, unsigned column)
{
	for (size_t i = 0; i < f->problems.nr; i++) {
		const struct diag *d = &f->problems.items[i];

		if (strcmp(d->code, code) || !d->file || !ends_with(d->file, name))
			continue;
		if ((line && d->line != line) || (column && d->column != column))
			continue;
		return d;
	}
	return NULL;
}

/* Print what was found, to make a failing test readable. */
static void dump(const struct fixture *f)
{
	for (size_t i = 0; i < f->problems.nr; i++) {
		const struct diag *d = &f->problems.items[i];

		print_message("  %s:%u:%u: %s %s | %s\n", d->file, d->line, d->column,
			      d->code, d->message, d->hint ? d->hint : "");
	}
}

static const struct diag *expect_problem(const struct fixture *f, const char *code,
					 const char *name, unsigned line, unsigned column)
{
	const struct diag *d = find(f, code, name, line, column);

	if (!d)
		dump(f);
	assert_non_null(d);
	assert_int_equal(d->severity, DIAG_ERROR);
	return d;
}

static const char good_inventory[] =
	"project: demo\n"
	"migrations:\n"
	"  scripts: versions\n"
	"rollout: [dev, prod]\n";

static const char good_dev[] =
	"name: dev\n"
	"database: { host: localhost, dbname: demo_dev }\n";

static const char good_prod[] =
	"database:\n"
	"  host: db.internal\n"
	"  port: 5433\n"
	"  dbname: demo\n"
	"  user: app\n"
	"gate:\n"
	"  approvals: 1\n"
	"  approvers: [alice, bob]\n"
	"  soak: 1h30m\n";

/* ---- a valid inventory ---- */

static void test_load_valid(void **state)
{
	struct fixture *f = *state;
	const struct environment *prod;

	put(f, "inventory.yaml", good_inventory);
	put(f, "prod.yaml", good_prod);
	put(f, "dev.yaml", good_dev);
	if (load(f) != 0)
		dump(f);
	assert_int_equal(load(f), 0);
	assert_int_equal(f->problems.nr, 0);
	assert_string_equal(f->inv->project, "demo");
	assert_int_equal(f->inv->nr, 2);
	assert_string_equal(f->inv->envs[0].name, "dev");
	assert_string_equal(f->inv->envs[1].name, "prod");
	assert_int_equal(f->inv->envs[1].stage, 1);
	assert_int_equal(f->inv->migrations.scripts.nr, 1);
	assert_true(ends_with(f->inv->migrations.scripts.items[0], "/versions"));
	assert_true(starts_with(f->inv->migrations.scripts.items[0], f->dir));
	assert_int_equal(f->inv->migrations.executor, EXECUTOR_SQL);
	/* not given: found when Alembic runs (project_python_find) */
	assert_null(f->inv->migrations.python);
	assert_false(f->inv->migrations.executor_given);

	prod = inventory_find(f->inv, "prod");
	assert_non_null(prod);
	assert_string_equal(prod->database.host, "db.internal");
	assert_int_equal(prod->database.port, 5433);
	assert_int_equal(prod->database.connect_timeout, 5);
	assert_int_equal(prod->database.lock_wait, 300);
	assert_string_equal(prod->database.version_table, "alembic_version");
	assert_int_equal(prod->gate.approvals, 1);
	assert_int_equal(prod->gate.approvers.nr, 2);
	assert_int_equal(prod->gate.soak, 5400);
	assert_false(prod->ssh.enabled);
	assert_int_equal(prod->gate.pos.line, 6);
	assert_true(ends_with(prod->gate.pos.file, "/prod.yaml"));
	assert_null(inventory_find(f->inv, "staging"));
}

static void test_load_list_of_scripts_and_alembic(void **state)
{
	struct fixture *f = *state;

	put(f, "inventory.yaml",
	    "project: demo\n"
	    "migrations:\n"
	    "  scripts: [a, /abs/b]\n"
	    "  executor: alembic\n"
	    "  alembic_ini: ../alembic.ini\n"
	    "  alembic_section: tenants\n"
	    "  python: /opt/venv/bin/python\n"
	    "rollout: [dev]\n");
	put(f, "dev.yaml", good_dev);
	assert_int_equal(load(f), 0);
	assert_int_equal(f->inv->migrations.scripts.nr, 2);
	assert_true(ends_with(f->inv->migrations.scripts.items[0], "/a"));
	assert_string_equal(f->inv->migrations.scripts.items[1], "/abs/b");
	assert_int_equal(f->inv->migrations.executor, EXECUTOR_ALEMBIC);
	/* "<dir>/../alembic.ini" said as the parent's alembic.ini (dir is a real directory) */
	{
		char *parent = xstrndup(f->dir, (size_t)(strrchr(f->dir, '/') - f->dir));
		char *want = xstrfmt("%s/alembic.ini", parent);

		assert_string_equal(f->inv->migrations.alembic_ini, want);
		free(want);
		free(parent);
	}
	assert_string_equal(f->inv->migrations.python, "/opt/venv/bin/python");
	assert_string_equal(f->inv->migrations.alembic_section, "tenants");
	assert_true(f->inv->migrations.executor_given);
}

/* An inventory without migrations: everything comes from alembic.ini. */
static void test_no_migrations(void **state)
{
	struct fixture *f = *state;

	put(f, "inventory.yaml", "project: demo\nrollout: [dev]\n");
	put(f, "dev.yaml", good_dev);
	assert_int_equal(load(f), 0);
	assert_int_equal(f->inv->migrations.scripts.nr, 0);
	assert_null(f->inv->migrations.alembic_ini);
	assert_false(f->inv->migrations.executor_given);
}

static void test_defaults_merged(void **state)
{
	struct fixture *f = *state;
	const struct environment *dev, *prod;

	put(f, "inventory.yaml",
	    "project: demo\n"
	    "migrations: { scripts: versions }\n"
	    "rollout: [dev, prod]\n"
	    "defaults:\n"
	    "  database:\n"
	    "    host: shared.db\n"
	    "    connect_timeout: 7\n"
	    "    lock_wait: 1m\n"
	    "    version_table_schema: ops\n"
	    "  ssh: { host: bastion, user: deploy, agent: true }\n"
	    "  gate: { soak: 30m }\n");
	put(f, "dev.yaml", "database: { dbname: dev }\n");
	put(f, "prod.yaml",
	    "database: { dbname: prod, connect_timeout: 2s, host: prod.db }\n"
	    "ssh: { user: root, port: 2222 }\n"
	    "gate: { approvals: 2 }\n");
	if (load(f) != 0)
		dump(f);
	assert_int_equal(load(f), 0);
	dev = inventory_find(f->inv, "dev");
	prod = inventory_find(f->inv, "prod");
	assert_string_equal(dev->database.host, "shared.db");
	assert_int_equal(dev->database.connect_timeout, 7);
	assert_int_equal(dev->database.lock_wait, 60);
	assert_string_equal(dev->database.version_table_schema, "ops");
	assert_true(dev->ssh.enabled);
	assert_string_equal(dev->ssh.user, "deploy");
	assert_int_equal(dev->ssh.port, 22);
	assert_int_equal(dev->gate.soak, 1800);
	/* a merged value remembers it came from inventory.yaml */
	assert_true(ends_with(dev->database.pos.file, "/dev.yaml"));
	assert_true(ends_with(dev->ssh.pos.file, "/inventory.yaml"));

	assert_string_equal(prod->database.host, "prod.db");
	assert_int_equal(prod->database.connect_timeout, 2);
	assert_int_equal(prod->database.lock_wait, 60);
	assert_string_equal(prod->ssh.host, "bastion");
	assert_string_equal(prod->ssh.user, "root");
	assert_true(prod->ssh.agent);
	assert_int_equal(prod->ssh.port, 2222);
	assert_int_equal(prod->gate.approvals, 2);
	assert_int_equal(prod->gate.soak, 1800);
}

/* A problem in defaults is reported once, not once per environment. */
static void test_defaults_problem_reported_once(void **state)
{
	struct fixture *f = *state;

	put(f, "inventory.yaml",
	    "project: demo\n"
	    "migrations: { scripts: versions }\n"
	    "rollout: [dev, prod]\n"
	    "defaults:\n"
	    "  database: { conect_timeout: 5 }\n");
	put(f, "dev.yaml", good_dev);
	put(f, "prod.yaml", good_prod);
	assert_int_equal(load(f), MS_ERR_CONFIG);
	assert_int_equal(f->problems.nr, 1);
	expect_problem(f, INV_E_UNKNOWN, "inventory.yaml", 5, 15);
	assert_string_equal(f->problems.items[0].hint, "did you mean \"connect_timeout\"?");
}

/* ---- every validation error ---- */

static void test_unknown_key_did_you_mean(void **state)
{
	struct fixture *f = *state;
	const struct diag *d;

	put(f, "inventory.yaml", good_inventory);
	put(f, "dev.yaml", good_dev);
	put(f, "prod.yaml",
	    "database:\n"
	    "  hots: db\n"
	    "  sslmod: require\n"
	    "  zzzzzz: 1\n"
	    "  password: hunter2\n");
	assert_int_equal(load(f), MS_ERR_CONFIG);
	d = expect_problem(f, INV_E_UNKNOWN, "prod.yaml", 2, 3);
	assert_string_equal(d->message, "\"database.hots\": unknown key");
	assert_string_equal(d->hint, "did you mean \"host\"?");
	d = expect_problem(f, INV_E_UNKNOWN, "prod.yaml", 3, 3);
	assert_string_equal(d->hint, "did you mean \"sslmode\"?");
	d = expect_problem(f, INV_E_UNKNOWN, "prod.yaml", 4, 3);
	assert_null(d->hint);
	d = expect_problem(f, INV_E_UNKNOWN, "prod.yaml", 5, 3);
	assert_non_null(strstr(d->hint, "password_env"));
	/* the value is never repeated */
	for (size_t i = 0; i < f->problems.nr; i++)
		assert_null(strstr(f->problems.items[i].message, "hunter2"));
	/* the first problem is in err too, with its position */
	assert_int_equal(f->err.code, MS_ERR_CONFIG);
	assert_non_null(strstr(f->err.message, "prod.yaml:"));
}

static void test_wrong_type(void **state)
{
	struct fixture *f = *state;
	const struct diag *d;

	put(f, "inventory.yaml",
	    "project: [a, b]\n"
	    "migrations: { scripts: versions }\n"
	    "rollout: dev\n");
	put(f, "dev.yaml",
	    "database:\n"
	    "  host: db\n"
	    "  port: abc\n"
	    "gate: { approvals: 1, approvers: alice }\n"
	    "ssh: { host: b, agent: maybe }\n"
	    "targets: [a]\n");
	assert_int_equal(load(f), MS_ERR_CONFIG);
	d = expect_problem(f, INV_E_TYPE, "inventory.yaml", 1, 10);
	assert_string_equal(d->message, "\"project\": expected a string, got a list");
	d = expect_problem(f, INV_E_TYPE, "inventory.yaml", 3, 10);
	assert_string_equal(d->message, "\"rollout\": expected a list of strings, got a scalar");
	d = expect_problem(f, INV_E_TYPE, "dev.yaml", 3, 9);
	assert_string_equal(d->message, "\"database.port\": expected an integer from 1 to 65535, got \"abc\"");
	expect_problem(f, INV_E_TYPE, "dev.yaml", 4, 34);
	expect_problem(f, INV_E_TYPE, "dev.yaml", 5, 24);
	d = expect_problem(f, INV_E_TYPE, "dev.yaml", 6, 10);
	assert_string_equal(d->message, "\"targets\": expected a mapping, got a list");
}

static void test_missing_required_keys(void **state)
{
	struct fixture *f = *state;
	const struct diag *d;

	put(f, "inventory.yaml", "rollout: [dev, prod]\nmigrations: {}\n");
	put(f, "dev.yaml", "name: dev\n");
	put(f, "prod.yaml", "database: { port: 5432 }\nssh: { user: x }\n");
	assert_int_equal(load(f), MS_ERR_CONFIG);
	d = expect_problem(f, INV_E_MISSING, "inventory.yaml", 1, 1);
	assert_string_equal(d->message, "missing required key \"project\"");
	/* every migrations key is optional: alembic.ini can say where the scripts are */
	assert_null(find(f, INV_E_MISSING, "inventory.yaml", 2, 1));
	expect_problem(f, INV_E_MISSING, "dev.yaml", 1, 1);
	d = expect_problem(f, INV_E_MISSING, "prod.yaml", 1, 1);
	assert_non_null(strstr(d->message, "\"url\", \"host\" or \"service\""));
	d = expect_problem(f, INV_E_MISSING, "prod.yaml", 2, 1);
	assert_string_equal(d->message, "\"ssh\": missing required key \"host\"");
	/* all of them at once */
	assert_true(diag_list_count(&f->problems, DIAG_ERROR) >= 4);
}

static void test_duplicates(void **state)
{
	struct fixture *f = *state;
	const struct diag *d;

	put(f, "inventory.yaml", good_inventory);
	put(f, "dev.yaml", good_dev);
	put(f, "prod.yaml", good_prod);
	put(f, "second.yaml",
	    "name: prod\n"
	    "database: { host: a }\n"
	    "database: { host: b }\n");
	assert_int_equal(load(f), MS_ERR_CONFIG);
	d = expect_problem(f, INV_E_DUPLICATE, "second.yaml", 1, 7);
	assert_string_equal(d->message, "duplicate environment name \"prod\"");
	assert_non_null(strstr(d->hint, "prod.yaml"));
	d = expect_problem(f, INV_E_DUPLICATE, "second.yaml", 3, 1);
	assert_string_equal(d->hint, "the first one is at line 2");
}

static void test_rollout_file_mismatch(void **state)
{
	struct fixture *f = *state;
	const struct diag *d;

	put(f, "inventory.yaml",
	    "project: demo\n"
	    "migrations: { scripts: versions }\n"
	    "rollout:\n"
	    "  - dev\n"
	    "  - qa\n"
	    "  - prod\n");
	put(f, "dev.yaml", good_dev);
	put(f, "prod.yaml", good_prod);
	put(f, "test.yml", "database: { host: x }\n");
	put(f, "notes.txt", "not an environment\n");
	assert_int_equal(load(f), MS_ERR_CONFIG);
	assert_int_equal(diag_list_count(&f->problems, DIAG_ERROR), 2);
	d = expect_problem(f, INV_E_ROLLOUT, "inventory.yaml", 5, 5);
	assert_string_equal(d->message, "\"rollout\": environment \"qa\" has no file");
	d = expect_problem(f, INV_E_ROLLOUT, "test.yml", 1, 1);
	assert_string_equal(d->message, "environment \"test\" is not in rollout");
}

static void test_rollout_duplicate_and_empty(void **state)
{
	struct fixture *f = *state;

	put(f, "inventory.yaml",
	    "project: demo\n"
	    "migrations: { scripts: versions }\n"
	    "rollout: [dev, prod, dev]\n");
	put(f, "dev.yaml", good_dev);
	put(f, "prod.yaml", good_prod);
	assert_int_equal(load(f), MS_ERR_CONFIG);
	assert_int_equal(f->problems.nr, 1);
	assert_string_equal(expect_problem(f, INV_E_DUPLICATE, "inventory.yaml", 3, 22)->message,
			    "\"rollout\": \"dev\" is listed twice");

	put(f, "inventory.yaml",
	    "project: demo\n"
	    "migrations: { scripts: versions }\n"
	    "rollout: []\n");
	assert_int_equal(load(f), MS_ERR_CONFIG);
	expect_problem(f, INV_E_VALUE, "inventory.yaml", 3, 10);
	expect_problem(f, INV_E_ROLLOUT, "dev.yaml", 1, 7);
	expect_problem(f, INV_E_ROLLOUT, "prod.yaml", 1, 1);
}

static void test_bad_duration(void **state)
{
	struct fixture *f = *state;
	const struct diag *d;

	put(f, "inventory.yaml", good_inventory);
	put(f, "dev.yaml", good_dev);
	put(f, "prod.yaml",
	    "database: { host: h, statement_timeout: 30x, lock_wait: 5m1h }\n"
	    "gate: { soak: soon }\n");
	assert_int_equal(load(f), MS_ERR_CONFIG);
	d = expect_problem(f, INV_E_DURATION, "prod.yaml", 1, 41);
	assert_string_equal(d->message, "\"database.statement_timeout\": \"30x\" is not a duration");
	assert_non_null(d->hint);
	expect_problem(f, INV_E_DURATION, "prod.yaml", 1, 57);
	expect_problem(f, INV_E_DURATION, "prod.yaml", 2, 15);
}

static void test_bad_url(void **state)
{
	struct fixture *f = *state;
	const struct diag *d;

	put(f, "inventory.yaml",
	    "project: demo\n"
	    "migrations: { scripts: versions }\n"
	    "rollout: [dev, staging, prod]\n");
	put(f, "dev.yaml", "database: { url: \"postgresql://app@db:notaport/x\" }\n");
	put(f, "staging.yaml", "database: { url: \"postgresql://app@db/x?nosuch=1\" }\n");
	put(f, "prod.yaml",
	    "database:\n"
	    "  url: \"postgresql://app:s3cr%zzet@db/x?nosuch=1\"\n");
	assert_int_equal(load(f), MS_ERR_CONFIG);
	d = expect_problem(f, INV_E_URL, "staging.yaml", 1, 18);
	assert_non_null(strstr(d->message, "libpq cannot parse"));
	d = expect_problem(f, INV_E_URL, "dev.yaml", 1, 18);
	assert_string_equal(d->message, "\"database.url\": invalid port \"notaport\"");
	d = expect_problem(f, INV_E_URL, "prod.yaml", 2, 8);
	for (size_t i = 0; i < f->problems.nr; i++) {
		assert_null(strstr(f->problems.items[i].message, "s3cr"));
		assert_true(!f->problems.items[i].hint || !strstr(f->problems.items[i].hint, "s3cr"));
	}
	assert_null(strstr(f->err.message, "s3cr"));
}

static void test_other_values(void **state)
{
	struct fixture *f = *state;
	const struct diag *d;

	put(f, "inventory.yaml",
	    "project: demo\n"
	    "migrations: { scripts: v, executor: alembik }\n"
	    "rollout: [dev, prod]\n");
	put(f, "dev.yaml",
	    "database: { host: h, sslmode: verify_full, password_env: \"not a name\" }\n"
	    "targets: { databases: [a, a], discover: SELECT 1 }\n");
	put(f, "prod.yaml",
	    "database: { host: h }\n"
	    "gate: { approvals: 3, approvers: [alice] }\n");
	assert_int_equal(load(f), MS_ERR_CONFIG);
	/* an unknown executor is a warning: only the commands that apply refuse it */
	d = find(f, INV_E_VALUE, "inventory.yaml", 2, 37);
	assert_non_null(d);
	assert_int_equal(d->severity, DIAG_WARNING);
	assert_string_equal(d->hint, "did you mean \"alembic\"?");
	assert_string_equal(expect_problem(f, INV_E_VALUE, "dev.yaml", 1, 31)->hint,
			    "did you mean \"verify-full\"?");
	expect_problem(f, INV_E_VALUE, "dev.yaml", 1, 58);
	expect_problem(f, INV_E_DUPLICATE, "dev.yaml", 2, 27);
	expect_problem(f, INV_E_VALUE, "dev.yaml", 2, 31);
	expect_problem(f, INV_E_VALUE, "prod.yaml", 2, 1);
}

/* fleet: counts and percentages, the defaults, and what is refused where */
static void test_fleet(void **state)
{
	struct fixture *f = *state;
	const struct environment *dev, *prod;

	put(f, "inventory.yaml", good_inventory);
	put(f, "dev.yaml", good_dev);
	put(f, "prod.yaml",
	    "database: { host: h }\n"
	    "fleet: { canary: \"2%\", batch: 25%, parallel: 8, max_failures: 3 }\n");
	assert_int_equal(load(f), 0);
	dev = inventory_find(f->inv, "dev");
	prod = inventory_find(f->inv, "prod");
	/* the defaults: no canary, one database at a time, stop at the first failure */
	assert_int_equal(dev->fleet.canary.value, 0);
	assert_int_equal(dev->fleet.batch.value, 1);
	assert_false(dev->fleet.batch.percent);
	assert_int_equal(dev->fleet.parallel, 1);
	assert_int_equal(dev->fleet.max_failures, 0);
	assert_true(prod->fleet.canary.percent);
	assert_int_equal(prod->fleet.canary.value, 2);
	assert_int_equal(inventory_amount_of(&prod->fleet.canary, 300), 6);
	assert_int_equal(inventory_amount_of(&prod->fleet.canary, 10), 1);
	assert_int_equal(inventory_amount_of(&prod->fleet.batch, 299), 75);
	assert_int_equal(inventory_amount_of(&dev->fleet.batch, 299), 1);
	assert_int_equal(prod->fleet.parallel, 8);
	assert_int_equal(prod->fleet.max_failures, 3);
	inventory_free(f->inv);
	f->inv = NULL;

	put(f, "prod.yaml",
	    "database: { host: h }\n"
	    "fleet: { canary: 0, batch: 0%, parallel: 0, max_failures: -1, size: 3 }\n");
	assert_int_equal(load(f), MS_ERR_CONFIG);
	expect_problem(f, INV_E_TYPE, "prod.yaml", 2, 28);
	expect_problem(f, INV_E_TYPE, "prod.yaml", 2, 42);
	expect_problem(f, INV_E_TYPE, "prod.yaml", 2, 59);
	expect_problem(f, INV_E_UNKNOWN, "prod.yaml", 2, 63);
}

/* targets.schemas and discover_schemas: what is kept, with or without databases, and what is refused where */
static void test_tenant_schemas(void **state)
{
	static const struct {
		const char *targets;	/* the second line of prod.yaml */
		const char *code;	/* NULL: loads */
		unsigned column;	/* of the problem, on line 2 */
		size_t schemas;		/* schemas kept when it loads */
	} cases[] = {
		{ "targets: { schemas: [tenant_a, \"Tenant B\"] }", NULL, 0, 2 },
		{ "targets: { discover_schemas: \"SELECT nspname FROM pg_namespace\" }", NULL, 0, 0 },
		{ "targets: { schemas: [a, a] }", INV_E_DUPLICATE, 25, 0 },
		{ "targets: { schemas: [a, \"\"] }", INV_E_VALUE, 25, 0 },
		{ "targets: { schemas: a }", INV_E_TYPE, 21, 0 },
		{ "targets: { schemas: [a], discover_schemas: SELECT 1 }", INV_E_VALUE, 26, 0 },
		/* every database's schemas: many databases times schemas */
		{ "targets: { schemas: [a], databases: [d1, d2] }", NULL, 0, 1 },
		{ "targets: { discover: SELECT 1, discover_schemas: SELECT 2 }", NULL, 0, 0 },
		{ "targets: { databases: [d1], discover: SELECT 1, schemas: [a] }", INV_E_VALUE, 29, 0 },
		{ "targets: { schema: [a] }", INV_E_UNKNOWN, 12, 0 },
	};
	struct fixture *f = *state;

	put(f, "inventory.yaml", good_inventory);
	put(f, "dev.yaml", good_dev);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char *text = xstrfmt("database: { host: h, dbname: app }\n%s\n", cases[i].targets);
		const struct environment *prod;

		put(f, "prod.yaml", text);
		free(text);
		if (!cases[i].code) {
			assert_int_equal(load(f), 0);
			prod = inventory_find(f->inv, "prod");
			assert_int_equal(prod->targets.schemas.nr, cases[i].schemas);
			assert_true(cases[i].schemas || prod->targets.discover_schemas);
		} else {
			assert_int_equal(load(f), MS_ERR_CONFIG);
			expect_problem(f, cases[i].code, "prod.yaml", 2, cases[i].column);
		}
		inventory_free(f->inv);
		f->inv = NULL;
		diag_list_release(&f->problems);
		ms_error_release(&f->err);
	}

	/* the version table is each tenant's own */
	put(f, "prod.yaml",
	    "database: { host: h, dbname: app, version_table_schema: public }\n"
	    "targets: { schemas: [a] }\n");
	assert_int_equal(load(f), MS_ERR_CONFIG);
	expect_problem(f, INV_E_VALUE, "prod.yaml", 2, 1);
}

/* Environment names: the safe set, from a name: key or from the file name. */
static void test_env_names(void **state)
{
	static const struct {
		const char *file;
		const char *name;	/* NULL: from the file name */
		bool valid;
	} cases[] = {
		{ "n1.yaml", "dev", true },
		{ "n2.yaml", "prod-eu.1", true },
		{ "n3.yaml", "9x", true },
		{ "n4.yaml", "a_b", true },
		{ "staging.yaml", NULL, true },
		{ "n5.yaml", "-x", false },
		{ "n6.yaml", ".x", false },
		{ "n7.yaml", "_x", false },
		{ "n8.yaml", "a$(id)", false },
		{ "n9.yaml", "a b", false },
		{ "n10.yaml", "a;b", false },
		{ "n11.yaml", "caf\xc3\xa9", false },
		{ "a$(id).yaml", NULL, false },
		{ "-e.yaml", NULL, false },
	};
	struct fixture *f = *state;

	put(f, "inventory.yaml",
	    "project: demo\n"
	    "migrations: { scripts: v }\n"
	    "rollout: [dev, prod-eu.1, 9x, a_b, staging]\n");
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char *text = cases[i].name ?
			xstrfmt("name: \"%s\"\ndatabase: { host: h }\n", cases[i].name) :
			xstrdup("database: { host: h }\n");

		put(f, cases[i].file, text);
		free(text);
	}
	assert_int_equal(load(f), MS_ERR_CONFIG);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct diag *d = find(f, INV_E_VALUE, cases[i].file, 1, 0);

		print_message("%s (%s): %s\n", cases[i].file, cases[i].name ? cases[i].name : "file name",
			      cases[i].valid ? "valid" : "refused");
		if (cases[i].valid) {
			assert_null(d);
			continue;
		}
		d = expect_problem(f, INV_E_VALUE, cases[i].file, 1, cases[i].name ? 7 : 1);
		assert_non_null(strstr(d->message, "not a valid environment name"));
		assert_non_null(strstr(d->hint, "starting with a letter or digit"));
	}
}

static void test_unset_variable(void **state)
{
	struct fixture *f = *state;
	const struct diag *d;

	unsetenv("MIGSYNC_TEST_UNSET");
	put(f, "inventory.yaml", good_inventory);
	put(f, "dev.yaml", good_dev);
	put(f, "prod.yaml",
	    "database:\n"
	    "  host: db\n"
	    "  dbname: app_${MIGSYNC_TEST_UNSET}\n"
	    "  user: \"${MIGSYNC_TEST_UNSET}\"\n"
	    "  service: ${broken\n");
	assert_int_equal(load(f), MS_ERR_CONFIG);
	d = expect_problem(f, INV_E_VARIABLE, "prod.yaml", 3, 15);
	assert_string_equal(d->message, "\"database.dbname\": variable \"MIGSYNC_TEST_UNSET\" is not set");
	assert_non_null(strstr(d->hint, "export MIGSYNC_TEST_UNSET"));
	expect_problem(f, INV_E_VARIABLE, "prod.yaml", 4, 10);
	expect_problem(f, INV_E_VARIABLE, "prod.yaml", 5, 12);
}

/* migrations.pass_env: names only; an unset one is a warning, kept for run time */
static void test_pass_env(void **state)
{
	struct fixture *f = *state;
	const struct diag *d;

	setenv("MIGSYNC_TEST_PASSED", "x", 1);
	unsetenv("MIGSYNC_TEST_UNSET");
	put(f, "inventory.yaml",
	    "project: demo\n"
	    "migrations:\n"
	    "  pass_env: [MIGSYNC_TEST_PASSED, MIGSYNC_TEST_UNSET]\n"
	    "rollout: [dev]\n");
	put(f, "dev.yaml", good_dev);
	assert_int_equal(load(f), 0);
	assert_int_equal(f->inv->migrations.pass_env.nr, 2);
	assert_string_equal(f->inv->migrations.pass_env.items[0], "MIGSYNC_TEST_PASSED");
	assert_string_equal(f->inv->migrations.pass_env.items[1], "MIGSYNC_TEST_UNSET");
	d = find(f, INV_E_VARIABLE, "inventory.yaml", 3, 35);
	if (!d)
		dump(f);
	assert_non_null(d);
	assert_int_equal(d->severity, DIAG_WARNING);
	assert_string_equal(d->message,
			    "\"migrations.pass_env\": MIGSYNC_TEST_UNSET is not set; Alembic will not get it");

	put(f, "inventory.yaml",
	    "project: demo\n"
	    "migrations:\n"
	    "  pass_env:\n"
	    "    - \"A=b\"\n"
	    "    - MIGSYNC_ENVIRONMENT\n"
	    "    - 1ABC\n"
	    "rollout: [dev]\n");
	assert_int_equal(load(f), MS_ERR_CONFIG);
	d = expect_problem(f, INV_E_VALUE, "inventory.yaml", 4, 7);
	assert_string_equal(d->message, "\"migrations.pass_env\": \"A=b\" is not an environment variable name");
	d = expect_problem(f, INV_E_VALUE, "inventory.yaml", 5, 7);
	assert_string_equal(d->message, "\"migrations.pass_env\": MIGSYNC_ENVIRONMENT is set by migsync");
	expect_problem(f, INV_E_VALUE, "inventory.yaml", 6, 7);

	put(f, "inventory.yaml", "project: demo\nmigrations: { pass_env: HOME }\nrollout: [dev]\n");
	assert_int_equal(load(f), MS_ERR_CONFIG);
	expect_problem(f, INV_E_TYPE, "inventory.yaml", 2, 25);
	unsetenv("MIGSYNC_TEST_PASSED");
}

static void test_yaml_syntax_error(void **state)
{
	struct fixture *f = *state;

	put(f, "inventory.yaml", good_inventory);
	put(f, "dev.yaml", good_dev);
	put(f, "prod.yaml", "database:\n  host: [a\n");
	assert_int_equal(load(f), MS_ERR_CONFIG);
	assert_non_null(find(f, INV_E_SYNTAX, "prod.yaml", 0, 0));
}

/* Hostile or broken files: each refused quickly, with where and what. */
static void test_hostile_files(void **state)
{
	struct fixture *f = *state;
	struct strbuf deep = STRBUF_INIT;
	const struct diag *d;
	char *fifo;

	put(f, "inventory.yaml", good_inventory);
	put(f, "prod.yaml", good_prod);
	/* nesting far beyond any inventory, stopped while parsing */
	strbuf_addstr(&deep, "database: ");
	for (int i = 0; i < 500000; i++)
		strbuf_addch(&deep, '[');
	put(f, "dev.yaml", deep.buf);
	assert_int_equal(load(f), MS_ERR_CONFIG);
	d = expect_problem(f, INV_E_SYNTAX, "dev.yaml", 1, 0);
	assert_non_null(strstr(d->message, "nested more than 64 levels"));
	/* a NUL byte, at its own line and column */
	put(f, "dev.yaml", "database:\n  host: a");
	{
		char *p = xstrfmt("%s/dev.yaml", f->dir);
		FILE *fp = fopen(p, "a");

		assert_non_null(fp);
		fputc('\0', fp);
		fputs("b\n", fp);
		fclose(fp);
		free(p);
	}
	assert_int_equal(load(f), MS_ERR_CONFIG);
	d = expect_problem(f, INV_E_SYNTAX, "dev.yaml", 2, 10);
	assert_non_null(strstr(d->message, "NUL byte"));
	/* an alias to nothing */
	put(f, "dev.yaml", "database: *nope\n");
	assert_int_equal(load(f), MS_ERR_CONFIG);
	expect_problem(f, INV_E_SYNTAX, "dev.yaml", 1, 11);
	/* too large: the limit is in the message */
	strbuf_reset(&deep);
	for (int i = 0; i < 1100000; i++)
		strbuf_addch(&deep, '#');
	put(f, "dev.yaml", deep.buf);
	assert_int_equal(load(f), MS_ERR_IO);
	assert_non_null(strstr(f->err.message, "at most 1 MiB"));
	/* a FIFO must not block the loader */
	fifo = xstrfmt("%s/dev.yaml", f->dir);
	unlink(fifo);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	assert_int_equal(load(f), MS_ERR_IO);
	assert_non_null(strstr(f->err.message, "not a regular file"));
	free(fifo);
	strbuf_release(&deep);
}

/* Anchors and aliases still work, and positions survive composing. */
static void test_anchors(void **state)
{
	struct fixture *f = *state;
	const struct environment *dev;

	put(f, "inventory.yaml", good_inventory);
	put(f, "prod.yaml", good_prod);
	put(f, "dev.yaml", "database:\n  host: localhost\n  dbname: &n demo_dev\n  user: *n\n");
	assert_int_equal(load(f), 0);
	dev = inventory_find(f->inv, "dev");
	assert_non_null(dev);
	assert_string_equal(dev->database.user, "demo_dev");
	/* a later problem still has its line and column */
	put(f, "dev.yaml", "database:\n  host: localhost\n  dbname: &n demo_dev\n  user: *n\n  prot: 5\n");
	assert_int_equal(load(f), MS_ERR_CONFIG);
	expect_problem(f, INV_E_UNKNOWN, "dev.yaml", 5, 3);
}

static void test_missing_directory(void **state)
{
	struct fixture *f = *state;
	struct inventory *inv = NULL;
	struct ms_error err = MS_ERROR_INIT;

	assert_int_equal(inventory_load(&inv, "/nonexistent/migsync", NULL, &err), MS_ERR_IO);
	assert_null(inv);
	assert_non_null(strstr(err.message, "/nonexistent/migsync"));
	ms_error_release(&err);
	/* a directory without inventory.yaml */
	assert_int_equal(load(f), MS_ERR_IO);
	assert_non_null(strstr(f->err.message, "inventory.yaml"));
}

/* ---- scalars ---- */

static void test_interpolation(void **state)
{
	struct ms_error err = MS_ERROR_INIT;
	char *out = NULL;
	size_t off = 0;

	(void)state;
	setenv("MIGSYNC_T_A", "alpha", 1);
	setenv("MIGSYNC_T_EMPTY", "", 1);
	unsetenv("MIGSYNC_T_UNSET");
	assert_int_equal(inventory_interpolate(&out, "x${MIGSYNC_T_A}y", &off, &err), 0);
	assert_string_equal(out, "xalphay");
	free(out);
	assert_int_equal(inventory_interpolate(&out, "${MIGSYNC_T_UNSET:-5432}", &off, &err), 0);
	assert_string_equal(out, "5432");
	free(out);
	assert_int_equal(inventory_interpolate(&out, "${MIGSYNC_T_A:-no}", &off, &err), 0);
	assert_string_equal(out, "alpha");
	free(out);
	/* :- also applies to an empty value; plain ${VAR} keeps it empty */
	assert_int_equal(inventory_interpolate(&out, "[${MIGSYNC_T_EMPTY:-d}${MIGSYNC_T_EMPTY}]", &off, &err), 0);
	assert_string_equal(out, "[d]");
	free(out);
	assert_int_equal(inventory_interpolate(&out, "$${MIGSYNC_T_A} costs $5 $", &off, &err), 0);
	assert_string_equal(out, "${MIGSYNC_T_A} costs $5 $");
	free(out);
	assert_int_equal(inventory_interpolate(&out, "${MIGSYNC_T_UNSET:-}", &off, &err), 0);
	assert_string_equal(out, "");
	free(out);

	assert_int_equal(inventory_interpolate(&out, "ab${MIGSYNC_T_UNSET}", &off, &err), MS_ERR_CONFIG);
	assert_null(out);
	assert_int_equal(off, 2);
	assert_string_equal(err.message, "variable \"MIGSYNC_T_UNSET\" is not set");
	assert_int_equal(inventory_interpolate(&out, "${MIGSYNC_T_A", &off, &err), MS_ERR_CONFIG);
	assert_int_equal(inventory_interpolate(&out, "x ${}", &off, &err), MS_ERR_CONFIG);
	assert_int_equal(off, 2);
	assert_int_equal(inventory_interpolate(&out, "${A-b}", &off, &err), MS_ERR_CONFIG);
	ms_error_release(&err);
}

static void test_interpolation_in_inventory(void **state)
{
	struct fixture *f = *state;
	const struct environment *prod;

	setenv("MIGSYNC_T_HOST", "db.example", 1);
	unsetenv("MIGSYNC_T_PORT");
	put(f, "inventory.yaml", good_inventory);
	put(f, "dev.yaml", good_dev);
	put(f, "prod.yaml",
	    "database:\n"
	    "  host: ${MIGSYNC_T_HOST}\n"
	    "  port: ${MIGSYNC_T_PORT:-6543}\n"
	    "  dbname: cost$$\n");
	assert_int_equal(load(f), 0);
	prod = inventory_find(f->inv, "prod");
	assert_string_equal(prod->database.host, "db.example");
	assert_int_equal(prod->database.port, 6543);
	assert_string_equal(prod->database.dbname, "cost$");
}

static void test_durations(void **state)
{
	static const struct {
		const char *s;
		int64_t v;
	} good[] = {
		{ "0", 0 }, { "30", 30 }, { "30s", 30 }, { "5m", 300 }, { "1h30m", 5400 },
		{ "2d", 172800 }, { "1d2h3m4s", 93784 }, { "90m", 5400 },
	};
	static const char *const bad[] = {
		"", "s", "30x", "-5", "5 m", "1.5h", "30m1h", "1h1h", "1h30", "m5", "99999999999999999999",
	};
	int64_t v;
	char *s;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		v = -1;
		assert_int_equal(inventory_parse_duration(good[i].s, &v), 0);
		assert_int_equal(v, good[i].v);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		if (inventory_parse_duration(bad[i], &v) == 0)
			print_message("accepted \"%s\"\n", bad[i]);
		assert_int_equal(inventory_parse_duration(bad[i], &v), -1);
	}
	s = inventory_format_duration(5400);
	assert_string_equal(s, "1h30m");
	free(s);
	s = inventory_format_duration(0);
	assert_string_equal(s, "0s");
	free(s);
	s = inventory_format_duration(93784);
	assert_string_equal(s, "1d2h3m4s");
	free(s);
}

static void test_levenshtein(void **state)
{
	(void)state;
	assert_int_equal(inventory_levenshtein("", ""), 0);
	assert_int_equal(inventory_levenshtein("host", "hots"), 2);
	assert_int_equal(inventory_levenshtein("kitten", "sitting"), 3);
	assert_int_equal(inventory_levenshtein("abc", ""), 3);
	assert_int_equal(inventory_levenshtein("connect_timeout", "conect_timeout"), 1);
}

/* ---- secrets ---- */

static void check_redact(const char *in, const char *expected)
{
	char *out = inventory_redact_url(in);

	assert_string_equal(out, expected);
	free(out);
}

static void test_redact_url(void **state)
{
	(void)state;
	check_redact("postgresql://app:s3cret@db:5432/app", "postgresql://app:***@db:5432/app");
	check_redact("postgres://app@db/app", "postgres://app@db/app");
	check_redact("postgresql://db/app", "postgresql://db/app");
	check_redact("postgresql://app:p@ss@db/app?sslmode=require",
		     "postgresql://app:***@db/app?sslmode=require");
	check_redact("postgresql://app@db/app?sslmode=require&password=s3cret&x=1",
		     "postgresql://app@db/app?sslmode=require&password=***&x=1");
	check_redact("postgresql://u:a/b@db/app", "postgresql://u:***@db/app");
	check_redact("host=db password=s3cret user=app", "host=db password=*** user=app");
	check_redact("host=db password = 's3 cr\\'et' dbname=x", "host=db password=*** dbname=x");
	check_redact("host=db password", "host=db ***");
	check_redact("host=db PASSWORD=x", "host=db PASSWORD=***");
	assert_null(inventory_redact_url(NULL));
}

static void init_env(struct environment *env)
{
	memset(env, 0, sizeof(*env));
	env->name = (char *)"prod";
	env->database.connect_timeout = 5;
}

static void test_conninfo_and_describe(void **state)
{
	struct inventory_conninfo ci = INVENTORY_CONNINFO_INIT;
	struct ms_error err = MS_ERROR_INIT;
	struct environment env;
	char *s;

	(void)state;
	init_env(&env);
	env.database.url = (char *)"postgresql://app:urlsecret@db.internal:5432/app?sslmode=require";
	env.database.password_env = (char *)"MIGSYNC_T_PW";
	env.database.statement_timeout = 30;
	setenv("PGPASSWORD", "pgpwsecret", 1);
	unsetenv("MIGSYNC_T_PW");

	assert_int_equal(inventory_conninfo(&ci, &env, "tenant_001", &err), MS_ERR_CONFIG);
	assert_non_null(strstr(err.message, "MIGSYNC_T_PW"));
	assert_int_equal(ci.nr, 0);

	setenv("MIGSYNC_T_PW", "envsecret", 1);
	assert_int_equal(inventory_conninfo(&ci, &env, "tenant_001", &err), 0);
	assert_string_equal(inventory_conninfo_get(&ci, "password"), "envsecret");
	assert_string_equal(inventory_conninfo_get(&ci, "dbname"), "tenant_001");
	assert_string_equal(inventory_conninfo_get(&ci, "host"), "db.internal");
	assert_string_equal(inventory_conninfo_get(&ci, "user"), "app");
	assert_string_equal(inventory_conninfo_get(&ci, "sslmode"), "require");
	assert_string_equal(inventory_conninfo_get(&ci, "connect_timeout"), "5");
	assert_string_equal(inventory_conninfo_get(&ci, "options"), "-c statement_timeout=30000");
	assert_string_equal(inventory_conninfo_get(&ci, "fallback_application_name"), "migsync");
	assert_null(ci.keywords[ci.nr]);
	assert_null(ci.values[ci.nr]);
	inventory_conninfo_set(&ci, "host", "127.0.0.1");
	assert_string_equal(inventory_conninfo_get(&ci, "host"), "127.0.0.1");
	inventory_conninfo_release(&ci);

	s = inventory_describe_target(&env, "tenant_001");
	assert_string_equal(s, "app@db.internal:5432/tenant_001");
	free(s);
	s = inventory_describe_target(&env, NULL);
	assert_string_equal(s, "app@db.internal:5432/app");
	assert_null(strstr(s, "secret"));
	free(s);

	init_env(&env);
	env.database.url = (char *)"host=h port=6000 dbname=d user=u password=kvsecret";
	s = inventory_describe_target(&env, NULL);
	assert_string_equal(s, "u@h:6000/d");
	free(s);
	init_env(&env);
	env.database.service = (char *)"stock";
	s = inventory_describe_target(&env, NULL);
	assert_string_equal(s, "service=stock");
	free(s);
	unsetenv("PGPASSWORD");
	unsetenv("MIGSYNC_T_PW");
	ms_error_release(&err);
}

/* A password given in the inventory or the environment never lands in what the loader keeps. */
static void test_secrets_not_kept(void **state)
{
	struct fixture *f = *state;
	const struct environment *prod;
	char *s;

	setenv("PGPASSWORD", "pgpwsecret", 1);
	setenv("MIGSYNC_T_PW", "envsecret", 1);
	put(f, "inventory.yaml", good_inventory);
	put(f, "dev.yaml", good_dev);
	put(f, "prod.yaml",
	    "database:\n"
	    "  url: postgresql://app:urlsecret@db/app\n"
	    "  password_env: MIGSYNC_T_PW\n");
	assert_int_equal(load(f), 0);
	/* a warning about the password in the file, without it */
	assert_int_equal(f->problems.nr, 1);
	assert_int_equal(f->problems.items[0].severity, DIAG_WARNING);
	assert_string_equal(f->problems.items[0].code, INV_W_SECRET);
	assert_null(strstr(f->problems.items[0].message, "urlsecret"));
	prod = inventory_find(f->inv, "prod");
	assert_string_equal(prod->database.password_env, "MIGSYNC_T_PW");
	s = inventory_describe_target(prod, NULL);
	assert_string_equal(s, "app@db/app");
	free(s);
	s = inventory_redact_url(prod->database.url);
	assert_null(strstr(s, "urlsecret"));
	free(s);
	unsetenv("PGPASSWORD");
	unsetenv("MIGSYNC_T_PW");
}

static void test_choose_dir(void **state)
{
	(void)state;
	setenv("MIGSYNC_INVENTORY", "/srv/inv", 1);
	assert_string_equal(inventory_choose_dir("x"), "x");
	assert_string_equal(inventory_choose_dir(NULL), "/srv/inv");
	setenv("MIGSYNC_INVENTORY", "", 1);
	assert_string_equal(inventory_choose_dir(NULL), "environments");
	unsetenv("MIGSYNC_INVENTORY");
	assert_string_equal(inventory_choose_dir(NULL), "environments");
}

/* The example inventory of the repository loads. */
static void test_example_inventory(void **state)
{
	struct inventory *inv = NULL;
	struct diag_list problems = DIAG_LIST_INIT;
	struct ms_error err = MS_ERROR_INIT;
	char *dir = xstrfmt("%s/../../../environments", TEST_DATA_DIR);

	(void)state;
	unsetenv("MIGSYNC_PGPORT");
	unsetenv("MIGSYNC_PGUSER");
	assert_int_equal(inventory_load(&inv, dir, &problems, &err), 0);
	assert_int_equal(problems.nr, 0);
	assert_string_equal(inv->project, "stock-assistant");
	assert_int_equal(inv->nr, 3);
	assert_string_equal(inv->envs[0].name, "dev");
	assert_string_equal(inv->envs[2].name, "prod");
	assert_string_equal(inv->envs[2].database.dbname, "stock_prod");
	assert_int_equal(inv->envs[2].database.port, 5432);
	assert_int_equal(inv->envs[2].gate.approvals, 2);
	inventory_free(inv);
	diag_list_release(&problems);
	ms_error_release(&err);
	free(dir);
}

/* Every key of the format, in tests/unit/data/inventory/full. */
static void test_full_inventory(void **state)
{
	struct inventory *inv = NULL;
	struct diag_list problems = DIAG_LIST_INIT;
	struct ms_error err = MS_ERROR_INIT;
	const struct environment *c, *t;

	(void)state;
	assert_int_equal(inventory_load(&inv, TEST_DATA_DIR "/inventory/full", &problems, &err), 0);
	assert_int_equal(problems.nr, 0);
	assert_int_equal(inv->migrations.executor, EXECUTOR_ALEMBIC);
	assert_int_equal(inv->migrations.scripts.nr, 2);
	c = &inv->envs[0];
	t = &inv->envs[1];
	assert_string_equal(c->name, "canary");
	assert_string_equal(c->before_apply, "./scripts/backup.sh canary");
	assert_string_equal(c->database.sslmode, "verify-full");
	assert_string_equal(c->database.application_name, "migsync-canary");
	assert_int_equal(c->database.statement_timeout, 30);
	assert_int_equal(c->database.lock_wait, 120);
	assert_string_equal(c->database.version_table_schema, "public");
	assert_int_equal(c->database.url_pos.line, 4);
	assert_true(c->ssh.enabled);
	assert_string_equal(c->ssh.host, "bastion.example.com");
	assert_int_equal(c->ssh.port, 2222);
	assert_string_equal(c->ssh.passphrase_env, "CANARY_KEY_PASSPHRASE");
	assert_string_equal(c->ssh.known_hosts, "/etc/migsync/known_hosts");
	assert_int_equal(c->ssh.connect_timeout, 15);
	assert_int_equal(c->gate.soak, 1800);
	assert_string_equal(t->database.service, "fleet");
	assert_true(t->ssh.agent);
	assert_true(t->ssh.run);
	assert_string_equal(t->ssh.workdir, "/srv/app");
	assert_int_equal(t->gate.soak, 86400);
	assert_non_null(strstr(t->targets.discover, "tenant_%"));
	inventory_free(inv);
	diag_list_release(&problems);
	ms_error_release(&err);
}

#define FIX(t) cmocka_unit_test_setup_teardown(t, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		FIX(test_load_valid),
		FIX(test_load_list_of_scripts_and_alembic),
		FIX(test_no_migrations),
		FIX(test_defaults_merged),
		FIX(test_defaults_problem_reported_once),
		FIX(test_unknown_key_did_you_mean),
		FIX(test_wrong_type),
		FIX(test_missing_required_keys),
		FIX(test_duplicates),
		FIX(test_rollout_file_mismatch),
		FIX(test_rollout_duplicate_and_empty),
		FIX(test_bad_duration),
		FIX(test_bad_url),
		FIX(test_other_values),
		FIX(test_env_names),
		FIX(test_unset_variable),
		FIX(test_pass_env),
		FIX(test_yaml_syntax_error),
		FIX(test_missing_directory),
		FIX(test_hostile_files),
		FIX(test_anchors),
		FIX(test_fleet),
		FIX(test_tenant_schemas),
		cmocka_unit_test(test_interpolation),
		FIX(test_interpolation_in_inventory),
		cmocka_unit_test(test_durations),
		cmocka_unit_test(test_levenshtein),
		cmocka_unit_test(test_redact_url),
		cmocka_unit_test(test_conninfo_and_describe),
		FIX(test_secrets_not_kept),
		cmocka_unit_test(test_choose_dir),
		cmocka_unit_test(test_example_inventory),
		cmocka_unit_test(test_full_inventory),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
