#ifndef MIGSYNC_SQUASH_H
#define MIGSYNC_SQUASH_H

/*
 * Squash safety: the rules of `migsync consolidate` (seed 003), which
 * squashes many revisions into one baseline revision.
 *
 *   squash_check        is it safe to squash now? Lint clean, one head,
 *                       every database reachable and at that head, every
 *                       schema equal to the first one read (and no INVALID
 *                       index), no pending approval, no step in progress.
 *   squash_check_stamp  may the baseline be stamped? Every schema equal,
 *                       every database at the baseline or at the rows
 *                       expected before it.
 *
 * Plain values in (lint findings, the graph, what was read from each
 * database, the time), a list of blockers out, each with the message
 * consolidate prints; nothing here talks to a database or prints.
 *
 * A pending approval is one that has not expired and whose plan hash no
 * ledger entry of the environment's databases records as applied,
 * resolved as applied, or stamped: someone approved a change that has not
 * happened yet, and squashing would void it.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "migsync/error.h"
#include "migsync/util.h"

struct approval;
struct diag_list;
struct environment;
struct ledger_entry;
struct revgraph;
struct schema_snapshot;

/* One database as consolidate reads it. */
struct squash_db {
	const struct environment *env;	/* borrowed from the inventory */
	char *label;			/* the target's label, or the environment's name when
					 * it could not be expanded */
	char *describe;			/* safe to print; NULL when it could not be expanded */
	bool first;			/* the environment's first database: it holds the approvals */
	struct schema_snapshot *snapshot;	/* with the version rows; NULL: not read, err says why */
	struct ledger_entry *ledger;
	size_t ledger_nr;
	struct approval *approvals;	/* read from the first database only */
	size_t approvals_nr;
	struct ms_error err;
};

/* Every database of every environment, in the inventory's order. */
struct squash_dbs {
	struct squash_db *items;
	size_t nr;
	size_t alloc;
};

void squash_dbs_init(struct squash_dbs *dbs);
/* Frees every database's strings, snapshot, ledger, approvals and error. */
void squash_dbs_release(struct squash_dbs *dbs);
/*
 * Append a database with nothing read yet (label and describe are copied;
 * describe may be NULL). The pointer is valid until the next add.
 */
struct squash_db *squash_dbs_add(struct squash_dbs *dbs, const struct environment *env,
				 const char *label, const char *describe, bool first);

/* One reason not to squash (or stamp) now. */
struct squash_blocker {
	const char *check;	/* "reachable", "head", "schema", "approvals", "ledger", "lint" */
	char *environment;	/* the environment it is about, or NULL */
	char *message;		/* printed as it is */
};

struct squash_report {
	struct squash_blocker *items;	/* in the order consolidate lists them */
	size_t nr;
	size_t alloc;
	const struct squash_db *reference;	/* the first database read, or NULL */
	const char *head;		/* squash_check: the scripts' single head (in the graph), or NULL */
};

void squash_report_init(struct squash_report *r);
void squash_report_release(struct squash_report *r);

/* What squash_check judges. */
struct squash_check_input {
	const struct diag_list *lint;	/* the scripts' lint findings (lint_report.findings) */
	const struct revgraph *g;	/* NULL: the graph could not be built */
	const struct ms_error *graph_err;	/* why g is NULL (may be NULL) */
	const struct squash_dbs *dbs;
	int64_t now_ms;			/* wall clock: approvals expiring by then are spent */
};

/*
 * Whether it is safe to squash now; out (initialized by the caller)
 * receives the blockers in this order: lint errors (the first ten, then a
 * count), the graph that cannot be built, unreachable databases, databases
 * not at the single head (or, with several heads, not at the reference's
 * rows), schemas differing from the reference's and INVALID indexes, then
 * per database its pending approvals and steps left in progress. out's
 * pointers borrow from in->g and in->dbs.
 */
void squash_check(struct squash_report *out, const struct squash_check_input *in);

/*
 * Whether baseline (the sorted rows the stamp writes) may be stamped into
 * every database: out (initialized by the caller) receives unreachable
 * databases, differing schemas, then databases at other rows than
 * baseline or *expect. When expect_given is false and *expect is empty,
 * the rows of the first single-row database not yet at baseline become
 * *expect. out's pointers borrow from dbs.
 */
void squash_check_stamp(struct squash_report *out, struct strvec *expect,
			const struct squash_dbs *dbs, const struct strvec *baseline,
			bool expect_given);

#endif
