/*
 * migsync heads: the heads of the revision graph, as `alembic heads`
 * prints them.
 */
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"
#include "cli/output.h"

enum {
	OPT_RESOLVE_DEPENDENCIES = OPT_FIRST_COMMAND_OPTION,
};

static void usage(void)
{
	printf("migsync heads shows the heads of the revision graph.\n"
	       "\n"
	       "Usage:\n"
	       "  migsync heads [OPTION]...\n"
	       "\n"
	       "Options:\n"
	       "      --resolve-dependencies  treat depends_on as down_revision\n"
	       "  -v, --verbose               show each head in full\n"
	       "      --format=FORMAT         output format: text (default) or json\n"
	       "  -h, --help                  show this help, then exit\n"
	       "\n");
	output_print_scripts_help(30);
	printf("\n"
	       "Without --scripts or an inventory, migsync reads alembic.ini in the\n"
	       "current directory. The text output is that of 'alembic heads'.\n"
	       "\n"
	       "Exit status:\n"
	       "  0  the heads were printed\n"
	       "  2  could not run (usage, revision files, an inconsistent graph)\n");
}

int cmd_heads(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_COMMON_LONGOPTS,
		{ "verbose", no_argument, NULL, 'v' },
		{ "resolve-dependencies", no_argument, NULL, OPT_RESOLVE_DEPENDENCIES },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_common common;
	struct output_graph og = OUTPUT_GRAPH_INIT;
	struct strbuf sb = STRBUF_INIT;
	bool verbose = false, resolve = false;
	size_t *heads = NULL, heads_nr = 0;
	int opt, ret = EXIT_OK;

	cli_common_init(&common);
	opterr = 0;
	while ((opt = getopt_long(argc, argv, CLI_COMMON_SHORTOPTS "v", longopts, NULL)) != -1) {
		switch (opt) {
		case 'v':
			verbose = true;
			break;
		case OPT_RESOLVE_DEPENDENCIES:
			resolve = true;
			break;
		default:
			if (output_option_done(&ret, &common, "heads", opt, usage))
				goto done;
		}
	}
	ret = cli_extra_arguments("heads", argc, argv, optind);
	if (ret)
		goto done;

	ret = output_graph_load(&og, &common);
	if (ret)
		goto done;

	/* `alembic heads --resolve-dependencies` lists get_revisions("heads"): the real heads */
	revgraph_heads_sorted(&heads, &heads_nr, og.graph, resolve);
	if (common.format == FORMAT_JSON) {
		output_json_listing(&sb, "heads", og.graph, "heads", heads, heads_nr, heads, heads_nr);
	} else {
		for (size_t i = 0; i < heads_nr; i++) {
			output_cmd_format(&sb, og.graph, heads[i], verbose, OUT_BRANCHES);
			strbuf_addch(&sb, '\n');
		}
	}
	ret = cli_write_stdout(sb.buf, sb.len);
done:
	free(heads);
	strbuf_release(&sb);
	output_graph_release(&og);
	cli_common_release(&common);
	return ret;
}
