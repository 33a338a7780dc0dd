/*
 * migsync graph: the whole revision graph as a Mermaid flowchart, a
 * Graphviz digraph or JSON. Edges point from the older revision to the
 * newer one; depends_on edges are dotted (Mermaid) or dashed (dot).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/output.h"
#include "migsync/json.h"

enum graph_format {
	GRAPH_MERMAID,
	GRAPH_DOT,
	GRAPH_JSON,
};

static void usage(void)
{
	printf("migsync graph draws the revision graph.\n"
	       "\n"
	       "Usage:\n"
	       "  migsync graph [OPTION]...\n"
	       "\n"
	       "Options:\n"
	       "      --format=FORMAT     mermaid (default), dot or json\n"
	       "      --help              show this help, then exit\n"
	       "\n"
	       "Revision scripts:\n"
	       "      --scripts=DIR       read revisions from DIR (repeatable)\n"
	       "  -i, --inventory=PATH    read migrations.scripts from this inventory\n"
	       "\n"
	       "Edges go from a revision to the revisions built on it; depends_on\n"
	       "edges are dotted. Heads are drawn bold, merge points shaded.\n"
	       "Render dot output with, for example: migsync graph --format=dot | dot -Tsvg\n");
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

/* Text for a double-quoted Graphviz string; "\n" is dot's line break. */
static void add_dot_text(struct strbuf *sb, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			strbuf_addch(sb, '\\');
		strbuf_addch(sb, *p < 0x20 ? ' ' : *p);
	}
}

/* "id (label, ...)" for a node's label. */
static void add_title(struct strbuf *sb, const struct revgraph_node *node)
{
	strbuf_addstr(sb, node->id);
	if (node->branch_labels.nr) {
		strbuf_addstr(sb, " (");
		for (size_t i = 0; i < node->branch_labels.nr; i++)
			strbuf_addf(sb, "%s%s", i ? ", " : "", node->branch_labels.items[i]);
		strbuf_addch(sb, ')');
	}
}

static void print_mermaid(struct strbuf *sb, const struct revgraph *g, const size_t *order)
{
	struct strbuf text = STRBUF_INIT;
	bool any_head = false, any_merge = false;

	strbuf_addstr(sb, "graph TD\n");
	for (size_t i = 0; i < g->nr; i++) {
		const struct revgraph_node *node = &g->nodes[order[i]];
		char *doc = output_doc(node->script);

		strbuf_reset(&text);
		add_title(&text, node);
		strbuf_addstr(sb, "    ");
		add_mermaid_id(sb, node->id);
		strbuf_addstr(sb, "[\"");
		add_mermaid_text(sb, text.buf);
		if (*doc) {
			strbuf_addstr(sb, "<br/>");
			add_mermaid_text(sb, doc);
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
	}
	strbuf_release(&text);
}

static void print_dot(struct strbuf *sb, const struct revgraph *g, const size_t *order)
{
	struct strbuf text = STRBUF_INIT;

	strbuf_addstr(sb, "digraph revisions {\n\tnode [shape=box];\n");
	for (size_t i = 0; i < g->nr; i++) {
		const struct revgraph_node *node = &g->nodes[order[i]];
		char *doc = output_doc(node->script);

		strbuf_reset(&text);
		add_title(&text, node);
		strbuf_addstr(sb, "\t\"");
		add_dot_text(sb, node->id);
		strbuf_addstr(sb, "\" [label=\"");
		add_dot_text(sb, text.buf);
		if (*doc) {
			strbuf_addstr(sb, "\\n");
			add_dot_text(sb, doc);
		}
		strbuf_addch(sb, '"');
		if (node->is_head && node->is_merge_point)
			strbuf_addstr(sb, ", style=\"filled,bold\", fillcolor=\"#e8e8f8\"");
		else if (node->is_head)
			strbuf_addstr(sb, ", style=bold");
		else if (node->is_merge_point)
			strbuf_addstr(sb, ", style=filled, fillcolor=\"#e8e8f8\"");
		strbuf_addstr(sb, "];\n");
		free(doc);
	}
	for (size_t i = 0; i < g->nr; i++) {
		const struct revgraph_node *node = &g->nodes[order[i]];

		for (size_t k = 0; k < node->parents_nr; k++) {
			strbuf_addstr(sb, "\t\"");
			add_dot_text(sb, g->nodes[node->parents[k]].id);
			strbuf_addstr(sb, "\" -> \"");
			add_dot_text(sb, node->id);
			strbuf_addstr(sb, "\";\n");
		}
		for (size_t k = 0; k < node->deps_nr; k++) {
			strbuf_addstr(sb, "\t\"");
			add_dot_text(sb, g->nodes[node->deps[k]].id);
			strbuf_addstr(sb, "\" -> \"");
			add_dot_text(sb, node->id);
			strbuf_addstr(sb, "\" [style=dashed];\n");
		}
	}
	strbuf_addstr(sb, "}\n");
	strbuf_release(&text);
}

static void print_json(struct strbuf *sb, const struct revgraph *g, const size_t *order)
{
	struct json_writer jw;
	size_t *heads = NULL, heads_nr = 0;
	size_t *bases = xmalloc((g->nr ? g->nr : 1) * sizeof(*bases));
	size_t bases_nr = 0;

	output_heads(&heads, &heads_nr, g, false);
	for (size_t i = 0; i < g->nr; i++)
		if (g->nodes[order[i]].is_base)
			bases[bases_nr++] = order[i];
	output_sort_file_order(g, bases, bases_nr);

	json_init(&jw, sb);
	json_object_begin(&jw);
	output_json_ids(&jw, "heads", g, heads, heads_nr);
	output_json_ids(&jw, "bases", g, bases, bases_nr);
	output_json_nodes_edges(&jw, g, order, g->nr);
	json_object_end(&jw);
	strbuf_addch(sb, '\n');
	free(heads);
	free(bases);
}

int cmd_graph(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_COMMON_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	struct cli_common common;
	struct output_graph og = OUTPUT_GRAPH_INIT;
	struct strbuf sb = STRBUF_INIT;
	enum graph_format format = GRAPH_MERMAID;
	size_t *order = NULL;
	int opt, ret = EXIT_OK;

	cli_common_init(&common);
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":" CLI_COMMON_SHORTOPTS, longopts, NULL)) != -1) {
		switch (opt) {
		case OPT_FORMAT:
			/* graph has formats of its own */
			if (!strcmp(optarg, "mermaid")) {
				format = GRAPH_MERMAID;
			} else if (!strcmp(optarg, "dot")) {
				format = GRAPH_DOT;
			} else if (!strcmp(optarg, "json")) {
				format = GRAPH_JSON;
			} else {
				ret = cli_usage_error("graph", "unknown format \"%s\" (expected mermaid, dot or json)",
						      optarg);
				goto done;
			}
			break;
		default:
			if (output_option_done(&ret, &common, "graph", opt, argv, usage))
				goto done;
		}
	}
	ret = output_extra_arguments("graph", argc, argv, optind);
	if (ret)
		goto done;

	ret = output_graph_load(&og, &common);
	if (ret)
		goto done;
	revgraph_topo_order(&order, og.graph);
	if (format == GRAPH_MERMAID)
		print_mermaid(&sb, og.graph, order);
	else if (format == GRAPH_DOT)
		print_dot(&sb, og.graph, order);
	else
		print_json(&sb, og.graph, order);
	ret = cli_write_stdout(sb.buf, sb.len);
done:
	free(order);
	strbuf_release(&sb);
	output_graph_release(&og);
	cli_common_release(&common);
	return ret;
}
