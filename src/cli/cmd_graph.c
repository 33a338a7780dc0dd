/*
 * migsync graph: the whole revision graph as a Mermaid flowchart, a
 * Graphviz digraph, an SVG drawing (laid out by Graphviz's libraries,
 * src/layout) or JSON. Edges point from the older revision to the newer
 * one; depends_on edges are dotted (Mermaid) or dashed (dot, SVG).
 *
 * With --status, every environment is probed as `migsync status` probes
 * it, and each revision that is a version row of some environment's
 * database carries the names of those environments (in the SVG: a badge
 * in the environment's colour, and the revisions still pending shaded).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/output.h"
#include "cli/render/graph.h"
#include "cli/render/render.h"
#include "cli/status_collect.h"
#include "migsync/json.h"
#include "migsync/status.h"

enum graph_format {
	GRAPH_MERMAID,
	GRAPH_DOT,
	GRAPH_SVG,
	GRAPH_JSON,
};

enum {
	OPT_STATUS = OPT_FIRST_COMMAND_OPTION,
};

#define GRAPH_STATUS_MARK "#1e7b34"

static void usage(void)
{
	printf("migsync graph draws the revision graph.\n"
	       "\n"
	       "Usage:\n"
	       "  migsync graph [OPTION]...\n"
	       "\n"
	       "Options:\n"
	       "      --format=FORMAT     mermaid (default), dot, svg or json\n"
	       "      --status            probe every environment and mark the revisions\n"
	       "                          they stand at (needs an inventory)\n"
	       "  -h, --help              show this help, then exit\n"
	       "\n");
	output_print_scripts_help(26);
	printf("\n"
	       "Edges go from a revision to the revisions built on it; depends_on\n"
	       "edges are dotted. Heads are drawn bold, merge points shaded.\n"
	       "With --status, the revisions where environments stand are green and\n"
	       "name them; a comment names the environments that could not be reached.\n"
	       "svg is laid out by Graphviz: each revision with its tags as alembic history\n"
	       "writes them; with --status, a badge per environment in its colour and the\n"
	       "revisions still pending shaded.\n"
	       "\n"
	       "Exit status:\n"
	       "  0  the graph was drawn\n"
	       "  2  could not run (usage, revision files, an inconsistent graph; with\n"
	       "     --status, an inventory that cannot be read)\n");
}

/*
 * A Mermaid node id for a revision id: "r_" and the id, with every byte
 * that is not a letter or digit written as _XX (hex), so that any id
 * gives a distinct, valid name.
 */
static void add_mermaid_id(struct strbuf *sb, const char *id)
{
	strbuf_addstr(sb, "r_");
	for (const unsigned char *p = (const unsigned char *)id; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9'))
			strbuf_addch(sb, *p);
		else
			strbuf_addf(sb, "_%02x", *p);
	}
}

/* Text for a quoted Mermaid label: markup characters as entity codes. */
static void add_mermaid_text(struct strbuf *sb, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"':
			strbuf_addstr(sb, "#quot;");
			break;
		case '#':
			strbuf_addstr(sb, "#35;");
			break;
		case '<':
			strbuf_addstr(sb, "#lt;");
			break;
		case '>':
			strbuf_addstr(sb, "#gt;");
			break;
		case '&':
			strbuf_addstr(sb, "#amp;");
			break;
		default:
			strbuf_addch(sb, *p < 0x20 ? ' ' : *p);
		}
	}
}

/* "[dev, staging]": the environments at node n (none: nothing added). */
static void add_envs(struct strbuf *sb, const struct render_graph_marks *m, size_t n)
{
	if (!m || !m->nodes[n].at.nr)
		return;
	strbuf_addch(sb, '[');
	cli_add_joined(sb, &m->nodes[n].at, ", ", "");
	strbuf_addch(sb, ']');
}

/* "unreachable: prod, qa" (empty when every environment answered). */
static void add_unreachable(struct strbuf *sb, const struct render_graph_marks *m)
{
	if (!m || !m->unreachable.nr)
		return;
	strbuf_addstr(sb, "unreachable: ");
	cli_add_joined(sb, &m->unreachable, ", ", "");
}

static void print_mermaid(struct strbuf *sb, const struct revgraph *g, const size_t *order,
			  const struct render_graph_marks *st)
{
	struct strbuf text = STRBUF_INIT;
	bool any_head = false, any_merge = false, any_env = false;

	strbuf_addstr(sb, "graph TD\n");
	add_unreachable(&text, st);
	if (text.len) {
		strbuf_addstr(sb, "    %% ");
		add_mermaid_text(sb, text.buf);
		strbuf_addch(sb, '\n');
	}
	for (size_t i = 0; i < g->nr; i++) {
		const struct revgraph_node *node = &g->nodes[order[i]];
		char *doc = output_doc(node->script);

		strbuf_reset(&text);
		render_graph_title(&text, node);
		strbuf_addstr(sb, "    ");
		add_mermaid_id(sb, node->id);
		strbuf_addstr(sb, "[\"");
		add_mermaid_text(sb, text.buf);
		if (*doc) {
			strbuf_addstr(sb, "<br/>");
			add_mermaid_text(sb, doc);
		}
		strbuf_reset(&text);
		add_envs(&text, st, order[i]);
		if (text.len) {
			strbuf_addstr(sb, "<br/>");
			add_mermaid_text(sb, text.buf);
			any_env = true;
		}
		strbuf_addstr(sb, "\"]\n");
		free(doc);
	}
	for (size_t i = 0; i < g->nr; i++) {
		const struct revgraph_node *node = &g->nodes[order[i]];

		for (size_t k = 0; k < node->parents_nr; k++) {
			strbuf_addstr(sb, "    ");
			add_mermaid_id(sb, g->nodes[node->parents[k]].id);
			strbuf_addstr(sb, " --> ");
			add_mermaid_id(sb, node->id);
			strbuf_addch(sb, '\n');
		}
		for (size_t k = 0; k < node->deps_nr; k++) {
			strbuf_addstr(sb, "    ");
			add_mermaid_id(sb, g->nodes[node->deps[k]].id);
			strbuf_addstr(sb, " -.-> ");
			add_mermaid_id(sb, node->id);
			strbuf_addch(sb, '\n');
		}
		any_head = any_head || node->is_head;
		any_merge = any_merge || node->is_merge_point;
	}
	if (any_head)
		strbuf_addstr(sb, "    classDef head stroke-width:3px\n");
	if (any_merge)
		strbuf_addstr(sb, "    classDef merge fill:#e8e8f8\n");
	if (any_env)
		strbuf_addstr(sb, "    classDef env fill:#d8f0dc,stroke:" GRAPH_STATUS_MARK ",color:" GRAPH_STATUS_MARK "\n");
	for (size_t i = 0; i < g->nr; i++) {
		const struct revgraph_node *node = &g->nodes[order[i]];

		if (node->is_head) {
			strbuf_addstr(sb, "    class ");
			add_mermaid_id(sb, node->id);
			strbuf_addstr(sb, " head\n");
		}
		if (node->is_merge_point) {
			strbuf_addstr(sb, "    class ");
			add_mermaid_id(sb, node->id);
			strbuf_addstr(sb, " merge\n");
		}
		if (st && st->nodes[order[i]].at.nr) {
			strbuf_addstr(sb, "    class ");
			add_mermaid_id(sb, node->id);
			strbuf_addstr(sb, " env\n");
		}
	}
	strbuf_release(&text);
}

static void print_json(struct strbuf *sb, const struct revgraph *g, const size_t *order,
		       const struct render_graph_marks *st)
{
	struct json_writer jw;
	size_t *heads = NULL, heads_nr = 0, *bases = NULL, bases_nr = 0;

	revgraph_heads_sorted(&heads, &heads_nr, g, false);
	revgraph_bases_sorted(&bases, &bases_nr, g);

	json_init(&jw, sb);
	render_json_begin(&jw, "graph");
	output_json_ids(&jw, "heads", g, heads, heads_nr);
	output_json_ids(&jw, "bases", g, bases, bases_nr);
	output_json_nodes_edges(&jw, g, order, g->nr);
	if (st) {
		json_key(&jw, "environments");
		json_object_begin(&jw);
		for (size_t i = 0; i < g->nr; i++)
			if (st->nodes[order[i]].at.nr)
				cli_json_strvec(&jw, g->nodes[order[i]].id, &st->nodes[order[i]].at);
		json_object_end(&jw);
		cli_json_strvec(&jw, "unreachable", &st->unreachable);
	}
	json_object_end(&jw);
	strbuf_addch(sb, '\n');
	free(heads);
	free(bases);
}

/*
 * For --status: gather what `migsync status` reports (inventory, scripts,
 * graph, every environment probed) into c, and mark in st where each
 * environment stands. Returns an exit code; a failure has been printed.
 */
static int graph_status_collect(struct render_graph_marks *st, struct cli_status *c,
				const struct cli_common *common)
{
	struct cli_status_options opts = { NULL, NULL, 0, false };
	struct ms_error err = MS_ERROR_INIT;
	int ret = EXIT_OK;

	if (cli_status_collect(c, common, &opts, &err) < 0) {
		cli_print_error_scrubbed(&err, &c->secrets);
		ret = EXIT_CANNOT_RUN;
		goto done;
	}
	render_graph_marks_build(st, &c->report, c->g);
done:
	ms_error_release(&err);
	return ret;
}

/* The SVG drawing of g, laid out by Graphviz; returns an exit code, a failure printed. */
static int print_svg(struct strbuf *sb, const struct revgraph *g,
		     const struct render_graph_marks *st)
{
	struct ms_error err = MS_ERROR_INIT;
	int ret = EXIT_OK;

	if (render_graph_svg(sb, g, st, 0, &err) < 0) {
		cli_print_error(&err);
		ret = EXIT_CANNOT_RUN;
	}
	ms_error_release(&err);
	return ret;
}

int cmd_graph(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_COMMON_LONGOPTS,
		{ "status", no_argument, NULL, OPT_STATUS },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_common common;
	struct output_graph og = OUTPUT_GRAPH_INIT;
	struct cli_status c;
	struct render_graph_marks st;
	const struct revgraph *g = NULL;
	struct strbuf sb = STRBUF_INIT;
	enum graph_format format = GRAPH_MERMAID;
	bool status = false;
	size_t *order = NULL;
	int opt, ret = EXIT_OK;

	cli_common_init(&common);
	cli_status_init(&c);
	render_graph_marks_init(&st);
	opterr = 0;
	while ((opt = getopt_long(argc, argv, CLI_COMMON_SHORTOPTS, longopts, NULL)) != -1) {
		switch (opt) {
		case OPT_FORMAT:
			/* graph has formats of its own */
			if (!strcmp(optarg, "mermaid")) {
				format = GRAPH_MERMAID;
			} else if (!strcmp(optarg, "dot")) {
				format = GRAPH_DOT;
			} else if (!strcmp(optarg, "svg")) {
				format = GRAPH_SVG;
			} else if (!strcmp(optarg, "json")) {
				format = GRAPH_JSON;
			} else {
				ret = cli_usage_error("graph", "unknown format \"%s\" (expected mermaid, dot, svg or json)",
						      optarg);
				goto done;
			}
			break;
		case OPT_STATUS:
			status = true;
			break;
		default:
			if (output_option_done(&ret, &common, "graph", opt, usage))
				goto done;
		}
	}
	ret = cli_extra_arguments("graph", argc, argv, optind);
	if (ret)
		goto done;

	if (status)
		ret = graph_status_collect(&st, &c, &common);
	else
		ret = output_graph_load(&og, &common);
	if (ret)
		goto done;
	g = status ? c.g : og.graph;
	revgraph_topo_order(&order, g);
	if (format == GRAPH_MERMAID)
		print_mermaid(&sb, g, order, status ? &st : NULL);
	else if (format == GRAPH_DOT)
		render_graph_dot(&sb, g, order, status ? &st : NULL, 0);
	else if (format == GRAPH_SVG)
		ret = print_svg(&sb, g, status ? &st : NULL);
	else
		print_json(&sb, g, order, status ? &st : NULL);
	if (ret)
		goto done;
	cli_scrub(&sb, &c.secrets);
	ret = cli_write_stdout(sb.buf, sb.len);
done:
	free(order);
	strbuf_release(&sb);
	render_graph_marks_release(&st);
	cli_status_release(&c);
	output_graph_release(&og);
	cli_common_release(&common);
	return ret;
}
