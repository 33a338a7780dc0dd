#ifndef MIGSYNC_APPLY_INT_H
#define MIGSYNC_APPLY_INT_H

/*
 * What the files of src/apply share and nobody else uses: the stage
 * runner (stage.c), the re-observing read (read.c), stamping (stamp.c),
 * resolve (resolve.c) and connecting (connect.c).
 */

#include <libpq-fe.h>

#include <pthread.h>

#include "migsync/apply.h"
#include "migsync/executor.h"
#include "migsync/target.h"
#include "migsync/tunnel.h"
#include "exec_int.h"

/* Whether *o->cancel was set (a signal). */
bool apply_cancelled(const struct apply_options *o);
/* o->event, when there is one. */
void apply_emit(const struct apply_options *o, struct apply_event *ev);
/* APPLY_EVENT_SKIP for database index of nr (detail: see apply.h). */
void apply_emit_skip(const struct apply_options *o, const struct environment *env,
		     const struct plan_db *db, size_t index, size_t nr, const char *detail);
/*
 * o->event for worker threads, one call at a time (the callback is not
 * thread-safe): *wo becomes a copy of *o whose event goes through s.
 */
struct apply_serial {
	const struct apply_options *o;
	pthread_mutex_t lock;
};
void apply_serial_init(struct apply_serial *s, struct apply_options *wo,
		       const struct apply_options *o);
void apply_serial_release(struct apply_serial *s);
/* MS_ERR_DB: db has a step left in progress; the hint names migsync resolve. */
int apply_in_progress_error(const struct plan_db *db, const struct db_target *t,
			    struct ms_error *err);
/*
 * The gate of a stamp or a rehash, which change no schema: approvals for
 * exactly st's hash, read from the first database; no soak and no order.
 */
void apply_gate_approvals_only(struct plan_stage *st, const struct environment *env);
/*
 * After a stage or stamp was read and checked: its gate, then a dry run,
 * then the confirmation. APPLY_DONE to go on; otherwise the outcome to
 * stop with (APPLY_GATED with err saying why).
 */
enum apply_outcome apply_gate_and_confirm(struct plan_stage *st, const struct environment *env,
					  const struct apply_options *o, struct ms_error *err);

/*
 * A gated change to every database of an environment that runs no
 * revision (stamp, rehash; each.c runs it): what the read adds, which
 * databases have something to do, and the change of one, made under its
 * lock. ctx is the operation's own.
 */
struct apply_each {
	void *ctx;
	const char *doing;	/* "stamping": "interrupted before stamping" */
	/* after db was read through conn (NULL: it could not be); <0 sets db's error */
	int (*read)(void *ctx, struct plan_db *db, PGconn *conn, struct ms_error *err);
	/* whether database i of st has something to do */
	bool (*todo)(void *ctx, const struct plan_stage *st, size_t i);
	/* NULL, or <0 (err set) when db must not be changed: nothing is */
	int (*refuse)(void *ctx, const struct plan_db *db, const struct db_target *t,
		      struct ms_error *err);
	/* change database i through conn, which holds its lock */
	int (*one)(void *ctx, struct plan_stage *st, size_t i, PGconn *conn,
		   const struct db_target *t, const struct apply_options *o, struct ms_error *err);
};

/* Read every database of env into st (a fresh stage) through each->read. */
int apply_each_read(struct plan_stage *st, const struct environment *env,
		    const struct apply_each *each, struct ms_error *err);
/*
 * After apply_each_read and the caller's hash: check every database, pass
 * the gate (apply_gate_and_confirm), change those with something to do.
 */
enum apply_outcome apply_each_run(struct plan_stage *st, const struct environment *env,
				  const struct apply_each *each, const struct apply_options *o,
				  struct ms_error *err);

/* Retrying a connection until a deadline (apply_options.connect_wait_ms). */
struct connect_wait {
	int64_t started;	/* CLOCK_MONOTONIC ms */
	int64_t deadline;	/* 0: one try */
	int64_t delay;		/* the next pause, ms */
};

void apply_connect_wait_init(struct connect_wait *w, const struct apply_options *o);
/* db_connect, retried while w allows (see connect.c). */
int apply_connect_waiting(PGconn **conn, struct tunnel **tunnel, const struct db_target *t,
			  struct connect_wait *w, const struct apply_options *o,
			  struct ms_error *err);
/* db_targets_expand, retried likewise (a discovery query connects). */
int apply_expand_waiting(struct db_target **targets, size_t *nr, const struct environment *env,
			 struct connect_wait *w, const struct apply_options *o,
			 struct ms_error *err);
/* Connect to t and take its lock, bounded by lock_wait; db may be NULL. */
int apply_connect_locked(PGconn **conn, struct tunnel **tunnel, const struct db_target *t,
			 const struct plan_db *db, size_t index, size_t nr,
			 const struct apply_options *o, struct ms_error *err);

/* Release st and give it to env. */
void apply_stage_reset(struct plan_stage *st, const struct environment *env);
/*
 * Read one database through conn: identity, version rows, in-progress
 * ledger rows, and (with_approvals) the environment's approvals into st.
 */
int apply_read_db(struct plan_db *db, struct plan_stage *st, PGconn *conn,
		  const struct db_target *t, bool with_approvals, struct ms_error *err);
/* Prefix err with t's environment (and database) unless it names them already. */
int apply_name_target(struct ms_error *err, const struct db_target *t);
/* A new database of st for target t. */
struct plan_db *apply_stage_add_target(struct plan_stage *st, const struct db_target *t);
/* db->error = err's message. */
void apply_db_set_error(struct plan_db *db, const struct ms_error *err);

/* Verify the version rows of db (read through x) equal its end rows. */
int apply_verify(const struct plan_db *db, struct executor *x, const struct db_target *t,
		 struct ms_error *err);

/*
 * Connect to t, take its lock, re-read it and run st->dbs[index]
 * (apply_db_run with the rows read under the lock), unlock, disconnect.
 */
enum apply_outcome apply_db_locked(struct plan_stage *st, size_t index,
				   const struct db_target *t, const struct apply_options *o,
				   struct ms_error *err);
/*
 * Roll a fleet out (rollout.c; see apply.h): st read, gated and
 * confirmed, targets in st->dbs order. Fills each database's outcome.
 * APPLY_DONE when every database is at the target; APPLY_FAILED (err:
 * how many failed and why the run stopped) otherwise.
 */
enum apply_outcome apply_fleet_run(struct plan_stage *st, const struct db_target *targets,
				   const struct environment *env, const struct apply_options *o,
				   struct ms_error *err);

/*
 * A shard other than 0 of a fleet with a canary (canary.c): wait until
 * shard 0's canary databases are at the target (polled, bounded by
 * database.lock_wait). Returns 0, or a negative code with err set when a
 * canary failed (its ledger says so), the wait ended or was cancelled.
 */
int apply_canary_wait(const struct environment *env, const struct apply_options *o,
		      struct ms_error *err);

/* The executor of a live, locked database (executor.c): native SQL or Alembic. */
struct apply_executor {
	struct executor x;
	struct exec_context c;
	struct exec_session session;
	const struct apply_options *o;
};

/*
 * Open the executor inventory's migrations.executor names on conn (held
 * by the caller, locked) for t; plan_hash goes into the ledger rows.
 */
void apply_executor_open(struct apply_executor *ax, PGconn *conn, const struct db_target *t,
			 const char *plan_hash, const struct apply_options *o);
void apply_executor_close(struct apply_executor *ax);

/*
 * The Alembic executor's run of db (alembic_steps.c): exact calls,
 * progress through x, one ledger row per revision.
 */
int exec_alembic_steps(struct apply_executor *ax, struct executor *x, const struct plan_db *db,
		       struct ms_error *err);

#endif
