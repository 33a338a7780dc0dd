/*
 * The db module against a real PostgreSQL (started by db_pg.sh; PGHOST
 * and PGPORT say where, PGUSER is a superuser): the ledger created twice
 * and by several processes at once, steps and approvals written and read
 * back, the advisory lock between two sessions (timeouts measured), and
 * connections that fail within connect_timeout without showing a secret.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "migsync/ledger.h"
#include "migsync/target.h"

#define SECRET "planted-S3cret-pw"

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* An environment on the test server (strings are static or from getenv). */
static void env_init(struct environment *env, const char *name)
{
	memset(env, 0, sizeof(*env));
	env->name = (char *)name;
	env->database.host = getenv("PGHOST");
	env->database.port = getenv("PGPORT") ? atoi(getenv("PGPORT")) : 0;
	env->database.user = (char *)"postgres";
	env->database.dbname = (char *)"postgres";
	env->database.connect_timeout = 5;
}

static void exec_ok(PGconn *conn, const char *sql)
{
	PGresult *res = PQexec(conn, sql);

	if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK)
		fail_msg("%s: %s", sql, PQerrorMessage(conn));
	PQclear(res);
}

static PGconn *connect_env(const struct environment *env, const char *dbname)
{
	struct db_target t;
	struct ms_error err = MS_ERROR_INIT;
	struct tunnel *tunnel = NULL;
	PGconn *conn = NULL;

	assert_int_equal(db_target_for(&t, env, dbname, &err), 0);
	if (db_connect(&conn, &tunnel, &t, &err) < 0)
		fail_msg("db_connect: %s", err.message);
	assert_null(tunnel);
	exec_ok(conn, "SET client_min_messages = warning");
	db_target_release(&t);
	ms_error_release(&err);
	return conn;
}

static PGconn *connect_test(void)
{
	struct environment env;

	env_init(&env, "test");
	return connect_env(&env, NULL);
}

static void test_connect_identity(void **state)
{
	struct environment env;
	struct db_target t;
	struct ms_error err = MS_ERROR_INIT;
	struct tunnel *tunnel = NULL;
	PGconn *conn = NULL;
	PGresult *res;
	char *id = NULL, *id2 = NULL;

	(void)state;
	env_init(&env, "test");
	env.database.statement_timeout = 7;
	assert_int_equal(db_target_for(&t, &env, NULL, &err), 0);
	assert_int_equal(db_connect(&conn, &tunnel, &t, &err), 0);

	res = PQexec(conn, "SELECT current_setting('application_name'), current_setting('statement_timeout')");
	assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
	assert_string_equal(PQgetvalue(res, 0, 0), "migsync");
	assert_string_equal(PQgetvalue(res, 0, 1), "0");	/* no statement_timeout for migrations */
	PQclear(res);

	assert_int_equal(db_identity(&id, conn, &t, &err), 0);
	assert_true(starts_with(id, t.describe));
	assert_non_null(strstr(id, " oid="));
	assert_non_null(strstr(id, " sysid="));
	print_message("identity: %s\n", id);

	/* PostgreSQL grants pg_control_system() to every role: the same identity */
	exec_ok(conn, "DROP ROLE IF EXISTS migsync_plain; CREATE ROLE migsync_plain LOGIN");
	exec_ok(conn, "SET ROLE migsync_plain");
	assert_int_equal(db_identity(&id2, conn, &t, &err), 0);
	assert_string_equal(id, id2);
	free(id2);

	/* where it is revoked, the identity leaves the sysid out */
	exec_ok(conn, "RESET ROLE");
	exec_ok(conn, "BEGIN; REVOKE EXECUTE ON FUNCTION pg_control_system() FROM PUBLIC; SET ROLE migsync_plain");
	assert_int_equal(db_identity(&id2, conn, &t, &err), 0);
	assert_non_null(strstr(id2, " oid="));
	assert_null(strstr(id2, "sysid="));
	free(id2);
	exec_ok(conn, "ROLLBACK");
	free(id);

	db_disconnect(conn, tunnel);
	db_target_release(&t);
	ms_error_release(&err);
}

/* A TCP port on 127.0.0.1 nobody listens on. */
static int closed_port(void)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

/* A listener that never accepts: TCP connects, the server never answers. */
static int black_hole(int *port)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 8), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	*port = ntohs(sa.sin_port);
	return fd;
}

static void expect_unreachable(int port, int64_t timeout_s, int64_t max_ms)
{
	struct environment env;
	struct db_target t;
	struct ms_error err = MS_ERROR_INIT;
	struct tunnel *tunnel = NULL;
	PGconn *conn = NULL;
	int64_t start, took;

	env_init(&env, "prod");
	env.database.host = (char *)"127.0.0.1";
	env.database.port = port;
	env.database.connect_timeout = timeout_s;
	env.database.password_env = (char *)"DB_TEST_PASSWORD";
	setenv("DB_TEST_PASSWORD", SECRET, 1);
	assert_int_equal(db_target_for(&t, &env, NULL, &err), 0);
	assert_non_null(strstr(t.conninfo, SECRET));
	assert_null(strstr(t.describe, SECRET));

	start = now_ms();
	assert_int_equal(db_connect(&conn, &tunnel, &t, &err), MS_ERR_IO);
	took = now_ms() - start;
	assert_null(conn);
	assert_null(tunnel);
	assert_true(took <= max_ms);
	assert_true(starts_with(err.message, "environment \"prod\": could not connect"));
	assert_null(strstr(err.message, SECRET));
	assert_non_null(err.hint);
	assert_null(strstr(err.hint, SECRET));
	print_message("unreachable on port %d after %lld ms: %s\n", port, (long long)took, err.message);

	/* a message built by a caller that quotes the secret is scrubbed too */
	db_target_error(&err, MS_ERR_DB, &t, "conninfo %s, raw %s", t.conninfo, SECRET);
	assert_null(strstr(err.message, SECRET));
	db_target_release(&t);
	ms_error_release(&err);
	unsetenv("DB_TEST_PASSWORD");
}

static void test_connect_closed_port(void **state)
{
	(void)state;
	expect_unreachable(closed_port(), 2, 1500);
}

static void test_connect_black_hole(void **state)
{
	int port, fd = black_hole(&port);
	int64_t start = now_ms();

	(void)state;
	expect_unreachable(port, 1, 1800);
	assert_true(now_ms() - start >= 900);	/* it did wait for connect_timeout */
	close(fd);
}

static void test_expand(void **state)
{
	struct environment env;
	struct db_target *targets = NULL;
	struct ms_error err = MS_ERROR_INIT;
	PGconn *conn = connect_test();
	size_t nr = 0;

	(void)state;
	exec_ok(conn, "DROP DATABASE IF EXISTS dbt_tenant_b");
	exec_ok(conn, "DROP DATABASE IF EXISTS dbt_tenant_a");
	exec_ok(conn, "CREATE DATABASE dbt_tenant_b");
	exec_ok(conn, "CREATE DATABASE dbt_tenant_a");
	PQfinish(conn);

	/* its own database */
	env_init(&env, "dev");
	assert_int_equal(db_targets_expand(&targets, &nr, &env, &err), 0);
	assert_int_equal(nr, 1);
	assert_string_equal(targets[0].dbname, "postgres");
	assert_false(targets[0].member);
	assert_string_equal(targets[0].label, "dev");
	db_targets_free(targets, nr);

	/* a discovery query: sorted, distinct */
	env_init(&env, "tenants");
	env.targets.discover = (char *)"SELECT datname FROM pg_database WHERE datname LIKE 'dbt\\_tenant\\_%'"
		" UNION ALL SELECT 'dbt_tenant_a'";
	assert_int_equal(db_targets_expand(&targets, &nr, &env, &err), 0);
	assert_int_equal(nr, 2);
	assert_string_equal(targets[0].dbname, "dbt_tenant_a");
	assert_string_equal(targets[1].dbname, "dbt_tenant_b");
	assert_true(targets[1].member);
	assert_string_equal(targets[1].label, "tenants/dbt_tenant_b");
	conn = connect_env(&env, targets[1].dbname);
	PQfinish(conn);
	db_targets_free(targets, nr);

	/* a broken query names the environment and says what discover must be */
	env.targets.discover = (char *)"SELECT nosuchcolumn FROM pg_database";
	assert_int_equal(db_targets_expand(&targets, &nr, &env, &err), MS_ERR_DB);
	assert_null(targets);
	assert_int_equal(nr, 0);
	assert_true(starts_with(err.message, "environment \"tenants\": discovery query failed: "));
	assert_non_null(strstr(err.hint, "targets.discover"));

	/* discovery on a server that is not there */
	env.targets.discover = (char *)"SELECT datname FROM pg_database";
	env.database.port = closed_port();
	env.database.connect_timeout = 2;
	assert_int_equal(db_targets_expand(&targets, &nr, &env, &err), MS_ERR_IO);
	assert_true(starts_with(err.message, "environment \"tenants\": discovery: could not connect"));
	ms_error_release(&err);
}

static void test_ensure_twice(void **state)
{
	struct ms_error err = MS_ERROR_INIT;
	PGconn *conn = connect_test();
	bool exists = true;

	(void)state;
	exec_ok(conn, "DROP SCHEMA IF EXISTS \"dbt ledger\" CASCADE");
	assert_int_equal(ledger_exists(conn, "dbt ledger", &exists, &err), 0);
	assert_false(exists);
	assert_int_equal(ledger_ensure(conn, "dbt ledger", &err), 0);
	assert_int_equal(ledger_ensure(conn, "dbt ledger", &err), 0);
	assert_int_equal(ledger_exists(conn, "dbt ledger", &exists, &err), 0);
	assert_true(exists);

	/* a role that may not create schemas: one a DBA made for it is enough */
	exec_ok(conn, "DROP SCHEMA IF EXISTS dbt_dba CASCADE; DROP ROLE IF EXISTS dbt_owner;"
		" CREATE ROLE dbt_owner; CREATE SCHEMA dbt_dba AUTHORIZATION dbt_owner");
	exec_ok(conn, "SET ROLE dbt_owner");
	assert_int_equal(ledger_ensure(conn, "dbt_dba", &err), 0);
	assert_int_equal(ledger_exists(conn, "dbt_dba", &exists, &err), 0);
	assert_true(exists);
	assert_int_equal(ledger_ensure(conn, "dbt_nocreate", &err), MS_ERR_DB);
	assert_true(starts_with(err.message, "ledger \"dbt_nocreate\": could not create the ledger: permission denied"));
	assert_non_null(strstr(err.hint, "CREATE"));
	assert_int_equal(PQtransactionStatus(conn), PQTRANS_IDLE);
	exec_ok(conn, "RESET ROLE");

	/* not inside a transaction of the caller's */
	exec_ok(conn, "BEGIN");
	assert_int_equal(ledger_ensure(conn, "dbt other", &err), MS_ERR_GENERIC);
	exec_ok(conn, "ROLLBACK");
	PQfinish(conn);
	ms_error_release(&err);
}

static void test_ensure_concurrently(void **state)
{
	enum { PROCS = 8, ROUNDS = 3 };
	PGconn *conn = connect_test();

	(void)state;
	for (int round = 0; round < ROUNDS; round++) {
		pid_t pids[PROCS];

		exec_ok(conn, "DROP SCHEMA IF EXISTS dbt_race CASCADE");
		for (int i = 0; i < PROCS; i++) {
			pids[i] = fork();
			assert_true(pids[i] >= 0);
			if (pids[i] == 0) {
				struct ms_error err = MS_ERROR_INIT;
				PGconn *c = connect_test();
				int rc = ledger_ensure(c, "dbt_race", &err);

				if (rc < 0)
					fprintf(stderr, "child %d: %s\n", i, err.message);
				PQfinish(c);
				_exit(rc < 0 ? 1 : 0);
			}
		}
		for (int i = 0; i < PROCS; i++) {
			int status = 0;

			assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
			assert_true(WIFEXITED(status));
			assert_int_equal(WEXITSTATUS(status), 0);
		}
	}
	PQfinish(conn);
}

static void test_entries(void **state)
{
	const char *schema = "dbt_entries";
	struct ms_error err = MS_ERROR_INIT;
	struct ledger_entry e, *list = NULL;
	PGconn *conn = connect_test();
	int64_t at = 0, first_end;
	bool found = true;
	size_t nr = 7;

	(void)state;
	exec_ok(conn, "DROP SCHEMA IF EXISTS dbt_entries CASCADE");
	/* no ledger yet: empty answers, not errors */
	assert_int_equal(ledger_list(&list, &nr, conn, schema, 0, &err), 0);
	assert_int_equal(nr, 0);
	assert_int_equal(ledger_applied_at(&at, &found, conn, schema, "r1", &err), 0);
	assert_false(found);
	assert_int_equal(ledger_ensure(conn, schema, &err), 0);

	/* r1 applied in a transaction that commits */
	ledger_entry_init(&e);
	e.revision = xstrdup("r1");
	e.sha256 = xstrdup("ab12");
	e.plan_hash = xstrdup("ph1");
	e.who = xstrdup("ana");
	e.host = xstrdup("laptop");
	e.environment = xstrdup("dev");
	e.started_at_ms = 1700000000123;
	e.duration_ms = 250;
	e.outcome = LEDGER_APPLIED;
	e.executor = xstrdup("sql");
	e.rows_after = xstrdup("r1");
	exec_ok(conn, "BEGIN");
	assert_int_equal(ledger_insert(conn, schema, &e, &err), 0);
	exec_ok(conn, "COMMIT");
	assert_true(e.id > 0);
	assert_int_equal(e.started_at_ms, 1700000000123);
	first_end = e.started_at_ms + e.duration_ms;
	ledger_entry_release(&e);

	/* r2 failed inside a rolled back transaction: no trace */
	ledger_entry_init(&e);
	e.revision = xstrdup("r2");
	e.outcome = LEDGER_APPLIED;
	exec_ok(conn, "BEGIN");
	assert_int_equal(ledger_insert(conn, schema, &e, &err), 0);
	exec_ok(conn, "ROLLBACK");
	ledger_entry_release(&e);

	/* r2 non-transactional: in progress, then finished as failed */
	ledger_entry_init(&e);
	e.revision = xstrdup("r2");
	e.transactional = false;
	e.outcome = LEDGER_IN_PROGRESS;
	assert_int_equal(ledger_insert(conn, schema, &e, &err), 0);
	assert_true(e.started_at_ms > 1700000000123);	/* now */
	assert_int_equal(ledger_in_progress(&list, &nr, conn, schema, &err), 0);
	assert_int_equal(nr, 1);
	assert_string_equal(list[0].revision, "r2");
	assert_false(list[0].transactional);
	assert_null(list[0].error);
	ledger_entries_free(list, nr);
	assert_int_equal(ledger_finish(conn, schema, e.id, LEDGER_FAILED, 42,
				       "syntax error at or near \"x\"", &err), 0);
	assert_int_equal(ledger_finish(conn, schema, e.id + 1000, LEDGER_FAILED, 0, NULL, &err),
			 MS_ERR_NOTFOUND);
	assert_int_equal(ledger_in_progress(&list, &nr, conn, schema, &err), 0);
	assert_int_equal(nr, 0);
	ledger_entries_free(list, nr);
	ledger_entry_release(&e);

	assert_int_equal(ledger_list(&list, &nr, conn, schema, 0, &err), 0);
	assert_int_equal(nr, 2);
	assert_string_equal(list[0].revision, "r1");
	assert_string_equal(list[0].sha256, "ab12");
	assert_string_equal(list[0].plan_hash, "ph1");
	assert_string_equal(list[0].who, "ana");
	assert_string_equal(list[0].host, "laptop");
	assert_string_equal(list[0].environment, "dev");
	assert_string_equal(list[0].executor, "sql");
	assert_string_equal(list[0].rows_after, "r1");
	assert_true(list[0].up);
	assert_true(list[0].transactional);
	assert_int_equal(list[0].outcome, LEDGER_APPLIED);
	assert_int_equal(list[0].duration_ms, 250);
	assert_string_equal(list[1].revision, "r2");
	assert_int_equal(list[1].outcome, LEDGER_FAILED);
	assert_int_equal(list[1].duration_ms, 42);
	assert_string_equal(list[1].error, "syntax error at or near \"x\"");
	assert_null(list[1].sha256);
	ledger_entries_free(list, nr);
	assert_int_equal(ledger_list(&list, &nr, conn, schema, 1, &err), 0);
	assert_int_equal(nr, 1);
	assert_string_equal(list[0].revision, "r2");	/* the newest one */
	ledger_entries_free(list, nr);

	/* applied_at: r1 yes, r2 (failed) no; a downgrade ends it, a new upgrade restarts it */
	assert_int_equal(ledger_applied_at(&at, &found, conn, schema, "r1", &err), 0);
	assert_true(found);
	assert_int_equal(at, first_end);
	assert_int_equal(ledger_applied_at(&at, &found, conn, schema, "r2", &err), 0);
	assert_false(found);
	ledger_entry_init(&e);
	e.revision = xstrdup("r1");
	e.up = false;
	e.started_at_ms = 1700000100000;
	e.outcome = LEDGER_APPLIED;
	assert_int_equal(ledger_insert(conn, schema, &e, &err), 0);
	assert_int_equal(ledger_applied_at(&at, &found, conn, schema, "r1", &err), 0);
	assert_false(found);
	free(e.revision);
	e.revision = xstrdup("r1");
	e.up = true;
	e.started_at_ms = 1700000200000;
	e.duration_ms = 5;
	e.outcome = LEDGER_STAMPED;
	assert_int_equal(ledger_insert(conn, schema, &e, &err), 0);
	e.started_at_ms = 1700000300000;
	e.outcome = LEDGER_APPLIED;
	assert_int_equal(ledger_insert(conn, schema, &e, &err), 0);
	assert_int_equal(ledger_applied_at(&at, &found, conn, schema, "r1", &err), 0);
	assert_true(found);
	assert_int_equal(at, 1700000200005);	/* the first of the current run */
	ledger_entry_release(&e);

	/* identifiers and values are never spliced into SQL */
	ledger_entry_init(&e);
	e.revision = xstrdup("x'); DROP TABLE dbt_entries.applied; --");
	e.outcome = LEDGER_APPLIED;
	assert_int_equal(ledger_insert(conn, schema, &e, &err), 0);
	assert_int_equal(ledger_applied_at(&at, &found, conn, schema, e.revision, &err), 0);
	assert_true(found);
	ledger_entry_release(&e);

	PQfinish(conn);
	ms_error_release(&err);
}

static void test_approvals(void **state)
{
	const char *schema = "dbt_approvals";
	struct ms_error err = MS_ERROR_INIT;
	struct approval a, *list = NULL;
	PGconn *conn = connect_test();
	size_t nr = 5;

	(void)state;
	exec_ok(conn, "DROP SCHEMA IF EXISTS dbt_approvals CASCADE");
	assert_int_equal(ledger_approvals(&list, &nr, conn, schema, "prod", &err), 0);
	assert_int_equal(nr, 0);
	assert_int_equal(ledger_ensure(conn, schema, &err), 0);

	approval_init(&a);
	a.plan_hash = xstrdup("ph-1");
	a.environment = xstrdup("prod");
	a.approver = xstrdup("bob");
	a.comment = xstrdup("ok'd in the \"release\" meeting");
	a.expires_at_ms = 1900000000500;
	assert_int_equal(ledger_approve(conn, schema, &a, &err), 0);
	assert_true(a.id > 0);
	assert_true(a.created_at_ms > 1700000000000);
	approval_release(&a);

	approval_init(&a);
	a.plan_hash = xstrdup("ph-2");
	a.environment = xstrdup("prod");
	a.approver = xstrdup("carol");
	a.created_at_ms = 1750000000000;
	assert_int_equal(ledger_approve(conn, schema, &a, &err), 0);
	assert_int_equal(a.created_at_ms, 1750000000000);
	approval_release(&a);

	approval_init(&a);
	a.plan_hash = xstrdup("ph-3");
	a.environment = xstrdup("staging");
	a.approver = xstrdup("bob");
	assert_int_equal(ledger_approve(conn, schema, &a, &err), 0);
	approval_release(&a);

	assert_int_equal(ledger_approvals(&list, &nr, conn, schema, "prod", &err), 0);
	assert_int_equal(nr, 2);
	assert_string_equal(list[0].plan_hash, "ph-1");
	assert_string_equal(list[0].approver, "bob");
	assert_string_equal(list[0].comment, "ok'd in the \"release\" meeting");
	assert_int_equal(list[0].expires_at_ms, 1900000000500);
	assert_string_equal(list[1].plan_hash, "ph-2");
	assert_null(list[1].comment);
	assert_int_equal(list[1].expires_at_ms, 0);
	assert_int_equal(list[1].created_at_ms, 1750000000000);
	assert_true(list[0].id < list[1].id);
	approvals_free(list, nr);

	PQfinish(conn);
	ms_error_release(&err);
}

static int stop_now(void *ctx)
{
	return ++*(int *)ctx >= 2;
}

static void test_lock(void **state)
{
	struct ms_error err = MS_ERROR_INIT;
	PGconn *a = connect_test(), *b = connect_test();
	int64_t start, took;
	int calls = 0;

	(void)state;
	assert_int_equal(ledger_lock(a, 0, NULL, NULL, &err), 0);

	/* b waits the bound, not longer, and is told who holds the lock */
	start = now_ms();
	assert_int_equal(ledger_lock(b, 1200, NULL, NULL, &err), MS_ERR_DB);
	took = now_ms() - start;
	print_message("lock wait of 1200 ms gave up after %lld ms\n", (long long)took);
	assert_true(took >= 1200 && took < 1200 + 600);
	assert_true(starts_with(err.message, "timed out waiting for the lock"));
	assert_non_null(err.hint);
	assert_non_null(strstr(err.hint, "application \"migsync\""));

	/* a stop request ends the wait early */
	start = now_ms();
	assert_int_equal(ledger_lock(b, 10000, stop_now, &calls, &err), MS_ERR_GENERIC);
	assert_true(now_ms() - start < 2000);
	assert_string_equal(err.message, "stopped waiting for the lock");

	/* the lock is per database: b takes it on another one */
	{
		struct environment env;
		PGconn *other;

		env_init(&env, "test");
		other = connect_env(&env, "template1");
		assert_int_equal(ledger_lock(other, 0, NULL, NULL, &err), 0);
		assert_int_equal(ledger_unlock(other, &err), 0);
		PQfinish(other);
	}

	/* a transaction's end does not release a session lock */
	exec_ok(a, "BEGIN");
	exec_ok(a, "ROLLBACK");
	assert_int_equal(ledger_lock(b, 0, NULL, NULL, &err), MS_ERR_DB);

	/* released: b gets it while waiting */
	assert_int_equal(ledger_unlock(a, &err), 0);
	assert_int_equal(ledger_unlock(a, &err), MS_ERR_DB);
	start = now_ms();
	assert_int_equal(ledger_lock(b, 5000, NULL, NULL, &err), 0);
	assert_true(now_ms() - start < 1000);

	/* and a gets it once b's session is gone, without an unlock */
	assert_int_equal(ledger_lock(a, 300, NULL, NULL, &err), MS_ERR_DB);
	PQfinish(b);
	start = now_ms();
	assert_int_equal(ledger_lock(a, 5000, NULL, NULL, &err), 0);
	print_message("lock taken %lld ms after the holder disconnected\n",
		      (long long)(now_ms() - start));
	assert_int_equal(ledger_unlock(a, &err), 0);

	/* an application's own advisory locks do not collide */
	exec_ok(a, "SELECT pg_advisory_lock(1836280939)");
	b = connect_test();
	assert_int_equal(ledger_lock(b, 0, NULL, NULL, &err), 0);
	assert_int_equal(ledger_unlock(b, &err), 0);
	PQfinish(b);
	PQfinish(a);
	ms_error_release(&err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_connect_identity),
		cmocka_unit_test(test_connect_closed_port),
		cmocka_unit_test(test_connect_black_hole),
		cmocka_unit_test(test_expand),
		cmocka_unit_test(test_ensure_twice),
		cmocka_unit_test(test_ensure_concurrently),
		cmocka_unit_test(test_entries),
		cmocka_unit_test(test_approvals),
		cmocka_unit_test(test_lock),
	};

	if (!getenv("PGHOST") || !getenv("PGPORT")) {
		fprintf(stderr, "db_test: set PGHOST and PGPORT (run it from db_pg.sh)\n");
		return 77;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
