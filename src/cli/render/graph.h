#ifndef MIGSYNC_CLI_RENDER_GRAPH_H
#define MIGSYNC_CLI_RENDER_GRAPH_H

/*
 * The revision graph as DOT text, and drawn as SVG through src/layout,
 * with where the environments of a status report stand on it. Shared by
 * `migsync graph` and the HTML page of `migsync check`.
 */

#include <stdbool.h>
#include <stddef.h>

#include "migsync/error.h"
#include "migsync/revgraph.h"
#include "migsync/status.h"
#include "migsync/strbuf.h"

/* An environment on a revision: some of its databases have it as a version row. */
struct render_graph_badge {
	size_t env;		/* index in the report's envs: its name and colour */
	size_t databases;	/* how many of its databases */
};

/* What is drawn on one revision. */
struct render_graph_node {
	struct strvec at;	/* the environments standing here, as status_report_positions names them */
	struct render_graph_badge *badges;	/* the same, with counts, rollout order */
	size_t badges_nr;
	struct strvec pending;	/* the environments that still need this revision */
};

struct render_graph_marks {
	const struct status_report *report;	/* borrowed */
	struct render_graph_node *nodes;	/* one per graph node */
	size_t nr;
	/* "prod", or "tenants (2 of 50 databases)": what could not be reached */
	struct strvec unreachable;
};

void render_graph_marks_init(struct render_graph_marks *m);
/* Mark where r's environments stand on g (m is released first); m borrows r. */
void render_graph_marks_build(struct render_graph_marks *m, const struct status_report *r,
			      const struct revgraph *g);
void render_graph_marks_release(struct render_graph_marks *m);

/*
 * The colour of the env-th environment of a report (rollout order), from
 * a palette that stays apart for colour-blind readers, and the ink
 * written on it: "#rrggbb" each.
 */
const char *render_env_colour(size_t env);
const char *render_env_ink(size_t env);

/*
 * prefix and s as an id for HTML and SVG: letters, digits, '-' and '_'
 * kept, any other byte written as _XX (hex), so distinct names give
 * distinct ids ("env-" "prod" -> "env-prod").
 */
void render_add_anchor(struct strbuf *sb, const char *prefix, const char *s);

/* "id (label, ...)": a revision as the graph's nodes name it. */
void render_graph_title(struct strbuf *sb, const struct revgraph_node *node);

/* Flags of render_graph_dot and render_graph_svg. */
enum {
	/*
	 * For drawing: each revision a box with its tags as `alembic
	 * history` writes them ((head), (branchpoint), (mergepoint), branch
	 * labels), a badge per environment in its colour, pending revisions
	 * shaded; without it, the plain digraph of `graph --format=dot`.
	 */
	RENDER_GRAPH_DRAWING = 1 << 0,
	/*
	 * Badges link to "#env-NAME" (render_add_anchor), for the HTML
	 * page; without it, to their own revision's node.
	 */
	RENDER_GRAPH_LINKS = 1 << 1,
};

/* g as a DOT digraph, nodes in order; m NULL: no environments. */
void render_graph_dot(struct strbuf *sb, const struct revgraph *g, const size_t *order,
		      const struct render_graph_marks *m, unsigned flags);

/*
 * g drawn (RENDER_GRAPH_DRAWING is implied) and laid out by Graphviz,
 * an SVG document appended to sb. Returns 0 or layout_svg's error.
 */
int render_graph_svg(struct strbuf *sb, const struct revgraph *g,
		     const struct render_graph_marks *m, unsigned flags, struct ms_error *err);

#endif
