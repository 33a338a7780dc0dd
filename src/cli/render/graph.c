/*
 * The revision graph as DOT, and drawn as SVG (see graph.h). The plain
 * digraph is what `graph --format=dot` has always printed; the drawing
 * adds what a person looks for: every revision's tags as `alembic
 * history` writes them, a badge in its colour for each environment that
 * stands on it, and the revisions some environment still needs shaded.
 */
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/output.h"
#include "cli/render/graph.h"
#include "cli/render/render.h"
#include "cli/status_collect.h"
#include "migsync/layout.h"

/* The plain digraph's mark for a revision where environments stand. */
#define GRAPH_STATUS_MARK "#1e7b34"
#define GRAPH_PENDING_FILL "#dcdcdc"
#define GRAPH_MERGE_FILL "#e8e8f8"
/* past this many revisions, nodes are placed across without balancing */
#define GRAPH_BALANCED_MAX 300

/* Okabe and Ito's palette: told apart with every common colour blindness. */
static const char *const env_colours[][2] = {
	{ "#0072b2", "#ffffff" },
	{ "#e69f00", "#000000" },
	{ "#009e73", "#ffffff" },
	{ "#cc79a7", "#000000" },
	{ "#56b4e9", "#000000" },
	{ "#d55e00", "#ffffff" },
	{ "#f0e442", "#000000" },
	{ "#000000", "#ffffff" },
};

#define ENV_COLOURS_NR (sizeof(env_colours) / sizeof(env_colours[0]))

const char *render_env_colour(size_t env)
{
	return env_colours[env % ENV_COLOURS_NR][0];
}

const char *render_env_ink(size_t env)
{
	return env_colours[env % ENV_COLOURS_NR][1];
}

void render_add_anchor(struct strbuf *sb, const char *prefix, const char *s)
{
	strbuf_addstr(sb, prefix);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '-')
			strbuf_addch(sb, *p);
		else
			strbuf_addf(sb, "_%02x", *p);
	}
}

void render_graph_marks_init(struct render_graph_marks *m)
{
	m->report = NULL;
	m->nodes = NULL;
	m->nr = 0;
	strvec_init(&m->unreachable);
}

void render_graph_marks_release(struct render_graph_marks *m)
{
	for (size_t i = 0; i < m->nr; i++) {
		strvec_release(&m->nodes[i].at);
		strvec_release(&m->nodes[i].pending);
		free(m->nodes[i].badges);
	}
	free(m->nodes);
	strvec_release(&m->unreachable);
	render_graph_marks_init(m);
}

/* Count env's databases on node n (a badge per environment and node, in rollout order). */
static void add_badge(struct render_graph_node *node, size_t env)
{
	if (node->badges_nr && node->badges[node->badges_nr - 1].env == env) {
		node->badges[node->badges_nr - 1].databases++;
		return;
	}
	node->badges = xrealloc(node->badges, (node->badges_nr + 1) * sizeof(*node->badges));
	node->badges[node->badges_nr].env = env;
	node->badges[node->badges_nr].databases = 1;
	node->badges_nr++;
}

/* "prod", or "tenants (2 of 50 databases)" when only part of a fleet is down. */
static void add_unreachable(struct strvec *out, const struct status_env *env)
{
	size_t down = 0;

	for (size_t k = 0; k < env->targets_nr; k++)
		down += env->targets[k].result.state == STATUS_UNREACHABLE;
	if (env->fleet && down && down < env->targets_nr)
		strvec_push_owned(out, xstrfmt("%s (%zu of %zu databases)", env->name, down,
					       env->targets_nr));
	else
		strvec_push(out, env->name);
}

void render_graph_marks_build(struct render_graph_marks *m, const struct status_report *r,
			      const struct revgraph *g)
{
	render_graph_marks_release(m);
	m->report = r;
	m->nr = g->nr;
	m->nodes = xcalloc(m->nr ? m->nr : 1, sizeof(*m->nodes));
	for (size_t n = 0; n < m->nr; n++) {
		strvec_init(&m->nodes[n].at);
		strvec_init(&m->nodes[n].pending);
	}
	for (size_t e = 0; e < r->envs_nr; e++) {
		const struct status_env *env = &r->envs[e];

		/* a database with two heads stands on two revisions */
		for (size_t t = 0; t < env->targets_nr; t++) {
			const struct status_result *res = &env->targets[t].result;

			if (res->state == STATUS_UNREACHABLE)
				continue;
			for (size_t h = 0; h < res->heads.nr; h++) {
				ssize_t n = revgraph_find(g, res->heads.items[h]);

				if (n >= 0)
					add_badge(&m->nodes[n], e);
			}
		}
		for (size_t p = 0; p < env->pending.nr; p++) {
			ssize_t n = revgraph_find(g, env->pending.items[p]);

			if (n >= 0)
				strvec_push(&m->nodes[n].pending, env->name);
		}
		if (env->state == STATUS_UNREACHABLE)
			add_unreachable(&m->unreachable, env);
	}
	/* the names of the badges: what status_report_positions gives */
	for (size_t n = 0; n < m->nr; n++)
		for (size_t b = 0; b < m->nodes[n].badges_nr; b++)
			strvec_push(&m->nodes[n].at, r->envs[m->nodes[n].badges[b].env].name);
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

/* The length of the valid UTF-8 sequence at p, or 0 when it is not one. */
static size_t utf8_len(const unsigned char *p)
{
	size_t n = *p >= 0xf0 && *p <= 0xf4 ? 4 : *p >= 0xe0 ? 3 : *p >= 0xc2 ? 2 : 0;

	if (*p < 0x80)
		return 1;
	if (*p >= 0xf5)
		return 0;
	for (size_t i = 1; i < n; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	return n;
}

/*
 * Text inside a Graphviz HTML-like label: markup escaped, control
 * characters as spaces, bytes that are not UTF-8 as '?' (Graphviz would
 * refuse the label).
 */
static void add_html_text(struct strbuf *sb, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p;) {
		size_t n = utf8_len(p);

		if (*p == '&')
			strbuf_addstr(sb, "&amp;");
		else if (*p == '<')
			strbuf_addstr(sb, "&lt;");
		else if (*p == '>')
			strbuf_addstr(sb, "&gt;");
		else if (*p == '"')
			strbuf_addstr(sb, "&quot;");
		else if (*p < 0x20)
			strbuf_addch(sb, ' ');
		else if (n)
			strbuf_add(sb, p, n);
		else
			strbuf_addch(sb, '?');
		p += n ? n : 1;
	}
}

void render_graph_title(struct strbuf *sb, const struct revgraph_node *node)
{
	strbuf_addstr(sb, node->id);
	if (node->branch_labels.nr) {
		strbuf_addstr(sb, " (");
		for (size_t i = 0; i < node->branch_labels.nr; i++)
			strbuf_addf(sb, "%s%s", i ? ", " : "", node->branch_labels.items[i]);
		strbuf_addch(sb, ')');
	}
}

static void add_dot_edge(struct strbuf *sb, const char *from, const char *to, const char *attrs)
{
	strbuf_addstr(sb, "\t\"");
	add_dot_text(sb, from);
	strbuf_addstr(sb, "\" -> \"");
	add_dot_text(sb, to);
	strbuf_addf(sb, "\"%s;\n", attrs);
}

/* The plain digraph's node: id, labels, message and "[envs]" as text. */
static void plain_node(struct strbuf *sb, const struct revgraph *g, size_t n,
		       const struct render_graph_marks *m)
{
	const struct revgraph_node *node = &g->nodes[n];
	char *doc = output_doc(node->script);
	struct strbuf text = STRBUF_INIT;
	bool marked = m && m->nodes[n].at.nr;

	render_graph_title(&text, node);
	strbuf_addstr(sb, "\t\"");
	add_dot_text(sb, node->id);
	strbuf_addstr(sb, "\" [label=\"");
	add_dot_text(sb, text.buf);
	if (*doc) {
		strbuf_addstr(sb, "\\n");
		add_dot_text(sb, doc);
	}
	if (marked) {
		strbuf_reset(&text);
		strbuf_addch(&text, '[');
		cli_add_joined(&text, &m->nodes[n].at, ", ", "");
		strbuf_addch(&text, ']');
		strbuf_addstr(sb, "\\n");
		add_dot_text(sb, text.buf);
	}
	strbuf_addch(sb, '"');
	if (marked)
		strbuf_addstr(sb, ", color=\"" GRAPH_STATUS_MARK "\", fontcolor=\"" GRAPH_STATUS_MARK "\"");
	if (node->is_head && node->is_merge_point)
		strbuf_addstr(sb, ", style=\"filled,bold\", fillcolor=\"" GRAPH_MERGE_FILL "\"");
	else if (node->is_head)
		strbuf_addstr(sb, ", style=bold");
	else if (node->is_merge_point)
		strbuf_addstr(sb, ", style=filled, fillcolor=\"" GRAPH_MERGE_FILL "\"");
	strbuf_addstr(sb, "];\n");
	strbuf_release(&text);
	free(doc);
}

/* One environment's badge: its name, "x N" for N databases of a fleet. */
static void add_badge_cell(struct strbuf *sb, const struct revgraph_node *node,
			   const struct render_graph_marks *m, const struct render_graph_badge *b,
			   unsigned flags)
{
	const struct status_env *env = &m->report->envs[b->env];
	struct strbuf id = STRBUF_INIT;

	render_add_anchor(&id, "badge-", env->name);
	render_add_anchor(&id, "-", node->id);
	strbuf_addf(sb, "<TD ID=\"%s\" BGCOLOR=\"%s\" TOOLTIP=\"environment ", id.buf,
		    render_env_colour(b->env));
	add_html_text(sb, env->name);
	strbuf_addch(sb, '"');
	/* Graphviz gives a cell its ID in SVG only when it is a link */
	strbuf_reset(&id);
	if (flags & RENDER_GRAPH_LINKS)
		render_add_anchor(&id, "env-", env->name);
	else
		render_add_anchor(&id, "rev-", node->id);
	strbuf_addf(sb, " HREF=\"#%s\"", id.buf);
	strbuf_addf(sb, "><FONT COLOR=\"%s\">", render_env_ink(b->env));
	add_html_text(sb, env->name);
	if (env->fleet)
		strbuf_addf(sb, " \xc3\x97%zu", b->databases);
	strbuf_addstr(sb, "</FONT></TD>");
	strbuf_release(&id);
}

/* A row spanning the badges' columns. */
static void add_row(struct strbuf *sb, size_t span, const char *open, const char *text,
		    const char *close)
{
	strbuf_addf(sb, "<TR><TD COLSPAN=\"%zu\" ALIGN=\"LEFT\">%s", span, open);
	add_html_text(sb, text);
	strbuf_addf(sb, "%s</TD></TR>", close);
}

/* The drawing's node: a box of rows (title and tags, message, pending) over the badges. */
static void drawn_node(struct strbuf *sb, const struct revgraph *g, size_t n,
		       const struct render_graph_marks *m, unsigned flags)
{
	const struct revgraph_node *node = &g->nodes[n];
	const struct render_graph_node *mark = m ? &m->nodes[n] : NULL;
	size_t span = mark && mark->badges_nr ? mark->badges_nr : 1;
	bool pending = mark && mark->pending.nr;
	char *doc = output_doc(node->script);
	struct strbuf text = STRBUF_INIT;

	strbuf_addstr(sb, "\t\"");
	add_dot_text(sb, node->id);
	strbuf_addstr(sb, "\" [id=\"");
	render_add_anchor(sb, "rev-", node->id);
	strbuf_addf(sb, "\", class=\"rev%s%s%s%s\", label=<<TABLE BORDER=\"%d\" CELLBORDER=\"0\""
		    " CELLSPACING=\"2\" CELLPADDING=\"2\" BGCOLOR=\"%s\">",
		    node->is_head ? " head" : "", node->is_branch_point ? " branchpoint" : "",
		    node->is_merge_point ? " mergepoint" : "", pending ? " pending" : "",
		    node->is_head ? 3 : 1,
		    pending ? GRAPH_PENDING_FILL : node->is_merge_point ? GRAPH_MERGE_FILL : "#ffffff");
	/* the tags as `alembic history` writes them: "id (label) (head) (branchpoint)" */
	output_head_only(&text, g, n, OUT_BRANCHES | OUT_TREE);
	add_row(sb, span, "<B>", text.buf, "</B>");
	if (*doc)
		add_row(sb, span, "", doc, "");
	if (node->deps_nr) {
		strbuf_reset(&text);
		strbuf_addstr(&text, "depends on: ");
		for (size_t k = 0; k < node->deps_nr; k++)
			strbuf_addf(&text, "%s%s", k ? ", " : "", g->nodes[node->deps[k]].id);
		add_row(sb, span, "<I>", text.buf, "</I>");
	}
	if (pending) {
		strbuf_reset(&text);
		strbuf_addstr(&text, "pending: ");
		cli_add_joined(&text, &mark->pending, ", ", "");
		add_row(sb, span, "<I>", text.buf, "</I>");
	}
	if (mark && mark->badges_nr) {
		strbuf_addstr(sb, "<TR>");
		for (size_t b = 0; b < mark->badges_nr; b++)
			add_badge_cell(sb, node, m, &mark->badges[b], flags);
		strbuf_addstr(sb, "</TR>");
	}
	strbuf_addstr(sb, "</TABLE>>];\n");
	strbuf_release(&text);
	free(doc);
}

void render_graph_dot(struct strbuf *sb, const struct revgraph *g, const size_t *order,
		      const struct render_graph_marks *m, unsigned flags)
{
	bool drawing = flags & RENDER_GRAPH_DRAWING;
	struct strbuf text = STRBUF_INIT;

	strbuf_addstr(sb, "digraph revisions {\n");
	if (drawing)
		strbuf_addstr(sb, "\tgraph [fontname=\"Courier\", fontsize=12, ranksep=0.3, nodesep=0.25];\n"
			      "\tnode [shape=plain, fontname=\"Courier\", fontsize=11];\n"
			      "\tedge [arrowsize=0.6];\n");
	else
		strbuf_addstr(sb, "\tnode [shape=box];\n");
	/*
	 * dot places nodes across with network simplex: an initial placement,
	 * then a feasible tree, then balancing. On 3,000 revisions the last
	 * two cost seconds even with few iterations; nslimit=0 keeps the
	 * initial placement, every chain packed to the left in a straight
	 * line, which reads as well as the balanced one on a long history.
	 */
	if (drawing && g->nr > GRAPH_BALANCED_MAX)
		strbuf_addstr(sb, "\tnslimit=0;\n");
	if (m && m->unreachable.nr) {
		strbuf_addstr(&text, "unreachable: ");
		cli_add_joined(&text, &m->unreachable, ", ", "");
		strbuf_addstr(sb, drawing ? "\tlabel=\"" : "\t// ");
		add_dot_text(sb, text.buf);
		strbuf_addstr(sb, drawing ? "\";\n\tlabelloc=b;\n" : "\n");
	}
	for (size_t i = 0; i < g->nr; i++) {
		if (drawing)
			drawn_node(sb, g, order[i], m, flags);
		else
			plain_node(sb, g, order[i], m);
	}
	for (size_t i = 0; i < g->nr; i++) {
		const struct revgraph_node *node = &g->nodes[order[i]];

		for (size_t k = 0; k < node->parents_nr; k++)
			add_dot_edge(sb, g->nodes[node->parents[k]].id, node->id, "");
		for (size_t k = 0; k < node->deps_nr; k++)
			add_dot_edge(sb, g->nodes[node->deps[k]].id, node->id,
				     drawing ? " [style=dashed, class=\"depends_on\"]" : " [style=dashed]");
	}
	strbuf_addstr(sb, "}\n");
	strbuf_release(&text);
}

int render_graph_svg(struct strbuf *sb, const struct revgraph *g,
		     const struct render_graph_marks *m, unsigned flags, struct ms_error *err)
{
	struct strbuf dot = STRBUF_INIT;
	size_t *order = NULL;
	int ret;

	revgraph_topo_order(&order, g);
	render_graph_dot(&dot, g, order, m, flags | RENDER_GRAPH_DRAWING);
	ret = layout_svg(sb, dot.buf, err);
	free(order);
	strbuf_release(&dot);
	return ret;
}

/* The graph of check's HTML page (render.h): badges link to the matrix. */
void render_html_graph_draw(struct render_html_graph *out, const struct cli_status *c)
{
	struct render_graph_marks marks;
	struct strbuf svg = STRBUF_INIT;
	struct ms_error err = MS_ERROR_INIT;

	out->svg = NULL;
	out->why = NULL;
	if (c->graph_error) {
		out->why = xstrdup("the revision graph could not be built (see lint)");
		return;
	}
	render_graph_marks_init(&marks);
	render_graph_marks_build(&marks, &c->report, c->g);
	if (render_graph_svg(&svg, c->g, &marks, RENDER_GRAPH_LINKS, &err) < 0)
		out->why = xstrdup(err.message);
	else
		out->svg = strbuf_detach(&svg, NULL);
	strbuf_release(&svg);
	ms_error_release(&err);
	render_graph_marks_release(&marks);
}

void render_html_graph_release(struct render_html_graph *g)
{
	free(g->svg);
	free(g->why);
	g->svg = NULL;
	g->why = NULL;
}
