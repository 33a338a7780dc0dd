/*
 * migsync branches: the branch points of the revision graph and where
 * they lead, as `alembic branches` prints them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/output.h"

static void usage(void)
{
	printf("migsync branches shows the branch points of the revision graph.\n"
	       "\n"
	       "Usage:\n"
	       "  migsync branches [OPTION]...\n"
	       "\n"
	       "Options:\n"
	       "  -v, --verbose           show each branch point in full\n"
	       "      --format=FORMAT     output format: text (default) or json\n"
	       "  -h, --help              show this help, then exit\n"
	       "\n");
	output_print_scripts_help(26);
	printf("\n"
	       "Without --scripts or an inventory, migsync reads alembic.ini in the\n"
	       "current directory. The text output is that of 'alembic branches'.\n"
	       "\n"
	       "Exit status:\n"
	       "  0  the branch points were printed (there may be none)\n"
	       "  2  could not run (usage, revision files, an inconsistent graph)\n");
}

/* One branch point: its line, then one "   -> child" line per child. */
static void add_branch_point(struct strbuf *sb, const struct revgraph *g, size_t n, bool verbose)
{
	const struct revgraph_node *node = &g->nodes[n];

	output_cmd_format(sb, g, n, verbose, OUT_BRANCHES | OUT_TREE);
	strbuf_addch(sb, '\n');
	for (size_t i = 0; i < node->children_nr; i++) {
		if (i)
			strbuf_addch(sb, '\n');
		strbuf_addchars(sb, ' ', strlen(node->id));
		strbuf_addstr(sb, " -> ");
		output_head_only(sb, g, node->children[i],
				 OUT_BRANCHES | OUT_TREE | (verbose ? OUT_DOC : 0));
	}
	/* print_stdout("%s\n%s\n", ...) adds its own newline: a blank line follows */
	strbuf_addstr(sb, "\n\n");
}

int cmd_branches(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_COMMON_LONGOPTS,
		{ "verbose", no_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_common common;
	struct output_graph og = OUTPUT_GRAPH_INIT;
	struct ms_error err = MS_ERROR_INIT;
	struct strbuf sb = STRBUF_INIT;
	bool verbose = false;
	size_t *points = NULL, *nodes = NULL, points_nr = 0, nodes_nr = 0;
	int opt, ret = EXIT_OK;

	cli_common_init(&common);
	opterr = 0;
	while ((opt = getopt_long(argc, argv, CLI_COMMON_SHORTOPTS "v", longopts, NULL)) != -1) {
		if (opt == 'v')
			verbose = true;
		else if (output_option_done(&ret, &common, "branches", opt, usage))
			goto done;
	}
	ret = cli_extra_arguments("branches", argc, argv, optind);
	if (ret)
		goto done;

	ret = output_graph_load(&og, &common);
	if (ret)
		goto done;
	/* JSON also lists the children of each branch point */
	if (revgraph_branch_points(&points, &points_nr,
				   common.format == FORMAT_JSON ? &nodes : NULL, &nodes_nr,
				   og.graph, &err) < 0) {
		cli_print_error(&err);
		ret = cli_exit_code(&err);
		goto done;
	}

	if (common.format == FORMAT_JSON) {
		output_json_listing(&sb, "branches", og.graph, "branch_points", points, points_nr, nodes, nodes_nr);
	} else {
		for (size_t i = 0; i < points_nr; i++)
			add_branch_point(&sb, og.graph, points[i], verbose);
	}
	ret = cli_write_stdout(sb.buf, sb.len);
done:
	free(points);
	free(nodes);
	strbuf_release(&sb);
	ms_error_release(&err);
	output_graph_release(&og);
	cli_common_release(&common);
	return ret;
}
