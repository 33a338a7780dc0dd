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

#include <libpq-fe.h>

#include "migsync/error.h"
#include "migsync/util.h"

#define LEDGER_DEFAULT_SCHEMA "migsync"

enum ledger_outcome {
	LEDGER_IN_PROGRESS,	/* started, not finished: a crash leaves this */
	LEDGER_APPLIED,
	LEDGER_FAILED,		/* rolled back (transactional) or stopped */
	LEDGER_RESOLVED_APPLIED,	/* operator said: it did apply */
	LEDGER_RESOLVED_ROLLED_BACK,	/* operator said: it did not */
	LEDGER_STAMPED,		/* version table changed without running the revision */
};

const char *ledger_outcome_name(enum ledger_outcome o);

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
};

void approval_init(struct approval *a);
void approval_release(struct approval *a);
void approvals_free(struct approval *list, size_t nr);

/*
 * Create the schema and its tables if missing. Safe when several
 * processes do it at once (a failure because another created it first is
 * not an error). Runs in its own transaction.
 */
int ledger_ensure(PGconn *conn, const char *schema, struct ms_error *err);

/* Whether SCHEMA.applied exists (read-only; no creation). */
int ledger_exists(PGconn *conn, const char *schema, bool *exists, struct ms_error *err);

/*
 * Insert an entry (e->id is ignored and set to the new row's id). Runs in
 * whatever transaction the caller has open: inside the revision's own
 * transaction for an atomic "applied" record, or in autocommit for an
 * "in progress" record written before a non-transactional revision.
 */
int ledger_insert(PGconn *conn, const char *schema, struct ledger_entry *e,
		  struct ms_error *err);

/* Set outcome, duration and error of the row with this id. */
int ledger_finish(PGconn *conn, const char *schema, int64_t id,
		  enum ledger_outcome outcome, int64_t duration_ms,
		  const char *error, struct ms_error *err);

/* Every entry of the database, oldest first (limit 0: all). */
int ledger_list(struct ledger_entry **out, size_t *nr, PGconn *conn,
		const char *schema, size_t limit, struct ms_error *err);

/* Entries still LEDGER_IN_PROGRESS (a crashed non-transactional revision). */
int ledger_in_progress(struct ledger_entry **out, size_t *nr, PGconn *conn,
		       const char *schema, struct ms_error *err);

/*
 * When revision was first applied (or stamped) upward here and not rolled
 * back since: *found false when the ledger has no such record.
 */
int ledger_applied_at(int64_t *at_ms, bool *found, PGconn *conn, const char *schema,
		      const char *revision, struct ms_error *err);

int ledger_approve(PGconn *conn, const char *schema, struct approval *a,
		   struct ms_error *err);
/* All approvals recorded for environment, oldest first. */
int ledger_approvals(struct approval **out, size_t *nr, PGconn *conn,
		     const char *schema, const char *environment, struct ms_error *err);

/*
 * The session advisory lock serializing migsync on one database. Waits at
 * most wait_ms, polling pg_try_advisory_lock so that a waiter never holds
 * a lock queue entry that could block a migration's own DDL. stop (may be
 * NULL) is polled between tries; a non-zero return abandons the wait.
 * Returns MS_ERR_DB with "timed out waiting for the lock" after wait_ms.
 */
int ledger_lock(PGconn *conn, int64_t wait_ms, int (*stop)(void *), void *stop_ctx,
		struct ms_error *err);
int ledger_unlock(PGconn *conn, struct ms_error *err);

#endif
