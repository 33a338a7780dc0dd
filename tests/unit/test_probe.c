#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "migsync/clock.h"
#include "migsync/conn.h"
#include "migsync/observe.h"
#include "migsync/pool.h"
#include "migsync/strbuf.h"
#include "migsync/tunnel.h"
#include "migsync/util.h"

static char *redact(const char *msg, const struct strvec *secrets)
{
	struct strbuf sb = STRBUF_INIT;

	conn_redact(&sb, msg, secrets);
	return strbuf_detach(&sb, NULL);
}

static void check_redact(const char *msg, const char *expect)
{
	char *got = redact(msg, NULL);

	assert_string_equal(got, expect);
	free(got);
}

static void test_redact_keywords(void **state)
{
	(void)state;
	check_redact("host=db password=hunter2 dbname=app", "host=db password=*** dbname=app");
	check_redact("password = 'it\\'s \\\\ secret' user=x", "password=*** user=x");
	check_redact("sslpassword=abc PGPASSWORD=xyz", "sslpassword=*** PGPASSWORD=***");
	check_redact("Password=\"q w e\"", "Password=***");
	check_redact("passphrase=k1, next", "passphrase=***, next");
	/* Words that merely mention passwords are left alone. */
	check_redact("FATAL: password authentication failed for user \"app\"",
		     "FATAL: password authentication failed for user \"app\"");
	check_redact("mypasswordfile=/x", "mypasswordfile=/x");
	check_redact("", "");
}

static void test_redact_urls(void **state)
{
	(void)state;
	check_redact("postgresql://app:s3cr3t@db.example:5432/app",
		     "postgresql://app:***@db.example:5432/app");
	check_redact("url \"postgres://u:p%40ss@h/db?sslmode=require\" bad",
		     "url \"postgres://u:***@h/db?sslmode=require\" bad");
	check_redact("postgresql://app@db/app", "postgresql://app@db/app");
	check_redact("postgresql://db:5432/app", "postgresql://db:5432/app");
	check_redact("see https://www.postgresql.org/docs/", "see https://www.postgresql.org/docs/");
}

static void test_redact_literal_secrets(void **state)
{
	struct strvec secrets = STRVEC_INIT;
	char *got;

	(void)state;
	strvec_push(&secrets, "Tr0ub4dor");
	strvec_push(&secrets, "abc");	/* too short to be replaced */
	got = redact("database \"Tr0ub4dor\" does not exist; abc Tr0ub4dor", &secrets);
	assert_string_equal(got, "database \"***\" does not exist; abc ***");
	free(got);
	strvec_release(&secrets);
}

static void test_conninfo_add(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	PQconninfoOption *opts;
	char *errmsg = NULL;

	(void)state;
	conn_conninfo_add(&sb, "host", "db.example");
	conn_conninfo_add(&sb, "password", "it's a \\ secret");
	assert_string_equal(sb.buf, "host='db.example' password='it\\'s a \\\\ secret'");
	opts = PQconninfoParse(sb.buf, &errmsg);
	assert_non_null(opts);
	for (PQconninfoOption *o = opts; o->keyword; o++)
		if (!strcmp(o->keyword, "password"))
			assert_string_equal(o->val, "it's a \\ secret");
	PQconninfoFree(opts);
	strbuf_release(&sb);
}

static void test_timeout_math(void **state)
{
	int64_t now = clock_mono_ms(), d;
	int left, fds[2];

	(void)state;
	d = conn_deadline(1000);
	assert_true(d >= now + 1000);
	left = conn_remaining_ms(d);
	assert_true(left > 900 && left <= 1000);
	assert_int_equal(conn_remaining_ms(now - 5), 0);
	assert_true(conn_deadline(-5) <= clock_mono_ms());
	assert_int_equal(conn_deadline_min(3, 7), 3);
	assert_int_equal(conn_deadline_min(9, 7), 7);
	assert_int_equal(conn_remaining_ms(INT64_MAX / 2), INT32_MAX);

	assert_int_equal(pipe(fds), 0);
	now = clock_mono_ms();
	assert_int_equal(conn_wait_fd(fds[0], POLLIN, conn_deadline(50)), 0);
	assert_true(clock_mono_ms() - now >= 45);
	assert_int_equal(write(fds[1], "x", 1), 1);
	assert_int_equal(conn_wait_fd(fds[0], POLLIN, conn_deadline(1000)), 1);
	close(fds[0]);
	close(fds[1]);
}

struct pool_test {
	pthread_t caller;
	int *work_done;
	int *handled;
	size_t handled_nr;
	bool handler_in_caller;
};

static void pool_work(size_t i, void *ctx)
{
	struct pool_test *pt = ctx;

	if (i % 7 == 0)
		usleep(1000);
	pt->work_done[i]++;
}

static void pool_done(size_t i, void *ctx)
{
	struct pool_test *pt = ctx;

	if (!pthread_equal(pthread_self(), pt->caller))
		pt->handler_in_caller = false;
	/* work(i) must have finished before done(i). */
	assert_int_equal(pt->work_done[i], 1);
	pt->handled[i]++;
	pt->handled_nr++;
}

static void test_pool(void **state)
{
	enum { N = 200 };
	struct pool_test pt;
	unsigned jobs[] = { 0, 1, 4, 64 };

	(void)state;
	assert_int_equal(pool_jobs(3, 0), 3);
	assert_int_equal(pool_jobs(100, 0), 16);
	assert_int_equal(pool_jobs(100, 4), 4);
	assert_int_equal(pool_jobs(2, 8), 2);
	assert_int_equal(pool_jobs(0, 0), 0);

	for (size_t j = 0; j < ARRAY_SIZE(jobs); j++) {
		memset(&pt, 0, sizeof(pt));
		pt.caller = pthread_self();
		pt.work_done = xcalloc(N, sizeof(int));
		pt.handled = xcalloc(N, sizeof(int));
		pt.handler_in_caller = true;
		assert_int_equal(pool_run(N, jobs[j], pool_work, pool_done, &pt, NULL), 0);
		assert_int_equal(pt.handled_nr, N);
		for (size_t i = 0; i < N; i++) {
			assert_int_equal(pt.work_done[i], 1);
			assert_int_equal(pt.handled[i], 1);
		}
		assert_true(pt.handler_in_caller);
		free(pt.work_done);
		free(pt.handled);
	}
	assert_int_equal(pool_run(0, 4, pool_work, pool_done, NULL, NULL), 0);
}

static void test_result_lifecycle(void **state)
{
	struct observation a, b;

	(void)state;
	observation_init(&a);
	observation_init(&b);
	strvec_push(&a.version_rows, "ab12");
	ms_error_set(&a.error, MS_ERR_DB, "x");
	a.state = OBSERVE_ERROR;
	observation_move(&b, &a);
	assert_int_equal(a.version_rows.nr, 0);
	assert_null(a.error.message);
	assert_int_equal(b.state, OBSERVE_ERROR);
	assert_string_equal(b.version_rows.items[0], "ab12");
	observation_release(&b);
	observation_release(&a);
	assert_string_equal(observe_state_name(OBSERVE_OK), "ok");
	assert_string_equal(observe_state_name(OBSERVE_UNINITIALIZED), "uninitialized");
	assert_string_equal(observe_state_name(OBSERVE_UNREACHABLE), "unreachable");
	assert_string_equal(observe_state_name(OBSERVE_ERROR), "error");
}

/* No server needed: a malformed string, and a closed port on loopback. */
static void test_probe_without_server(void **state)
{
	struct observe_probe targets[2];
	struct observation results[2];
	struct ms_error err = MS_ERROR_INIT;

	(void)state;
	memset(targets, 0, sizeof(targets));
	targets[0].name = "broken";
	targets[0].conninfo = "host=db hunter2secret password";
	targets[1].name = "closed";
	targets[1].conninfo = "host=127.0.0.1 port=1 password=hunter2secret sslmode=disable";
	targets[1].connect_timeout_s = 2;
	for (size_t i = 0; i < 2; i++)
		observation_init(&results[i]);

	assert_int_equal(observe_probe_run(results, targets, 2, 0, NULL, NULL, &err), 0);

	assert_int_equal(results[0].state, OBSERVE_ERROR);
	assert_string_equal(results[0].error.message, "target \"broken\": invalid connection string");
	assert_non_null(results[0].error.hint);
	assert_int_equal(results[1].state, OBSERVE_UNREACHABLE);
	assert_true(starts_with(results[1].error.message, "target \"closed\": could not connect: "));
	assert_true(results[1].elapsed_ms < 2000);
	for (size_t i = 0; i < 2; i++) {
		assert_null(strstr(results[i].error.message, "hunter2secret"));
		assert_int_equal(results[i].version_rows.nr, 0);
		observation_release(&results[i]);
	}
	ms_error_release(&err);
}

static void test_tunnel_errors(void **state)
{
	struct tunnel_config cfg;
	struct tunnel *t = NULL;
	struct ms_error err = MS_ERROR_INIT;

	(void)state;
	assert_int_equal(conn_global_init(&err), 0);
	memset(&cfg, 0, sizeof(cfg));
	assert_int_equal(tunnel_open(&t, &cfg, "db", 5432, 1000, &err), MS_ERR_CONFIG);
	assert_null(t);
	assert_string_equal(err.message, "ssh tunnel: no ssh host configured");

	cfg.host = "127.0.0.1";
	cfg.port = 1;
	cfg.known_hosts = "/nonexistent/known_hosts";
	assert_int_equal(tunnel_open(&t, &cfg, "db", 5432, 1000, &err), MS_ERR_IO);
	assert_null(t);
	assert_true(starts_with(err.message, "ssh server \"127.0.0.1:1\": could not connect: "));
	assert_non_null(err.hint);
	tunnel_free(NULL);
	ms_error_release(&err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_redact_keywords),
		cmocka_unit_test(test_redact_urls),
		cmocka_unit_test(test_redact_literal_secrets),
		cmocka_unit_test(test_conninfo_add),
		cmocka_unit_test(test_timeout_math),
		cmocka_unit_test(test_pool),
		cmocka_unit_test(test_result_lifecycle),
		cmocka_unit_test(test_probe_without_server),
		cmocka_unit_test(test_tunnel_errors),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);

	conn_global_cleanup();
	return rc;
}
