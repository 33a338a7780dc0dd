/* Placeholder until the command lands; replaced by its owner. */
#include "cli/cli.h"

int cmd_lint(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return cli_usage_error("lint", "not built yet");
}
