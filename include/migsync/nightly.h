#ifndef MIGSYNC_NIGHTLY_H
#define MIGSYNC_NIGHTLY_H

/*
 * The rules of the nightly consistency check (`migsync check`): what
 * status, drift, the ledgers and lint found, judged together. Plain
 * values in, one nightly_report out; nothing here reads a database or
 * prints.
 *
 * Each environment is judged on five checks:
 *
 *   reachable  every database answered
 *   status     no database is unknown, diverged or ahead of the target
 *              (behind or uninitialized only with fail_on_pending:
 *              pending migrations are normal between releases)
 *   order      no rollout order violation: not ahead of an earlier stage
 *   drift      same schema as the reference at its revision, no INVALID index
 *   checksums  no revision file changed after it was applied
 *
 * plus one "lint" check of the scripts (lint errors, and safety findings,
 * which carry a rule: the caller passes those of pending revisions;
 * other warnings are not counted). When the graph could not be built (graph_error), only
 * reachability and lint are judged, the other checks are skipped, and
 * the graph error is a lint problem. An environment of which nothing is
 * known (its expansion failed, or its worst database is unreachable) has
 * the checks it passed skipped as "unreachable".
 */

#include <stdbool.h>
#include <stddef.h>

/* Only pointers to these: the header does not drag in libpq (drift.h, plan.h). */
struct checksum_mismatch;	/* migsync/plan.h */
struct drift_report;		/* migsync/drift.h */
struct lint_report;		/* migsync/lint.h */
struct status_report;		/* migsync/status.h */

enum nightly_check {
	NIGHTLY_REACHABLE,
	NIGHTLY_STATUS,
	NIGHTLY_ORDER,
	NIGHTLY_DRIFT,
	NIGHTLY_CHECKSUMS,
	NIGHTLY_ENV_CHECK_NR,			/* the checks of an environment */
	NIGHTLY_LINT = NIGHTLY_ENV_CHECK_NR,	/* the check of the scripts */
};

/* "reachable", "status", "order", "drift", "checksums", "lint". */
const char *nightly_check_name(enum nightly_check check);

enum nightly_outcome {
	NIGHTLY_PASSED,
	NIGHTLY_FAILED,
	NIGHTLY_SKIPPED,
};

/* "passed", "failed", "skipped". */
const char *nightly_outcome_name(enum nightly_outcome outcome);

enum nightly_severity {
	NIGHTLY_PROBLEM,	/* counted: makes the check fail */
	NIGHTLY_NOTE,		/* goes with the problems before it ("... and 3 more"); not counted */
	NIGHTLY_SKIP_REASON,	/* why a check was skipped; not counted */
};

/* One line of a check's outcome. */
struct nightly_finding {
	enum nightly_check check;
	enum nightly_severity severity;
	char *environment;	/* NULL for lint */
	char *database;		/* the database concerned, or NULL for the environment or the scripts */
	char *message;		/* in the error style, its subject first */
};

/* One check of one environment, or the lint. */
struct nightly_case {
	enum nightly_outcome outcome;
	char *summary;		/* a short table cell: "yes", "2 of 5 unreachable", "-" when skipped */
	size_t first;		/* its findings: report findings[first .. first + nr) */
	size_t nr;
};

struct nightly_env {
	char *name;
	struct nightly_case cases[NIGHTLY_ENV_CHECK_NR];
};

/* What the run means: PASS exits 0, FAIL (some problem counted) exits 1. */
enum nightly_verdict {
	NIGHTLY_PASS,
	NIGHTLY_FAIL,
};

struct nightly_report {
	struct nightly_env *envs;	/* envs[i] is the status report's envs[i] */
	size_t envs_nr;
	struct nightly_case lint;
	/*
	 * Every case's findings, in report order: environments in rollout
	 * order, each one's checks in enum order, then the lint.
	 */
	struct nightly_finding *findings;
	size_t findings_nr;
	size_t findings_alloc;
	size_t problems;		/* findings of severity NIGHTLY_PROBLEM */
	enum nightly_verdict verdict;
};

void nightly_report_init(struct nightly_report *r);
void nightly_report_release(struct nightly_report *r);

/* What one database's ledger says about files changed after they were applied. */
struct nightly_checksums {
	const struct checksum_mismatch *items;
	size_t nr;
	const char *error;	/* the ledger could not be read (a whole message), or NULL */
};

/* Everything the rules read; all borrowed. */
struct nightly_input {
	const struct status_report *status;	/* finished (status_report_finish) */
	const char *graph_error;		/* the graph could not be built, or NULL */
	const struct drift_report *drift;	/* finished; NULL: none read */
	const struct lint_report *lint;		/* NULL: no lint run */
	/*
	 * One per database of status, in report order (envs[0]'s targets,
	 * then envs[1]'s, ...); NULL: no ledger was read.
	 */
	const struct nightly_checksums *checksums;
	bool fail_on_pending;
};

void nightly_input_init(struct nightly_input *in);

/*
 * Judge in against the rules above. *out is released first; its strings
 * are its own, so it may outlive in.
 */
void nightly_judge(struct nightly_report *out, const struct nightly_input *in);

#endif
