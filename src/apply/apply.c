/*
 * Promotion stage by stage: read, lock, re-read, hash, gate, apply,
 * verify, record, release (see include/migsync/apply.h).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "migsync/apply.h"
#include "migsync/executor.h"
#include "migsync/ledger.h"
#include "migsync/pool.h"
#include "migsync/strbuf.h"
#include "migsync/target.h"

static int64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool cancelled(const struct apply_options *o)
{
	return o->cancel && *o->cancel;
}

static int stop_waiting(void *ctx)
{
	const struct apply_options *o = ctx;

	return cancelled(o);
}

static void emit(const struct apply_options *o, struct apply_event *ev)
{
	if (o->event)
		o->event(ev, o->ctx);
}

/* APPLY_EVENT_SKIP for database index of nr (detail: see apply.h). */
static void emit_skip(const struct apply_options *o, const struct environment *env,
		      const struct plan_db *db, size_t index, size_t nr, const char *detail)
{
	struct apply_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.kind = APPLY_EVENT_SKIP;
	ev.environment = env->name;
	ev.database = db->describe;
	ev.db_index = index;
	ev.db_nr = nr;
	ev.detail = detail;
	emit(o, &ev);
}

/* Retrying a connection until a deadline (apply_options.connect_wait_ms). */
struct connect_wait {
	int64_t started;	/* CLOCK_MONOTONIC ms */
	int64_t deadline;	/* 0: one try */
	int64_t delay;		/* the next pause, ms */
};

static void connect_wait_init(struct connect_wait *w, const struct apply_options *o)
{
	w->started = mono_ms();
	w->deadline = o->connect_wait_ms > 0 ? w->started + o->connect_wait_ms : 0;
	w->delay = 250;
}

/*
 * After a failed connection: whether to try again. Only a server that did
 * not answer (MS_ERR_IO) or answered that it is starting up, shutting
 * down or recovering ("the database system is ...", SQLSTATE 57P03,
 * which libpq does not hand over for a connection) is worth waiting for;
 * the pause doubles up to 5 s and never passes the deadline. A signal
 * (o->cancel) ends the pause at once: the handlers have no SA_RESTART.
 */
static bool connect_retry(struct connect_wait *w, const struct environment *env,
			  const char *database, const struct apply_options *o,
			  const struct ms_error *err)
{
	const char *msg = err->message ? err->message : "";
	struct apply_event ev;
	struct timespec ts;
	int64_t now = mono_ms(), pause;

	if (!w->deadline || cancelled(o) || now >= w->deadline)
		return false;
	if (err->code != MS_ERR_IO &&
	    !(err->code == MS_ERR_DB && strstr(msg, "the database system is")))
		return false;
	memset(&ev, 0, sizeof(ev));
	ev.kind = APPLY_EVENT_WAIT;
	ev.environment = env->name;
	ev.database = database;
	ev.detail = msg;
	ev.elapsed_ms = now - w->started;
	emit(o, &ev);
	pause = w->delay < w->deadline - now ? w->delay : w->deadline - now;
	ts.tv_sec = pause / 1000;
	ts.tv_nsec = (long)(pause % 1000) * 1000000;
	nanosleep(&ts, NULL);
	if (w->delay < 5000)
		w->delay = w->delay * 2 < 5000 ? w->delay * 2 : 5000;
	return !cancelled(o);
}

/* db_connect, retried as connect_retry allows. */
static int connect_waiting(PGconn **conn, struct tunnel **tunnel, const struct db_target *t,
			   struct connect_wait *w, const struct apply_options *o,
			   struct ms_error *err)
{
	int ret;

	while ((ret = db_connect(conn, tunnel, t, err)) < 0 &&
	       connect_retry(w, t->env, t->describe, o, err))
		;
	/* in the message: a stage keeps only that of a database it could not read */
	if (ret < 0 && w->deadline && mono_ms() >= w->deadline && !cancelled(o)) {
		char *msg = xstrdup(err->message ? err->message : "could not connect");
		char *hint = err->hint ? xstrdup(err->hint) : NULL;

		ms_error_set(err, err->code, "%s (gave up after %lld s)", msg,
			     (long long)((mono_ms() - w->started + 500) / 1000));
		if (hint)
			ms_error_hint(err, "%s", hint);
		free(msg);
		free(hint);
	}
	return ret;
}

/* db_targets_expand, retried as connect_retry allows (a discovery query connects). */
static int expand_waiting(struct db_target **targets, size_t *nr, const struct environment *env,
			  struct connect_wait *w, const struct apply_options *o,
			  struct ms_error *err)
{
	int ret;

	while ((ret = db_targets_expand(targets, nr, env, err)) < 0 &&
	       env->targets.discover && connect_retry(w, env, env->name, o, err))
		;
	return ret;
}

static bool rows_equal(const struct strvec *a, const struct strvec *b)
{
	if (a->nr != b->nr)
		return false;
	for (size_t i = 0; i < a->nr; i++)
		if (strcmp(a->items[i], b->items[i]))
			return false;
	return true;
}

static char *rows_text(const struct strvec *rows)
{
	struct strbuf sb = STRBUF_INIT;

	for (size_t i = 0; i < rows->nr; i++)
		strbuf_addf(&sb, "%s%s", i ? " " : "", rows->items[i]);
	if (!rows->nr)
		strbuf_addstr(&sb, "(none)");
	return strbuf_detach(&sb, NULL);
}

static void stage_reset(struct plan_stage *st, const struct environment *env)
{
	plan_stage_release(st);
	st->env = env;
}

/*
 * Read one database through conn: identity, version rows, in-progress
 * ledger rows, and (with_approvals) the environment's approvals.
 */
static int read_db(struct plan_db *db, struct plan_stage *st, PGconn *conn,
		   const struct db_target *t, bool with_approvals, struct ms_error *err)
{
	const struct environment *env = t->env;
	struct ledger_entry *busy = NULL;
	size_t busy_nr = 0;
	bool ledger = false;
	int ret;

	strvec_release(&db->rows);
	strvec_release(&db->in_progress);
	free(db->identity);
	db->identity = NULL;
	ret = db_identity(&db->identity, conn, t, err);
	if (ret < 0)
		goto done;
	ret = db_version_rows(&db->rows, &db->has_version_table, NULL, conn,
				env->database.version_table, env->database.version_table_schema, err);
	if (ret < 0) {
		db_target_error(err, ret, t, "%s", err->message);
		goto done;
	}
	ret = ledger_exists(conn, NULL, &ledger, err);
	if (ret < 0 || !ledger)
		goto done;
	ret = ledger_in_progress(&busy, &busy_nr, conn, NULL, err);
	if (ret < 0)
		goto done;
	for (size_t i = 0; i < busy_nr; i++)
		if (!strvec_contains(&db->in_progress, busy[i].revision))
			strvec_push(&db->in_progress, busy[i].revision);
	if (with_approvals) {
		approvals_free(st->approvals, st->approvals_nr);
		st->approvals = NULL;
		st->approvals_nr = 0;
		ret = ledger_approvals(&st->approvals, &st->approvals_nr, conn, NULL,
				       env->name, err);
	}
done:
	ledger_entries_free(busy, busy_nr);
	return ret;
}

/* Prefix err with t's environment (and database) unless it names them already. */
static int name_target(struct ms_error *err, const struct db_target *t)
{
	if (!starts_with(err->message ? err->message : "", "environment \""))
		db_target_error(err, err->code, t, "%s", err->message ? err->message : "");
	return err->code;
}

/* A new database of st for target t. */
static struct plan_db *stage_add_target(struct plan_stage *st, const struct db_target *t)
{
	struct plan_db *db = plan_stage_add_db(st);

	db->dbname = xstrdup(t->dbname ? t->dbname : "");
	db->describe = xstrdup(t->describe ? t->describe : t->env->name);
	return db;
}

static void db_set_error(struct plan_db *db, const struct ms_error *err)
{
	free(db->error);
	db->error = xstrdup(err->message ? err->message : "unknown error");
}

/* What the workers of apply_read_stage share. */
struct read_ctx {
	struct plan_stage *st;
	const struct db_target *targets;
	const struct apply_options *o;
	pthread_mutex_t event_lock;	/* o->event runs in one thread at a time */
};

/* o->event, called from a worker thread: serialized (the callback is not thread-safe). */
static void read_event(const struct apply_event *ev, void *ctx)
{
	struct read_ctx *rc = ctx;

	pthread_mutex_lock(&rc->event_lock);
	rc->o->event(ev, rc->o->ctx);
	pthread_mutex_unlock(&rc->event_lock);
}

/*
 * One database of apply_read_stage, in a worker thread: its own
 * connection, its own entry of st->dbs (allocated before the workers
 * start); only the first one writes st->approvals.
 */
static void read_work(size_t index, void *ctx)
{
	struct read_ctx *rc = ctx;
	const struct db_target *t = &rc->targets[index];
	struct plan_db *db = &rc->st->dbs[index];
	struct apply_options o = *rc->o;
	struct ms_error e = MS_ERROR_INIT;
	struct connect_wait w;
	PGconn *conn = NULL;
	struct tunnel *tunnel = NULL;

	if (o.event) {
		o.event = read_event;
		o.ctx = rc;
	}
	connect_wait_init(&w, &o);
	if (connect_waiting(&conn, &tunnel, t, &w, &o, &e) < 0 ||
	    read_db(db, rc->st, conn, t, index == 0, &e) < 0 ||
	    plan_db_compute(db, o.g, o.target, o.up, &e) < 0) {
		name_target(&e, t);
		db_set_error(db, &e);
	}
	db_disconnect(conn, tunnel);
	ms_error_release(&e);
}

int apply_read_stage(struct plan_stage *st, const struct environment *env,
		     const struct apply_options *o, struct ms_error *err)
{
	struct db_target *targets = NULL;
	struct connect_wait w;
	struct read_ctx rc;
	size_t nr = 0;
	int ret;

	stage_reset(st, env);
	connect_wait_init(&w, o);
	ret = expand_waiting(&targets, &nr, env, &w, o, err);
	if (ret < 0) {
		st->error = xstrdup(err->message ? err->message : "could not expand the environment");
		goto done;
	}
	/* every entry first: the workers fill them in place, in target order */
	for (size_t i = 0; i < nr; i++)
		stage_add_target(st, &targets[i]);
	memset(&rc, 0, sizeof(rc));
	rc.st = st;
	rc.targets = targets;
	rc.o = o;
	pthread_mutex_init(&rc.event_lock, NULL);
	ret = pool_run(nr, o->jobs, read_work, NULL, &rc, err);
	pthread_mutex_destroy(&rc.event_lock);
	if (ret < 0) {
		st->error = xstrdup(err->message ? err->message : "could not read the databases");
		goto done;
	}
	plan_hash_stage(st, o->target_ids);
done:
	db_targets_free(targets, nr);
	return ret;
}

/*
 * Since when the previous stage holds every revision st's steps bring:
 * the latest ledger time over its databases and those revisions.
 */
static int held_since(bool *known, int64_t *since, const struct plan_stage *st,
		      const struct environment *prev_env, struct ms_error *err)
{
	struct db_target *targets = NULL;
	struct strvec revs = STRVEC_INIT;
	size_t nr = 0;
	int ret;

	*known = true;
	*since = 0;
	for (size_t i = 0; i < st->dbs_nr; i++)
		for (size_t k = 0; k < st->dbs[i].steps_nr; k++)
			if (!strvec_contains(&revs, st->dbs[i].steps[k].revision))
				strvec_push(&revs, st->dbs[i].steps[k].revision);
	ret = db_targets_expand(&targets, &nr, prev_env, err);
	if (ret < 0)
		goto done;
	for (size_t i = 0; i < nr && *known; i++) {
		PGconn *conn = NULL;
		struct tunnel *tunnel = NULL;

		ret = db_connect(&conn, &tunnel, &targets[i], err);
		for (size_t k = 0; ret == 0 && k < revs.nr && *known; k++) {
			int64_t at = 0;
			bool found = false;

			ret = ledger_applied_at(&at, &found, conn, NULL, revs.items[k], err);
			if (ret == 0 && !found)
				*known = false;
			if (ret == 0 && found && at > *since)
				*since = at;
		}
		db_disconnect(conn, tunnel);
		if (ret < 0)
			goto done;
	}
done:
	db_targets_free(targets, nr);
	strvec_release(&revs);
	return ret;
}

int apply_check_stage(struct plan_stage *st, const struct plan_stage *prev,
		      bool prev_planned, const struct apply_options *o,
		      struct ms_error *err)
{
	struct gate_input in;
	struct strvec *prev_rows = NULL, *end_rows = NULL;
	int ret = 0;

	strvec_release(&st->order_missing);
	free(st->order_error);
	st->order_error = NULL;
	free(st->previous);
	st->previous = prev ? xstrdup(prev->env->name) : NULL;
	st->out_of_order_allowed = false;

	if (prev && o->up && plan_stage_steps(st)) {
		const char *bad = prev->error;

		for (size_t i = 0; !bad && i < prev->dbs_nr; i++)
			bad = prev->dbs[i].error;
		if (bad) {
			st->order_error = xstrfmt("environment \"%s\": cannot verify the rollout order: "
						  "the previous stage could not be read: %s",
						  st->env->name, bad);
		} else if (!prev->dbs_nr) {
			st->order_error = xstrfmt("environment \"%s\": cannot verify the rollout order: "
						  "environment \"%s\" has no databases",
						  st->env->name, prev->env->name);
		} else {
			prev_rows = xcalloc(prev->dbs_nr, sizeof(*prev_rows));
			end_rows = xcalloc(st->dbs_nr ? st->dbs_nr : 1, sizeof(*end_rows));
			for (size_t i = 0; i < prev->dbs_nr; i++)
				prev_rows[i] = prev_planned ? prev->dbs[i].end_rows : prev->dbs[i].rows;
			for (size_t i = 0; i < st->dbs_nr; i++)
				end_rows[i] = st->dbs[i].end_rows;
			if (!plan_order_check(&st->order_missing, o->g, prev_rows, prev->dbs_nr,
					      end_rows, st->dbs_nr)) {
				struct strbuf sb = STRBUF_INIT;

				for (size_t i = 0; i < st->order_missing.nr && i < 5; i++)
					strbuf_addf(&sb, "%s%s", i ? ", " : "", st->order_missing.items[i]);
				if (st->order_missing.nr > 5)
					strbuf_addf(&sb, " and %zu more", st->order_missing.nr - 5);
				st->order_error = xstrfmt("environment \"%s\": would go past environment \"%s\", "
							  "which does not hold %s",
							  st->env->name, prev->env->name, sb.buf);
				strbuf_release(&sb);
			}
		}
		if (st->order_error && o->allow_out_of_order)
			st->out_of_order_allowed = true;
	}

	memset(&in, 0, sizeof(in));
	in.gate = &st->env->gate;
	in.environment = st->env->name;
	in.plan_hash = st->plan_hash;
	in.approvals = st->approvals;
	in.approvals_nr = st->approvals_nr;
	in.now_ms = wall_ms();
	in.has_previous = prev && o->up;
	in.previous = prev ? prev->env->name : NULL;
	if (in.has_previous && st->env->gate.soak > 0 && plan_stage_steps(st)) {
		if (prev_planned && plan_stage_steps(prev)) {
			/* the previous stage only gets the target in this very run */
			in.held_since_known = true;
			in.held_since_ms = in.now_ms;
			in.previous_planned = true;
		} else {
			ret = held_since(&in.held_since_known, &in.held_since_ms, st, prev->env, err);
			if (ret < 0)
				goto done;
		}
	}
	gate_evaluate(&st->gate, &in);
done:
	free(prev_rows);
	free(end_rows);
	return ret;
}

int apply_build_plan(struct plan *p, const struct environment *const *envs, size_t nr,
		     const struct apply_options *o, struct ms_error *err)
{
	struct plan_stage prev_read;
	int ret = 0;

	memset(&prev_read, 0, sizeof(prev_read));
	for (size_t i = 0; i < nr; i++) {
		const struct environment *env = envs[i];
		struct plan_stage *st = plan_add_stage(p, env);
		const struct plan_stage *prev = NULL;
		bool planned = false;

		apply_read_stage(st, env, o, err);
		ms_error_release(err);
		if (env->stage > 0) {
			const struct environment *pe = &o->inv->envs[env->stage - 1];

			if (i > 0 && p->stages[p->nr - 2].env == pe) {
				prev = &p->stages[p->nr - 2];
				planned = true;
			} else {
				apply_read_stage(&prev_read, pe, o, err);
				ms_error_release(err);
				prev = &prev_read;
			}
		}
		ret = apply_check_stage(st, prev, planned, o, err);
		if (ret < 0)
			goto done;
	}
done:
	stage_reset(&prev_read, NULL);
	return ret;
}

int apply_before_hook(const struct environment *env, const struct inventory *inv,
		      struct ms_error *err)
{
	pid_t pid;
	int status = 0;

	if (!env->before_apply || !*env->before_apply)
		return 0;
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0)
		return ms_error_set(err, MS_ERR_GENERIC,
				    "environment \"%s\": could not run before_apply: %s",
				    env->name, strerror(errno));
	if (pid == 0) {
		if (inv && inv->dir && chdir(inv->dir) < 0)
			_exit(126);
		setenv("MIGSYNC_ENVIRONMENT", env->name, 1);
		dup2(STDERR_FILENO, STDOUT_FILENO);
		execl("/bin/sh", "sh", "-c", env->before_apply, (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			return ms_error_set(err, MS_ERR_GENERIC,
					    "environment \"%s\": before_apply: %s",
					    env->name, strerror(errno));
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFEXITED(status))
		ms_error_set(err, MS_ERR_GENERIC,
			     "environment \"%s\": before_apply exited with status %d",
			     env->name, WEXITSTATUS(status));
	else
		ms_error_set(err, MS_ERR_GENERIC,
			     "environment \"%s\": before_apply was killed by signal %d",
			     env->name, WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	ms_error_hint(err, "the stage was not started; fix the command (%s) and run again",
		      env->before_apply);
	return MS_ERR_GENERIC;
}

struct output_ctx {
	const struct apply_options *o;
	struct apply_event ev;
};

static void output_line(const char *line, void *ctx)
{
	struct output_ctx *oc = ctx;
	struct apply_event ev = oc->ev;

	ev.kind = APPLY_EVENT_OUTPUT;
	ev.detail = line;
	emit(oc->o, &ev);
}

/* Record Alembic's steps in the ledger: the ones that moved applied, the next one failed. */
static void record_alembic(const struct exec_context *c, const struct plan_db *db,
			   const struct apply_options *o, const struct strvec *after,
			   int64_t started, int64_t duration, const char *error)
{
	bool *held = xcalloc(o->g->nr ? o->g->nr : 1, sizeof(*held));
	char *rows = rows_text(after);
	bool failed_one = false;

	for (size_t i = 0; i < after->nr; i++) {
		ssize_t n = revgraph_find(o->g, after->items[i]);

		for (size_t k = 0; n >= 0 && k < o->g->nr; k++)
			if (revgraph_is_ancestor(o->g, k, (size_t)n))
				held[k] = true;
	}
	for (size_t i = 0; i < db->steps_nr; i++) {
		const struct plan_step *s = &db->steps[i];
		bool moved = s->step.up ? held[s->step.node] : !held[s->step.node];
		struct ledger_entry e;
		struct ms_error ignore = MS_ERROR_INIT;

		if (!moved && (failed_one || !error))
			continue;
		ledger_entry_init(&e);
		e.revision = xstrdup(s->revision);
		e.up = s->step.up;
		e.sha256 = s->sha256 && *s->sha256 ? xstrdup(s->sha256) : NULL;
		e.plan_hash = c->plan_hash ? xstrdup(c->plan_hash) : NULL;
		e.who = c->who ? xstrdup(c->who) : NULL;
		e.host = c->host ? xstrdup(c->host) : NULL;
		e.environment = xstrdup(c->target->env->name);
		e.started_at_ms = started;
		e.duration_ms = duration;
		e.outcome = moved ? LEDGER_APPLIED : LEDGER_FAILED;
		e.error = moved ? NULL : xstrdup(error);
		e.transactional = true;
		e.executor = xstrdup("alembic");
		e.rows_after = xstrdup(rows);
		ledger_insert(c->conn, NULL, &e, &ignore);
		ledger_entry_release(&e);
		ms_error_release(&ignore);
		if (!moved)
			failed_one = true;
	}
	free(rows);
	free(held);
}

/* Apply db's steps through conn (locked). */
static int run_steps(struct plan_stage *st, size_t index, PGconn *conn,
		     const struct db_target *t, const struct apply_options *o,
		     struct ms_error *err)
{
	const struct environment *env = t->env;
	struct plan_db *db = &st->dbs[index];
	struct output_ctx oc;
	struct exec_context c;
	struct exec_session session;
	struct strvec after = STRVEC_INIT;
	struct strbuf output = STRBUF_INIT;
	bool exists = false;
	int ret = 0;

	memset(&oc, 0, sizeof(oc));
	oc.o = o;
	oc.ev.environment = env->name;
	oc.ev.database = db->describe;
	oc.ev.db_index = index;
	oc.ev.db_nr = st->dbs_nr;
	memset(&c, 0, sizeof(c));
	c.conn = conn;
	c.target = t;
	c.inv = o->inv;
	c.version_table = env->database.version_table;
	c.version_schema = env->database.version_table_schema;
	c.plan_hash = st->plan_hash;
	c.who = o->who;
	c.host = o->host;
	c.cancel = o->cancel;
	c.output = output_line;
	c.output_ctx = &oc;
	/* the ledger and the version table are checked once, not per step */
	exec_session_init(&session);
	c.session = &session;

	if (o->inv->migrations.executor == EXECUTOR_ALEMBIC) {
		int64_t started = wall_ms(), t0 = mono_ms();
		struct ms_error e2 = MS_ERROR_INIT;

		oc.ev.kind = APPLY_EVENT_STEP;
		oc.ev.step_nr = db->steps_nr;
		oc.ev.detail = o->target;
		emit(o, &oc.ev);
		ret = ledger_ensure(conn, NULL, err);
		if (ret == 0)
			ret = exec_alembic_run(&c, o->up ? "upgrade" : "downgrade", o->target,
					       &output, err);
		if (db_version_rows(&after, &exists, NULL, conn, c.version_table, c.version_schema,
				      &e2) == 0)
			record_alembic(&c, db, o, &after, started, mono_ms() - t0,
				       ret < 0 ? err->message : NULL);
		ms_error_release(&e2);
		goto done;
	}

	for (size_t i = 0; i < db->steps_nr; i++) {
		const struct plan_step *s = &db->steps[i];
		int64_t t0;

		if (cancelled(o)) {
			ret = db_target_error(err, MS_ERR_GENERIC, t,
					      "interrupted before revision \"%s\"", s->revision);
			goto done;
		}
		if (!s->script || s->script->kind != SCRIPT_SQL) {
			ret = db_target_error(err, MS_ERR_CONFIG, t,
					      "revision \"%s\" (%s) is an Alembic script; the sql executor runs .sql revisions only",
					      s->revision, s->script ? s->script->path : "?");
			ms_error_hint(err, "set migrations.executor: alembic in inventory.yaml");
			goto done;
		}
		if (!s->step.up && !s->script->down_sql) {
			ret = db_target_error(err, MS_ERR_CONFIG, t,
					      "revision \"%s\" (%s) has no down section",
					      s->revision, s->script->path);
			goto done;
		}
		oc.ev.kind = APPLY_EVENT_STEP;
		oc.ev.step_index = i;
		oc.ev.step_nr = db->steps_nr;
		oc.ev.revision = s->revision;
		oc.ev.up = s->step.up;
		oc.ev.detail = s->script->message;
		oc.ev.elapsed_ms = 0;
		emit(o, &oc.ev);
		t0 = mono_ms();
		ret = exec_sql_step(&c, &s->step, s->script, err);
		if (ret < 0) {
			if (!starts_with(err->message ? err->message : "", "environment \""))
				ms_error_prefix(err, t->member ? "environment \"%s\", database \"%s\"" :
						"environment \"%s\"", env->name, t->dbname);
			goto done;
		}
		oc.ev.kind = APPLY_EVENT_STEP_DONE;
		oc.ev.elapsed_ms = mono_ms() - t0;
		emit(o, &oc.ev);
	}
done:
	exec_session_release(&session);
	strvec_release(&after);
	strbuf_release(&output);
	return ret;
}

/* Verify the version rows of db equal its end rows. */
static int verify(const struct plan_db *db, PGconn *conn, const struct db_target *t,
		  struct ms_error *err)
{
	struct strvec rows = STRVEC_INIT;
	bool exists = false;
	char *want = NULL, *have = NULL;
	int ret;

	ret = db_version_rows(&rows, &exists, NULL, conn, t->env->database.version_table,
				t->env->database.version_table_schema, err);
	if (ret < 0)
		goto done;
	if (!rows_equal(&rows, &db->end_rows)) {
		want = rows_text(&db->end_rows);
		have = rows_text(&rows);
		ret = db_target_error(err, MS_ERR_DB, t,
				      "version rows after applying are %s, the plan expected %s",
				      have, want);
		ms_error_hint(err, "another process changed the version table; run migsync status");
	}
done:
	free(want);
	free(have);
	strvec_release(&rows);
	return ret;
}

static int in_progress_error(const struct plan_db *db, const struct db_target *t,
			     struct ms_error *err)
{
	db_target_error(err, MS_ERR_DB, t,
			"revision \"%s\" was left in progress by an earlier run (transaction false)",
			db->in_progress.items[0]);
	ms_error_hint(err, "check the database by hand, then run: migsync resolve -e %s %s --applied (or --rolled-back)",
		      t->env->name, db->in_progress.items[0]);
	return MS_ERR_DB;
}

/* Connect to t and take its lock, bounded by lock_wait. */
static int connect_locked(PGconn **conn, struct tunnel **tunnel, const struct db_target *t,
			  const struct plan_db *db, size_t index, size_t nr,
			  const struct apply_options *o, struct ms_error *err)
{
	struct apply_event ev;
	struct connect_wait w;
	int64_t wait_ms = o->lock_wait_set ? o->lock_wait_ms : t->env->database.lock_wait * 1000;
	int ret;

	connect_wait_init(&w, o);
	ret = connect_waiting(conn, tunnel, t, &w, o, err);
	if (ret < 0)
		return ret;
	memset(&ev, 0, sizeof(ev));
	ev.kind = APPLY_EVENT_LOCK;
	ev.environment = t->env->name;
	ev.database = db ? db->describe : t->describe;
	ev.db_index = index;
	ev.db_nr = nr;
	emit(o, &ev);
	ret = ledger_lock(*conn, wait_ms, stop_waiting, (void *)o, err);
	if (ret < 0) {
		name_target(err, t);
		db_disconnect(*conn, *tunnel);
		*conn = NULL;
		*tunnel = NULL;
	}
	return ret;
}

/*
 * After a stage or stamp was read and checked: its gate, then a dry run,
 * then the confirmation. APPLY_DONE to go on; otherwise the outcome to
 * stop with (APPLY_GATED with err saying why).
 */
static enum apply_outcome gate_and_confirm(struct plan_stage *st, const struct environment *env,
					   const struct apply_options *o, struct ms_error *err)
{
	struct strbuf sb = STRBUF_INIT;

	if (!st->gate.passed) {
		for (size_t i = 0; i < st->gate.notes.nr; i++)
			strbuf_addf(&sb, "%s%s", i ? "; " : "", st->gate.notes.items[i]);
		ms_error_set(err, MS_ERR_GENERIC, "environment \"%s\": stopped at the gate: %s",
			     env->name, sb.len ? sb.buf : "waiting for approval");
		strbuf_release(&sb);
		return APPLY_GATED;
	}
	if (o->dry_run)
		return APPLY_DRY_RUN;
	if (st->gate.gated && o->confirm && !o->confirm(st, o->ctx))
		return APPLY_DECLINED;
	return APPLY_DONE;
}

enum apply_outcome apply_stage_run(struct plan_stage *st, const struct environment *env,
				   const struct apply_options *o, struct ms_error *err)
{
	struct db_target *targets = NULL;
	struct plan_stage prev;
	size_t nr = 0;
	PGconn *conn = NULL;
	struct tunnel *tunnel = NULL;
	bool locked = false;
	enum apply_outcome out = APPLY_FAILED;

	memset(&prev, 0, sizeof(prev));
	if (apply_read_stage(st, env, o, err) < 0)
		goto done;
	for (size_t i = 0; i < st->dbs_nr; i++) {
		if (st->dbs[i].error) {
			ms_error_set(err, MS_ERR_DB, "%s", st->dbs[i].error);
			goto done;
		}
	}
	if (!plan_stage_steps(st)) {
		bool busy = false;

		for (size_t i = 0; i < st->dbs_nr; i++)
			busy |= st->dbs[i].in_progress.nr > 0;
		if (!busy) {
			out = APPLY_NOTHING;
			goto done;
		}
	}
	if (db_targets_expand(&targets, &nr, env, err) < 0)
		goto done;
	if (nr != st->dbs_nr) {
		ms_error_set(err, MS_ERR_DB, "environment \"%s\": its databases changed while planning",
			     env->name);
		goto done;
	}
	for (size_t i = 0; i < nr; i++) {
		if (st->dbs[i].in_progress.nr) {
			in_progress_error(&st->dbs[i], &targets[i], err);
			goto done;
		}
	}

	if (!o->dry_run && apply_before_hook(env, o->inv, err) < 0)
		goto done;

	/* one database: lock it first, then read, hash and gate under the lock */
	if (nr == 1 && !o->dry_run) {
		struct plan_db *db = &st->dbs[0];

		if (connect_locked(&conn, &tunnel, &targets[0], db, 0, 1, o, err) < 0)
			goto done;
		locked = true;
		if (read_db(db, st, conn, &targets[0], true, err) < 0 ||
		    plan_db_compute(db, o->g, o->target, o->up, err) < 0)
			goto done;
		if (db->in_progress.nr) {
			in_progress_error(db, &targets[0], err);
			goto done;
		}
		plan_hash_stage(st, o->target_ids);
		if (!db->steps_nr) {
			out = APPLY_NOTHING;
			goto done;
		}
	}

	if (o->up && env->stage > 0) {
		const struct environment *pe = &o->inv->envs[env->stage - 1];
		struct apply_options po = *o;

		/* the previous stage is only read: an unreachable one fails the order check now */
		po.connect_wait_ms = 0;
		apply_read_stage(&prev, pe, &po, err);
		ms_error_release(err);
	}
	if (apply_check_stage(st, o->up && env->stage > 0 ? &prev : NULL, false, o, err) < 0)
		goto done;
	if (st->order_error && !st->out_of_order_allowed) {
		ms_error_set(err, MS_ERR_GENERIC, "%s", st->order_error);
		ms_error_hint(err, "promote the previous stage first, or pass --allow-out-of-order");
		goto done;
	}
	out = gate_and_confirm(st, env, o, err);
	if (out != APPLY_DONE)
		goto done;
	out = APPLY_FAILED;

	for (size_t i = 0; i < nr; i++) {
		struct plan_db *db = &st->dbs[i];

		/* a fleet's database planned at its end rows (a rerun): nothing to lock */
		if (!locked && !db->steps_nr) {
			emit_skip(o, env, db, i, nr, "already at the target");
			continue;
		}
		if (cancelled(o)) {
			db_target_error(err, MS_ERR_GENERIC, &targets[i], "interrupted before applying");
			goto done;
		}
		if (!locked) {
			struct plan_db now;
			struct plan_stage scratch;

			memset(&scratch, 0, sizeof(scratch));
			plan_db_init(&now);
			if (connect_locked(&conn, &tunnel, &targets[i], db, i, nr, o, err) < 0)
				goto done;
			locked = true;
			if (read_db(&now, &scratch, conn, &targets[i], false, err) < 0) {
				plan_db_release(&now);
				goto done;
			}
			if (now.in_progress.nr) {
				in_progress_error(&now, &targets[i], err);
				plan_db_release(&now);
				goto done;
			}
			if (!rows_equal(&now.rows, &db->rows)) {
				bool there = rows_equal(&now.rows, &db->end_rows);

				if (!there) {
					char *have = rows_text(&now.rows), *saw = rows_text(&db->rows);

					db_target_error(err, MS_ERR_DB, &targets[i],
							"the database moved since the plan was made: its version rows are %s, the plan saw %s",
							have, saw);
					ms_error_hint(err, "databases before it were migrated; run migsync plan again: "
						      "the approval was for the old plan");
					free(have);
					free(saw);
					plan_db_release(&now);
					goto done;
				}
				plan_db_release(&now);
				/* another migsync did this one already */
				emit_skip(o, env, db, i, nr, NULL);
				goto next;
			}
			plan_db_release(&now);
		}
		if (db->steps_nr) {
			if (run_steps(st, i, conn, &targets[i], o, err) < 0)
				goto done;
			if (verify(db, conn, &targets[i], err) < 0)
				goto done;
		}
next:
		{
			struct ms_error ignore = MS_ERROR_INIT;

			ledger_unlock(conn, &ignore);
			ms_error_release(&ignore);
		}
		locked = false;
		db_disconnect(conn, tunnel);
		conn = NULL;
		tunnel = NULL;
	}
	out = APPLY_DONE;
done:
	if (conn) {
		struct ms_error ignore = MS_ERROR_INIT;

		if (locked)
			ledger_unlock(conn, &ignore);
		ms_error_release(&ignore);
		db_disconnect(conn, tunnel);
	}
	stage_reset(&prev, NULL);
	db_targets_free(targets, nr);
	return out;
}

/* Split "a b c" into rows. */
static void rows_split(struct strvec *out, const char *s)
{
	const char *p = s;

	while (p && *p) {
		size_t n;

		while (*p == ' ')
			p++;
		n = strcspn(p, " ");
		if (n)
			strvec_push_owned(out, xstrndup(p, n));
		p += n;
	}
	strvec_sort(out);
}

int apply_resolve(size_t *resolved, const struct environment *env, const char *revision,
		  bool applied, const struct apply_options *o, struct ms_error *err)
{
	struct db_target *targets = NULL;
	size_t nr = 0;
	int ret;

	*resolved = 0;
	ret = db_targets_expand(&targets, &nr, env, err);
	for (size_t i = 0; ret == 0 && i < nr; i++) {
		struct ledger_entry *busy = NULL;
		size_t busy_nr = 0;
		PGconn *conn = NULL;
		struct tunnel *tunnel = NULL;
		bool ledger = false;

		ret = connect_locked(&conn, &tunnel, &targets[i], NULL, i, nr, o, err);
		if (ret < 0)
			break;
		ret = ledger_exists(conn, NULL, &ledger, err);
		if (ret == 0 && ledger)
			ret = ledger_in_progress(&busy, &busy_nr, conn, NULL, err);
		for (size_t k = 0; ret == 0 && k < busy_nr; k++) {
			struct ledger_entry *e = &busy[k];

			if (strcmp(e->revision, revision))
				continue;
			if (applied && e->rows_after) {
				struct strvec now = STRVEC_INIT, want = STRVEC_INIT;
				bool exists = false;
				struct exec_context c;

				memset(&c, 0, sizeof(c));
				c.conn = conn;
				c.target = &targets[i];
				c.inv = o->inv;
				c.version_table = env->database.version_table;
				c.version_schema = env->database.version_table_schema;
				c.plan_hash = e->plan_hash;
				c.who = o->who;
				c.host = o->host;
				rows_split(&want, e->rows_after);
				ret = db_version_rows(&now, &exists, NULL, conn, c.version_table,
							c.version_schema, err);
				if (ret == 0 && !rows_equal(&now, &want))
					ret = exec_stamp(&c, &now, &want, err);
				strvec_release(&now);
				strvec_release(&want);
			}
			if (ret == 0)
				ret = ledger_finish(conn, NULL, e->id,
						    applied ? LEDGER_RESOLVED_APPLIED :
						    LEDGER_RESOLVED_ROLLED_BACK,
						    e->duration_ms, e->error, err);
			if (ret == 0)
				(*resolved)++;
		}
		ledger_entries_free(busy, busy_nr);
		{
			struct ms_error ignore = MS_ERROR_INIT;

			ledger_unlock(conn, &ignore);
			ms_error_release(&ignore);
		}
		db_disconnect(conn, tunnel);
	}
	db_targets_free(targets, nr);
	return ret;
}

/* Length-prefixed, so that no two different inputs share a text (as plan.c's). */
static void stamp_field(struct strbuf *sb, const char *tag, const char *value)
{
	if (!value)
		value = "";
	strbuf_addf(sb, "%s %zu:%s\n", tag, strlen(value), value);
}

static int db_by_identity(const void *a, const void *b)
{
	const struct plan_db *const *x = a, *const *y = b;
	int c = strcmp_null((*x)->identity, (*y)->identity);

	return c ? c : strcmp_null((*x)->dbname, (*y)->dbname);
}

void apply_stamp_hash(char out[SHA256_HEX_LEN + 1], const char *environment,
		      const struct revgraph *g, const struct strvec *to,
		      const struct plan_db *dbs, size_t nr)
{
	struct strbuf sb = STRBUF_INIT;
	struct strvec ids = STRVEC_INIT;
	const struct plan_db **order = xcalloc(nr ? nr : 1, sizeof(*order));

	strbuf_addstr(&sb, "migsync stamp v1\n");
	stamp_field(&sb, "environment", environment);
	for (size_t i = 0; i < to->nr; i++)
		strvec_push(&ids, to->items[i]);
	strvec_sort(&ids);
	strbuf_addf(&sb, "to %zu\n", ids.nr);
	for (size_t i = 0; i < ids.nr; i++) {
		ssize_t n = g ? revgraph_find(g, ids.items[i]) : -1;
		const struct script *s = n >= 0 ? g->nodes[n].script : NULL;

		stamp_field(&sb, "id", ids.items[i]);
		stamp_field(&sb, "sha256", s ? s->sha256 : NULL);
	}
	for (size_t i = 0; i < nr; i++)
		order[i] = &dbs[i];
	qsort(order, nr, sizeof(*order), db_by_identity);
	strbuf_addf(&sb, "databases %zu\n", nr);
	for (size_t i = 0; i < nr; i++) {
		const struct plan_db *db = order[i];
		struct strvec rows = STRVEC_INIT;

		stamp_field(&sb, "database", db->identity);
		for (size_t k = 0; k < db->rows.nr; k++)
			strvec_push(&rows, db->rows.items[k]);
		strvec_sort(&rows);
		strbuf_addf(&sb, "heads %zu\n", rows.nr);
		for (size_t k = 0; k < rows.nr; k++)
			stamp_field(&sb, "head", rows.items[k]);
		strvec_release(&rows);
	}
	sha256_hex(sb.buf, sb.len, out);
	free(order);
	strvec_release(&ids);
	strbuf_release(&sb);
}

int apply_stamp_read(struct plan_stage *st, const struct environment *env,
		     const struct strvec *to, const struct apply_options *o,
		     struct ms_error *err)
{
	struct db_target *targets = NULL;
	struct gate_input in;
	size_t nr = 0;
	int ret;

	stage_reset(st, env);
	ret = db_targets_expand(&targets, &nr, env, err);
	if (ret < 0) {
		st->error = xstrdup(err->message ? err->message : "could not expand the environment");
		goto done;
	}
	for (size_t i = 0; i < nr; i++) {
		struct plan_db *db = stage_add_target(st, &targets[i]);
		struct ms_error e = MS_ERROR_INIT;
		PGconn *conn = NULL;
		struct tunnel *tunnel = NULL;

		if (db_connect(&conn, &tunnel, &targets[i], &e) < 0 ||
		    read_db(db, st, conn, &targets[i], i == 0, &e) < 0) {
			name_target(&e, &targets[i]);
			db_set_error(db, &e);
		}
		for (size_t k = 0; k < to->nr; k++)
			strvec_push(&db->end_rows, to->items[k]);
		strvec_sort(&db->end_rows);
		db_disconnect(conn, tunnel);
		ms_error_release(&e);
	}
	apply_stamp_hash(st->plan_hash, env->name, o->g, to, st->dbs, st->dbs_nr);

	/* no soak and no order: a stamp moves no schema from one stage to the next */
	memset(&in, 0, sizeof(in));
	in.gate = &env->gate;
	in.environment = env->name;
	in.plan_hash = st->plan_hash;
	in.approvals = st->approvals;
	in.approvals_nr = st->approvals_nr;
	in.now_ms = wall_ms();
	gate_evaluate(&st->gate, &in);
done:
	db_targets_free(targets, nr);
	return ret;
}

/* Stamp one database of st through conn (locked): re-read, compare, swap, verify. */
static int stamp_db(struct plan_stage *st, size_t index, PGconn *conn,
		    const struct db_target *t, const struct apply_options *o,
		    struct ms_error *err)
{
	struct plan_db *db = &st->dbs[index];
	struct plan_db now;
	struct plan_stage scratch;
	struct exec_context c;
	int ret;

	memset(&scratch, 0, sizeof(scratch));
	plan_db_init(&now);
	ret = read_db(&now, &scratch, conn, t, false, err);
	if (ret < 0)
		goto done;
	if (now.in_progress.nr) {
		ret = in_progress_error(&now, t, err);
		goto done;
	}
	if (rows_equal(&now.rows, &db->end_rows)) {
		/* another run stamped it while we waited for the lock */
		emit_skip(o, t->env, db, index, st->dbs_nr, NULL);
		goto done;
	}
	if (!rows_equal(&now.rows, &db->rows)) {
		char *have = rows_text(&now.rows), *want = rows_text(&db->rows);

		ret = db_target_error(err, MS_ERR_DB, t,
				      "the version rows moved to %s since they were read (%s): not stamped",
				      have, want);
		ms_error_hint(err, "run migsync status, then stamp again; an approval was for the old rows");
		free(have);
		free(want);
		goto done;
	}
	memset(&c, 0, sizeof(c));
	c.conn = conn;
	c.target = t;
	c.inv = o->inv;
	c.version_table = t->env->database.version_table;
	c.version_schema = t->env->database.version_table_schema;
	c.plan_hash = st->plan_hash;
	c.who = o->who;
	c.host = o->host;
	c.cancel = o->cancel;
	ret = exec_stamp(&c, &db->rows, &db->end_rows, err);
	if (ret < 0) {
		name_target(err, t);
		goto done;
	}
	ret = verify(db, conn, t, err);
done:
	plan_db_release(&now);
	plan_stage_release(&scratch);
	return ret;
}

enum apply_outcome apply_stamp_run(struct plan_stage *st, const struct environment *env,
				   const struct strvec *expect, const struct strvec *to,
				   const struct apply_options *o, struct ms_error *err)
{
	struct db_target *targets = NULL;
	size_t nr = 0, todo = 0;
	enum apply_outcome out = APPLY_FAILED;

	if (apply_stamp_read(st, env, to, o, err) < 0)
		goto done;
	if (db_targets_expand(&targets, &nr, env, err) < 0)
		goto done;
	if (nr != st->dbs_nr) {
		ms_error_set(err, MS_ERR_DB, "environment \"%s\": its databases changed while reading",
			     env->name);
		goto done;
	}
	for (size_t i = 0; i < nr; i++) {
		const struct plan_db *db = &st->dbs[i];

		if (db->error) {
			ms_error_set(err, MS_ERR_DB, "%s", db->error);
			goto done;
		}
		if (db->in_progress.nr) {
			in_progress_error(db, &targets[i], err);
			goto done;
		}
		if (rows_equal(&db->rows, &db->end_rows))
			continue;
		if (expect && !rows_equal(&db->rows, expect)) {
			char *have = rows_text(&db->rows), *want = rows_text(expect);

			db_target_error(err, MS_ERR_DB, &targets[i],
					"version rows are %s, expected %s: not stamped", have, want);
			ms_error_hint(err, "check with migsync status which revision the schema really is at; "
				      "--expect names the rows to replace");
			free(have);
			free(want);
			goto done;
		}
		todo++;
	}
	if (!todo) {
		out = APPLY_NOTHING;
		goto done;
	}
	out = gate_and_confirm(st, env, o, err);
	if (out != APPLY_DONE)
		goto done;
	out = APPLY_FAILED;
	for (size_t i = 0; i < nr; i++) {
		PGconn *conn = NULL;
		struct tunnel *tunnel = NULL;
		struct ms_error ignore = MS_ERROR_INIT;
		int ret;

		if (rows_equal(&st->dbs[i].rows, &st->dbs[i].end_rows))
			continue;
		if (cancelled(o)) {
			db_target_error(err, MS_ERR_GENERIC, &targets[i], "interrupted before stamping");
			goto done;
		}
		if (connect_locked(&conn, &tunnel, &targets[i], &st->dbs[i], i, nr, o, err) < 0)
			goto done;
		ret = stamp_db(st, i, conn, &targets[i], o, err);
		ledger_unlock(conn, &ignore);
		ms_error_release(&ignore);
		db_disconnect(conn, tunnel);
		if (ret < 0)
			goto done;
	}
	out = APPLY_DONE;
done:
	db_targets_free(targets, nr);
	return out;
}
