#ifndef MIGSYNC_PLAN_H
#define MIGSYNC_PLAN_H

/*
 * Staged plans, plan hashes, rollout order and gates: the pure core of
 * `migsync plan`, `approve` and `apply`. Plain values in (the graph, the
 * version rows read from each database, the approvals read from the
 * ledger), plain values out; nothing here opens a connection or prints.
 *
 * A plan has one stage per environment, in rollout order. A stage holds
 * one entry per target database of the environment (one, or a fleet),
 * each with its version rows now, its steps and its version rows after
 * the steps.
 *
 * Plan hash (plan_hash_stage): SHA-256 over a canonical, length-prefixed
 * text made of
 *   - the environment's name,
 *   - the target's revision ids (sorted),
 *   - for every database, sorted by identity: its identity
 *     (db_identity()), its current version rows (sorted), and for each
 *     step in apply order its revision id, direction and the SHA-256 of
 *     its file.
 * Anything that changes the plan (a script edited, a revision added, a
 * database that moved, another database) changes the hash and voids an
 * approval given for the old one.
 *
 * Rollout order (plan_order_check): a stage may not go past what the
 * stage before it holds. Precisely: every revision of the stage's end
 * state (the ancestors of the version rows each of its databases will
 * have after the plan, union over the databases) must be held by every
 * database of the previous stage (the ancestors of its version rows,
 * intersection over its databases). The previous stage is the
 * environment just before in rollout order; its rows are its planned end
 * rows when it is part of the same plan, else the rows read from it now.
 * A stage without steps is never an order violation: it moves nothing.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "migsync/error.h"
#include "migsync/inventory.h"
#include "migsync/revgraph.h"
#include "migsync/scripts.h"
#include "migsync/sha256.h"
#include "migsync/util.h"

struct safety_list;

/* Read from the ledger (ledger.h); here only through pointers. */
struct approval;
struct ledger_entry;

/* One step of a database's plan. */
struct plan_step {
	struct revgraph_step step;	/* node, direction, version-row change (owned) */
	const struct script *script;	/* borrowed from the script_set; NULL in tests */
	const char *revision;		/* borrowed: == script->revision */
	const char *sha256;		/* borrowed: == script->sha256 */
};

/* One target database of a stage and what the plan does to it. */
struct plan_db {
	char *dbname;
	char *describe;			/* safe to print */
	char *identity;			/* db_identity(); NULL when not read */
	char *error;			/* could not be read (message scrubbed), or NULL */
	bool has_version_table;
	struct strvec rows;		/* version rows now, sorted */
	struct strvec end_rows;		/* version rows after the steps, sorted */
	struct plan_step *steps;
	size_t steps_nr;
	size_t steps_alloc;
	/* revisions a `transaction false` step left "in progress" in the ledger */
	struct strvec in_progress;
};

void plan_db_init(struct plan_db *db);
void plan_db_release(struct plan_db *db);

/*
 * Fill db->steps and db->end_rows from db->rows for target (an identifier
 * revgraph_upgrade_path / revgraph_downgrade_path accepts): an upgrade
 * when up, else a downgrade. Steps of an upgrade that would downgrade and
 * the reverse never occur (those functions do not mix them). scripts of g
 * are borrowed. Returns 0 or a negative code with err set.
 */
int plan_db_compute(struct plan_db *db, const struct revgraph *g, const char *target,
		    bool up, struct ms_error *err);

/* Append a step by hand (tests, and executors that report what moved). */
struct plan_step *plan_db_add_step(struct plan_db *db, const char *revision,
				   const char *sha256, bool up);

/* The approvals a stage's gate counted and why the others did not. */
struct gate_result {
	bool passed;
	bool gated;			/* the gate asks for anything at all */
	int needed;			/* distinct approvers needed */
	struct strvec approved_by;	/* approvers that counted, sorted, distinct */
	struct strvec notes;		/* one line each: why an approval or soak did not count */
	int64_t soak;			/* seconds asked, 0: none */
	int64_t soak_remaining;		/* seconds still to wait, 0 when satisfied */
	bool soak_unknown;		/* the previous stage's ledger cannot say since when */
	size_t risky;			/* safety findings of the steps that no comment allows */
};

void gate_result_init(struct gate_result *r);
void gate_result_release(struct gate_result *r);

/* What a gate is judged on. */
struct gate_input {
	const struct inventory_gate *gate;
	const char *environment;
	const char *plan_hash;
	const struct approval *approvals;
	size_t approvals_nr;
	int64_t now_ms;
	/*
	 * Soak: whether there is a previous stage at all, and since when it
	 * holds the stage's target (Unix ms; the latest time any revision
	 * of the stage's steps reached it, from its ledger).
	 * held_since_known false: the ledger cannot say.
	 * previous: its name, for the notes (may be NULL).
	 * previous_planned: it only gets the target in the same run, so
	 * the soak starts then (held_since_ms is now).
	 */
	const char *previous;
	bool previous_planned;
	bool has_previous;
	bool held_since_known;
	int64_t held_since_ms;
	/*
	 * Safety findings no comment allows among the stage's steps: then
	 * gate->risky_approvals (when larger) distinct approvers are needed.
	 */
	size_t risky;
};

/*
 * Evaluate a gate. An approval counts when it is for exactly this plan
 * hash and environment, is not expired at now_ms, and its approver is on
 * the allow-list (when there is one); each approver counts once. The gate
 * passes when at least gate->approvals distinct approvers count and the
 * soak is satisfied (no previous stage satisfies it). approvals: 0 and no
 * soak pass without anything. A risky stage (in->risky) needs
 * max(approvals, risky_approvals). *out is released first.
 */
void gate_evaluate(struct gate_result *out, const struct gate_input *in);

/*
 * Where an approval stands, as `migsync approvals` shows it, the first
 * that applies: revoked (withdrawn with `approve --revoke`), used (a
 * step ran under its plan hash), expired, stale (not the plan now:
 * the plan changed since, or it is a plan of another kind), valid.
 */
enum approval_state {
	APPROVAL_VALID,
	APPROVAL_STALE,
	APPROVAL_EXPIRED,
	APPROVAL_USED,
	APPROVAL_REVOKED,
};

/* "valid", "stale", "expired", "used", "revoked". */
const char *approval_state_name(enum approval_state s);

/*
 * The state of a at now_ms. entries: the ledger of the database the
 * approvals were read from (a step recorded with the approval's plan
 * hash that applied, stamped or rehashed makes it used); plan_now: the
 * hash of the environment's plan now, NULL when it could not be made
 * (then nothing is stale).
 */
enum approval_state approval_state_of(const struct approval *a, const char *plan_now,
				      const struct ledger_entry *entries, size_t entries_nr,
				      int64_t now_ms);

/* One stage of a plan: one environment. */
struct plan_stage {
	const struct environment *env;	/* borrowed from the inventory */
	struct plan_db *dbs;		/* in db_targets_expand order */
	size_t dbs_nr;
	size_t dbs_alloc;
	char plan_hash[SHA256_HEX_LEN + 1];
	struct approval *approvals;	/* read from the first database's ledger (owned) */
	size_t approvals_nr;
	struct gate_result gate;
	/* order check against the previous stage */
	char *previous;			/* the previous environment's name, or NULL */
	struct strvec order_missing;	/* end-state revisions the previous stage lacks */
	char *order_error;		/* violation or "cannot verify" line, or NULL */
	bool out_of_order_allowed;	/* the violation was overridden (--allow-out-of-order) */
	char *error;			/* the stage could not be planned, or NULL */
};

/*
 * The target of a promotion, resolved once (when the project is loaded)
 * and handed down as is: to the planner and the executors (ident), to
 * the plan hash (ids), to the commands printed back to the user (given).
 */
struct plan_target {
	char *ident;		/* for revgraph_*_path and Alembic: exact ids when --to names
				   several, else as given ("heads" by default; -N for a downgrade) */
	struct strvec ids;	/* resolved revision ids, sorted; a downgrade: ident itself */
	char *given;		/* --to as the user wrote it, or NULL */
};

void plan_target_init(struct plan_target *t);
void plan_target_release(struct plan_target *t);
/*
 * Resolve to (NULL: the heads) against g into *t (released first). up:
 * one target for every database, so relative identifiers are refused;
 * a downgrade keeps to as it is (it is resolved per database).
 */
int plan_target_resolve(struct plan_target *t, const struct revgraph *g, const char *to,
			bool up, struct ms_error *err);

struct plan {
	struct strvec target;		/* the target's revision ids, sorted */
	char *target_ident;		/* as given ("heads" by default) */
	struct plan_stage *stages;
	size_t nr;
	size_t alloc;
};

void plan_init(struct plan *p);
void plan_release(struct plan *p);
struct plan_stage *plan_add_stage(struct plan *p, const struct environment *env);
struct plan_db *plan_stage_add_db(struct plan_stage *st);
/* An empty stage of env (may be NULL: filled by a read). */
void plan_stage_init(struct plan_stage *st, const struct environment *env);
/* Free a stage's contents; it is left empty (env NULL). */
void plan_stage_release(struct plan_stage *st);

/* Number of steps of all databases of a stage. */
size_t plan_stage_steps(const struct plan_stage *st);

/*
 * Compute st->plan_hash over environment, target ids, and every database
 * (sorted by identity, NULL identities as ""): identity, rows, steps.
 */
void plan_hash_stage(struct plan_stage *st, const struct strvec *target);

/* The same hash for given parts (st->env may be NULL here). */
void plan_hash_compute(char out[SHA256_HEX_LEN + 1], const char *environment,
		       const struct strvec *target, const struct plan_db *dbs, size_t nr);

/*
 * Stamp hash (for `migsync stamp`): SHA-256 over a text that starts
 * with "migsync stamp v1" (a plan hash's starts with "migsync plan v1",
 * so an approval of one is never an approval of the other), then the
 * environment, the rows after (sorted) each with the SHA-256 of its file
 * ("" when the graph does not know it), and every database sorted by
 * identity with its identity and its rows now (sorted).
 */
void plan_stamp_hash(char out[SHA256_HEX_LEN + 1], const char *environment,
		     const struct revgraph *g, const struct strvec *to,
		     const struct plan_db *dbs, size_t nr);

/*
 * Rehash hash (for `migsync rehash`): SHA-256 over a text that starts
 * with "migsync rehash v1", then the environment, the revision, the new
 * SHA-256 of its file, and every database (sorted) with its identity and
 * the hash its ledger holds now (old->items[i] for dbs[i]; "" for none).
 */
void plan_rehash_hash(char out[SHA256_HEX_LEN + 1], const char *environment,
		      const char *revision, const char *sha256, const struct plan_db *dbs,
		      const struct strvec *old, size_t nr);


/*
 * Rollout order check of one stage (see the top of this file).
 * prev_rows: the version rows of each database of the previous stage
 * (prev_nr of them); end_rows: the version rows each database of the
 * stage will have (end_nr of them). Version rows the graph does not know
 * are ignored. missing receives the end-state revisions some previous
 * database lacks, in topological order. Returns true when none is
 * missing. prev_nr == 0 is "nothing to compare with": true.
 */
bool plan_order_check(struct strvec *missing, const struct revgraph *g,
		      const struct strvec *prev_rows, size_t prev_nr,
		      const struct strvec *end_rows, size_t end_nr);

/*
 * Version rows (sorted, as struct plan_db holds them; compare them with
 * strvec_equal). As text: joined with sep, "(none)" when empty.
 * The messages of src/apply join with " " (and the ledger's rows_after
 * is written so, see plan_rows_parse); the promotion commands print ","
 * (an inconsistency kept as it is: both are part of the output).
 */
struct strbuf;
void plan_rows_add(struct strbuf *sb, const struct strvec *rows, const char *sep);
/* The same into a string of its own; caller frees. */
char *plan_rows_text(const struct strvec *rows, const char *sep);
/* Append the rows of "a b c" (space-separated, as the ledger's rows_after) to out, sorted. */
void plan_rows_parse(struct strvec *out, const char *s);

/*
 * Where the databases of a plan come from: the caller reads them (src/apply
 * connects; a test fakes it), so that checking and building a plan is a
 * pure computation.
 */
struct plan_source {
	/*
	 * Read env's stage into st (released first): every database's
	 * identity, rows, in-progress rows, steps to the target and the
	 * plan hash, the approvals. A database that cannot be read gets
	 * db->error; an environment that cannot be expanded st->error.
	 */
	void (*read)(struct plan_stage *st, const struct environment *env, void *ctx);
	/*
	 * Since when (Unix ms) every database of env holds every revision
	 * of revs: the latest time its ledger recorded one of them.
	 * *known false: some revision is not recorded. Returns 0 or a
	 * negative code with err set.
	 */
	int (*held_since)(bool *known, int64_t *since_ms, const struct environment *env,
			  const struct strvec *revs, void *ctx, struct ms_error *err);
	void *ctx;
};

struct plan_check_options {
	const struct revgraph *g;
	bool up;			/* an upgrade: the order rule and the soak apply */
	bool allow_out_of_order;	/* a violation is recorded as overridden */
	int64_t now_ms;			/* Unix ms, for approval expiry and the soak */
	/* the safety review's findings (safety.h), for risky_approvals; NULL: none */
	const struct safety_list *safety;
};

/*
 * The order check and the gate of st against prev (the environment just
 * before in rollout order, or NULL for the first one). prev_planned:
 * take prev's end rows (it runs first in the same plan) rather than its
 * rows now. For a soak, asks src->held_since about prev. Fills st->gate,
 * st->order_*, st->previous. Returns 0 or a negative code from
 * src->held_since.
 */
int plan_stage_check(struct plan_stage *st, const struct plan_stage *prev, bool prev_planned,
		     const struct plan_check_options *co, const struct plan_source *src,
		     struct ms_error *err);

/*
 * Build the plan for envs[0..nr) (rollout order, environments of inv):
 * each read with src->read and checked with plan_stage_check; the
 * environment before a selected one that is not itself selected is read
 * for the order check. p->target must be filled by the caller.
 */
int plan_build(struct plan *p, const struct inventory *inv,
	       const struct environment *const *envs, size_t nr,
	       const struct plan_check_options *co, const struct plan_source *src,
	       struct ms_error *err);

/*
 * The safety findings no comment allows among the upgrade steps of st
 * (each revision counted once): what makes a stage risky.
 */
size_t plan_stage_risky(const struct plan_stage *st, const struct safety_list *safety);

/* Append every revision st's steps bring (each once) to out. */
void plan_stage_revisions(struct strvec *out, const struct plan_stage *st);

/* True when s is 64 lowercase or uppercase hex digits. */
bool plan_hash_valid(const char *s);

/* A revision whose file changed after it was applied. */
struct checksum_mismatch {
	char *revision;
	char *file;		/* the file as it is now */
	char *applied_sha256;	/* in the ledger */
	char *file_sha256;	/* of the file now */
	int64_t applied_at_ms;
};

void checksum_mismatches_free(struct checksum_mismatch *list, size_t nr);

/*
 * Compare the ledger with the scripts: for every revision the database
 * holds (an ancestor of rows; every revision of the ledger when rows is
 * NULL) whose latest upward "applied" (or "resolved applied") entry is not
 * undone by a later applied downgrade, the entry's SHA-256 against the
 * script's (scripts read with SCRIPTS_SHA256). Revisions the graph does
 * not know and entries without a SHA-256 are skipped. *out (sorted by
 * revision) belongs to the caller.
 */
void plan_checksum_compare(struct checksum_mismatch **out, size_t *nr,
			   const struct revgraph *g, const struct ledger_entry *entries,
			   size_t entries_nr, const struct strvec *rows);


#endif
