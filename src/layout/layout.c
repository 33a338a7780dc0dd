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
 *
 * The libraries are opened on first use (dlopen), not linked: libgvc
 * brings libcgraph, libcdt, libpathplan, expat and ltdl, whose loading
 * and relocation every command would pay at start-up (about 4 ms, a
 * tenth of a `lint` or `hook` run) while only `graph --format=svg` and
 * `check --html` draw. The headers still give the functions' types.
 *
 * The context holds three plugins only: dot's layout and the core
 * renderers (SVG among them), loaded from Graphviz's plugin directory,
 * and metrics.c's text layout, instead of every plugin Graphviz's config
 * file lists. Text is sized by monospace metrics (0.6 em a column, 1 em a
 * Chinese character) rather than measured by pango in this machine's
 * fonts: the drawings name a monospace family, so labels fit their boxes
 * wherever the SVG is opened, the SVG does not depend on the fonts of the
 * machine that drew it (a CI runner, a container with none), and no
 * fontconfig start-up is paid (about 100 ms of CPU, more than a
 * 300-revision layout).
 */
#define _GNU_SOURCE	/* dladdr */
#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <gvc.h>

#include "layout_int.h"
#include "migsync/layout.h"
#include "migsync/util.h"

static pthread_mutex_t layout_lock = PTHREAD_MUTEX_INITIALIZER;
/*
 * One Graphviz context for the process, made on first use (it installs
 * the plugins) and never freed: Graphviz 2.42's gvFreeContext frees the
 * text-size cache that a text-layout plugin may keep a pointer into.
 * What the context holds stays reachable until exit.
 */
static GVC_t *layout_gvc;				/* guarded by layout_lock */
static struct strbuf layout_messages = STRBUF_INIT;	/* guarded by layout_lock */

/*
 * Graphviz's shared library, by its soname: libgvc.so.6 from Graphviz 2.30
 * to this day (Debian's libgvc6). It depends on libcgraph, so dlsym on its
 * handle finds the ag* functions too.
 */
#define LAYOUT_GVC_SONAME "libgvc.so.6"

/* The plugin libraries used, by soname, and the table each exports. */
static const struct {
	const char *soname;
	const char *symbol;
} layout_plugins[] = {
	{ "libgvplugin_dot_layout.so.6", "gvplugin_dot_layout_LTX_library" },
	{ "libgvplugin_core.so.6", "gvplugin_core_LTX_library" },
};

#define LAYOUT_PLUGINS_NR (sizeof(layout_plugins) / sizeof(layout_plugins[0]))

/* The functions used, looked up once; guarded by layout_lock. */
static struct {
	bool loaded;
	GVC_t *(*context_plugins)(const lt_symlist_t *, int);
	lt_symlist_t builtins[LAYOUT_PLUGINS_NR + 2];	/* and metrics.c's, and the end */
	Agraph_t *(*memread)(const char *);
	int (*layout)(GVC_t *, graph_t *, const char *);
	int (*render_data)(GVC_t *, graph_t *, const char *, char **, unsigned int *);
	void (*free_render_data)(char *);
	int (*free_layout)(GVC_t *, graph_t *);
	int (*close)(Agraph_t *);
	agusererrf (*seterrf)(agusererrf);
} gv;

/* dlsym into a function pointer (ISO C has no cast between the two). */
static int load_symbol(void *lib, const char *name, void *fn, size_t size, struct ms_error *err)
{
	void *sym = dlsym(lib, name);

	if (!sym)
		return ms_error_set(err, MS_ERR_GENERIC, "graphviz: %s has no %s",
				    LAYOUT_GVC_SONAME, name);
	memcpy(fn, &sym, size);
	return 0;
}

#define LOAD(lib, name, fn, err) load_symbol(lib, name, &(fn), sizeof(fn), err)

/*
 * Graphviz's plugin directory: GVBINDIR when set (as Graphviz itself
 * reads it), else "graphviz" beside the libgvc that was loaded.
 */
static int plugin_dir(struct strbuf *dir, void *gvc_symbol, struct ms_error *err)
{
	const char *env = getenv("GVBINDIR");
	Dl_info info;
	const char *slash;

	if (env && *env) {
		strbuf_addstr(dir, env);
		return 0;
	}
	if (!dladdr(gvc_symbol, &info) || !info.dli_fname ||
	    !(slash = strrchr(info.dli_fname, '/')))
		return ms_error_set(err, MS_ERR_GENERIC,
				    "graphviz: could not find where %s was loaded from",
				    LAYOUT_GVC_SONAME);
	strbuf_add(dir, info.dli_fname, (size_t)(slash - info.dli_fname));
	strbuf_addstr(dir, "/graphviz");
	return 0;
}

/* Open one plugin library (kept open, as libgvc is) and find its table. */
static int load_plugin(lt_symlist_t *entry, const char *dir, size_t i, struct ms_error *err)
{
	struct strbuf file = STRBUF_INIT;
	void *lib, *table;
	int ret = 0;

	strbuf_addf(&file, "%s/%s", dir, layout_plugins[i].soname);
	lib = dlopen(file.buf, RTLD_NOW | RTLD_LOCAL);
	if (!lib) {
		/* dlerror() names the file */
		ret = ms_error_set(err, MS_ERR_GENERIC, "graphviz: %s", dlerror());
		ms_error_hint(err, "drawing needs Graphviz's dot and core plugins: install "
			      "libgvc6 (apt-get install libgvc6), or set GVBINDIR to the "
			      "directory that holds them");
	} else if (!(table = dlsym(lib, layout_plugins[i].symbol))) {
		ret = ms_error_set(err, MS_ERR_GENERIC, "graphviz: %s has no %s", file.buf,
				   layout_plugins[i].symbol);
	} else {
		entry->name = layout_plugins[i].symbol;
		entry->address = table;
	}
	strbuf_release(&file);
	return ret;
}

static int load_graphviz(struct ms_error *err)
{
	struct strbuf dir = STRBUF_INIT;
	void *lib;
	int ret = 0;

	if (gv.loaded)
		return 0;
	/* kept open for the process, as the context is (see layout_gvc) */
	lib = dlopen(LAYOUT_GVC_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (!lib) {
		ret = ms_error_set(err, MS_ERR_GENERIC, "graphviz: could not load %s: %s",
				   LAYOUT_GVC_SONAME, dlerror());

		ms_error_hint(err, "drawing needs Graphviz's libraries: install libgvc6 "
			      "(apt-get install libgvc6)");
		return ret;
	}
	if (LOAD(lib, "gvContextPlugins", gv.context_plugins, err) < 0 ||
	    LOAD(lib, "agmemread", gv.memread, err) < 0 ||
	    LOAD(lib, "gvLayout", gv.layout, err) < 0 ||
	    LOAD(lib, "gvRenderData", gv.render_data, err) < 0 ||
	    LOAD(lib, "gvFreeRenderData", gv.free_render_data, err) < 0 ||
	    LOAD(lib, "gvFreeLayout", gv.free_layout, err) < 0 ||
	    LOAD(lib, "agclose", gv.close, err) < 0 ||
	    LOAD(lib, "agseterrf", gv.seterrf, err) < 0)
		return MS_ERR_GENERIC;
	ret = plugin_dir(&dir, dlsym(lib, "gvContextPlugins"), err);
	for (size_t i = 0; !ret && i < LAYOUT_PLUGINS_NR; i++)
		ret = load_plugin(&gv.builtins[i], dir.buf, i, err);
	strbuf_release(&dir);
	if (ret < 0)
		return ret;
	gv.builtins[LAYOUT_PLUGINS_NR].name = "gvplugin_migsync_metrics_LTX_library";
	gv.builtins[LAYOUT_PLUGINS_NR].address = &layout_metrics_library;
	/* gv.builtins[LAYOUT_PLUGINS_NR + 1] stays { NULL, NULL }: the list's end */
	gv.loaded = true;
	return 0;
}

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
	agusererrf old_handler = NULL;
	bool handler_set = false;
	char *data = NULL;
	unsigned int len = 0;
	bool laid_out = false;
	int ret = 0;

	pthread_mutex_lock(&layout_lock);
	strbuf_reset(&layout_messages);
	ret = load_graphviz(err);
	if (ret < 0)
		goto done;
	old_handler = gv.seterrf(collect_message);
	handler_set = true;
	if (!layout_gvc)
		layout_gvc = gv.context_plugins(gv.builtins, 0);
	if (!layout_gvc) {
		ret = ms_error_set(err, MS_ERR_GENERIC, "graphviz: could not start");
		goto done;
	}
	g = gv.memread(dot);
	if (!g) {
		ret = ms_error_set(err, MS_ERR_GRAPH, "graphviz: could not read the graph: %s",
				   messages_line());
		goto done;
	}
	if (gv.layout(layout_gvc, g, "dot") != 0) {
		ret = ms_error_set(err, MS_ERR_GRAPH, "graphviz: could not lay out the graph: %s",
				   messages_line());
		ms_error_hint(err, "is Graphviz's dot layout plugin installed (libgvc6)?");
		goto done;
	}
	laid_out = true;
	if (gv.render_data(layout_gvc, g, "svg", &data, &len) != 0 || !data) {
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
		gv.free_render_data(data);
	if (laid_out)
		gv.free_layout(layout_gvc, g);
	if (g)
		gv.close(g);
	if (handler_set)
		gv.seterrf(old_handler);
	strbuf_release(&layout_messages);
	pthread_mutex_unlock(&layout_lock);
	return ret;
}

void layout_warm_up(void)
{
	/* one small drawing: the libraries are loaded and relocated, the plugins installed */
	static const char tiny[] =
		"digraph w { node [shape=plain, fontname=\"Courier\", fontsize=11];"
		" a [label=<<B>a</B>>]; }";
	struct strbuf svg = STRBUF_INIT;
	struct ms_error err = MS_ERROR_INIT;

	layout_svg(&svg, tiny, &err);
	strbuf_release(&svg);
	ms_error_release(&err);
}
