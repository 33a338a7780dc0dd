/*
 * migsync history: the revisions newest first, as `alembic history`
 * prints them, optionally limited to a range START:END.
 */
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"
#include "cli/output.h"

/* How much text history gathers before writing it out. */
#define HISTORY_CHUNK (64 * 1024)

static void usage(void)
{
	printf("migsync history lists the revisions, newest first.\n"
	       "\n"
	       "Usage:\n"
	       "  migsync history [OPTION]...\n"
	       "\n"
	       "Options:\n"
	       "  -r, --rev-range=RANGE   only revisions in RANGE: START:END, START: or :END\n"
	       "  -v, --verbose           show each revision in full\n"
	       "      --format=FORMAT     output format: text (default) or json\n"
	       "  -h, --help              show this help, then exit\n"
	       "\n");
	output_print_scripts_help(26);
	printf("\n"
	       "START and END are revision ids, unique prefixes, branch labels, heads,\n"
	       "base, label@head or relative forms; \"current\" needs a database and is\n"
	       "not accepted. Without --scripts or an inventory, migsync reads\n"
	       "alembic.ini in the current directory. The text output is that of\n"
	       "'alembic history'.\n"
	       "\n"
	       "Exit status:\n"
	       "  0  the history was printed\n"
	       "  2  could not run (usage, a range that names no revision, revision files,\n"
	       "     an inconsistent graph)\n");
}

int cmd_history(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_COMMON_LONGOPTS,
		{ "verbose", no_argument, NULL, 'v' },
		{ "rev-range", required_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_common common;
	struct output_graph og = OUTPUT_GRAPH_INIT;
	struct ms_error err = MS_ERROR_INIT;
	struct strbuf sb = STRBUF_INIT;
	const char *range = NULL;
	char *lower = NULL, *upper = NULL;
	bool verbose = false;
	size_t *revs = NULL, revs_nr = 0;
	int opt, ret = EXIT_OK;

	cli_common_init(&common);
	opterr = 0;
	while ((opt = getopt_long(argc, argv, CLI_COMMON_SHORTOPTS "vr:", longopts, NULL)) != -1) {
		switch (opt) {
		case 'v':
			verbose = true;
			break;
		case 'r':
			range = optarg;
			break;
		default:
			if (output_option_done(&ret, &common, "history", opt, usage))
				goto done;
		}
	}
	ret = cli_extra_arguments("history", argc, argv, optind);
	if (ret)
		goto done;
	if (revgraph_history_split(&lower, &upper, range, &err) < 0) {
		ret = cli_usage_error("history", "%s", err.message);
		goto done;
	}

	ret = output_graph_load(&og, &common);
	if (ret)
		goto done;
	if (revgraph_history_walk(&revs, &revs_nr, og.graph, lower, upper, &err) < 0) {
		cli_print_error(&err);
		ret = cli_exit_code(&err);
		goto done;
	}

	if (common.format == FORMAT_JSON) {
		output_json_listing(&sb, "history", og.graph, "revisions", revs, revs_nr, revs, revs_nr);
	} else {
		/* written in chunks: the whole history can be megabytes */
		for (size_t i = 0; i < revs_nr; i++) {
			output_cmd_format(&sb, og.graph, revs[i], verbose,
					  OUT_BRANCHES | OUT_DOC | OUT_PARENTS | OUT_TREE);
			strbuf_addch(&sb, '\n');
			if (sb.len >= HISTORY_CHUNK) {
				ret = cli_write_stdout(sb.buf, sb.len);
				if (ret)
					goto done;
				strbuf_setlen(&sb, 0);
			}
		}
	}
	ret = cli_write_stdout(sb.buf, sb.len);
done:
	free(revs);
	free(lower);
	free(upper);
	strbuf_release(&sb);
	ms_error_release(&err);
	output_graph_release(&og);
	cli_common_release(&common);
	return ret;
}
