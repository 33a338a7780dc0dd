#ifndef MIGSYNC_LAYOUT_INT_H
#define MIGSYNC_LAYOUT_INT_H

/* Inside src/layout: the text-layout plugin of metrics.c, for layout.c. */

#include <gvplugin.h>

/* Graphviz's plugin table of the text metrics (installed as a builtin). */
extern gvplugin_library_t layout_metrics_library;

/*
 * The width of text (UTF-8) in em, as the drawings' text is sized: 0.6 a
 * terminal column, 1 a two-column character (see metrics.c).
 */
double layout_text_em(const char *text);

#endif
