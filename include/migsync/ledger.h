#ifndef MIGSYNC_LEDGER_H
#define MIGSYNC_LEDGER_H

/*
 * migsync's ledger, kept in its own schema (default "migsync") in every
 * target database, created on first use:
 *
 *   SCHEMA.applied    one row per applied, failed or in-progress step:
 *                     revision, direction, file SHA-256, plan hash, who,
 *                     host, environment, started_at, duration, outcome,
 *                     error, transactional, executor, version rows after
 *   SCHEMA.approvals  plan hash, environment, approver, comment,
 *                     created_at, expires_at
 *
 * Also the per-database advisory lock that serializes migsync runs.
 * All functions take a connection the caller owns; none of them opens or
 * commits a transaction unless it says so.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "migsync/error.h"
#include "migsync/strbuf.h"
#include "migsync/util.h"

/* libpq's PGconn and PGresult; only pointers here, so that readers of the types need no libpq. */
struct pg_conn;
struct pg_result;

#define LEDGER_DEFAULT_SCHEMA "migsync"

/*
 * The advisory lock keys are pairs (namespace, hashtext(current_database())):
 * the two-int4 form, whose keys never collide with the bigint form most
 * applications use. LEDGER_LOCK_NAMESPACE serializes migsync runs;
 * LEDGER_ENSURE_NAMESPACE (a transaction lock) serializes the creation
 * of the ledger, so that creating it never waits for a running migration.
 */
#define LEDGER_LOCK_NAMESPACE 1836280939	/* 0x6d736c6b, "mslk"; decimal: it goes into SQL */
#define LEDGER_ENSURE_NAMESPACE 1836280933	/* 0x6d736c65, "msle" */

enum ledger_outcome {
	LEDGER_IN_PROGRESS,	/* started, not finished: a crash leaves this */
	LEDGER_APPLIED,
	LEDGER_FAILED,		/* rolled back (transactional) or stopped */
	LEDGER_RESOLVED_APPLIED,	/* operator said: it did apply */
	LEDGER_RESOLVED_ROLLED_BACK,	/* operator said: it did not */
	LEDGER_STAMPED,		/* version table changed without running the revision */
	LEDGER_REHASHED,	/* the file's new SHA-256 accepted (migsync rehash); nothing ran */
};

/* "in_progress", "applied", "failed", "resolved_applied", "resolved_rolled_back", "stamped", "rehashed": as stored. */
const char *ledger_outcome_name(enum ledger_outcome o);
/* The outcome stored as name; -1 when name is none of them. */
int ledger_outcome_parse(enum ledger_outcome *o, const char *name);

struct ledger_entry {
	int64_t id;
	char *revision;
	bool up;			/* direction */
	char *sha256;			/* of the revision file, hex */
	char *plan_hash;
	char *who;			/* $USER or --by */
	char *host;			/* the machine migsync ran on */
	char *environment;
	int64_t started_at_ms;		/* Unix time, milliseconds */
	int64_t duration_ms;
	enum ledger_outcome outcome;
	char *error;			/* NULL unless failed */
	bool transactional;
	char *executor;			/* "sql" or "alembic" */
	char *rows_after;		/* version rows after the step, sorted, space separated */
	char *note;			/* why (rehash: the reason given), or NULL */
	char *previous_sha256;		/* rehash: the SHA-256 recorded before, or NULL */
	char *target_schema;		/* the tenant schema the row belongs to, or NULL */
};

void ledger_entry_init(struct ledger_entry *e);
void ledger_entry_release(struct ledger_entry *e);
void ledger_entries_free(struct ledger_entry *entries, size_t nr);

struct approval {
	int64_t id;
	char *plan_hash;
	char *environment;
	char *approver;
	char *comment;
	int64_t created_at_ms;
	int64_t expires_at_ms;		/* 0: never */
	int64_t revoked_at_ms;		/* 0: not revoked */
	char *revoked_by;
	char *revoke_reason;
};

void approval_init(struct approval *a);
void approval_release(struct approval *a);
void approvals_free(struct approval *list, size_t nr);

/*
 * Create the schema and its tables if missing. Safe when several
 * processes do it at once (a failure because another created it first is
 * not an error). Runs in its own transaction, so conn must not be inside
 * one; does nothing (and needs no CREATE privilege) when both tables are
 * there. schema NULL: LEDGER_DEFAULT_SCHEMA (likewise below).
 *
 *   SCHEMA.applied (id bigserial primary key, revision text, direction
 *     text 'up'|'down', sha256 text, plan_hash text, who text, host text,
 *     environment text, started_at timestamptz, duration_ms bigint,
 *     outcome text (ledger_outcome_name), error text, transactional
 *     boolean, executor text, rows_after text)
 *   SCHEMA.approvals (id bigserial primary key, plan_hash text,
 *     environment text, approver text, comment text, created_at
 *     timestamptz, expires_at timestamptz NULL)
 *
 * Added later (and added to an older ledger here, ALTER TABLE ... ADD
 * COLUMN IF NOT EXISTS): applied.note text, applied.previous_sha256
 * text (rehash), approvals.revoked_at timestamptz, revoked_by text,
 * revoke_reason text. Readers do not need them: a ledger without them
 * reads as one where nothing was revoked or rehashed.
 */
int ledger_ensure(struct pg_conn *conn, const char *schema, struct ms_error *err);

/* Whether SCHEMA.applied exists (read-only; no creation). */
int ledger_exists(struct pg_conn *conn, const char *schema, bool *exists, struct ms_error *err);

/*
 * Insert an entry (e->id is ignored and set to the new row's id;
 * started_at_ms 0 means now, and is then set to the time recorded). Runs in
 * whatever transaction the caller has open: inside the revision's own
 * transaction for an atomic "applied" record, or in autocommit for an
 * "in progress" record written before a non-transactional revision.
 */
int ledger_insert(struct pg_conn *conn, const char *schema, struct ledger_entry *e,
		  struct ms_error *err);

/*
 * ledger_insert in two halves, for a caller that sends it together with
 * other statements in libpq pipeline mode: _send queues the INSERT
 * (PQsendQueryParams; the caller syncs and flushes), _result takes its
 * PGresult (not cleared) and sets e->id and e->started_at_ms as
 * ledger_insert does. Both return 0 or MS_ERR_DB (MS_ERR_CONFIG: the
 * schema name cannot be quoted), err set.
 */
int ledger_insert_send(struct pg_conn *conn, const char *schema, const struct ledger_entry *e,
		       struct ms_error *err);
int ledger_insert_result(struct ledger_entry *e, struct pg_conn *conn, const char *schema,
			 const struct pg_result *res, struct ms_error *err);

/* Set outcome, duration and error of the row with this id (MS_ERR_NOTFOUND: no such row). */
int ledger_finish(struct pg_conn *conn, const char *schema, int64_t id,
		  enum ledger_outcome outcome, int64_t duration_ms,
		  const char *error, struct ms_error *err);

/*
 * Every entry of the connection's target (its database's own, or its
 * tenant schema's: DB_TARGET_SCHEMA_SETTING), oldest first (limit N: the
 * newest N, still oldest first).
 */
int ledger_list(struct ledger_entry **out, size_t *nr, struct pg_conn *conn,
		const char *schema, size_t limit, struct ms_error *err);

/*
 * Every entry of the database's ledger whichever target it belongs to:
 * its own and those of all its tenant schemas (ledger_list keeps the
 * connection's target's), oldest first, each with its target_schema;
 * limit as for ledger_list. For what is judged over a whole database:
 * whether an approval of a fleet's transition was used, which earlier
 * plan a hash was.
 */
int ledger_list_database(struct ledger_entry **out, size_t *nr, struct pg_conn *conn,
			 const char *schema, size_t limit, struct ms_error *err);

/*
 * For a reader that sends the query itself (the probe, with its own
 * deadline): append to sql one SELECT of the entries still
 * LEDGER_IN_PROGRESS, oldest first, with no parameters; the ledger must
 * exist. ledger_entries_parse turns its result (or that of any entry
 * query of this file) into entries (*out belongs to the caller).
 */
int ledger_in_progress_select(struct strbuf *sql, struct pg_conn *conn, const char *schema,
			      struct ms_error *err);
void ledger_entries_parse(struct ledger_entry **out, size_t *nr, const struct pg_result *res);

/* Entries still LEDGER_IN_PROGRESS (a crashed non-transactional revision). */
int ledger_in_progress(struct ledger_entry **out, size_t *nr, struct pg_conn *conn,
		       const char *schema, struct ms_error *err);

/*
 * When revision was first applied (or stamped) upward here and not rolled
 * back since: the end (started_at + duration) of the upward step that
 * began the current run of it being applied, as Unix milliseconds. A
 * downward step that applied (or was stamped, or resolved as applied)
 * ends a run; failed, rolled back and in-progress steps count for
 * nothing. *found false when the ledger has no such record (or no
 * ledger exists).
 */
int ledger_applied_at(int64_t *at_ms, bool *found, struct pg_conn *conn, const char *schema,
		      const char *revision, struct ms_error *err);

/*
 * Record an approval (a->id is set; created_at_ms 0 means now, and is
 * then set to the time recorded; expires_at_ms 0 stores NULL).
 */
int ledger_approve(struct pg_conn *conn, const char *schema, struct approval *a,
		   struct ms_error *err);
/* All approvals recorded for environment, oldest first (none when no ledger exists). */
int ledger_approvals(struct approval **out, size_t *nr, struct pg_conn *conn,
		     const char *schema, const char *environment, struct ms_error *err);

/*
 * Revoke the approvals of environment whose plan hash starts with
 * plan_hash (case-insensitive) and that are not revoked yet: the rows
 * stay, with revoked_at (at_ms; 0: now), revoked_by and revoke_reason
 * (may be NULL) set. *revoked: how many. The ledger must be current
 * (ledger_ensure).
 */
int ledger_revoke(int64_t *revoked, struct pg_conn *conn, const char *schema,
		  const char *environment, const char *plan_hash, const char *by,
		  const char *reason, int64_t at_ms, struct ms_error *err);

/*
 * Record that revision's file has a new SHA-256 (migsync rehash): an
 * upward entry of outcome LEDGER_REHASHED with e->sha256 (the new hash),
 * e->previous_sha256, e->note (the reason), plan_hash, who, host,
 * environment, executor; e->id and e->started_at_ms are set. Nothing
 * ran: duration 0. The ledger must be current (ledger_ensure).
 */
int ledger_insert_rehash(struct pg_conn *conn, const char *schema, struct ledger_entry *e,
			 struct ms_error *err);

/*
 * The session advisory lock serializing migsync on one database. Waits at
 * most wait_ms, polling pg_try_advisory_lock so that a waiter never holds
 * a lock queue entry that could block a migration's own DDL. stop (may be
 * NULL) is polled between tries; a non-zero return abandons the wait.
 * Returns MS_ERR_DB with "timed out waiting for the lock ..." after
 * wait_ms (the hint names the session holding it), MS_ERR_GENERIC with
 * "stopped waiting for the lock" when stop said so. The lock belongs to
 * the session: it outlives transactions and is released by
 * ledger_unlock or when the connection closes. Taking it again on the
 * same connection succeeds and must be matched by another unlock.
 */
int ledger_lock(struct pg_conn *conn, int64_t wait_ms, int (*stop)(void *), void *stop_ctx,
		struct ms_error *err);
/* Release the lock; MS_ERR_DB when this session did not hold it (no server WARNING). */
int ledger_unlock(struct pg_conn *conn, struct ms_error *err);

#endif
