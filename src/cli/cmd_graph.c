/*
 * migsync graph: the whole revision graph as a Mermaid flowchart, a
 * Graphviz digraph or JSON. Edges point from the older revision to the
 * newer one; depends_on edges are dotted (Mermaid) or dashed (dot).
 *
 * With --status, every environment is probed as `migsync status` probes
 * it, and each revision that is a version row of some environment's
 * database carries the names of those environments.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/output.h"
#include "cli/render/render.h"
#include "cli/status_collect.h"
#include "migsync/json.h"
#include "migsync/status.h"

enum graph_format {
	GRAPH_MERMAID,
	GRAPH_DOT,
	GRAPH_JSON,
};

enum {
	OPT_STATUS = OPT_FIRST_COMMAND_OPTION,
};

/* Where the environments stand, for --status. */
struct graph_status {
	struct strvec *at;		/* per node: status_report_positions() */
	size_t nr;
	struct strvec unreachable;	/* "prod", or "tenants (2 of 50 databases)" */
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
	       "      --format=FORMAT     mermaid (default), dot or json\n"
	       "      --status            probe every environment and mark the revisions\n"
	       "                          they stand at (needs an inventory)\n"
	       "  -h, --help              show this help, then exit\n"
	       "\n"
	       "Revision scripts:\n"
	       "      --scripts=DIR       read revisions from DIR (repeatable)\n"
	       "  -i, --inventory=PATH    read migrations.scripts from this inventory\n"
	       "\n"
	       "Edges go from a revision to the revisions built on it; depends_on\n"
	       "edges are dotted. Heads are drawn bold, merge points shaded.\n"
	       "With --status, the revisions where environments stand are green and\n"
	       "name them; a comment names the environments that could not be reached.\n"
	       "Render dot output with, for example: migsync graph --format=dot | dot -Tsvg\n"
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

/* "[dev, staging]": the environments at node n (none: nothing added). */
static void add_envs(struct strbuf *sb, const struct graph_status *st, size_t n)
{
	if (!st || !st->at[n].nr)
		return;
	strbuf_addch(sb, '[');
	cli_add_joined(sb, &st->at[n], ", ", "");
	strbuf_addch(sb, ']');
}

/* "unreachable: prod, qa" (empty when every environment answered). */
static void add_unreachable(struct strbuf *sb, const struct graph_status *st)
{
	if (!st || !st->unreachable.nr)
		return;
	strbuf_addstr(sb, "unreachable: ");
	cli_add_joined(sb, &st->unreachable, ", ", "");
}

static void print_mermaid(struct strbuf *sb, const struct revgraph *g, const size_t *order,
			  const struct graph_status *st)
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
		add_title(&text, node);
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
		if (st && st->at[order[i]].nr) {
			strbuf_addstr(sb, "    class ");
			add_mermaid_id(sb, node->id);
			strbuf_addstr(sb, " env\n");
		}
	}
	strbuf_release(&text);
}

static void print_dot(struct strbuf *sb, const struct revgraph *g, const size_t *order,
		      const struct graph_status *st)
{
	struct strbuf text = STRBUF_INIT;

	strbuf_addstr(sb, "digraph revisions {\n\tnode [shape=box];\n");
	add_unreachable(&text, st);
	if (text.len) {
		strbuf_addstr(sb, "\t// ");
		add_dot_text(sb, text.buf);
		strbuf_addch(sb, '\n');
	}
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
		strbuf_reset(&text);
		add_envs(&text, st, order[i]);
		if (text.len) {
			strbuf_addstr(sb, "\\n");
			add_dot_text(sb, text.buf);
		}
		strbuf_addch(sb, '"');
		if (text.len)
			strbuf_addstr(sb, ", color=\"" GRAPH_STATUS_MARK "\", fontcolor=\"" GRAPH_STATUS_MARK "\"");
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

static void print_json(struct strbuf *sb, const struct revgraph *g, const size_t *order,
		       const struct graph_status *st)
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
			if (st->at[order[i]].nr)
				cli_json_strvec(&jw, g->nodes[order[i]].id, &st->at[order[i]]);
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
 * graph, every environment probed) into c, and note in st where each
 * environment stands. Returns an exit code; a failure has been printed.
 */
static int graph_status_collect(struct graph_status *st, struct cli_status *c,
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
	st->nr = c->g->nr;
	st->at = xmalloc((st->nr ? st->nr : 1) * sizeof(*st->at));
	for (size_t i = 0; i < st->nr; i++)
		strvec_init(&st->at[i]);
	status_report_positions(st->at, &c->report, c->g);
	for (size_t i = 0; i < c->report.envs_nr; i++) {
		const struct status_env *env = &c->report.envs[i];
		size_t down = 0;

		if (env->state != STATUS_UNREACHABLE)
			continue;
		for (size_t k = 0; k < env->targets_nr; k++)
			down += env->targets[k].result.state == STATUS_UNREACHABLE;
		if (env->fleet && down && down < env->targets_nr) {
			char *s = xstrfmt("%s (%zu of %zu databases)", env->name, down, env->targets_nr);

			strvec_push(&st->unreachable, s);
			free(s);
		} else {
			strvec_push(&st->unreachable, env->name);
		}
	}
done:
	ms_error_release(&err);
	return ret;
}

static void graph_status_release(struct graph_status *st)
{
	for (size_t i = 0; i < st->nr; i++)
		strvec_release(&st->at[i]);
	free(st->at);
	st->at = NULL;
	st->nr = 0;
	strvec_release(&st->unreachable);
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
	struct graph_status st = { NULL, 0, STRVEC_INIT };
	const struct revgraph *g = NULL;
	struct strbuf sb = STRBUF_INIT;
	enum graph_format format = GRAPH_MERMAID;
	bool status = false;
	size_t *order = NULL;
	int opt, ret = EXIT_OK;

	cli_common_init(&common);
	cli_status_init(&c);
	opterr = 0;
	while ((opt = getopt_long(argc, argv, CLI_COMMON_SHORTOPTS, longopts, NULL)) != -1) {
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
		case OPT_STATUS:
			status = true;
			break;
		default:
			if (output_option_done(&ret, &common, "graph", opt, usage))
				goto done;
		}
	}
	ret = output_extra_arguments("graph", argc, argv, optind);
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
		print_dot(&sb, g, order, status ? &st : NULL);
	else
		print_json(&sb, g, order, status ? &st : NULL);
	cli_scrub(&sb, &c.secrets);
	ret = cli_write_stdout(sb.buf, sb.len);
done:
	free(order);
	strbuf_release(&sb);
	graph_status_release(&st);
	cli_status_release(&c);
	output_graph_release(&og);
	cli_common_release(&common);
	return ret;
}
