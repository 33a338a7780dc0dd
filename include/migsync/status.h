#ifndef MIGSYNC_STATUS_H
#define MIGSYNC_STATUS_H

/*
 * Where each database stands against a target revision set: the core of
 * `migsync status`. Plain values in (the graph, the target, the version
 * rows a probe observed), plain values out; nothing here talks to a
 * database or prints.
 *
 * A revision is "applied" on a database when it is one of its version
 * rows or an ancestor of one (following down_revision and depends_on, as
 * an upgrade does). The target is the revision set --to names ("heads" by
 * default) together with its ancestors.
 */

#include <stdbool.h>
#include <stddef.h>

#include "migsync/error.h"
#include "migsync/revgraph.h"
#include "migsync/util.h"

/*
 * The states of one database, in increasing severity: the worst state of
 * an environment's targets is its state, and a fleet is only as healthy as
 * its worst database. Unreachable is the worst because nothing at all is
 * known; unknown next, because a row the scripts do not know means the
 * database was migrated from code this checkout does not have; missing
 * (the server answered, but has no such database) needs the database
 * created or `dbname` fixed; in_progress (a `transaction false` revision
 * was interrupted, and every deploy refuses to run until someone settles
 * it with `migsync resolve`) blocks the rollout; diverged needs a
 * downgrade or a merge; ahead means the target is older than the
 * database; behind is the normal state before a rollout; uninitialized
 * (no version table, or an empty one) is a database nobody has migrated
 * yet, e.g. a new tenant.
 *
 * Their names (status_state_name) are the one set of "state" values of
 * a database or an environment in every JSON document and text table;
 * docs/json/README.md and docs/json/common.schema.json list the same set:
 * a new state is added to all three.
 */
enum status_state {
	STATUS_CURRENT,
	STATUS_UNINITIALIZED,
	STATUS_BEHIND,
	STATUS_AHEAD,
	STATUS_DIVERGED,
	STATUS_IN_PROGRESS,
	STATUS_UNKNOWN,
	STATUS_MISSING,
	STATUS_UNREACHABLE,
};

/* What the note of a missing database says to do (db's DB_MISSING_HINT: plan needs no libpq). */
#define STATUS_MISSING_HINT \
	"create the database (CREATE DATABASE, or createdb), or fix database.dbname in the inventory"

/* "current", "behind", ...: the names used in text and JSON output. */
const char *status_state_name(enum status_state state);
/* The more severe of two states. */
enum status_state status_state_worst(enum status_state a, enum status_state b);

/*
 * The target revision set, resolved once for every database.
 * Relative identifiers ("+1", "rev-2") are refused: they would mean a
 * different revision on every database.
 */
struct status_goal {
	char *ident;			/* as given: "heads", a revision, "label@head" */
	struct revgraph_set nodes;	/* the resolved revisions (empty for "base") */
	struct strvec ids;		/* their ids, sorted */
	bool *closure;			/* g->nr flags: the goal and its ancestors */
	size_t *topo;			/* g's nodes in topological order, for listing sets */
	size_t *rank;			/* rank[node]: its position in topo */
	const char *path_target;	/* what to hand revgraph_upgrade_path, or NULL */
};
#define STATUS_GOAL_INIT { NULL, REVGRAPH_SET_INIT, STRVEC_INIT, NULL, NULL, NULL, NULL }

/*
 * Resolve ident (NULL means "heads") against g. Returns 0, or a negative
 * ms_error_code with err set (an unknown or ambiguous identifier).
 * The goal borrows nothing from ident; it must not outlive g.
 */
int status_goal_init(struct status_goal *goal, const struct revgraph *g,
		     const char *ident, struct ms_error *err);
void status_goal_release(struct status_goal *goal);

/* What a probe saw on one database. */
struct status_observation {
	const char *error;		/* the probe's error (already redacted), or NULL */
	bool has_version_table;		/* false: no version table at all */
	const struct strvec *rows;	/* version_num values; NULL means none */
	/* the server said the database does not exist (error says how) */
	bool missing;
	/* revisions the ledger has in progress, oldest first; NULL means none */
	const struct strvec *in_progress;
	/* for the hints of notes: the environment's name, or NULL */
	const char *environment;
};

/* One database's state. Every string is owned by the result. */
struct status_result {
	enum status_state state;
	struct strvec heads;	/* the version rows, sorted (unknown ones included) */
	/*
	 * Revisions of the goal the database does not hold, in apply order
	 * (revgraph_upgrade_path's order when the goal can be reached by an
	 * upgrade, else topological order). Empty when unreachable or unknown.
	 */
	struct strvec pending;
	/* Revisions the database holds that the goal does not (ahead, diverged), topological order. */
	struct strvec extra;
	struct strvec unknown;	/* version rows the scripts do not know, sorted */
	char *error;		/* the probe error when unreachable, else NULL */
	char *note;		/* one line for people, or NULL */
};
#define STATUS_RESULT_INIT { STATUS_CURRENT, STRVEC_INIT, STRVEC_INIT, STRVEC_INIT, STRVEC_INIT, NULL, NULL }

void status_result_init(struct status_result *r);
void status_result_release(struct status_result *r);

/*
 * Classify one database. A probe error makes it unreachable (missing when
 * obs->missing); no rows make
 * it uninitialized; a row the graph does not know makes it unknown; a row
 * that is neither an ancestor nor a descendant of the goal makes it
 * diverged; a row that descends from the goal without leading to it makes
 * it ahead; otherwise it is behind when the goal holds revisions the
 * database lacks, and current when not. A revision in progress makes any
 * of these but unknown in_progress (heads and pending as they are), its
 * note naming the `migsync resolve` command. *out is released first.
 */
void status_classify(struct status_result *out, const struct revgraph *g,
		     const struct status_goal *goal,
		     const struct status_observation *obs);

/* A database of an environment; database is for display and must carry no secret. */
struct status_target {
	char *database;
	struct status_result result;
};

/*
 * One environment: a single database (one target, fleet == false) or a
 * fleet of them. After status_report_finish, state is the worst target's,
 * heads and pending are the distinct ones over all targets (pending in
 * topological order: what some database still needs), and error is the
 * environment's own error (e.g. its fleet could not be discovered) or, for
 * a fleet with unreachable databases, a count of them.
 */
struct status_env {
	char *name;
	bool fleet;
	char *error;		/* set by the caller: the environment could not be expanded */
	struct status_target *targets;
	size_t targets_nr;
	size_t targets_alloc;

	enum status_state state;
	struct strvec heads;
	struct strvec pending;
	char *summary_error;	/* error, or the fleet's unreachable count; NULL when none */
};

enum status_violation_kind {
	STATUS_VIOLATION_ORDER,	/* a later stage holds revisions an earlier one lacks */
};

struct status_violation {
	enum status_violation_kind kind;
	char *environment;	/* the later stage */
	char *earlier;		/* the stage it got ahead of */
	struct strvec revisions;	/* the revisions concerned, topological order */
	char *detail;		/* one line in the error style */
};

/* "order" */
const char *status_violation_kind_name(enum status_violation_kind kind);

/* Every environment of one run, in rollout order. */
struct status_report {
	struct strvec goal;		/* the goal's ids, sorted */
	struct status_env *envs;
	size_t envs_nr;
	size_t envs_alloc;
	struct status_violation *violations;
	size_t violations_nr;
	size_t violations_alloc;
	enum status_state worst;	/* over every environment */
};

void status_report_init(struct status_report *r);
void status_report_release(struct status_report *r);

/*
 * Append an environment (in rollout order) and a target of it. The
 * pointers returned stay valid until the next call that appends to the
 * same list. database is copied.
 */
struct status_env *status_report_add_env(struct status_report *r, const char *name, bool fleet);
struct status_target *status_env_add_target(struct status_env *env, const char *database);

/*
 * After every target is classified: fill each environment's summary, the
 * report's worst state, and the rollout-order violations.
 *
 * Order rule: each stage is compared with the nearest earlier stage that
 * has something to compare with. What a stage holds is, for the earlier
 * stage, what every one of its reachable, initialized databases holds
 * (the intersection: one tenant that is behind holds the fleet back), and
 * for the later stage what any of its databases holds (the union).
 * Unreachable and uninitialized databases, and version rows the scripts
 * do not know, take no part: they are reported by their state instead.
 */
void status_report_finish(struct status_report *r, const struct revgraph *g,
			  const struct status_goal *goal);

/*
 * Where the environments stand on the graph: out[n] (g->nr strvecs,
 * initialized by the caller, who releases them) receives the names of
 * the environments of which some database has node n as a version row,
 * each name once, in rollout order. Version rows the graph does not know
 * and unreachable databases take no part.
 */
void status_report_positions(struct strvec *out, const struct status_report *r,
			     const struct revgraph *g);

#endif
