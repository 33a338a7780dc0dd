/*
 * Connecting for a stage: retried until apply_options.connect_wait_ms
 * for a server that is not up yet, and locked (ledger_lock) for a run.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "apply_int.h"
#include "migsync/clock.h"
#include "migsync/ledger.h"

static int stop_waiting(void *ctx)
{
	const struct apply_options *o = ctx;

	return apply_cancelled(o);
}

void apply_connect_wait_init(struct connect_wait *w, const struct apply_options *o)
{
	w->started = clock_mono_ms();
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
	int64_t now = clock_mono_ms(), pause;

	if (!w->deadline || apply_cancelled(o) || now >= w->deadline)
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
	apply_emit(o, &ev);
	pause = w->delay < w->deadline - now ? w->delay : w->deadline - now;
	ts.tv_sec = pause / 1000;
	ts.tv_nsec = (long)(pause % 1000) * 1000000;
	nanosleep(&ts, NULL);
	if (w->delay < 5000)
		w->delay = w->delay * 2 < 5000 ? w->delay * 2 : 5000;
	return !apply_cancelled(o);
}

/* db_connect, retried as connect_retry allows. */
int apply_connect_waiting(PGconn **conn, struct tunnel **tunnel, const struct db_target *t,
			   struct connect_wait *w, const struct apply_options *o,
			   struct ms_error *err)
{
	int ret;

	while ((ret = db_connect(conn, tunnel, t, err)) < 0 &&
	       connect_retry(w, t->env, t->describe, o, err))
		;
	/* in the message: a stage keeps only that of a database it could not read */
	if (ret < 0 && w->deadline && clock_mono_ms() >= w->deadline && !apply_cancelled(o)) {
		char *msg = xstrdup(err->message ? err->message : "could not connect");
		char *hint = err->hint ? xstrdup(err->hint) : NULL;

		ms_error_set(err, err->code, "%s (gave up after %lld s)", msg,
			     (long long)((clock_mono_ms() - w->started + 500) / 1000));
		if (hint)
			ms_error_hint(err, "%s", hint);
		free(msg);
		free(hint);
	}
	return ret;
}

/* db_targets_expand, retried as connect_retry allows (a discovery query connects). */
int apply_expand_waiting(struct db_target **targets, size_t *nr, const struct environment *env,
			  struct connect_wait *w, const struct apply_options *o,
			  struct ms_error *err)
{
	int ret;

	while ((ret = (o->all_targets ? db_targets_expand_all : db_targets_expand)(targets, nr, env,
										 err)) < 0 &&
	       inventory_env_discovers(env) && connect_retry(w, env, env->name, o, err))
		;
	return ret;
}

/* Connect to t and take its lock, bounded by lock_wait. */
int apply_connect_locked(PGconn **conn, struct tunnel **tunnel, const struct db_target *t,
			  const struct plan_db *db, size_t index, size_t nr,
			  const struct apply_options *o, struct ms_error *err)
{
	struct apply_event ev;
	struct connect_wait w;
	int64_t wait_ms = o->lock_wait_set ? o->lock_wait_ms : t->env->database.lock_wait * 1000;
	int ret;

	apply_connect_wait_init(&w, o);
	ret = apply_connect_waiting(conn, tunnel, t, &w, o, err);
	if (ret < 0)
		return ret;
	memset(&ev, 0, sizeof(ev));
	ev.kind = APPLY_EVENT_LOCK;
	ev.environment = t->env->name;
	ev.database = db ? db->describe : t->describe;
	ev.db_index = index;
	ev.db_nr = nr;
	apply_emit(o, &ev);
	ret = ledger_lock(*conn, wait_ms, stop_waiting, (void *)o, err);
	if (ret < 0) {
		apply_name_target(err, t);
		db_disconnect(*conn, *tunnel);
		*conn = NULL;
		*tunnel = NULL;
	}
	return ret;
}
