#ifndef MIGSYNC_CLI_H
#define MIGSYNC_CLI_H

/*
 * The CLI shell around libmigsync: the only place that parses argv,
 * prints to stdout and chooses exit codes.
 *
 * Exit codes (DESIGN.md): 0 done, nothing wrong; 1 ran and found problems
 * or a step failed; 2 could not run (usage, configuration, I/O); 3 stopped
 * at a gate, waiting for approval.
 */

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "migsync/diag.h"
#include "migsync/error.h"
#include "migsync/inventory.h"
#include "migsync/revgraph.h"
#include "migsync/scripts.h"
#include "migsync/util.h"

struct json_writer;
struct project;
struct strbuf;

enum {
	EXIT_OK = 0,
	EXIT_PROBLEMS = 1,
	EXIT_CANNOT_RUN = 2,
	EXIT_GATED = 3,
};

enum cli_format {
	FORMAT_TEXT,
	FORMAT_JSON,
};

/* Options every command understands. */
struct cli_common {
	enum cli_format format;
	struct strvec scripts_dirs;	/* --scripts DIR, repeatable */
	const char *inventory;		/* -i PATH, else $MIGSYNC_INVENTORY */
	const char *url;		/* --url URL: one database, no inventory (a secret) */
	struct inventory_shard shard;	/* --shard K/N (count 0: none given) */
	bool shardable;			/* the command takes --shard and the Indexed Job's default */
};

void cli_common_init(struct cli_common *c);
void cli_common_release(struct cli_common *c);

/* Option codes for the common long options, above the ASCII range. */
enum {
	OPT_FORMAT = 0x100,
	OPT_SCRIPTS,
	OPT_URL,
	OPT_SHARD,
	OPT_FIRST_COMMAND_OPTION = 0x200,	/* commands number theirs from here */
};

/* -h and --help: one code, so that each command's `case OPT_HELP` takes both. */
enum { OPT_HELP = 'h' };

#define CLI_COMMON_LONGOPTS \
	{ "format", required_argument, NULL, OPT_FORMAT }, \
	{ "scripts", required_argument, NULL, OPT_SCRIPTS }, \
	{ "inventory", required_argument, NULL, 'i' }, \
	{ "url", required_argument, NULL, OPT_URL }, \
	{ "help", no_argument, NULL, OPT_HELP }

/* --shard K/N, for the commands that take it (status, check, drift, plan, apply; shard.c). */
#define CLI_SHARD_LONGOPT { "shard", required_argument, NULL, OPT_SHARD }

/*
 * The shard of c (--shard, else when c->shardable JOB_COMPLETION_INDEX and
 * JOB_COMPLETION_COUNT, as a Kubernetes Indexed Job sets them) given to
 * every environment of inv (inventory_set_shard). Returns 0, or
 * MS_ERR_USAGE with err set when the variables are not a shard.
 */
int cli_shard_apply(struct inventory *inv, const struct cli_common *c, struct ms_error *err);
/* Parse --shard K/N into c (cli_default_option calls it). Returns an exit code. */
int cli_parse_shard(struct cli_common *c, const char *cmd, const char *arg);

/*
 * The short options of CLI_COMMON_LONGOPTS, for getopt_long's optstring:
 * it comes first, so that its ':' makes getopt_long return ':' for a
 * missing argument and leave every message to cli_option_error.
 */
#define CLI_COMMON_SHORTOPTS ":hi:"

/*
 * Handle a common option returned by getopt_long. Returns 1 when opt was
 * one (and was valid), 0 when it is not a common option, -1 after
 * printing a usage error (also for getopt_long's '?' and ':'). OPT_HELP
 * is not handled here: each command prints its own help.
 */
int cli_common_option(struct cli_common *c, const char *cmd, int opt, const char *arg);

/*
 * The default: branch of a command's option loop: opt must be a common
 * option. Returns EXIT_OK when it was one, else EXIT_CANNOT_RUN after
 * printing the usage error ("unexpected option" when it is no option
 * of the command at all).
 */
int cli_default_option(struct cli_common *c, const char *cmd, int opt, const char *arg);

/*
 * main hands each command its argv here before calling it, so that a bad
 * option is quoted as it was typed.
 */
void cli_set_argv(char **argv);

/*
 * After getopt_long returned '?' or ':' (opterr is 0): print
 * `migsync CMD: unrecognized option "--x"` (or what else was wrong) and
 * the Try line; returns EXIT_CANNOT_RUN.
 */
int cli_option_error(const char *cmd, int opt);

/* What a command's "Common options:" block of --help lists besides -i, --format and -h. */
enum {
	CLI_HELP_URL = 1 << 0,			/* --url */
	CLI_HELP_SCRIPTS = 1 << 1,		/* --scripts, by default migrations.scripts */
	CLI_HELP_SCRIPTS_REPEATABLE = 1 << 2,	/* --scripts, said to be repeatable (lint) */
	CLI_HELP_SUMMARY = 1 << 3,		/* --format chooses a summary's format (hook) */
};

/*
 * Print the "Common options:" block of a command's --help on stdout, the
 * descriptions starting at column (where the command aligns its own).
 */
void cli_print_common_help(int column, unsigned what);

/*
 * Refuse the arguments argv[first] and on: EXIT_OK when there are none,
 * else EXIT_CANNOT_RUN after the usage error "too many arguments".
 */
int cli_extra_arguments(const char *cmd, int argc, char **argv, int first);

/* Parse -j N (1 to 1024) for cmd; prints a usage error and returns EXIT_CANNOT_RUN on error. */
int cli_parse_jobs(unsigned *jobs, const char *cmd, const char *arg);

/*
 * Print "migsync CMD: MESSAGE" and "Try 'migsync CMD --help' for more
 * information." on stderr (cmd NULL: before any command); returns
 * EXIT_CANNOT_RUN.
 */
int cli_usage_error(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Print an error (and its hint) on stderr: "migsync: error: ...". */
void cli_print_error(const struct ms_error *err);
/*
 * Print what the readers found, warnings and errors, on stderr, each as
 * "migsync: warning: file:line:col: ..." and its hint: the one way every
 * command (inventory too) shows them.
 */
void cli_print_warnings(const struct diag_list *warnings);
/*
 * When err is one of the errors of diags (an inventory's first problem,
 * which cli_print_warnings prints with the others), make it a count
 * instead ("2 problems (listed above)"), so that no diagnostic is
 * printed twice.
 */
void cli_error_if_listed(struct ms_error *err, const struct diag_list *diags);
/* Exit code for an error: 2 for usage/config/I/O/parse/graph errors, 1 otherwise. */
int cli_exit_code(const struct ms_error *err);
/*
 * Exit code for an error of a step that reached for a database: there
 * MS_ERR_IO is the network (unreachable, timeout), a problem found (1)
 * like the database's own refusal; the rest as cli_exit_code.
 */
int cli_db_exit_code(const struct ms_error *err);

/*
 * Find the versions directories: --scripts (repeatable), else the
 * inventory's migrations.scripts, else alembic.ini in the current
 * directory (script_location, version_locations). *dirs receives them,
 * *import_path (may be NULL) alembic.ini's prepend_sys_path.
 */
int cli_script_dirs(struct strvec *dirs, struct strvec *import_path,
		    const struct cli_common *c, struct ms_error *err);

/*
 * The safety review of set (safety.h) with inv's settings (may be NULL)
 * and, when set has Alembic revisions, the interpreter
 * project_python_find chooses (no Python is started for a native-only
 * project). out must be initialized.
 */
struct safety_report;
struct script_set;
struct inventory;
void cli_safety_review(struct safety_report *out, const struct script_set *set,
		       const struct inventory *inv);

/*
 * project_open with the common options, printing what the readers found
 * and the error: EXIT_OK or EXIT_CANNOT_RUN. p must be released either way.
 */
/* Do the common options open one database from a URL (project_single_database)? */
bool cli_single_database(const struct cli_common *c);

int cli_open_project(struct project *p, const struct cli_common *c, unsigned need,
		     unsigned script_flags);

/*
 * Append the items of v joined by sep, or empty when v has none: the one
 * way lists of revisions and version rows are written in text output
 * ("a,b" or "(none)", "a, b" or "base").
 */
void cli_add_joined(struct strbuf *sb, const struct strvec *v, const char *sep, const char *empty);

/* Inside an open JSON object, "key": [ ...strings of v... ] (v NULL: an empty array). */
void cli_json_strvec(struct json_writer *jw, const char *key, const struct strvec *v);

/* Unix ms as RFC 3339 UTC to the second ("2026-12-05T20:01:02Z"); 0: "never". */
void cli_format_time(char *buf, size_t len, int64_t ms);

/* Write sb to stdout; returns 0, or EXIT_CANNOT_RUN when stdout fails. */
int cli_write_stdout(const char *buf, size_t len);

/* The commands. Each returns an exit code. */
int cmd_heads(int argc, char **argv);
int cmd_history(int argc, char **argv);
int cmd_branches(int argc, char **argv);
int cmd_show(int argc, char **argv);
int cmd_graph(int argc, char **argv);
int cmd_lint(int argc, char **argv);
int cmd_inventory(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_plan(int argc, char **argv);
int cmd_approve(int argc, char **argv);
int cmd_approvals(int argc, char **argv);
int cmd_apply(int argc, char **argv);
int cmd_downgrade(int argc, char **argv);
int cmd_resolve(int argc, char **argv);
int cmd_log(int argc, char **argv);
int cmd_rehash(int argc, char **argv);
int cmd_drift(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_hook(int argc, char **argv);
int cmd_stamp(int argc, char **argv);
int cmd_consolidate(int argc, char **argv);

#endif
