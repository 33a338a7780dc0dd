#ifndef MIGSYNC_LAYOUT_H
#define MIGSYNC_LAYOUT_H

/*
 * Drawing a graph: a graph written in the DOT language is laid out by
 * Graphviz's dot engine and rendered as SVG, in memory, through Graphviz's
 * libraries (libgvc, libcgraph). migsync lays out nothing itself.
 *
 * Graphviz keeps global state (its error handler, the plugin loader), so
 * the calls are serialized: layout_svg may be called from any thread, one
 * at a time.
 */

#include "migsync/error.h"
#include "migsync/strbuf.h"

/*
 * Lay out dot (a NUL-terminated DOT text) with the "dot" engine and
 * append the SVG document (an XML declaration, then <svg>) to out.
 * Returns 0, or MS_ERR_GRAPH with err set to what Graphviz said when the
 * text does not parse or cannot be laid out, or MS_ERR_GENERIC when
 * Graphviz could not start (its plugins are missing).
 */
int layout_svg(struct strbuf *out, const char *dot, struct ms_error *err);

/*
 * Load Graphviz's libraries and plugins ahead of a layout_svg call, e.g.
 * in a thread while databases are read. Errors are left to layout_svg
 * to report.
 */
void layout_warm_up(void);

#endif
