/*
 * Shared by the graph commands: loading the graph, their option loop,
 * Alembic 1.8.1's text lines, and the JSON dump of nodes and edges. Which
 * revisions they list, and in which order, is src/revgraph/history.c.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/output.h"
#include "cli/render/render.h"

/* For the JSON error document: the first graph problem, where it is. */
static void output_note_problem(const struct diag_list *problems, const struct ms_error *err)
{
	for (size_t i = 0; i < problems->nr; i++) {
		const struct diag *d = &problems->items[i];
		char *where;

		if (d->severity != DIAG_ERROR)
			continue;
		where = d->file && d->line ? xstrfmt("%s:%u", d->file, d->line) :
			d->file ? xstrdup(d->file) : NULL;
		render_json_note(render_json_error_code(err->code), d->message, d->hint, where);
		free(where);
		return;
	}
}

int output_graph_load(struct output_graph *og, const struct cli_common *c)
{
	struct project_options o = { c->inventory, &c->scripts_dirs, PROJECT_GRAPH, 0, NULL };
	struct ms_error err = MS_ERROR_INIT;
	int ret = project_open(&og->project, &o, &err);

	diag_list_sort(&og->project.diags);
	cli_print_warnings(&og->project.diags);
	if (ret < 0) {
		/* the graph's problems include the first error, each with its hint */
		if (og->project.graph_problems.nr) {
			diag_list_sort(&og->project.graph_problems);
			cli_print_warnings(&og->project.graph_problems);
			output_note_problem(&og->project.graph_problems, &err);
		} else {
			cli_error_if_listed(&err, &og->project.diags);
			cli_print_error(&err);
		}
	}
	og->graph = og->project.graph;
	ret = ret < 0 ? cli_exit_code(&err) : EXIT_OK;
	ms_error_release(&err);
	return ret;
}

void output_graph_release(struct output_graph *og)
{
	project_release(&og->project);
	og->graph = NULL;
}

bool output_option_done(int *ret, struct cli_common *c, const char *cmd, int opt,
			void (*usage)(void))
{
	switch (opt) {
	case OPT_HELP:
		usage();
		*ret = EXIT_OK;
		return true;
	}
	*ret = cli_default_option(c, cmd, opt, optarg);
	return *ret != EXIT_OK;
}

void output_print_scripts_help(int column)
{
	printf("Revision scripts:\n");
	printf("%-*s%s\n", column, "      --scripts=DIR", "read revisions from DIR (repeatable)");
	printf("%-*s%s\n", column, "  -i, --inventory=PATH", "read migrations.scripts from this inventory");
}

/*
 * Python's str.isspace() and str.splitlines() boundaries, for UTF-8 text:
 * the length of the character at p when it is one, else 0.
 */
static size_t py_space(const unsigned char *p, const unsigned char *end)
{
	if (*p == ' ' || (*p >= '\t' && *p <= '\r') || (*p >= 0x1c && *p <= 0x1f))
		return 1;
	if (end - p >= 2 && p[0] == 0xc2 && (p[1] == 0x85 || p[1] == 0xa0))
		return 2;
	if (end - p >= 3) {
		if (p[0] == 0xe1 && p[1] == 0x9a && p[2] == 0x80)
			return 3;
		if (p[0] == 0xe2 && p[1] == 0x80 &&
		    ((p[2] >= 0x80 && p[2] <= 0x8a) || p[2] == 0xa8 || p[2] == 0xa9 || p[2] == 0xaf))
			return 3;
		if ((p[0] == 0xe2 && p[1] == 0x81 && p[2] == 0x9f) ||
		    (p[0] == 0xe3 && p[1] == 0x80 && p[2] == 0x80))
			return 3;
	}
	return 0;
}

static size_t py_linebreak(const unsigned char *p, const unsigned char *end)
{
	if (*p == '\r')
		return end - p >= 2 && p[1] == '\n' ? 2 : 1;
	if (*p == '\n' || *p == '\v' || *p == '\f' || (*p >= 0x1c && *p <= 0x1e))
		return 1;
	if (end - p >= 2 && p[0] == 0xc2 && p[1] == 0x85)
		return 2;
	if (end - p >= 3 && p[0] == 0xe2 && p[1] == 0x80 && (p[2] == 0xa8 || p[2] == 0xa9))
		return 3;
	return 0;
}

/*
 * Script.longdoc: the docstring, stripped as str.strip() does, as a
 * span of s's own text (no copy: the graph commands ask for it once
 * per line).
 */
static const char *longdoc_span(size_t *len, const struct script *s)
{
	const char *text = s->doc ? s->doc : s->message ? s->message : "";
	const unsigned char *p = (const unsigned char *)text;
	const unsigned char *end = p + strlen(text);
	size_t k;

	while (p < end && (k = py_space(p, end)) > 0)
		p += k;
	while (end > p) {
		if (py_space(end - 1, end) == 1)
			end -= 1;
		else if (end - p >= 2 && py_space(end - 2, end) == 2)
			end -= 2;
		else if (end - p >= 3 && py_space(end - 3, end) == 3)
			end -= 3;
		else
			break;
	}
	*len = (size_t)(end - p);
	return (const char *)p;
}

/* Script.doc as a span: longdoc up to its first blank line ("\n\n"). */
static const char *doc_span(size_t *len, const struct script *s)
{
	size_t n = 0;
	const char *p = longdoc_span(&n, s);

	for (size_t i = 0; i + 1 < n; i++) {
		if (p[i] == '\n' && p[i + 1] == '\n') {
			n = i;
			break;
		}
	}
	*len = n;
	return p;
}

char *output_doc(const struct script *s)
{
	size_t len = 0;
	const char *doc = doc_span(&len, s);

	return xstrndup(doc, len);
}

static void add_comma(struct strbuf *sb, const struct strvec *v)
{
	for (size_t i = 0; i < v->nr; i++) {
		if (i)
			strbuf_add(sb, ", ", 2);
		strbuf_addstr(sb, v->items[i]);
	}
}

/* Script._format_down_revision */
static void add_down_revision(struct strbuf *sb, const struct script *s)
{
	if (!s->down_revisions.nr)
		strbuf_addstr(sb, "<base>");
	else
		add_comma(sb, &s->down_revisions);
}

/*
 * Script.path: os.path.join(os.path.abspath(versions_dir), filename),
 * abspath being os.path.normpath of the path joined to the working
 * directory (symbolic links are not resolved).
 */
static void add_script_path(struct strbuf *sb, const struct script *s)
{
	const char *slash = strrchr(s->path, '/');
	const char *file = s->filename ? s->filename : slash ? slash + 1 : s->path;
	char *dir = slash ? xstrndup(s->path, slash == s->path ? 1 : (size_t)(slash - s->path)) : xstrdup(".");
	char *cwd = dir[0] == '/' ? NULL : getcwd(NULL, 0);
	char *full = cwd ? xstrfmt("%s/%s", cwd, dir) : xstrdup(dir);
	size_t start = sb->len, lead = 0;
	char *tok, *save = NULL;

	while (full[lead] == '/')
		lead++;
	strbuf_addstr(sb, lead == 2 ? "//" : "/");
	for (tok = strtok_r(full, "/", &save); tok; tok = strtok_r(NULL, "/", &save)) {
		if (!strcmp(tok, "."))
			continue;
		if (!strcmp(tok, "..")) {
			/* drop the last component, never the leading slashes */
			char *last = strrchr(sb->buf + start, '/');
			size_t keep = (size_t)(last - sb->buf);

			if (keep < start + (lead == 2 ? 2 : 1))
				keep = start + (lead == 2 ? 2 : 1);
			strbuf_setlen(sb, keep);
			continue;
		}
		if (sb->buf[sb->len - 1] != '/')
			strbuf_addch(sb, '/');
		strbuf_addstr(sb, tok);
	}
	if (sb->buf[sb->len - 1] != '/')
		strbuf_addch(sb, '/');
	strbuf_addstr(sb, file);
	free(full);
	free(cwd);
	free(dir);
}

void output_head_only(struct strbuf *sb, const struct revgraph *g, size_t n, unsigned flags)
{
	const struct revgraph_node *node = &g->nodes[n];
	const struct script *s = node->script;

	if (flags & OUT_PARENTS) {
		add_down_revision(sb, s);
		if (s->depends_on.nr) {
			strbuf_addstr(sb, " (");
			add_comma(sb, &s->depends_on);
			strbuf_addch(sb, ')');
		}
		strbuf_addstr(sb, " -> ");
	}
	strbuf_addstr(sb, node->id);
	if ((flags & OUT_BRANCHES) && node->branch_labels.nr) {
		strbuf_addstr(sb, " (");
		add_comma(sb, &node->branch_labels);
		strbuf_addch(sb, ')');
	}
	if (node->is_real_head)
		strbuf_addstr(sb, " (head)");
	else if (node->is_head)
		strbuf_addstr(sb, " (effective head)");
	if ((flags & OUT_TREE) && node->is_branch_point)
		strbuf_addstr(sb, " (branchpoint)");
	if ((flags & OUT_TREE) && node->is_merge_point)
		strbuf_addstr(sb, " (mergepoint)");
	if (flags & OUT_DOC) {
		size_t len = 0;
		const char *doc = doc_span(&len, s);

		strbuf_add(sb, ", ", 2);
		strbuf_add(sb, doc, len);
	}
}

void output_log_entry(struct strbuf *sb, const struct revgraph *g, size_t n)
{
	const struct revgraph_node *node = &g->nodes[n];
	const struct script *s = node->script;
	size_t doc_len = 0;
	const unsigned char *p = (const unsigned char *)longdoc_span(&doc_len, s);
	const unsigned char *end = p + doc_len;

	strbuf_addstr(sb, "Rev: ");
	strbuf_addstr(sb, node->id);
	if (node->is_head)
		strbuf_addstr(sb, " (head)");
	if (node->is_branch_point)
		strbuf_addstr(sb, " (branchpoint)");
	if (node->is_merge_point)
		strbuf_addstr(sb, " (mergepoint)");
	strbuf_addch(sb, '\n');
	strbuf_addstr(sb, node->is_merge_point ? "Merges: " : "Parent: ");
	add_down_revision(sb, s);
	strbuf_addch(sb, '\n');
	if (s->depends_on.nr) {
		strbuf_addstr(sb, "Also depends on: ");
		add_comma(sb, &s->depends_on);
		strbuf_addch(sb, '\n');
	}
	if (node->is_branch_point) {
		/* Alembic iterates a frozenset here; migsync sorts by id */
		strbuf_addstr(sb, "Branches into: ");
		for (size_t i = 0; i < node->children_nr; i++) {
			if (i)
				strbuf_add(sb, ", ", 2);
			strbuf_addstr(sb, g->nodes[node->children[i]].id);
		}
		strbuf_addch(sb, '\n');
	}
	if (node->branch_labels.nr) {
		strbuf_addstr(sb, "Branch names: ");
		add_comma(sb, &node->branch_labels);
		strbuf_addch(sb, '\n');
	}
	strbuf_addstr(sb, "Path: ");
	add_script_path(sb, s);
	strbuf_addstr(sb, "\n\n");

	/* "\n".join("    %s" % para for para in longdoc.splitlines()) */
	while (p < end) {
		const unsigned char *q = p;
		size_t k = 0;

		while (q < end && (k = py_linebreak(q, end)) == 0)
			q++;
		strbuf_addstr(sb, "    ");
		strbuf_add(sb, p, (size_t)(q - p));
		p = q < end ? q + k : q;
		if (p < end)
			strbuf_addch(sb, '\n');
	}
	strbuf_addch(sb, '\n');
}

void output_cmd_format(struct strbuf *sb, const struct revgraph *g, size_t n,
		       bool verbose, unsigned flags)
{
	if (verbose)
		output_log_entry(sb, g, n);
	else
		output_head_only(sb, g, n, flags);
}

static void json_edge(struct json_writer *jw, const char *from, const char *to, const char *kind)
{
	json_object_begin(jw);
	json_kv_string(jw, "from", from);
	json_kv_string(jw, "to", to);
	json_kv_string(jw, "kind", kind);
	json_object_end(jw);
}

void output_json_nodes_edges(struct json_writer *jw, const struct revgraph *g,
			     const size_t *nodes, size_t nr)
{
	bool *in = xcalloc(g->nr ? g->nr : 1, sizeof(*in));

	for (size_t i = 0; i < nr; i++)
		in[nodes[i]] = true;

	json_key(jw, "nodes");
	json_array_begin(jw);
	for (size_t i = 0; i < nr; i++) {
		const struct revgraph_node *node = &g->nodes[nodes[i]];
		char *doc = output_doc(node->script);

		json_object_begin(jw);
		json_kv_string(jw, "id", node->id);
		json_kv_string(jw, "message", doc);
		json_kv_string(jw, "file", node->script->path);
		cli_json_strvec(jw, "down_revisions", &node->script->down_revisions);
		cli_json_strvec(jw, "depends_on", &node->script->depends_on);
		cli_json_strvec(jw, "branch_labels", &node->branch_labels);
		json_kv_bool(jw, "is_head", node->is_head);
		json_kv_bool(jw, "is_base", node->is_base);
		json_kv_bool(jw, "is_branch_point", node->is_branch_point);
		json_kv_bool(jw, "is_merge_point", node->is_merge_point);
		json_object_end(jw);
		free(doc);
	}
	json_array_end(jw);

	json_key(jw, "edges");
	json_array_begin(jw);
	for (size_t i = 0; i < nr; i++) {
		const struct revgraph_node *node = &g->nodes[nodes[i]];

		for (size_t k = 0; k < node->parents_nr; k++)
			if (in[node->parents[k]])
				json_edge(jw, g->nodes[node->parents[k]].id, node->id, "down_revision");
		for (size_t k = 0; k < node->deps_nr; k++)
			if (in[node->deps[k]])
				json_edge(jw, g->nodes[node->deps[k]].id, node->id, "depends_on");
	}
	json_array_end(jw);
	free(in);
}

void output_json_ids(struct json_writer *jw, const char *key,
		     const struct revgraph *g, const size_t *nodes, size_t nr)
{
	json_key(jw, key);
	json_array_begin(jw);
	for (size_t i = 0; i < nr; i++)
		json_string(jw, g->nodes[nodes[i]].id);
	json_array_end(jw);
}

void output_json_listing(struct strbuf *sb, const char *command, const struct revgraph *g, const char *key,
			 const size_t *items, size_t items_nr, const size_t *nodes, size_t nodes_nr)
{
	struct json_writer jw;

	json_init(&jw, sb);
	render_json_begin(&jw, command);
	output_json_ids(&jw, key, g, items, items_nr);
	output_json_nodes_edges(&jw, g, nodes, nodes_nr);
	json_object_end(&jw);
	strbuf_addch(sb, '\n');
}
