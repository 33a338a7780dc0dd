/*
 * migsync: command table and dispatch only (git.c, libgit2's cli/main.c).
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/render/render.h"
#include "migsync/clock.h"
#include "migsync/inventory.h"
#include "migsync_config.h"

struct cmd_struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
	const char *group;	/* set on the first command of a --help group */
};

static const struct cmd_struct commands[] = {
	{ "heads", cmd_heads, "show the current heads of the revision graph", "Revision scripts" },
	{ "history", cmd_history, "list revisions in history order", NULL },
	{ "branches", cmd_branches, "show branch points", NULL },
	{ "show", cmd_show, "show one revision in detail", NULL },
	{ "graph", cmd_graph, "draw the revision graph (mermaid or dot)", NULL },
	{ "lint", cmd_lint, "check revision scripts for problems", NULL },
	{ "inventory", cmd_inventory, "print the resolved inventory, secrets redacted", "Environments" },
	{ "status", cmd_status, "show each environment's revision", NULL },
	{ "drift", cmd_drift, "compare the schemas of databases at the same revision", NULL },
	{ "check", cmd_check, "the nightly consistency check: status, lint, drift, checksums", NULL },
	{ "report", cmd_report, "report merge: join the JSON of a sharded check's shards", NULL },
	{ "plan", cmd_plan, "show the staged plan to a target, with gates and plan hashes", "Promotion" },
	{ "approve", cmd_approve, "approve one stage's plan (by its hash)", NULL },
	{ "approvals", cmd_approvals, "list an environment's approvals", NULL },
	{ "apply", cmd_apply, "promote migrations stage by stage in rollout order", NULL },
	{ "downgrade", cmd_downgrade, "downgrade one environment (native SQL revisions)", NULL },
	{ "resolve", cmd_resolve, "settle a step a crash left in progress", NULL },
	{ "log", cmd_log, "show an environment's ledger as a history", NULL },
	{ "rehash", cmd_rehash, "accept a changed revision file's new SHA-256, gated", NULL },
	{ "hook", cmd_hook, "bring one environment to the target (container start, pre-deploy)", NULL },
	{ "stamp", cmd_stamp, "set one environment's version rows, compare-and-swap, gated", "Squashing" },
	{ "consolidate", cmd_consolidate, "check that squashing is safe; stamp the new baseline", NULL },
};

static void print_help(FILE *out)
{
	fprintf(out,
		"migsync keeps the database schemas of many environments in step.\n"
		"\n"
		"Usage:\n"
		"  migsync [--version] [--help] [COMMON OPTION]... COMMAND [OPTION]...\n"
		"\n");
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++) {
		if (commands[i].group)
			fprintf(out, "%s%s:\n", i ? "\n" : "", commands[i].group);
		fprintf(out, "  %-12s %s\n", commands[i].name, commands[i].summary);
	}
	fprintf(out,
		"\n"
		"Options every command takes (before or after its name):\n"
		"  -i, --inventory=PATH   inventory directory (default: $MIGSYNC_INVENTORY or environments/)\n"
		"      --scripts=DIR      versions directory (repeatable)\n"
		"      --url=URL          one database, no inventory (also $DATABASE_URL)\n"
		"      --format=FORMAT    text (default) or json\n"
		"  -h, --help             show a command's help\n"
		"\n"
		"Exit status (every command):\n"
		"  0  nothing wrong\n"
		"  1  ran and found problems (or a step failed)\n"
		"  2  could not run (usage, configuration, files)\n"
		"  3  waiting for approval (stopped at a gate)\n"
		"\n"
		"Run 'migsync COMMAND --help' for a command's options; see migsync(1).\n");
}

static const struct cmd_struct *find_command(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

/* Not a command: say so, with the nearest commands when it looks like a typo. */
static int unknown_command(const char *name)
{
	unsigned best = UINT_MAX, limit = strlen(name) <= 4 ? 1 : 2;

	for (size_t i = 0; i < ARRAY_SIZE(commands); i++) {
		unsigned d = inventory_levenshtein(name, commands[i].name);

		if (d < best)
			best = d;
	}
	fprintf(stderr, "migsync: \"%s\" is not a migsync command\n", name);
	if (best <= limit) {
		const char *sep = "hint: did you mean ";

		for (size_t i = 0; i < ARRAY_SIZE(commands); i++) {
			if (inventory_levenshtein(name, commands[i].name) != best)
				continue;
			fprintf(stderr, "%s\"%s\"", sep, commands[i].name);
			sep = " or ";
		}
		fprintf(stderr, "?\n");
	}
	fprintf(stderr, "Try 'migsync --help' for the list of commands.\n");
	return EXIT_CANNOT_RUN;
}

/*
 * The long option of CLI_COMMON_LONGOPTS that arg ("--name" or
 * "--name=VALUE") names, exactly or by a unique prefix as getopt_long
 * takes it; NULL when none or several do.
 */
static const struct option *common_long_option(const char *arg)
{
	static const struct option longopts[] = { CLI_COMMON_LONGOPTS };
	const struct option *found = NULL;
	size_t len = strcspn(arg, "=");
	int matches = 0;

	for (size_t i = 0; i < ARRAY_SIZE(longopts); i++) {
		if (strncmp(longopts[i].name, arg, len))
			continue;
		if (strlen(longopts[i].name) == len)
			return &longopts[i];
		found = &longopts[i];
		matches++;
	}
	return matches == 1 ? found : NULL;
}

/*
 * Common options before the command (`migsync -i envs status`, as
 * `git -C DIR status`): *cmd_at receives the index of the command's name
 * in argv (argc when there is none), *dashdash whether a "--" ended them,
 * *help whether one was -h or --help.
 * Only the common options may come first; a usage error returns -1. The
 * values are checked later, by the command itself: main moves these
 * arguments after the command's name, where they mean the same.
 */
static int common_options_end(int *cmd_at, bool *dashdash, bool *help, int argc, char **argv)
{
	int i = 1;

	*dashdash = false;
	*help = false;
	while (i < argc && argv[i][0] == '-' && argv[i][1]) {
		const char *arg = argv[i++];

		if (!strcmp(arg, "--")) {
			*dashdash = true;
			break;
		}
		if (arg[1] == '-') {
			const struct option *o = common_long_option(arg + 2);
			bool has_value = strchr(arg, '=') != NULL;

			if (!o)
				goto bad;
			*help |= o->val == OPT_HELP;
			if (o->has_arg == no_argument && has_value) {
				cli_usage_error(NULL, "option \"--%s\" doesn't allow an argument", o->name);
				return -1;
			}
			if (o->has_arg == required_argument && !has_value && i++ >= argc) {
				cli_usage_error(NULL, "option \"--%s\" requires an argument", o->name);
				return -1;
			}
			continue;
		}
		for (const char *c = arg + 1; *c; c++) {
			const char *spec = strchr(CLI_COMMON_SHORTOPTS, *c);

			*help |= *c == OPT_HELP;
			if (*c == ':' || !spec) {
				cli_usage_error(NULL, "unrecognized option \"-%c\"", *c);
				return -1;
			}
			if (spec[1] == ':') {
				if (!c[1] && i++ >= argc) {
					cli_usage_error(NULL, "option \"-%c\" requires an argument", *c);
					return -1;
				}
				break;
			}
		}
	}
	*cmd_at = i;
	return 0;
bad:
	cli_usage_error(NULL, "unrecognized option \"%.*s\"", (int)strcspn(argv[i - 1], "="),
			argv[i - 1]);
	return -1;
}

int main(int argc, char **argv)
{
	const struct cmd_struct *cmd;
	char **cmd_argv = NULL;
	int cmd_at, cmd_argc = 0, ret = EXIT_CANNOT_RUN;
	bool dashdash, help;

	/* every option error is migsync's own (cli_option_error), never getopt's */
	opterr = 0;
	if (clock_init_from_env() < 0) {
		fprintf(stderr, "migsync: MIGSYNC_TEST_CLOCK_OFFSET is not a number of seconds\n");
		goto done;
	}
	if (argc == 2 && (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version"))) {
		printf("migsync %s\n", MIGSYNC_VERSION);
		ret = EXIT_OK;
		goto done;
	}
	if (common_options_end(&cmd_at, &dashdash, &help, argc, argv) < 0)
		goto done;
	if (cmd_at >= argc) {
		/* `migsync`, `migsync --help`, `migsync -i envs` */
		print_help(help ? stdout : stderr);
		ret = help ? EXIT_OK : EXIT_CANNOT_RUN;
		goto done;
	}
	if (!strcmp(argv[cmd_at], "help")) {
		/* `migsync help [COMMAND]` */
		if (cmd_at + 1 >= argc) {
			print_help(stdout);
			ret = EXIT_OK;
			goto done;
		}
		cmd = find_command(argv[cmd_at + 1]);
		if (!cmd) {
			ret = unknown_command(argv[cmd_at + 1]);
			goto done;
		}
		cmd_argc = 2;
		cmd_argv = xcalloc(3, sizeof(*cmd_argv));
		cmd_argv[0] = argv[cmd_at + 1];
		cmd_argv[1] = (char *)"--help";
	} else {
		cmd = find_command(argv[cmd_at]);
		if (!cmd) {
			ret = unknown_command(argv[cmd_at]);
			goto done;
		}
		/* NAME, the options that came before it, then the rest */
		cmd_argv = xcalloc((size_t)argc + 1, sizeof(*cmd_argv));
		cmd_argv[cmd_argc++] = argv[cmd_at];
		for (int i = 1; i < cmd_at - dashdash; i++)
			cmd_argv[cmd_argc++] = argv[i];
		for (int i = cmd_at + 1; i < argc; i++)
			cmd_argv[cmd_argc++] = argv[i];
	}
	cli_set_argv(cmd_argv);
	ret = render_json_finish(cmd->name, cmd_argc, cmd_argv, cmd->fn(cmd_argc, cmd_argv));
done:
	free(cmd_argv);
	return ret;
}
