/*
 * exec_test: the native SQL executor against a real PostgreSQL (run by
 * exec_pg.sh, which exports PGHOST/PGPORT/PGUSER of a throwaway server).
 * Each test writes its revision files into a temporary directory, builds
 * the graph, computes paths with revgraph_upgrade_path/downgrade_path as
 * apply does, and runs each step on a fresh database.
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "migsync/executor.h"
#include "migsync/inventory.h"
#include "migsync/target.h"
#include "migsync/ledger.h"
#include "migsync/project.h"
#include "migsync/revgraph.h"
#include "migsync/scripts.h"
#include "migsync/strbuf.h"
#include "migsync/util.h"

struct fixture {
	char dir[64];
	char dbname[32];
	PGconn *conn;
	struct script_set scripts;
	struct revgraph *g;
	struct environment env;
	struct db_target target;
	struct exec_context c;
};

static volatile sig_atomic_t cancel_flag;
static int db_counter;

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static PGconn *connect_db(const char *dbname, const char *appname)
{
	char *ci = xstrfmt("dbname=%s application_name=%s options='-c client_connection_check_interval=100'",
			   dbname, appname);
	PGconn *conn = PQconnectdb(ci);

	free(ci);
	if (PQstatus(conn) != CONNECTION_OK) {
		print_error("connect %s: %s", dbname, PQerrorMessage(conn));
		fail();
	}
	return conn;
}

static void psql(PGconn *conn, const char *q)
{
	PGresult *res = PQexec(conn, q);

	if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK) {
		print_error("%s: %s", q, PQerrorMessage(conn));
		fail();
	}
	PQclear(res);
}

/* The first column of the first row of q, as a string (caller frees). */
static char *query_value(PGconn *conn, const char *q)
{
	PGresult *res = PQexec(conn, q);
	char *v;

	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		print_error("%s: %s", q, PQerrorMessage(conn));
		fail();
	}
	v = xstrdup(PQntuples(res) ? PQgetvalue(res, 0, 0) : "");
	PQclear(res);
	return v;
}

static void expect_query(PGconn *conn, const char *q, const char *want)
{
	char *got = query_value(conn, q);

	if (strcmp(got, want)) {
		print_error("%s: got [%s], want [%s]\n", q, got, want);
		free(got);
		fail();
	}
	free(got);
}

static void write_file(const char *dir, const char *name, const char *text)
{
	char *path = xstrfmt("%s/%s", dir, name);
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	free(path);
}

/* A revision REV with down revisions DOWN ("" for a base) creating table t_REV. */
static void simple_rev(struct fixture *f, const char *rev, const char *down)
{
	char *name = xstrfmt("%s_r.sql", rev);
	char *text = xstrfmt("-- migsync:revision %s\n"
			     "-- migsync:down_revision %s\n"
			     "-- migsync:message %s\n\n"
			     "-- migsync:up\nCREATE TABLE t_%s (id int);\n\n"
			     "-- migsync:down\nDROP TABLE t_%s;\n",
			     rev, *down ? down : "none", rev, rev, rev);

	write_file(f->dir, name, text);
	free(name);
	free(text);
}

static int setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	PGconn *admin = connect_db("postgres", "exec_test");
	char *q;

	strcpy(f->dir, "/tmp/migsync-exec-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->dbname, sizeof(f->dbname), "exec_%d_%d", (int)getpid(), ++db_counter);
	q = xstrfmt("CREATE DATABASE %s", f->dbname);
	psql(admin, q);
	free(q);
	PQfinish(admin);
	f->conn = connect_db(f->dbname, "exec_test");
	script_set_init(&f->scripts);
	f->env.name = "test";
	db_target_init(&f->target);
	f->target.env = &f->env;
	f->c.conn = f->conn;
	f->c.target = &f->target;
	f->c.plan_hash = "planhash";
	f->c.who = "tester";
	f->c.host = "testhost";
	f->c.cancel = &cancel_flag;
	cancel_flag = 0;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char *cmd = xstrfmt("rm -rf '%s'", f->dir);

	if (system(cmd))
		print_error("could not remove %s\n", f->dir);
	free(cmd);
	PQfinish(f->conn);
	revgraph_free(f->g);
	script_set_release(&f->scripts);
	free(f);
	return 0;
}

static void load(struct fixture *f)
{
	struct ms_error err = MS_ERROR_INIT;

	revgraph_free(f->g);
	f->g = NULL;
	script_set_release(&f->scripts);
	script_set_init(&f->scripts);
	if (scripts_read_dir(&f->scripts, f->dir, SCRIPTS_KEEP_SQL | SCRIPTS_SHA256, NULL, &err) ||
	    revgraph_build(&f->g, &f->scripts, NULL, &err)) {
		print_error("load: %s\n", err.message);
		fail();
	}
	ms_error_release(&err);
}

static void rows(struct fixture *f, struct strvec *out)
{
	struct ms_error err = MS_ERROR_INIT;
	bool exists;

	assert_int_equal(db_version_rows(out, &exists, NULL, f->conn, NULL, NULL, &err), 0);
	ms_error_release(&err);
}

/* The version rows joined by spaces. */
static char *rows_str(struct fixture *f)
{
	struct strvec v = STRVEC_INIT;
	struct strbuf sb = STRBUF_INIT;

	rows(f, &v);
	for (size_t i = 0; i < v.nr; i++)
		strbuf_addf(&sb, "%s%s", i ? " " : "", v.items[i]);
	strvec_release(&v);
	return strbuf_detach(&sb, NULL);
}

static void expect_rows(struct fixture *f, const char *want)
{
	char *got = rows_str(f);

	if (strcmp(got, want)) {
		print_error("version rows: got [%s], want [%s]\n", got, want);
		free(got);
		fail();
	}
	free(got);
}

/* Move the database to target as `migsync apply` would; returns the first failure. */
static int move_to(struct fixture *f, const char *target, bool up, struct ms_error *err)
{
	struct revgraph_path path = REVGRAPH_PATH_INIT;
	struct strvec cur = STRVEC_INIT;
	int ret;

	rows(f, &cur);
	ret = up ? revgraph_upgrade_path(&path, f->g, &cur, target, err) :
		   revgraph_downgrade_path(&path, f->g, &cur, target, err);
	for (size_t i = 0; !ret && i < path.nr; i++)
		ret = exec_sql_step(&f->c, &path.steps[i], f->g->nodes[path.steps[i].node].script, err);
	revgraph_path_release(&path);
	strvec_release(&cur);
	return ret;
}

static void must_move(struct fixture *f, const char *target, bool up)
{
	struct ms_error err = MS_ERROR_INIT;

	if (move_to(f, target, up, &err)) {
		print_error("%s %s: %s (%s)\n", up ? "upgrade" : "downgrade", target,
			    err.message, err.hint ? err.hint : "");
		fail();
	}
	ms_error_release(&err);
}

static void test_chain(void **state)
{
	struct fixture *f = *state;

	simple_rev(f, "a10000000001", "");
	simple_rev(f, "a20000000002", "a10000000001");
	simple_rev(f, "a30000000003", "a20000000002");
	load(f);
	must_move(f, "heads", true);
	expect_rows(f, "a30000000003");
	expect_query(f->conn, "SELECT count(*) FROM pg_tables WHERE tablename LIKE 't_a%'", "3");
	expect_query(f->conn, "SELECT string_agg(revision || ' ' || direction || ' ' || outcome || ' ' "
		     "|| rows_after || ' ' || plan_hash || ' ' || environment || ' ' || length(sha256), ',' ORDER BY id)"
		     " FROM migsync.applied",
		     "a10000000001 up applied a10000000001 planhash test 64,"
		     "a20000000002 up applied a20000000002 planhash test 64,"
		     "a30000000003 up applied a30000000003 planhash test 64");
	/* Alembic's own DDL */
	expect_query(f->conn, "SELECT conname FROM pg_constraint WHERE conrelid = 'alembic_version'::regclass",
		     "alembic_version_pkc");
	must_move(f, "a10000000001", false);
	expect_rows(f, "a10000000001");
	must_move(f, "base", false);
	expect_rows(f, "");
	expect_query(f->conn, "SELECT count(*) FROM pg_tables WHERE tablename LIKE 't_a%'", "0");
	expect_query(f->conn, "SELECT count(*) FROM migsync.applied WHERE direction = 'down'", "3");
}

/*
 * A branch, a branch insert, a merge and an unmerge; the rows after each
 * move are those Alembic 1.8 leaves (checked by hand against
 * `alembic upgrade/downgrade` on the same graph).
 */
static void test_branch_merge(void **state)
{
	struct fixture *f = *state;

	simple_rev(f, "b10000000001", "");
	simple_rev(f, "b2a000000002", "b10000000001");
	simple_rev(f, "b2b000000002", "b10000000001");
	simple_rev(f, "b30000000003", "b2a000000002 b2b000000002");
	simple_rev(f, "c10000000001", "");
	load(f);
	must_move(f, "b2a000000002", true);
	expect_rows(f, "b2a000000002");
	/* b10000000001 is not a row: b2b is inserted as a new branch */
	must_move(f, "b2b000000002", true);
	expect_rows(f, "b2a000000002 b2b000000002");
	/* merge: one row deleted, the other updated */
	must_move(f, "b30000000003", true);
	expect_rows(f, "b30000000003");
	/* an independent base: inserted */
	must_move(f, "c10000000001", true);
	expect_rows(f, "b30000000003 c10000000001");
	/* unmerge back to both parents: b2b is no descendant of b2a, it stays */
	must_move(f, "b2a000000002", false);
	expect_rows(f, "b2a000000002 b2b000000002 c10000000001");
	/* a branch base downgraded: its row deleted */
	must_move(f, "c10000000001@base", false);
	expect_rows(f, "b2a000000002 b2b000000002");
	must_move(f, "b10000000001", false);
	expect_rows(f, "b10000000001");
	expect_query(f->conn, "SELECT count(*) FROM migsync.applied WHERE outcome <> 'applied'", "0");
}

static void test_failure_rolls_back(void **state)
{
	struct fixture *f = *state;
	struct ms_error err = MS_ERROR_INIT;
	char *want;

	simple_rev(f, "d10000000001", "");
	write_file(f->dir, "d20000000002_bad.sql",
		   "-- migsync:revision d20000000002\n"		/* 1 */
		   "-- migsync:down_revision d10000000001\n"	/* 2 */
		   "\n"						/* 3 */
		   "-- migsync:up\n"				/* 4 */
		   "CREATE TABLE half (id int);\n"		/* 5 */
		   "INSERT INTO half VALUES (1);\n"		/* 6 */
		   "\n"						/* 7 */
		   "SELECT *\n"					/* 8 */
		   "  FROM no_such_table;\n"			/* 9 */
		   "CREATE TABLE never (id int);\n");		/* 10 */
	load(f);
	assert_int_equal(move_to(f, "heads", true, &err), MS_ERR_DB);
	want = xstrfmt("revision \"d20000000002\" (%s/d20000000002_bad.sql, line 9): "
		       "relation \"no_such_table\" does not exist", f->dir);
	assert_string_equal(err.message, want);
	free(want);
	expect_rows(f, "d10000000001");
	expect_query(f->conn, "SELECT count(*) FROM pg_tables WHERE tablename IN ('half', 'never')", "0");
	expect_query(f->conn, "SELECT string_agg(revision || ' ' || outcome || ' ' || rows_after, ',' ORDER BY id)"
		     " FROM migsync.applied",
		     "d10000000001 applied d10000000001,d20000000002 failed d10000000001");
	expect_query(f->conn, "SELECT position('line 9' IN error) > 0 FROM migsync.applied"
		     " WHERE outcome = 'failed'", "t");
	ms_error_release(&err);

	/* the connection is usable again: a fixed revision applies */
	write_file(f->dir, "d20000000002_bad.sql",
		   "-- migsync:revision d20000000002\n"
		   "-- migsync:down_revision d10000000001\n"
		   "-- migsync:up\nCREATE TABLE half (id int);\n");
	load(f);
	must_move(f, "heads", true);
	expect_rows(f, "d20000000002");
}

/*
 * The first statement travels in one query with BEGIN: an error there must
 * still name the revision file and the line of the error position, counted
 * in characters (the server's unit), not bytes.
 */
static void test_first_statement_fails(void **state)
{
	struct fixture *f = *state;
	struct ms_error err = MS_ERROR_INIT;
	char *want;

	simple_rev(f, "e10000000001", "");
	write_file(f->dir, "e20000000002_bad.sql",
		   "-- migsync:revision e20000000002\n"		/* 1 */
		   "-- migsync:down_revision e10000000001\n"	/* 2 */
		   "-- migsync:up\n"				/* 3 */
		   "\n"						/* 4 */
		   "SELECT 'éééééééééé' AS x FROM nx\n"	/* 5: multibyte before the error */
		   "  WHERE true;\n"				/* 6 */
		   "CREATE TABLE never (id int);\n");		/* 7 */
	load(f);
	assert_int_equal(move_to(f, "heads", true, &err), MS_ERR_DB);
	want = xstrfmt("revision \"e20000000002\" (%s/e20000000002_bad.sql, line 5): "
		       "relation \"nx\" does not exist", f->dir);
	assert_string_equal(err.message, want);
	free(want);
	expect_rows(f, "e10000000001");
	expect_query(f->conn, "SELECT count(*) FROM pg_tables WHERE tablename = 'never'", "0");
	expect_query(f->conn, "SELECT outcome FROM migsync.applied WHERE revision = 'e20000000002'",
		     "failed");
	ms_error_release(&err);
}

static void test_not_transactional(void **state)
{
	struct fixture *f = *state;
	struct ms_error err = MS_ERROR_INIT;
	struct ledger_entry *list = NULL;
	size_t nr = 0;
	bool seen = false;
	pid_t pid;
	int status;

	simple_rev(f, "e10000000001", "");
	write_file(f->dir, "e20000000002_idx.sql",
		   "-- migsync:revision e20000000002\n"
		   "-- migsync:down_revision e10000000001\n"
		   "-- migsync:transaction false\n"
		   "-- migsync:up\n"
		   "SELECT pg_sleep(1.5);\n"
		   "CREATE INDEX CONCURRENTLY ix_e1 ON t_e10000000001 (id);\n"
		   "-- migsync:down\n"
		   "DROP INDEX CONCURRENTLY ix_e1;\n");
	load(f);
	must_move(f, "e10000000001", true);

	pid = fork();
	assert_true(pid >= 0);
	if (!pid) {
		PGconn *own = connect_db(f->dbname, "exec_test_child");

		f->c.conn = own;
		f->conn = own;
		_exit(move_to(f, "heads", true, &err) ? 1 : 0);
	}
	/* while it sleeps, the ledger says "in progress" */
	for (int i = 0; i < 100 && !seen; i++) {
		assert_int_equal(ledger_in_progress(&list, &nr, f->conn, NULL, &err), 0);
		seen = nr == 1 && !strcmp(list[0].revision, "e20000000002") && !list[0].transactional;
		ledger_entries_free(list, nr);
		list = NULL;
		if (!seen)
			sleep_ms(20);
	}
	assert_true(seen);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	expect_rows(f, "e20000000002");
	expect_query(f->conn, "SELECT count(*) FROM pg_indexes WHERE indexname = 'ix_e1'", "1");
	expect_query(f->conn, "SELECT outcome || ' ' || transactional || ' ' || rows_after FROM migsync.applied"
		     " WHERE revision = 'e20000000002'", "applied false e20000000002");
	must_move(f, "e10000000001", false);
	expect_query(f->conn, "SELECT count(*) FROM pg_indexes WHERE indexname = 'ix_e1'", "0");
	expect_rows(f, "e10000000001");
	ms_error_release(&err);
}

/* A process killed during a revision leaves no trace of it but the rows it started from. */
static void test_killed(void **state)
{
	struct fixture *f = *state;
	struct ms_error err = MS_ERROR_INIT;
	bool running = false, gone = false;
	pid_t pid;
	int status;

	simple_rev(f, "f10000000001", "");
	write_file(f->dir, "f20000000002_slow.sql",
		   "-- migsync:revision f20000000002\n"
		   "-- migsync:down_revision f10000000001\n"
		   "-- migsync:up\n"
		   "CREATE TABLE partial (id int);\n"
		   "SELECT pg_sleep(30);\n");
	load(f);
	must_move(f, "f10000000001", true);
	pid = fork();
	assert_true(pid >= 0);
	if (!pid) {
		PGconn *own = connect_db(f->dbname, "exec_test_kill");

		f->c.conn = own;
		f->conn = own;
		_exit(move_to(f, "heads", true, &err) ? 1 : 0);
	}
	for (int i = 0; i < 200 && !running; i++) {
		char *n = query_value(f->conn, "SELECT count(*) FROM pg_stat_activity"
				      " WHERE application_name = 'exec_test_kill' AND query LIKE '%pg_sleep%'");

		running = !strcmp(n, "1");
		free(n);
		if (!running)
			sleep_ms(20);
	}
	assert_true(running);
	kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	/* the server notices the lost client (client_connection_check_interval) */
	for (int i = 0; i < 250 && !gone; i++) {
		char *n = query_value(f->conn, "SELECT count(*) FROM pg_stat_activity"
				      " WHERE application_name = 'exec_test_kill'");

		gone = !strcmp(n, "0");
		free(n);
		if (!gone)
			sleep_ms(20);
	}
	assert_true(gone);
	expect_rows(f, "f10000000001");
	expect_query(f->conn, "SELECT count(*) FROM pg_tables WHERE tablename = 'partial'", "0");
	expect_query(f->conn, "SELECT count(*) FROM migsync.applied WHERE revision = 'f20000000002'", "0");
	ms_error_release(&err);
}

static void on_alarm(int sig)
{
	(void)sig;
	cancel_flag = 1;
}

/* *cancel stops a running statement quickly and the revision rolls back. */
static void test_cancel(void **state)
{
	struct fixture *f = *state;
	struct ms_error err = MS_ERROR_INIT;
	struct sigaction sa;
	struct timespec t0, t1;
	long ms;

	write_file(f->dir, "g10000000001_slow.sql",
		   "-- migsync:revision g10000000001\n"
		   "-- migsync:up\n"
		   "CREATE TABLE partial (id int);\n"
		   "SELECT pg_sleep(30);\n");
	load(f);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sigaction(SIGALRM, &sa, NULL);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	alarm(1);
	assert_int_equal(move_to(f, "heads", true, &err), MS_ERR_DB);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	assert_true(ms < 1500);
	assert_non_null(strstr(err.message, "line 4): cancelled"));
	expect_rows(f, "");
	expect_query(f->conn, "SELECT count(*) FROM pg_tables WHERE tablename = 'partial'", "0");
	expect_query(f->conn, "SELECT outcome FROM migsync.applied", "failed");
	ms_error_release(&err);
}

static void test_stamp(void **state)
{
	struct fixture *f = *state;
	struct ms_error err = MS_ERROR_INIT;
	struct strvec from = STRVEC_INIT, to = STRVEC_INIT, wrong = STRVEC_INIT;

	strvec_push(&to, "s10000000001");
	strvec_push(&to, "s20000000002");
	assert_int_equal(exec_stamp(&f->c, &from, &to, &err), 0);
	expect_rows(f, "s10000000001 s20000000002");
	/* compare-and-swap: the rows are not what the caller saw */
	strvec_push(&wrong, "s10000000001");
	assert_int_equal(exec_stamp(&f->c, &wrong, &from, &err), MS_ERR_DB);
	assert_string_equal(err.message, "version table: holds (s10000000001 s20000000002), "
			    "expected (s10000000001): not stamped");
	expect_rows(f, "s10000000001 s20000000002");
	/* to a single row */
	strvec_release(&from);
	strvec_push(&from, "s30000000003");
	assert_int_equal(exec_stamp(&f->c, &to, &from, &err), 0);
	expect_rows(f, "s30000000003");
	expect_query(f->conn, "SELECT string_agg(revision || ' ' || outcome || ' ' || rows_after, ',' ORDER BY id)"
		     " FROM migsync.applied",
		     "s10000000001 s20000000002 stamped s10000000001 s20000000002,"
		     "s30000000003 stamped s30000000003");
	strvec_release(&from);
	strvec_release(&to);
	strvec_release(&wrong);
	ms_error_release(&err);
}

static void test_version_table_options(void **state)
{
	struct fixture *f = *state;
	struct ms_error err = MS_ERROR_INIT;
	struct strvec v = STRVEC_INIT;
	bool exists = true;

	psql(f->conn, "CREATE SCHEMA \"Odd Schema\"");
	assert_int_equal(db_version_rows(&v, &exists, NULL, f->conn, "my\"ver", "Odd Schema", &err), 0);
	assert_false(exists);
	assert_int_equal(version_table_ensure(f->conn, "my\"ver", "Odd Schema", &err), 0);
	assert_int_equal(version_table_ensure(f->conn, "my\"ver", "Odd Schema", &err), 0);
	assert_int_equal(db_version_rows(&v, &exists, NULL, f->conn, "my\"ver", "Odd Schema", &err), 0);
	assert_true(exists);
	assert_int_equal(v.nr, 0);
	expect_query(f->conn, "SELECT conname FROM pg_constraint WHERE conrelid = '\"Odd Schema\".\"my\"\"ver\"'::regclass",
		     "my\"ver_pkc");
	strvec_release(&v);
	ms_error_release(&err);
}

static void print_line(const char *line, void *ctx)
{
	(void)ctx;
	printf("| %s\n", line);
	fflush(stdout);
}

static void on_term(int sig)
{
	(void)sig;
	cancel_flag = 1;
}

static int print_job_line(const char *line, void *ctx, struct ms_error *err)
{
	(void)ctx;
	(void)err;
	print_line(line, NULL);
	return 0;
}

/*
 * exec_test --alembic INVENTORY ENV upgrade|downgrade REV...: run the
 * Alembic executor's process for ENV's own database as apply would
 * (project_open, db_connect, then exec_alembic_run with the REVs as
 * given, one call each). Alembic's lines are printed prefixed with "| ";
 * SIGTERM/SIGINT cancel. Exit 0, or 1 with the error on stderr.
 */
static int alembic_main(int argc, char **argv)
{
	struct project project = PROJECT_INIT;
	struct project_options po = { .need = PROJECT_INVENTORY | PROJECT_GRAPH,
				      .script_flags = SCRIPTS_SHA256 };
	struct db_target t;
	struct ms_error err = MS_ERROR_INIT;
	struct exec_context c;
	struct exec_alembic_job job;
	struct strvec revs = STRVEC_INIT;
	struct tunnel *tun = NULL;
	const struct environment *env;
	struct sigaction sa;
	int ret = 1;

	db_target_init(&t);
	exec_alembic_job_init(&job);
	memset(&c, 0, sizeof(c));
	if (argc < 6) {
		fprintf(stderr, "usage: exec_test --alembic INVENTORY ENV COMMAND REV...\n");
		return 2;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	po.inventory = argv[2];
	if (project_open(&project, &po, &err) < 0)
		goto done;
	env = inventory_find(project.inv, argv[3]);
	if (!env) {
		ms_error_set(&err, MS_ERR_CONFIG, "environment \"%s\": not found", argv[3]);
		goto done;
	}
	if (db_target_for(&t, env, NULL, &err) < 0)
		goto done;
	/* with ssh.run the command runs on the ssh host: no local connection needed */
	if (!(env->ssh.enabled && env->ssh.run) && db_connect(&c.conn, &tun, &t, &err) < 0)
		goto done;
	c.target = &t;
	c.inv = project.inv;
	c.cancel = &cancel_flag;
	for (int i = 5; i < argc; i++)
		strvec_push(&revs, argv[i]);
	job.command = argv[4];
	job.revs = &revs;
	job.g = project.graph;
	job.line = print_job_line;
	if (exec_alembic_run(&c, &job, &err) < 0)
		goto done;
	ret = 0;
done:
	if (ret) {
		fprintf(stderr, "error: %s\n", err.message ? err.message : "?");
		if (err.hint)
			fprintf(stderr, "hint: %s\n", err.hint);
	}
	if (c.conn || tun)
		db_disconnect(c.conn, tun);
	db_target_release(&t);
	exec_alembic_job_release(&job);
	strvec_release(&revs);
	project_release(&project);
	ms_error_release(&err);
	return ret;
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_chain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_branch_merge, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failure_rolls_back, setup, teardown),
		cmocka_unit_test_setup_teardown(test_first_statement_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_transactional, setup, teardown),
		cmocka_unit_test_setup_teardown(test_killed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stamp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_version_table_options, setup, teardown),
	};

	if (argc > 1 && !strcmp(argv[1], "--alembic"))
		return alembic_main(argc, argv);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
