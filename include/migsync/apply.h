#ifndef MIGSYNC_APPLY_H
#define MIGSYNC_APPLY_H

/*
 * Promotion: reading the stages of a plan from the databases, and running
 * one stage (the orchestration around the executors of executor.h).
 *
 * Running a stage (apply_stage_run), for each target database in turn
 * (one, or a fleet in db_targets_expand order):
 *
 *   1. the environment's before_apply command (once per stage, before any
 *      lock; a non-zero exit stops the stage);
 *   2. connect, take migsync's advisory lock (ledger_lock, bounded by the
 *      environment's lock_wait, polling, abandoned on cancel);
 *   3. re-read the version rows and the ledger's in-progress rows (an
 *      unresolved `transaction false` step stops everything until
 *      `migsync resolve`);
 *   4. recompute the plan and its hash; check the rollout order against
 *      the previous stage (read now) and the gate (approvals for exactly
 *      this hash from the environment's first database, soak from the
 *      previous stage's ledger);
 *   5. apply the steps through the environment's struct executor
 *      (executor.h; native SQL: exec_sql_step per revision; Alembic:
 *      exec_alembic_run to the target, then ledger rows for what moved);
 *   6. verify that the version rows equal the plan's end rows; unlock.
 *   (5 and 6 are apply_db_run, which needs no connection of its own.)
 *
 * A fleet's plan hash covers every database, so the stage is read and
 * gated as a whole first (without locks); then each database is locked,
 * re-read and must still be where the plan saw it (or already at its end
 * rows: another replica did the work), else the stage stops.
 *
 * Nothing here prints; events go to a callback.
 */

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "migsync/error.h"
#include "migsync/inventory.h"
#include "migsync/ledger.h"
#include "migsync/plan.h"
#include "migsync/revgraph.h"
#include "migsync/status.h"

enum apply_event_kind {
	APPLY_EVENT_HOOK,	/* before_apply starts; detail: the command */
	APPLY_EVENT_LOCK,	/* waiting for the lock of a database */
	APPLY_EVENT_STEP,	/* a step starts */
	APPLY_EVENT_STEP_DONE,	/* a step finished (elapsed_ms) */
	APPLY_EVENT_SKIP,	/* a database is already at its end rows; detail: NULL when another
				   run got it there after the read, else why it is skipped */
	APPLY_EVENT_OUTPUT,	/* a line of executor output (Alembic, notices) */
	APPLY_EVENT_WAIT,	/* a database does not accept connections yet (connect_wait_ms);
				   detail: why, elapsed_ms: waited so far */
};

struct apply_event {
	enum apply_event_kind kind;
	const char *environment;
	const char *database;		/* describe string: safe to print */
	size_t db_index, db_nr;
	size_t step_index, step_nr;	/* 0-based index, count (steps of this database) */
	const char *revision;
	bool up;
	const char *detail;
	int64_t elapsed_ms;
};

enum apply_outcome {
	APPLY_NOTHING,		/* already at the target */
	APPLY_DONE,		/* applied and verified */
	APPLY_DRY_RUN,		/* would apply; nothing changed */
	APPLY_GATED,		/* the gate is closed: waiting for approval or soak */
	APPLY_DECLINED,		/* the confirmation was refused */
	APPLY_FAILED,		/* err says why */
};

struct apply_options {
	const struct inventory *inv;
	const struct revgraph *g;
	const struct plan_target *target;	/* resolved once: ident for paths and Alembic, ids for the hash */
	bool up;			/* apply (true) or downgrade */
	bool dry_run;
	bool allow_out_of_order;
	const char *who;
	const char *host;
	volatile sig_atomic_t *cancel;	/* set from a signal handler; may be NULL */
	/*
	 * How long to keep trying, with backoff, to reach a database that
	 * does not answer or is starting up (or shutting down), in ms, each
	 * time a stage connects; 0: one try. Refusals (authentication, no
	 * such database) are never retried. Not used for the previous
	 * stage's read (the order check).
	 */
	int64_t connect_wait_ms;
	/*
	 * How many databases of a fleet apply_read_stage reads at once, each
	 * on its own connection (0: min(POOL_DEFAULT_JOBS_MAX, databases)).
	 */
	unsigned jobs;
	/* lock_wait_set: wait lock_wait_ms for the lock instead of database.lock_wait */
	bool lock_wait_set;
	int64_t lock_wait_ms;
	void (*event)(const struct apply_event *ev, void *ctx);
	/*
	 * Called for a gated stage whose gate passed, before anything
	 * changes; returns true to go on. NULL: go on.
	 */
	bool (*confirm)(const struct plan_stage *st, void *ctx);
	void *ctx;
	/* the safety review's findings: a stage with unallowed ones needs gate.risky_approvals */
	const struct safety_list *safety;
};

/* All options off: no callbacks, one connection try, the environment's lock_wait. */
void apply_options_init(struct apply_options *o);

/*
 * Read one stage: every target database of env (connect, identity,
 * version rows, in-progress ledger rows; no lock), then plan each
 * database to o->target and compute the hash. The databases of a fleet
 * are read in parallel (o->jobs workers of pool_run, one
 * connection each; o->event is then called from the workers, one call at
 * a time); st->dbs keeps db_targets_expand order. A database that cannot
 * be read gets db->error and no steps (the stage is then not runnable).
 * Returns 0, or a negative code when the environment could not even be
 * expanded (err set; st->error too).
 */
int apply_read_stage(struct plan_stage *st, const struct environment *env,
		     const struct apply_options *o, struct ms_error *err);

/*
 * The order check and the gate of st against prev (the environment just
 * before in rollout order, read with apply_read_stage or NULL for the
 * first environment): plan_stage_check (plan.h) with the wall clock and,
 * for a soak, the previous stage's ledger read through its databases.
 * prev_planned: take prev's end rows (it runs first in the same plan)
 * rather than its rows now. Fills st->gate, st->order_*, st->previous.
 * Returns 0 or a negative code when the ledger could not be read.
 */
int apply_check_stage(struct plan_stage *st, const struct plan_stage *prev,
		      bool prev_planned, const struct apply_options *o,
		      struct ms_error *err);

/*
 * Build the whole plan for the environments envs[0..nr) (rollout order):
 * plan_build (plan.h) with apply_read_stage as the plan_source's read.
 * p->target must be filled by the caller.
 */
int apply_build_plan(struct plan *p, const struct environment *const *envs, size_t nr,
		     const struct apply_options *o, struct ms_error *err);

/*
 * Run one stage (see the top of this file). *st is (re)filled with what
 * was read under the lock. Returns the outcome; APPLY_FAILED and
 * APPLY_GATED come with err set (for APPLY_GATED: why, and a hint with
 * the `migsync approve` command that would unblock it).
 */
enum apply_outcome apply_stage_run(struct plan_stage *st, const struct environment *env,
				   const struct apply_options *o, struct ms_error *err);

struct db_target;
struct executor;
/*
 * The part of a stage that runs under one database's lock (st->dbs[index],
 * target t), through executor x (executor.h): when now (the version rows
 * read under the lock) is given, it must equal the rows the plan saw (or
 * its end rows: another run did the work, APPLY_NOTHING with a skip
 * event; anything else fails); then each step (announced by events,
 * checked for a cancel first) or the whole run, then the version rows
 * verified against the plan's end rows. Returns APPLY_DONE,
 * APPLY_NOTHING (no steps, or skipped) or APPLY_FAILED with err set.
 */
enum apply_outcome apply_db_run(struct executor *x, struct plan_stage *st, size_t index,
				const struct strvec *now, const struct db_target *t,
				const struct apply_options *o, struct ms_error *err);

/*
 * Run env->before_apply with /bin/sh in the inventory's directory, with
 * MIGSYNC_ENVIRONMENT set and its standard output sent to standard error
 * (stdout is for migsync's data). A command that exits non-zero or dies
 * is MS_ERR_GENERIC.
 */
int apply_before_hook(const struct environment *env, const struct inventory *inv,
		      struct ms_error *err);

/*
 * Mark an in-progress step as resolved on every target database of env
 * that has revision in progress: applied (the version rows are moved as
 * the step would have moved them, recorded) or rolled back (rows left as
 * they are). *resolved counts the databases changed. Under the lock.
 */
int apply_resolve(size_t *resolved, const struct environment *env, const char *revision,
		  bool applied, const struct apply_options *o, struct ms_error *err);

/*
 * Stamping (`migsync stamp`, `migsync consolidate --stamp`): change only
 * the version table of every database of an environment, as `alembic
 * stamp` does, but as a compare-and-swap. A stamp is read like a stage
 * (st->dbs[i].rows: the rows now; end_rows: to; no steps), gated like one
 * (approvals for exactly its hash; no soak and no rollout-order check:
 * nothing but the version table changes), and run database by database
 * under the advisory lock with exec_stamp, which records it in the
 * ledger as "stamped" with the stamp's hash (plan_stamp_hash, plan.h).
 */

/*
 * Read a stamp of env to the rows to (sorted; empty: "base"): every
 * target database's identity, version rows and in-progress ledger rows
 * (no lock), the approvals from the first one, then the hash and the
 * gate (st->gate). A database that cannot be read gets db->error.
 * Returns 0, or a negative code when env could not be expanded or its
 * approvals not read (err set).
 */
int apply_stamp_read(struct plan_stage *st, const struct environment *env,
		     const struct strvec *to, const struct apply_options *o,
		     struct ms_error *err);

/*
 * Run a stamp of env to the rows to. expect: the rows every database
 * must hold (sorted); NULL: each database's rows as read before taking
 * its lock. Read (apply_stamp_read); a database already at to is left
 * alone (APPLY_NOTHING when all are); one whose rows are neither expect
 * nor to, or that has a step in progress, fails the stamp before
 * anything changes (MS_ERR_DB); then the gate (APPLY_GATED), o->dry_run
 * (APPLY_DRY_RUN), o->confirm (APPLY_DECLINED); then each database in
 * turn: lock, re-read (it must still hold what the hash covered, else
 * MS_ERR_DB), exec_stamp, verify, unlock. o->target and o->up are not
 * used; before_apply is not run (no schema changes).
 */
enum apply_outcome apply_stamp_run(struct plan_stage *st, const struct environment *env,
				   const struct strvec *expect, const struct strvec *to,
				   const struct apply_options *o, struct ms_error *err);

/*
 * Rehashing (`migsync rehash`, Flyway's repair): a revision file changed
 * after it was applied, on purpose (a comment, a fix that changes
 * nothing in the schema), and the ledger is to take its new SHA-256 so
 * that status and check stop reporting the mismatch. Read like a stamp
 * (st->dbs[i]: identity, rows, in-progress rows; no steps) plus, in
 * rh->old.items[i], the hash dbs[i]'s ledger holds for the revision when
 * it is not the file's (the rule of status and check), "" when it holds
 * the file's or none; hashed with plan_rehash_hash and gated like a stamp
 * (approvals for exactly its hash, no soak, no order). Each database
 * with an old hash gets, under its lock and only while its ledger still
 * holds that hash, a ledger entry "rehashed" with the old and the new
 * hash, the reason, who and where. Nothing else changes.
 */
struct apply_rehash {
	const char *revision;		/* borrowed */
	const char *sha256;		/* the file's SHA-256 now, borrowed */
	const char *reason;		/* kept in the ledger; borrowed */
	struct strvec old;		/* per database of the stage, see above */
};

void apply_rehash_init(struct apply_rehash *rh, const char *revision, const char *sha256,
		       const char *reason);
void apply_rehash_release(struct apply_rehash *rh);

/*
 * Read a rehash of env (every target database, the approvals from the
 * first), then its hash and gate (st->gate). A database that cannot be
 * read gets db->error. o->g must be set. Returns 0, or a negative code
 * when env could not be expanded (err set).
 */
int apply_rehash_read(struct plan_stage *st, struct apply_rehash *rh,
		      const struct environment *env, const struct apply_options *o,
		      struct ms_error *err);

/*
 * Run a rehash: read (apply_rehash_read); APPLY_NOTHING when no database
 * holds another hash; a database that cannot be read or has a step in
 * progress fails it before anything changes; then the gate
 * (APPLY_GATED), o->dry_run (APPLY_DRY_RUN), o->confirm
 * (APPLY_DECLINED); then each database with an old hash in turn: lock,
 * re-read (its ledger must still hold that hash, else MS_ERR_DB),
 * record, unlock.
 */
enum apply_outcome apply_rehash_run(struct plan_stage *st, struct apply_rehash *rh,
				    const struct environment *env, const struct apply_options *o,
				    struct ms_error *err);

struct squash_dbs;
/*
 * What consolidate judges (squash.h): every environment of inv expanded
 * to its databases, in inventory order, each read by observe_run jobs at
 * a time (0: min(16, databases)): its schema with the version rows, its
 * ledger and, for an environment's first database, the approvals. An
 * environment that cannot be expanded or has none, and a database that
 * cannot be read, are appended with their error (out->items[i].err) and
 * no snapshot. out is initialized by the caller. Returns 0, or a negative
 * code when the reads could not be run at all (err set).
 */
int apply_consolidate_read(struct squash_dbs *out, const struct inventory *inv, unsigned jobs,
			   struct ms_error *err);

#endif
