/*
 * migsync: command table and dispatch only (git.c, libgit2's cli/main.c).
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "migsync/clock.h"
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
		"  migsync [--version] [--help] COMMAND [OPTIONS]\n"
		"\n");
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++) {
		if (commands[i].group)
			fprintf(out, "%s%s:\n", i ? "\n" : "", commands[i].group);
		fprintf(out, "  %-12s %s\n", commands[i].name, commands[i].summary);
	}
	fprintf(out,
		"\n"
		"Options every command takes:\n"
		"  -i, --inventory=PATH   inventory directory (default: $MIGSYNC_INVENTORY or environments/)\n"
		"      --scripts=DIR      versions directory (repeatable)\n"
		"      --format=FORMAT    text (default) or json\n"
		"      --help             show a command's help\n"
		"\n"
		"Exit status: 0 done, 1 problems found, 2 could not run, 3 waiting for approval.\n"
		"Run 'migsync COMMAND --help' for a command's options; see migsync(1).\n");
}

int main(int argc, char **argv)
{
	const char *name;

	if (argc < 2) {
		print_help(stderr);
		return EXIT_CANNOT_RUN;
	}
	name = argv[1];
	if (clock_init_from_env() < 0) {
		fprintf(stderr, "migsync: MIGSYNC_TEST_CLOCK_OFFSET is not a number of seconds\n");
		return EXIT_CANNOT_RUN;
	}
	if (!strcmp(name, "--version") || !strcmp(name, "version")) {
		printf("migsync %s\n", MIGSYNC_VERSION);
		return EXIT_OK;
	}
	if (!strcmp(name, "--help") || !strcmp(name, "-h") || !strcmp(name, "help")) {
		if (argc > 2 && strcmp(name, "help") == 0) {
			char *sub[] = { argv[2], (char *)"--help", NULL };

			for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
				if (!strcmp(commands[i].name, argv[2]))
					return commands[i].fn(2, sub);
		}
		print_help(stdout);
		return EXIT_OK;
	}
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		if (!strcmp(commands[i].name, name))
			return commands[i].fn(argc - 1, argv + 1);

	fprintf(stderr, "migsync: '%s' is not a migsync command\n", name);
	fprintf(stderr, "Try 'migsync --help' for the list of commands.\n");
	return EXIT_CANNOT_RUN;
}
