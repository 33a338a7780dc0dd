#ifndef MIGSYNC_CLI_PROMOTE_H
#define MIGSYNC_CLI_PROMOTE_H

/* Shared loading and printing of the promotion commands (cmd_plan.c, cmd_approve.c, cmd_apply.c). */

#include <signal.h>
#include <stdint.h>

#include "cli/cli.h"
#include "migsync/apply.h"
#include "migsync/inventory.h"
#include "migsync/safety.h"
struct apply_options;
struct plan;
struct plan_stage;
struct strbuf;
struct json_writer;

/* What plan, apply and downgrade load: inventory, scripts, graph, environments, target. */
struct promote {
	struct inventory *inv;
	struct script_set scripts;	/* read with SCRIPTS_SHA256 | SCRIPTS_KEEP_SQL */
	struct revgraph *g;
	const struct environment **envs;	/* selected, rollout order */
	size_t envs_nr;
	struct plan_target target;	/* resolved once by promote_load */
	const char *inventory_option;	/* -i as given, for commands we print */
	struct strvec scripts_option;	/* --scripts as given, likewise */
	char *who;			/* $USER */
	char *host;
	struct safety_report safety;	/* the upgrade's safety review (promote_load, up only) */
};

void promote_init(struct promote *pr);
void promote_release(struct promote *pr);
/*
 * Load everything; names: -e (all when empty); through: --through or NULL;
 * to: --to or NULL (heads); up: false for a downgrade (relative targets
 * allowed). Prints errors; returns an exit code.
 */
int promote_load(struct promote *pr, struct cli_common *c, const struct strvec *names,
		 const char *through, const char *to, bool up);
void promote_options(struct apply_options *o, const struct promote *pr, bool up);
/*
 * migsync apply (up) and migsync downgrade: parse the options, load,
 * run the stages (or the dry run), print; help prints --help. Returns an
 * exit code.
 */
int promote_apply_command(int argc, char **argv, bool up, void (*help)(void));
/* The shortest plan hash prefix approve takes: the 12 digits the tables print. */
#define PROMOTE_HASH_PREFIX_MIN 12
/* Is hash 12 to 64 hexadecimal digits? */
bool promote_hash_prefix_valid(const char *hash);
/* Is hash (a prefix, any case) the start of full (NULL: no)? */
bool promote_hash_matches(const char *full, const char *hash);

/*
 * Append "migsync CMD [-i INV] [--scripts DIR]... -e ENV" with the
 * options this run was given, each value quoted for the shell: the start
 * of a command a hint prints.
 */
void promote_add_command(struct strbuf *sb, const struct promote *pr, const char *cmd,
			 const char *env);
/*
 * "migsync approve [-i INV] [--scripts DIR]... -e ENV [--stamp|--downgrade]
 * [--to REV] --plan HASH" (caller frees): what approve needs to compute
 * the same plan (what: "plan", "downgrade" or "stamp").
 */
char *promote_approve_command(const struct promote *pr, const struct plan_stage *st,
			      const char *what);
/*
 * Catch SIGINT and SIGTERM with sigaction (no SA_RESTART, so that a wait
 * ends at once; explicit handlers also make them work for PID 1, which
 * the kernel spares signals left at their default). Returns the flag the
 * handler sets to the signal's number, for apply_options.cancel.
 */
volatile sig_atomic_t *promote_catch_signals(void);
/*
 * What apply, downgrade and stamp say on stderr when env's stage st
 * stopped (APPLY_GATED: err's message, when to run again for a soak, and
 * the approve command for what, "plan", "downgrade" or "stamp", when
 * approvals are missing; APPLY_DECLINED; APPLY_FAILED: err), and the
 * exit code.
 * EXIT_OK, and nothing printed, for the other outcomes.
 */
int promote_report_stop(const struct promote *pr, const struct environment *env,
			const struct plan_stage *st, enum apply_outcome out,
			const struct ms_error *err, const char *what);
/*
 * The JSON name of a stage's outcome: "current", "gated", "declined" or
 * "failed", else the command's own word: done for APPLY_DONE ("applied",
 * "stamped"), dry_run for APPLY_DRY_RUN ("would_apply").
 */
const char *promote_outcome_name(enum apply_outcome out, const char *done, const char *dry_run);
void promote_print_plan(struct strbuf *sb, const struct promote *pr, const struct plan *p,
			enum cli_format format, bool sql);

/*
 * The safety findings of revision, for the plan's step lists: text lines
 * indented by indent, or inside an open JSON object a "findings" array.
 */
void promote_print_findings(struct strbuf *sb, const struct safety_list *safety,
			    const char *revision, const char *indent);
void promote_json_findings(struct json_writer *jw, const struct safety_list *safety,
			   const char *revision);
/*
 * What approve shows before it records: the safety findings of st's
 * upgrade steps, by revision, and a review that was skipped. Nothing when
 * there are none.
 */
void promote_stage_findings(struct strbuf *sb, const struct plan_stage *st,
			    const struct safety_report *r);
/*
 * The SQL of a plan step for plan --sql: a native step's section, an
 * Alembic upgrade's offline SQL (from the review's `upgrade heads --sql`),
 * or NULL with *why saying why there is none (env.py cannot run offline,
 * no Python, a downgrade).
 */
const char *promote_step_sql(const struct safety_report *r, const struct plan_step *s,
			     const char **why);
/* The safety review's verdict when it could not review everything (text); nothing else. */
void promote_print_safety_skipped(struct strbuf *sb, const struct safety_report *r);

/* Inside an open JSON object, "key": [rows], or "key": null when rows is NULL. */
void promote_json_rows(struct json_writer *jw, const char *key, const struct strvec *rows);

/*
 * Read env's rehash of rev as `migsync rehash` reads it (cmd_rehash.c),
 * into st (its plan hash and gate), for approve --rehash. Returns 0 or a
 * negative code (err set).
 */
int promote_rehash_read(struct plan_stage *st, const struct promote *pr,
			const struct environment *env, const char *rev, struct ms_error *err);

/* Stamping (cmd_stamp.c), shared with consolidate --stamp. */
/*
 * promote_options for a change gated like a stamp (a stamp, a rehash),
 * with --dry-run, --yes, Ctrl-C and the confirmation "VERB ENV (plan
 * HASH)? [y/N]" on a terminal (verb: a static string).
 */
void promote_gated_options(struct apply_options *o, const struct promote *pr, bool dry_run,
			   bool yes, const char *verb);
/* promote_options for a stamp, with --dry-run, --yes, Ctrl-C and the confirmation. */
void promote_stamp_options(struct apply_options *o, const struct promote *pr, bool dry_run,
			   bool yes);
/* Append the rows of an --expect argument (comma-separated; base, none: no row) to rows, sorted. */
int promote_parse_rows(struct strvec *rows, const char *cmd, const char *arg);
/*
 * Stamp env to pr->target.ids (apply_stamp_run) expecting expect (NULL:
 * the rows read before the lock). Prints the rows read and the outcome
 * on stdout, or one JSON object into jw when not NULL; errors and the
 * approve command on stderr. Returns an exit code.
 */
int promote_stamp(const struct promote *pr, const struct environment *env,
		  const struct strvec *expect, const struct apply_options *o,
		  struct json_writer *jw);

#endif
