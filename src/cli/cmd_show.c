/*
 * migsync show REV: one revision (or the several an identifier such as
 * "heads" names) in full, as `alembic show` prints it.
 */
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"
#include "cli/output.h"

static void usage(void)
{
	printf("migsync show prints one revision in full.\n"
	       "\n"
	       "Usage:\n"
	       "  migsync show [OPTION]... REV\n"
	       "\n"
	       "Options:\n"
	       "      --format=FORMAT     output format: text (default) or json\n"
	       "  -h, --help              show this help, then exit\n"
	       "\n");
	output_print_scripts_help(26);
	printf("\n"
	       "REV is a revision id, a unique prefix of one, a branch label, head,\n"
	       "heads, label@head or a relative form such as head-1; \"current\" needs\n"
	       "a database and is not accepted. Without --scripts or an inventory,\n"
	       "migsync reads alembic.ini in the current directory. The text output\n"
	       "is that of 'alembic show'.\n"
	       "\n"
	       "Exit status:\n"
	       "  0  the revision was printed\n"
	       "  2  could not run (usage, a REV that names no revision or several, revision\n"
	       "     files)\n");
}

int cmd_show(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_COMMON_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	struct cli_common common;
	struct output_graph og = OUTPUT_GRAPH_INIT;
	struct revgraph_set set = REVGRAPH_SET_INIT;
	struct ms_error err = MS_ERROR_INIT;
	struct strbuf sb = STRBUF_INIT;
	const char *rev;
	int opt, ret = EXIT_OK;

	cli_common_init(&common);
	opterr = 0;
	while ((opt = getopt_long(argc, argv, CLI_COMMON_SHORTOPTS, longopts, NULL)) != -1) {
		if (output_option_done(&ret, &common, "show", opt, usage))
			goto done;
	}
	if (optind >= argc) {
		ret = cli_usage_error("show", "no revision given");
		goto done;
	}
	ret = cli_extra_arguments("show", argc, argv, optind + 1);
	if (ret)
		goto done;
	rev = argv[optind];
	/* refused before the scripts are read */
	if (revgraph_refuse_current(rev, &err) < 0) {
		cli_print_error(&err);
		ret = cli_exit_code(&err);
		goto done;
	}

	ret = output_graph_load(&og, &common);
	if (ret)
		goto done;
	if (revgraph_show_revisions(&set, og.graph, rev, &err) < 0) {
		cli_print_error(&err);
		ret = cli_exit_code(&err);
		goto done;
	}

	if (common.format == FORMAT_JSON) {
		output_json_listing(&sb, "show", og.graph, "revisions", set.items, set.nr, set.items, set.nr);
	} else {
		for (size_t i = 0; i < set.nr; i++) {
			output_log_entry(&sb, og.graph, set.items[i]);
			strbuf_addch(&sb, '\n');
		}
	}
	ret = cli_write_stdout(sb.buf, sb.len);
done:
	revgraph_set_release(&set);
	strbuf_release(&sb);
	ms_error_release(&err);
	output_graph_release(&og);
	cli_common_release(&common);
	return ret;
}
