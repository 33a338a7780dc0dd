/*
 * migsync downgrade: apply's stage runner for one environment, backwards
 * (native SQL revisions' down sections, or Alembic's downgrade to exact
 * revisions; see cmd_apply.c).
 *
 * Exit status: 0 done, 1 a step failed, 2 could not run, 3 stopped at the gate.
 */
#include <stdio.h>

#include "cli/cli.h"
#include "cli/promote.h"

static void downgrade_help(void)
{
	printf("migsync downgrade takes one environment back to an earlier revision, with the\n"
	       "same lock, gate and ledger as apply: native SQL revisions' down sections, or\n"
	       "(executor alembic) Alembic's downgrade to the exact revisions planned.\n"
	       "\n"
	       "Usage:\n"
	       "  migsync downgrade -e ENV --to REV [OPTION]...\n"
	       "\n"
	       "Options:\n"
	       "  -e, --environment=ENV      the environment (required)\n"
	       "      --to=REV               downgrade to REV: a revision, -N, base (required)\n"
	       "      --dry-run              check everything up to the gate; change nothing\n"
	       "  -y, --yes                  do not ask before a gated stage\n"
	       "  -v, --verbose              show Alembic's output (executor alembic)\n"
	       "\n");
	cli_print_common_help(29, CLI_HELP_URL | CLI_HELP_SCRIPTS);
	printf("\n"
	       "Exit status:\n"
	       "  0  done\n"
	       "  1  a step failed or the database could not be reached\n"
	       "  2  could not run (usage, inventory, a target that names no revision)\n"
	       "  3  waiting for approval: stopped at the gate (the approve command is printed)\n");
}

int cmd_downgrade(int argc, char **argv)
{
	return promote_apply_command(argc, argv, false, downgrade_help);
}
