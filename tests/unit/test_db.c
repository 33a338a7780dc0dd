/*
 * The parts of the db module that need no server: targets built from an
 * environment (conninfo, describe, labels, secrets, ssh), messages
 * scrubbed of secrets, libpq messages on one line, ledger outcome names.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "migsync/ledger.h"
#include "migsync/target.h"

#define SECRET "t0p-secret-pw"

static void env_init(struct environment *env, const char *name)
{
	memset(env, 0, sizeof(*env));
	env->name = (char *)name;
	env->database.host = (char *)"db.example.com";
	env->database.port = 6432;
	env->database.user = (char *)"app";
	env->database.dbname = (char *)"appdb";
	env->database.connect_timeout = 5;
}

static void test_target_own(void **state)
{
	struct environment env;
	struct db_target t;
	struct ms_error err = MS_ERROR_INIT;

	(void)state;
	unsetenv("PGPASSWORD");
	env_init(&env, "prod");
	env.database.password_env = (char *)"TEST_DB_PASSWORD";
	setenv("TEST_DB_PASSWORD", SECRET, 1);
	assert_int_equal(db_target_for(&t, &env, NULL, &err), 0);
	assert_ptr_equal(t.env, &env);
	assert_string_equal(t.dbname, "appdb");
	assert_false(t.member);
	assert_string_equal(t.label, "prod");
	assert_string_equal(t.describe, "app@db.example.com:6432/appdb");
	assert_non_null(strstr(t.conninfo, "host='db.example.com'"));
	assert_non_null(strstr(t.conninfo, "port='6432'"));
	assert_non_null(strstr(t.conninfo, "password='" SECRET "'"));
	assert_int_equal(t.secrets.nr, 1);
	assert_string_equal(t.secrets.items[0], SECRET);
	assert_false(t.has_ssh);

	/* every message about it is scrubbed, whatever the caller put in */
	db_target_error(&err, MS_ERR_DB, &t, "could not connect with %s (password=%s)",
			t.conninfo, SECRET);
	assert_true(starts_with(err.message, "environment \"prod\": could not connect with "));
	assert_null(strstr(err.message, SECRET));
	db_target_release(&t);
	unsetenv("TEST_DB_PASSWORD");
	ms_error_release(&err);
}

static void test_target_member_url_ssh(void **state)
{
	struct environment env;
	struct db_target t;
	struct ms_error err = MS_ERROR_INIT;

	(void)state;
	setenv("PGPASSWORD", "pg-env-password", 1);
	setenv("TEST_SSH_PASSPHRASE", "ssh-passphrase", 1);
	env_init(&env, "tenants");
	env.database.host = NULL;
	env.database.port = 0;
	env.database.user = NULL;
	env.database.dbname = NULL;
	env.database.url = (char *)"postgresql://owner:url-pass-word@10.0.0.5:5433/main";
	env.ssh.enabled = true;
	env.ssh.host = (char *)"bastion";
	env.ssh.port = 2222;
	env.ssh.user = (char *)"deploy";
	env.ssh.identity = (char *)"/keys/id";
	env.ssh.passphrase_env = (char *)"TEST_SSH_PASSPHRASE";
	env.ssh.known_hosts = (char *)"/keys/known_hosts";
	env.ssh.connect_timeout = 7;
	assert_int_equal(db_target_for(&t, &env, "tenant_007", &err), 0);
	assert_string_equal(t.dbname, "tenant_007");
	assert_true(t.member);
	assert_string_equal(t.label, "tenants/tenant_007");
	assert_null(strstr(t.describe, "url-pass-word"));
	assert_non_null(strstr(t.describe, "tenant_007"));
	assert_non_null(strstr(t.conninfo, "dbname='tenant_007'"));
	assert_true(strvec_contains(&t.secrets, "url-pass-word"));
	assert_true(strvec_contains(&t.secrets, "pg-env-password"));
	assert_true(strvec_contains(&t.secrets, "ssh-passphrase"));
	assert_true(t.has_ssh);
	assert_string_equal(t.ssh.host, "bastion");
	assert_int_equal(t.ssh.port, 2222);
	assert_string_equal(t.ssh.user, "deploy");
	assert_string_equal(t.ssh.identity_file, "/keys/id");
	assert_string_equal(t.ssh.known_hosts, "/keys/known_hosts");
	assert_int_equal(t.ssh.connect_timeout_s, 7);

	db_target_error(&err, MS_ERR_IO, &t, "failed: %s, %s, %s", "url-pass-word",
			"pg-env-password", "ssh-passphrase");
	assert_string_equal(err.message,
			    "environment \"tenants\" (tenant_007): failed: ***, ***, ***");
	db_target_release(&t);

	/* the agent instead of a key file */
	env.ssh.agent = true;
	assert_int_equal(db_target_for(&t, &env, NULL, &err), 0);
	assert_null(t.ssh.identity_file);
	assert_string_equal(t.dbname, "main");
	db_target_release(&t);
	unsetenv("PGPASSWORD");
	unsetenv("TEST_SSH_PASSPHRASE");
	ms_error_release(&err);
}

static void test_target_unset_password_env(void **state)
{
	struct environment env;
	struct db_target t;
	struct db_target *list = (struct db_target *)&env;
	struct ms_error err = MS_ERROR_INIT;
	size_t nr = 9;

	(void)state;
	env_init(&env, "staging");
	env.database.password_env = (char *)"TEST_DB_NOT_SET";
	unsetenv("TEST_DB_NOT_SET");
	assert_int_equal(db_target_for(&t, &env, NULL, &err), MS_ERR_CONFIG);
	assert_non_null(strstr(err.message, "TEST_DB_NOT_SET"));
	assert_true(starts_with(err.message, "environment \"staging\": "));
	db_target_release(&t);

	assert_int_equal(db_targets_expand(&list, &nr, &env, &err), MS_ERR_CONFIG);
	assert_null(list);
	assert_int_equal(nr, 0);
	ms_error_release(&err);
}

static void test_expand_lists(void **state)
{
	struct environment env;
	struct db_target *list = NULL;
	struct ms_error err = MS_ERROR_INIT;
	size_t nr = 0;

	(void)state;
	env_init(&env, "dev");
	assert_int_equal(db_targets_expand(&list, &nr, &env, &err), 0);
	assert_int_equal(nr, 1);
	assert_string_equal(list[0].dbname, "appdb");
	assert_false(list[0].member);
	db_targets_free(list, nr);

	/* targets.databases: in the order written */
	env_init(&env, "fleet");
	strvec_push(&env.targets.databases, "t_b");
	strvec_push(&env.targets.databases, "t_a");
	assert_int_equal(db_targets_expand(&list, &nr, &env, &err), 0);
	assert_int_equal(nr, 2);
	assert_string_equal(list[0].dbname, "t_b");
	assert_string_equal(list[1].dbname, "t_a");
	assert_true(list[1].member);
	assert_string_equal(list[1].label, "fleet/t_a");
	assert_string_equal(list[1].describe, "app@db.example.com:6432/t_a");
	db_targets_free(list, nr);
	strvec_release(&env.targets.databases);
	db_targets_free(NULL, 0);
	ms_error_release(&err);
}

/*
 * targets.databases times targets.schemas: database by database, each
 * one's schemas in the order written, named DATABASE/SCHEMA; a shard
 * keeps its (database, schema) pairs, not whole databases.
 */
static void test_expand_databases_schemas(void **state)
{
	static const char *const want[][2] = {
		{ "d2", "s_b" }, { "d2", "s_a" }, { "d1", "s_b" }, { "d1", "s_a" }, { "d3", "s_b" },
		{ "d3", "s_a" },
	};
	struct environment env;
	struct db_target *list = NULL;
	struct ms_error err = MS_ERROR_INIT;
	size_t nr = 0, total = 0;

	(void)state;
	env_init(&env, "tenants");
	strvec_push(&env.targets.databases, "d2");
	strvec_push(&env.targets.databases, "d1");
	strvec_push(&env.targets.databases, "d3");
	strvec_push(&env.targets.schemas, "s_b");
	strvec_push(&env.targets.schemas, "s_a");
	assert_int_equal(db_targets_expand(&list, &nr, &env, &err), 0);
	assert_int_equal(nr, ARRAY_SIZE(want));
	for (size_t i = 0; i < nr; i++) {
		char *name = xstrfmt("%s/%s", want[i][0], want[i][1]);
		char *label = xstrfmt("tenants/%s", name);
		char *describe = xstrfmt("app@db.example.com:6432/%s", want[i][0]);

		assert_string_equal(list[i].dbname, want[i][0]);
		assert_string_equal(list[i].schema, want[i][1]);
		assert_true(list[i].member);
		assert_string_equal(list[i].name, name);
		assert_string_equal(list[i].label, label);
		assert_string_equal(list[i].describe, describe);
		assert_string_equal(db_target_version_schema(&list[i]), want[i][1]);
		free(name);
		free(label);
		free(describe);
	}
	db_targets_free(list, nr);
	for (unsigned k = 0; k < 2; k++) {
		env.shard.index = k;
		env.shard.count = 2;
		assert_int_equal(db_targets_expand(&list, &nr, &env, &err), 0);
		total += nr;
		for (size_t i = 0; i < nr; i++)
			assert_int_equal(db_shard_of("tenants", list[i].dbname, list[i].schema, 2), k);
		db_targets_free(list, nr);
	}
	assert_int_equal(total, ARRAY_SIZE(want));
	strvec_release(&env.targets.databases);
	strvec_release(&env.targets.schemas);
	ms_error_release(&err);
}

/*
 * Shards: the first 64 bits of SHA-256("env/db[/schema]") modulo N (the
 * expected values computed apart, with Python's hashlib), and the
 * expansion keeps exactly its shard's targets, the others in no shard
 * twice, whatever other targets are listed.
 */
static void test_shards(void **state)
{
	static const struct {
		const char *env, *db, *schema;
		unsigned count, shard;
	} cases[] = {
		{ "tenants", "tenant_0001", NULL, 4, 3 },
		{ "tenants", "tenant_0150", NULL, 4, 2 },
		{ "prod", "stock", NULL, 3, 0 },
		{ "tenants", "acme", "tenant_a", 8, 4 },
		{ "tenants", "tenant_0001", NULL, 1000, 595 },
		{ "tenants", "tenant_0001", NULL, 1, 0 },
	};
	struct environment env;
	struct db_target *list = NULL;
	struct ms_error err = MS_ERROR_INIT;
	size_t nr = 0, total = 0;
	char name[32];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		assert_int_equal(db_shard_of(cases[i].env, cases[i].db, cases[i].schema,
					     cases[i].count), cases[i].shard);
	env_init(&env, "tenants");
	for (int i = 1; i <= 40; i++) {
		snprintf(name, sizeof(name), "tenant_%04d", i);
		strvec_push(&env.targets.databases, name);
	}
	for (unsigned k = 0; k < 4; k++) {
		env.shard.index = k;
		env.shard.count = 4;
		assert_int_equal(db_targets_expand(&list, &nr, &env, &err), 0);
		total += nr;
		for (size_t i = 0; i < nr; i++)
			assert_int_equal(db_shard_of("tenants", list[i].dbname, NULL, 4), k);
		db_targets_free(list, nr);
	}
	assert_int_equal(total, 40);
	/* the whole environment, whatever the shard */
	assert_int_equal(db_targets_expand_all(&list, &nr, &env, &err), 0);
	assert_int_equal(nr, 40);
	db_targets_free(list, nr);
	strvec_release(&env.targets.databases);
	ms_error_release(&err);
}

static void test_one_line(void **state)
{
	char *s;

	(void)state;
	s = db_message_one_line("connection to server at \"h\" failed: Connection refused\n"
				"\tIs the server running on that host?\n");
	assert_string_equal(s, "connection to server at \"h\" failed: Connection refused; "
			    "Is the server running on that host?");
	free(s);
	s = db_message_one_line("FATAL:  database \"x\" does not exist\n");
	assert_string_equal(s, "FATAL: database \"x\" does not exist");
	free(s);
	s = db_message_one_line(NULL);
	assert_string_equal(s, "");
	free(s);
}

static void test_outcomes(void **state)
{
	enum ledger_outcome all[] = {
		LEDGER_IN_PROGRESS, LEDGER_APPLIED, LEDGER_FAILED,
		LEDGER_RESOLVED_APPLIED, LEDGER_RESOLVED_ROLLED_BACK, LEDGER_STAMPED,
	};
	struct ledger_entry e;
	struct approval a;
	enum ledger_outcome o;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(all); i++) {
		assert_int_equal(ledger_outcome_parse(&o, ledger_outcome_name(all[i])), 0);
		assert_int_equal(o, all[i]);
	}
	assert_string_equal(ledger_outcome_name(LEDGER_RESOLVED_ROLLED_BACK), "resolved_rolled_back");
	assert_int_equal(ledger_outcome_parse(&o, "exploded"), -1);
	assert_int_equal(ledger_outcome_parse(&o, NULL), -1);

	ledger_entry_init(&e);
	assert_true(e.up);
	assert_true(e.transactional);
	e.revision = xstrdup("r1");
	e.error = xstrdup("boom");
	ledger_entry_release(&e);
	assert_null(e.revision);
	ledger_entries_free(NULL, 0);

	approval_init(&a);
	a.plan_hash = xstrdup("h");
	approval_release(&a);
	assert_null(a.plan_hash);
	approvals_free(NULL, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_target_own),
		cmocka_unit_test(test_target_member_url_ssh),
		cmocka_unit_test(test_target_unset_password_env),
		cmocka_unit_test(test_expand_lists),
		cmocka_unit_test(test_expand_databases_schemas),
		cmocka_unit_test(test_shards),
		cmocka_unit_test(test_one_line),
		cmocka_unit_test(test_outcomes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
