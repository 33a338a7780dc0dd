#ifndef MIGSYNC_CLI_CHECK_OUTPUT_H
#define MIGSYNC_CLI_CHECK_OUTPUT_H

/*
 * What `migsync check` and `migsync report merge` share once status,
 * drift and lint are gathered: judging them, and writing the report
 * (--html, --junit, --markdown files, then text or JSON on stdout).
 */

#include "cli/cli.h"
#include "cli/render/render.h"
#include "cli/status_collect.h"
#include "migsync/nightly.h"

/* The files to write besides stdout; NULL: not asked for. */
struct cli_check_files {
	const char *junit;
	const char *markdown;
	const char *html;
};

/*
 * Judge what run's status, drift and lint hold (nightly_judge, into
 * *report, which run->report points to), then write run's files and its
 * text or JSON on stdout, secrets scrubbed. Returns the exit code of the
 * check: EXIT_OK, EXIT_PROBLEMS when the verdict is a failure,
 * EXIT_CANNOT_RUN (printed) when a file or stdout cannot be written.
 */
int cli_check_finish(struct nightly_report *report, struct render_check *run,
		     enum cli_format format, const struct cli_check_files *files);

#endif
