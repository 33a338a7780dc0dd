/*
 * Graphviz as a library: agmemread parses the DOT text, gvLayout runs
 * the dot engine, gvRenderData writes SVG into memory (see layout.h).
 *
 * Graphviz reports problems through one process-wide handler (agseterrf)
 * and otherwise prints them on stderr. While a layout runs, the handler
 * collects them into this module's buffer, so that a failure becomes an
 * ms_error with Graphviz's own words and nothing is printed; the mutex
 * keeps two callers from sharing that buffer or Graphviz's globals.
 * Graphviz goes on past some errors (a label it cannot read is drawn as
 * its plain text); any message of level "Error" fails the call.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <gvc.h>

#include "migsync/layout.h"
#include "migsync/util.h"

static pthread_mutex_t layout_lock = PTHREAD_MUTEX_INITIALIZER;
/*
 * One Graphviz context for the process, made on first use and never
 * freed: Graphviz 2.42's gvFreeContext frees the text-size cache while
 * its pango plugin keeps a pointer into it, so a second context reads
 * freed memory. What the context holds stays reachable until exit.
 */
static GVC_t *layout_gvc;				/* guarded by layout_lock */
static struct strbuf layout_messages = STRBUF_INIT;	/* guarded by layout_lock */

/* Graphviz's error handler: "Error", ": ", the message, in pieces. */
static int collect_message(char *msg)
{
	strbuf_addstr(&layout_messages, msg);
	return 0;
}

/* What Graphviz said, on one line, for an error message. */
static const char *messages_line(void)
{
	for (size_t i = 0; i < layout_messages.len; i++)
		if (layout_messages.buf[i] == '\n' || layout_messages.buf[i] == '\r')
			layout_messages.buf[i] = ' ';
	strbuf_trim(&layout_messages);
	return layout_messages.len ? layout_messages.buf : "no message";
}

int layout_svg(struct strbuf *out, const char *dot, struct ms_error *err)
{
	Agraph_t *g = NULL;
	agusererrf old_handler;
	char *data = NULL;
	unsigned int len = 0;
	bool laid_out = false;
	int ret = 0;

	pthread_mutex_lock(&layout_lock);
	strbuf_reset(&layout_messages);
	old_handler = agseterrf(collect_message);
	if (!layout_gvc)
		layout_gvc = gvContext();
	if (!layout_gvc) {
		ret = ms_error_set(err, MS_ERR_GENERIC, "graphviz: could not start");
		goto done;
	}
	g = agmemread(dot);
	if (!g) {
		ret = ms_error_set(err, MS_ERR_GRAPH, "graphviz: could not read the graph: %s",
				   messages_line());
		goto done;
	}
	if (gvLayout(layout_gvc, g, "dot") != 0) {
		ret = ms_error_set(err, MS_ERR_GRAPH, "graphviz: could not lay out the graph: %s",
				   messages_line());
		ms_error_hint(err, "is Graphviz's dot layout plugin installed (libgvc6)?");
		goto done;
	}
	laid_out = true;
	if (gvRenderData(layout_gvc, g, "svg", &data, &len) != 0 || !data) {
		ret = ms_error_set(err, MS_ERR_GRAPH, "graphviz: could not render SVG: %s",
				   messages_line());
		ms_error_hint(err, "is Graphviz's core render plugin installed (libgvc6)?");
		goto done;
	}
	/* an HTML label that does not parse is drawn as plain text: refuse it */
	if (strstr(layout_messages.buf, "Error")) {
		ret = ms_error_set(err, MS_ERR_GRAPH, "graphviz: %s", messages_line());
		goto done;
	}
	strbuf_add(out, data, len);
done:
	if (data)
		gvFreeRenderData(data);
	if (laid_out)
		gvFreeLayout(layout_gvc, g);
	if (g)
		agclose(g);
	agseterrf(old_handler);
	strbuf_release(&layout_messages);
	pthread_mutex_unlock(&layout_lock);
	return ret;
}
