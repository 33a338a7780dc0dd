/*
 * project_open: the inventory, the scripts and the graph, found and loaded
 * once, the same way for every command.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "migsync/inventory.h"
#include "migsync/project.h"
#include "migsync/revgraph.h"
#include "migsync/strbuf.h"
#include "migsync/util.h"

void project_init(struct project *p)
{
	p->inv = NULL;
	strvec_init(&p->script_dirs);
	script_set_init(&p->scripts);
	p->graph = NULL;
	p->graph_error = NULL;
	strvec_init(&p->secrets);
	diag_list_init(&p->diags);
	diag_list_init(&p->graph_problems);
}

void project_release(struct project *p)
{
	inventory_free(p->inv);
	strvec_release(&p->script_dirs);
	script_set_release(&p->scripts);
	revgraph_free(p->graph);
	free(p->graph_error);
	strvec_release(&p->secrets);
	diag_list_release(&p->diags);
	diag_list_release(&p->graph_problems);
	project_init(p);
}

/* The directory part of path ("." when there is none). */
static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		return xstrdup(".");
	if (slash == path)
		return xstrdup("/");
	return xstrndup(path, (size_t)(slash - path));
}

static bool is_file(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* The directories alembic.ini at ini names, with Alembic's %(here)s. */
static int read_alembic_ini(struct strvec *dirs, const char *ini, struct ms_error *err)
{
	struct strbuf sb = STRBUF_INIT;
	char *cwd = getcwd(NULL, 0), *dir = dir_of(ini), *here = NULL;
	int ret;

	if (strbuf_read_file(&sb, ini, 1024 * 1024) < 0) {
		ret = ms_error_set(err, MS_ERR_IO, "\"%s\": could not read: %s", ini, strerror(errno));
		goto done;
	}
	/* Alembic's here: os.path.abspath(os.path.dirname(file)) */
	here = dir[0] == '/' || !cwd ? xstrdup(dir) :
		!strcmp(dir, ".") ? xstrdup(cwd) : xstrfmt("%s/%s", cwd, dir);
	ret = alembic_ini_script_dirs(dirs, sb.buf, sb.len, ini, here, err);
done:
	free(here);
	free(dir);
	free(cwd);
	strbuf_release(&sb);
	return ret;
}

/*
 * Is there an inventory to read? Yes when it is required, or named (-i,
 * $MIGSYNC_INVENTORY), or environments/inventory.yaml exists.
 */
static bool inventory_wanted(const struct project_options *o)
{
	const char *env = getenv("MIGSYNC_INVENTORY");

	return (o->need & PROJECT_INVENTORY) || o->inventory || (env && *env) ||
	       is_file("environments/inventory.yaml");
}

static int load_inventory(struct project *p, const struct project_options *o,
			  struct ms_error *err)
{
	const char *dir = inventory_choose_dir(o->inventory);
	const char *pgpassword = getenv("PGPASSWORD");
	int ret = inventory_load(&p->inv, dir, &p->diags, err);

	if (ret < 0) {
		/* a command that only wanted scripts from it says how else */
		if (!(o->need & PROJECT_INVENTORY)) {
			if (ret == MS_ERR_IO)
				ms_error_hint(err, "pass -i PATH to an inventory directory, or --scripts DIR");
			else if (diag_list_count(&p->diags, DIAG_ERROR) > 1) {
				struct strbuf cmd = STRBUF_INIT;

				strbuf_add_shell_word(&cmd, dir);
				ms_error_hint(err, "migsync inventory -i %s lists every problem", cmd.buf);
				strbuf_release(&cmd);
			}
		}
		return ret;
	}
	if (pgpassword && *pgpassword)
		strvec_push(&p->secrets, pgpassword);
	for (size_t i = 0; i < p->inv->secrets.nr; i++)
		if (!strvec_contains(&p->secrets, p->inv->secrets.items[i]))
			strvec_push(&p->secrets, p->inv->secrets.items[i]);
	return 0;
}

/* Where the scripts are, once the inventory (if any) is loaded. */
static int choose_script_dirs(struct project *p, const struct project_options *o,
			      struct ms_error *err)
{
	if (o->scripts && o->scripts->nr) {
		for (size_t i = 0; i < o->scripts->nr; i++)
			strvec_push(&p->script_dirs, o->scripts->items[i]);
		return 0;
	}
	if (p->inv) {
		for (size_t i = 0; i < p->inv->migrations.scripts.nr; i++)
			strvec_push(&p->script_dirs, p->inv->migrations.scripts.items[i]);
		return 0;
	}
	if (is_file("alembic.ini"))
		return read_alembic_ini(&p->script_dirs, "alembic.ini", err);
	ms_error_set(err, MS_ERR_CONFIG, "no revision scripts to read");
	ms_error_hint(err, "pass --scripts DIR, run where alembic.ini is, or give an inventory with -i PATH");
	return MS_ERR_CONFIG;
}

/*
 * The graph of the scripts read. With PROJECT_KEEP_GOING, a graph that
 * cannot be built leaves its reason in graph_error and an empty graph.
 */
static int build_graph(struct project *p, unsigned need, struct ms_error *err)
{
	struct script_set none = SCRIPT_SET_INIT;
	struct ms_error why = MS_ERROR_INIT;

	if (!(need & PROJECT_KEEP_GOING))
		return revgraph_build(&p->graph, &p->scripts, &p->graph_problems, err);
	if (revgraph_build(&p->graph, &p->scripts, NULL, &why) == 0)
		return 0;
	p->graph_error = xstrdup(why.message ? why.message : "the revision graph is broken");
	ms_error_release(&why);
	return revgraph_build(&p->graph, &none, NULL, err);
}

/*
 * A versions directory that does not exist: the hint names where its name
 * came from, as choose_script_dirs chose it.
 */
static void hint_missing_dir(struct ms_error *err, const char *dir, const struct project *p,
			     const struct project_options *o)
{
	struct stat st;

	if (stat(dir, &st) == 0 || errno != ENOENT)
		return;
	if (o->scripts && o->scripts->nr)
		ms_error_hint(err, "check the directory given with --scripts");
	else if (p->inv)
		ms_error_hint(err, "check migrations.scripts in %s, or pass --scripts DIR", p->inv->file);
	else
		ms_error_hint(err, "check script_location and version_locations in alembic.ini, or pass --scripts DIR");
}

static int open_scripts(struct project *p, const struct project_options *o,
			struct ms_error *err)
{
	unsigned flags = o->script_flags | (o->need & PROJECT_KEEP_GOING ? SCRIPTS_KEEP_GOING : 0);
	int ret = 0;

	for (size_t i = 0; ret == 0 && i < p->script_dirs.nr; i++) {
		ret = scripts_read_dir(&p->scripts, p->script_dirs.items[i], flags, &p->diags, err);
		if (ret == MS_ERR_IO)
			hint_missing_dir(err, p->script_dirs.items[i], p, o);
	}
	if (ret == 0 && (o->need & PROJECT_GRAPH))
		ret = build_graph(p, o->need, err);
	return ret;
}

int project_open(struct project *p, const struct project_options *o, struct ms_error *err)
{
	bool scripts_given = o->scripts && o->scripts->nr;
	int ret = 0;

	/* the graph commands do not read an inventory they are not given */
	if ((o->need & PROJECT_INVENTORY) || (!scripts_given && inventory_wanted(o)))
		ret = load_inventory(p, o, err);
	if (ret < 0 || !(o->need & (PROJECT_SCRIPTS | PROJECT_GRAPH)))
		return ret;
	ret = choose_script_dirs(p, o, err);
	if (ret == 0)
		ret = open_scripts(p, o, err);
	return ret;
}

int project_script_dirs(struct strvec *dirs, const struct project_options *o,
			struct ms_error *err)
{
	struct project p;
	struct project_options only = *o;
	int ret;

	project_init(&p);
	only.need &= ~(unsigned)(PROJECT_SCRIPTS | PROJECT_GRAPH | PROJECT_KEEP_GOING);
	ret = project_open(&p, &only, err);
	if (ret == 0)
		ret = choose_script_dirs(&p, o, err);
	for (size_t i = 0; ret == 0 && i < p.script_dirs.nr; i++)
		strvec_push(dirs, p.script_dirs.items[i]);
	project_release(&p);
	return ret;
}
