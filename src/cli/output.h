#ifndef MIGSYNC_CLI_OUTPUT_H
#define MIGSYNC_CLI_OUTPUT_H

/*
 * What the graph commands (heads, history, branches, show, graph) share:
 * loading the graph, their option loop, Alembic 1.8's text lines
 * (alembic/script/base.py, class Script) and the JSON dump of nodes and
 * edges. The lists they print come from revgraph's history functions
 * (include/migsync/revgraph.h), already in Alembic's order.
 */

#include <stdbool.h>
#include <stddef.h>

#include "cli/cli.h"
#include "migsync/json.h"
#include "migsync/project.h"
#include "migsync/revgraph.h"
#include "migsync/scripts.h"
#include "migsync/strbuf.h"

/* Everything a graph command works on: the project and its graph. */
struct output_graph {
	struct project project;
	struct revgraph *graph;		/* project.graph */
};

#define OUTPUT_GRAPH_INIT { PROJECT_INIT, NULL }

/*
 * Open the project (scripts and graph, see project_open), printing
 * reader warnings, and on failure the error or every graph problem, on
 * stderr. Returns an exit code: EXIT_OK, or cli_exit_code() of the error.
 */
int output_graph_load(struct output_graph *og, const struct cli_common *c);
void output_graph_release(struct output_graph *og);

/*
 * What a graph command's option loop does with anything but its own
 * options: --help (calls usage), a bad option (cli_option_error) or a
 * common option (with optarg). Returns true when the command is to stop,
 * with *ret its exit code (EXIT_OK after --help).
 */
bool output_option_done(int *ret, struct cli_common *c, const char *cmd, int opt,
			void (*usage)(void));

/*
 * Print the "Revision scripts:" block of a graph command's --help on
 * stdout (--scripts, -i), the descriptions starting at column.
 */
void output_print_scripts_help(int column);

/* Flags for output_head_only(), after Script._head_only's arguments. */
enum {
	OUT_BRANCHES = 1 << 0,	/* include_branches: " (label, ...)" */
	OUT_DOC = 1 << 1,	/* include_doc: ", message" */
	OUT_PARENTS = 1 << 2,	/* include_parents: "down -> rev" */
	OUT_TREE = 1 << 3,	/* tree_indicators: (branchpoint), (mergepoint) */
};

/* Script._head_only (head indicators always on), appended to sb without a newline. */
void output_head_only(struct strbuf *sb, const struct revgraph *g, size_t n, unsigned flags);
/* Script.log_entry, ending in a newline, as `alembic show` prints it before its own newline. */
void output_log_entry(struct strbuf *sb, const struct revgraph *g, size_t n);
/* Script.cmd_format: the log entry when verbose, else output_head_only. */
void output_cmd_format(struct strbuf *sb, const struct revgraph *g, size_t n,
		       bool verbose, unsigned flags);
/* Script.doc: the first paragraph of the docstring ("" when there is none); caller frees. */
char *output_doc(const struct script *s);

/*
 * Inside an open JSON object, write "nodes" (the given nodes, in the
 * given order) and "edges" (every down_revision and depends_on edge
 * between two of them; "from" is the older revision).
 */
void output_json_nodes_edges(struct json_writer *jw, const struct revgraph *g,
			     const size_t *nodes, size_t nr);
/* Inside an open JSON object, "key": [ids of nodes]. */
void output_json_ids(struct json_writer *jw, const char *key,
		     const struct revgraph *g, const size_t *nodes, size_t nr);
/*
 * The JSON output of graph command, one document and a newline appended
 * to sb: "key": [ids of items], then "nodes" and "edges" of nodes.
 */
void output_json_listing(struct strbuf *sb, const char *command, const struct revgraph *g, const char *key,
			 const size_t *items, size_t items_nr, const size_t *nodes, size_t nodes_nr);

#endif
