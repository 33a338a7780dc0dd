/*
 * The observe module without a server: what an observation holds when a
 * database cannot be reached, for the state and for a schema snapshot,
 * and that a NULL target is skipped; observe_conn on a connection that
 * failed, and with nothing asked.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <libpq-fe.h>

#include "migsync/conn.h"
#include "migsync/observe.h"
#include "migsync/util.h"

#define SECRET "hunter2secret"

struct fixture {
	struct environment env;
	struct db_target target;
	const struct db_target *targets[2];
	struct observation obs[2];
	size_t done_nr;
};

/* A closed port on loopback: refused at once, no server needed. */
static void fixture_init(struct fixture *f)
{
	memset(f, 0, sizeof(*f));
	f->env.name = "prod";
	f->env.database.connect_timeout = 2;
	db_target_init(&f->target);
	f->target.env = &f->env;
	f->target.label = xstrdup("prod");
	f->target.dbname = xstrdup("app");
	f->target.describe = xstrdup("app@127.0.0.1:1/app");
	f->target.conninfo = xstrdup("host=127.0.0.1 port=1 dbname=app password=" SECRET
				     " sslmode=disable");
	strvec_push(&f->target.secrets, SECRET);
	f->targets[0] = &f->target;
	f->targets[1] = NULL;
	for (size_t i = 0; i < 2; i++)
		observation_init(&f->obs[i]);
}

static void fixture_release(struct fixture *f)
{
	for (size_t i = 0; i < 2; i++)
		observation_release(&f->obs[i]);
	db_target_release(&f->target);
}

static void count_done(size_t index, struct observation *obs, void *ctx)
{
	struct fixture *f = ctx;

	assert_ptr_equal(obs, &f->obs[index]);
	f->done_nr++;
}

static void test_state_unreachable(void **state)
{
	struct fixture f;
	struct ms_error err = MS_ERROR_INIT;
	struct observe_options o = { OBSERVE_STATE | OBSERVE_LEDGER, 0, NULL, count_done, NULL, NULL };

	(void)state;
	fixture_init(&f);
	o.ctx = &f;
	assert_int_equal(observe_run(f.obs, f.targets, 2, &o, &err), 0);
	assert_int_equal(f.done_nr, 2);

	assert_int_equal(f.obs[0].state, OBSERVE_UNREACHABLE);
	assert_true(starts_with(f.obs[0].error.message, "environment \"prod\": could not connect: "));
	assert_null(strstr(f.obs[0].error.message, SECRET));
	assert_false(f.obs[0].version_table_exists);
	assert_int_equal(f.obs[0].version_rows.nr, 0);
	assert_null(f.obs[0].ledger);
	assert_null(f.obs[0].ledger_error.message);
	assert_null(f.obs[0].schema);

	/* skipped: left as initialized */
	assert_int_equal(f.obs[1].state, OBSERVE_OK);
	assert_null(f.obs[1].error.message);
	fixture_release(&f);
	ms_error_release(&err);
}

static void test_schema_unreachable(void **state)
{
	struct fixture f;
	struct ms_error err = MS_ERROR_INIT;
	const struct observe_options o = { OBSERVE_SCHEMA, 1, NULL, NULL, NULL, NULL };

	(void)state;
	fixture_init(&f);
	assert_int_equal(observe_run(f.obs, f.targets, 2, &o, &err), 0);
	assert_null(f.obs[0].schema);
	assert_int_equal(f.obs[0].error.code, MS_ERR_IO);
	assert_true(starts_with(f.obs[0].error.message, "environment \"prod\": could not connect: "));
	assert_string_equal(f.obs[0].error.hint, "check that the server is up and reachable from here");
	assert_null(f.obs[1].error.message);
	fixture_release(&f);
	ms_error_release(&err);
}

/* The ledger and the approvals asked with the schema fail with it; also[] adds per target. */
static void test_schema_ledger_unreachable(void **state)
{
	struct fixture f;
	struct ms_error err = MS_ERROR_INIT;
	const unsigned also[2] = { OBSERVE_APPROVALS, OBSERVE_APPROVALS };
	const struct observe_options o = { OBSERVE_SCHEMA | OBSERVE_LEDGER, 1, NULL, NULL, NULL, also };

	(void)state;
	fixture_init(&f);
	assert_int_equal(observe_run(f.obs, f.targets, 2, &o, &err), 0);
	assert_null(f.obs[0].schema);
	assert_null(f.obs[0].ledger);
	assert_null(f.obs[0].approvals);
	assert_int_equal(f.obs[0].approvals_nr, 0);
	assert_true(starts_with(f.obs[0].error.message, "environment \"prod\": could not connect: "));
	assert_null(strstr(f.obs[0].error.message, SECRET));
	assert_null(f.obs[1].error.message);
	fixture_release(&f);
	ms_error_release(&err);
}

/* Nothing asked: no round trip (conn is not even looked at), out released. */
static void test_conn_nothing(void **state)
{
	struct fixture f;
	struct ms_error err = MS_ERROR_INIT;

	(void)state;
	fixture_init(&f);
	f.obs[0].identity = xstrdup("old");
	strvec_push(&f.obs[0].version_rows, "a1");
	assert_int_equal(observe_conn(&f.obs[0], NULL, &f.target, 0, &err), 0);
	assert_null(f.obs[0].identity);
	assert_int_equal(f.obs[0].version_rows.nr, 0);
	assert_null(err.message);
	fixture_release(&f);
}

/* A connection that failed: the first read asked fails, the version rows named after t. */
static void test_conn_failed(void **state)
{
	struct fixture f;
	struct ms_error err = MS_ERROR_INIT;
	PGconn *conn;

	(void)state;
	fixture_init(&f);
	conn = PQconnectdb(f.target.conninfo);
	assert_int_equal(PQstatus(conn), CONNECTION_BAD);

	assert_true(observe_conn(&f.obs[0], conn, &f.target, OBSERVE_ROWS | OBSERVE_IN_PROGRESS,
				 &err) < 0);
	assert_true(starts_with(err.message, "environment \"prod\": "));
	assert_null(strstr(err.message, SECRET));
	assert_int_equal(f.obs[0].version_rows.nr, 0);
	assert_false(f.obs[0].ledger_applied_exists);
	assert_null(f.obs[0].in_progress);
	ms_error_release(&err);

	assert_true(observe_conn(&f.obs[0], conn, &f.target, OBSERVE_IN_PROGRESS |
				 OBSERVE_APPROVALS, &err) < 0);
	assert_non_null(err.message);
	assert_null(f.obs[0].approvals);
	ms_error_release(&err);
	PQfinish(conn);
	fixture_release(&f);
}

static void test_release_is_reusable(void **state)
{
	struct observation o;

	(void)state;
	observation_init(&o);
	strvec_push(&o.version_rows, "a1");
	ms_error_set(&o.ledger_error, MS_ERR_DB, "x");
	ms_error_set(&o.error, MS_ERR_DB, "y");
	o.identity = xstrdup("id");
	o.in_progress = xcalloc(1, sizeof(*o.in_progress));
	o.in_progress_nr = 1;
	ledger_entry_init(&o.in_progress[0]);
	o.in_progress[0].revision = xstrdup("a1");
	o.approvals = xcalloc(1, sizeof(*o.approvals));
	o.approvals_nr = 1;
	approval_init(&o.approvals[0]);
	o.approvals[0].approver = xstrdup("ann");
	observation_release(&o);
	assert_null(o.identity);
	assert_null(o.in_progress);
	assert_null(o.approvals);
	assert_int_equal(o.version_rows.nr, 0);
	assert_null(o.ledger_error.message);
	assert_null(o.error.message);
	observation_release(&o);
	observation_release(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_state_unreachable),
		cmocka_unit_test(test_schema_unreachable),
		cmocka_unit_test(test_schema_ledger_unreachable),
		cmocka_unit_test(test_conn_nothing),
		cmocka_unit_test(test_conn_failed),
		cmocka_unit_test(test_release_is_reusable),
	};
	int ret = cmocka_run_group_tests(tests, NULL, NULL);

	conn_global_cleanup();
	return ret;
}
