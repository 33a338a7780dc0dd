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
	p->single = false;
	strvec_init(&p->script_dirs);
	script_set_init(&p->scripts);
	p->graph = NULL;
	p->graph_error = NULL;
	p->alembic_ini = NULL;
	alembic_config_init(&p->alembic);
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
	free(p->alembic_ini);
	alembic_config_release(&p->alembic);
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

/* path made absolute against the current directory. */
static char *absolute(const char *path)
{
	char *cwd, *ret;

	if (path[0] == '/')
		return xstrdup(path);
	cwd = getcwd(NULL, 0);
	ret = !strcmp(path, ".") && cwd ? xstrdup(cwd) : xstrfmt("%s/%s", cwd ? cwd : ".", path);
	free(cwd);
	return ret;
}

/*
 * Read the alembic.ini at ini (absolute) into p->alembic: Alembic's
 * %(here)s is its directory, and relative locations are taken from there
 * too, since migsync runs Alembic in that directory.
 */
static int read_alembic_ini(struct project *p, const char *ini, const char *section,
			    struct ms_error *err)
{
	struct strbuf sb = STRBUF_INIT;
	char *here = dir_of(ini);
	int ret;

	if (strbuf_read_file(&sb, ini, 1024 * 1024) < 0) {
		ret = ms_error_set(err, MS_ERR_IO, "\"%s\": could not read: %s", ini, strerror(errno));
		goto done;
	}
	ret = alembic_config_parse(&p->alembic, sb.buf, sb.len, ini, here, section, err);
	for (size_t i = 0; ret == 0 && i < p->alembic.version_dirs.nr; i++) {
		char **d = &p->alembic.version_dirs.items[i];

		if ((*d)[0] != '/') {
			char *abs = xstrfmt("%s/%s", here, *d);

			free(*d);
			*d = abs;
		}
	}
	for (size_t i = 0; ret == 0 && i < p->alembic.prepend_sys_path.nr; i++) {
		char **d = &p->alembic.prepend_sys_path.items[i];

		if ((*d)[0] != '/') {
			char *abs = xstrfmt("%s/%s", here, *d);

			free(*d);
			*d = abs;
		}
	}
	/* Alembic's own default, the current directory: the ini's, when migsync runs it */
	if (ret == 0 && !p->alembic.prepend_sys_path.nr)
		strvec_push(&p->alembic.prepend_sys_path, here);
done:
	free(here);
	strbuf_release(&sb);
	return ret;
}

/*
 * The alembic.ini of the project: the inventory's migrations.alembic_ini;
 * else alembic.ini beside the inventory directory (in its parent), then
 * in the current directory. NULL when there is none.
 */
static char *find_alembic_ini(const struct project *p)
{
	const char *given = p->inv ? p->inv->migrations.alembic_ini : NULL;
	char *cand;

	if (given)
		return absolute(given);
	if (p->inv) {
		char *dir = absolute(p->inv->dir), *parent = dir_of(dir);

		cand = xstrfmt("%s/alembic.ini", parent);
		free(parent);
		free(dir);
		if (is_file(cand))
			return cand;
		free(cand);
	}
	return is_file("alembic.ini") ? absolute("alembic.ini") : NULL;
}

/*
 * Find and read the project's alembic.ini. Its problems stop the command
 * only when the scripts are to come from it; otherwise they are warnings,
 * since only the Alembic executor reads it then.
 */
static int open_alembic_ini(struct project *p, bool needed, struct ms_error *err)
{
	const char *section = p->inv ? p->inv->migrations.alembic_section : NULL;
	struct ms_error why = MS_ERROR_INIT;
	int ret = 0;

	p->alembic_ini = find_alembic_ini(p);
	if (!p->alembic_ini)
		return 0;
	if (!is_file(p->alembic_ini))
		ret = ms_error_set(&why, MS_ERR_CONFIG, "migrations.alembic_ini \"%s\": no such file",
				   p->alembic_ini);
	else
		ret = read_alembic_ini(p, p->alembic_ini, section, &why);
	if (ret < 0 && needed) {
		ms_error_move(err, &why);
	} else if (ret < 0) {
		diag_add(&p->diags, DIAG_WARNING, PROJECT_W_ALEMBIC_INI, p->alembic_ini, 0, NULL, why.hint,
			 "%s", why.message);
		free(p->alembic_ini);
		p->alembic_ini = NULL;
		alembic_config_release(&p->alembic);
		ret = 0;
	} else if (p->inv && !p->inv->migrations.alembic_ini) {
		p->inv->migrations.alembic_ini = xstrdup(p->alembic_ini);
	}
	ms_error_release(&why);
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

/*
 * The URL of the one database to open instead of an inventory: --url;
 * else $DATABASE_URL, when no inventory is named or found and the
 * scripts are known without one (alembic.ini here, or --scripts).
 */
static const char *single_url(const struct project_options *o)
{
	const char *env = getenv("MIGSYNC_INVENTORY"), *url = getenv("DATABASE_URL");

	if (o->url)
		return o->url;
	if (o->inventory || (env && *env) || is_file("environments/inventory.yaml"))
		return NULL;
	if (url && *url && (is_file("alembic.ini") || (o->scripts && o->scripts->nr)))
		return url;
	return NULL;
}

bool project_single_database(const struct project_options *o)
{
	return single_url(o) != NULL;
}

/* The inventory of one database: named after the current directory, like the project. */
static int open_single(struct project *p, const char *url, struct ms_error *err)
{
	char *cwd = getcwd(NULL, 0);
	const char *base = cwd && strrchr(cwd, '/') && strrchr(cwd, '/')[1] ? strrchr(cwd, '/') + 1 : "project";
	int ret = inventory_for_url(&p->inv, base, PROJECT_URL_ENV, url, err);

	free(cwd);
	if (ret < 0)
		return ret;
	p->single = true;
	for (size_t i = 0; i < p->inv->secrets.nr; i++)
		strvec_push(&p->secrets, p->inv->secrets.items[i]);
	return 0;
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

/*
 * Where the scripts are, once the inventory (if any) is loaded: --scripts,
 * else the inventory's migrations.scripts, else alembic.ini's locations.
 */
static int choose_script_dirs(struct project *p, const struct project_options *o,
			      struct ms_error *err)
{
	bool from_ini = !(o->scripts && o->scripts->nr) &&
			!(p->inv && p->inv->migrations.scripts.nr);
	const struct strvec *dirs = &p->alembic.version_dirs;
	int ret = open_alembic_ini(p, from_ini, err);

	if (ret < 0)
		return ret;
	if (!from_ini)
		dirs = o->scripts && o->scripts->nr ? o->scripts : &p->inv->migrations.scripts;
	else if (!p->alembic_ini) {
		ms_error_set(err, MS_ERR_CONFIG, "no revision scripts to read");
		ms_error_hint(err, p->inv ? "set migrations.scripts in inventory.yaml, or put alembic.ini "
			      "beside the inventory directory" :
			      "pass --scripts DIR, run where alembic.ini is, or give an inventory with -i PATH");
		return MS_ERR_CONFIG;
	}
	for (size_t i = 0; i < dirs->nr; i++)
		strvec_push(&p->script_dirs, dirs->items[i]);
	return 0;
}

/* dirs as a sorted list of real paths (as given when they do not resolve). */
static void real_dirs(struct strvec *out, const struct strvec *dirs)
{
	for (size_t i = 0; i < dirs->nr; i++) {
		char *real = realpath(dirs->items[i], NULL);

		strvec_push_owned(out, real ? real : xstrdup(dirs->items[i]));
	}
	strvec_sort(out);
}

static void join(struct strbuf *sb, const struct strvec *v)
{
	for (size_t i = 0; i < v->nr; i++)
		strbuf_addf(sb, "%s%s", i ? ", " : "", v->items[i]);
}

/*
 * The inventory's migrations.scripts and alembic.ini's locations must be
 * the same directories when Alembic runs the revisions: it reads its own
 * locations, and would run files the plan never saw.
 */
static int check_same_dirs(const struct project *p, struct ms_error *err)
{
	struct strvec a = STRVEC_INIT, b = STRVEC_INIT;
	struct strbuf la = STRBUF_INIT, lb = STRBUF_INIT;
	int ret = 0;

	real_dirs(&a, &p->inv->migrations.scripts);
	real_dirs(&b, &p->alembic.version_dirs);
	if (!strvec_equal(&a, &b)) {
		join(&la, &p->inv->migrations.scripts);
		join(&lb, &p->alembic.version_dirs);
		ret = ms_error_set(err, MS_ERR_CONFIG,
				   "migrations.scripts (%s) and the version locations of \"%s\" (%s) "
				   "name different directories", la.buf, p->alembic_ini, lb.buf);
		ms_error_hint(err, "Alembic runs what alembic.ini names: remove migrations.scripts "
			      "from inventory.yaml, or make the two lists the same");
	}
	strvec_release(&a);
	strvec_release(&b);
	strbuf_release(&la);
	strbuf_release(&lb);
	return ret;
}

/*
 * What the inventory left out, from what was found: the executor is
 * alembic when a revision is a .py file, else sql; with alembic, the
 * inventory's scripts must be alembic.ini's locations.
 */
static int complete_inventory(struct project *p, const struct project_options *o,
			      struct ms_error *err)
{
	struct inventory_migrations *m = &p->inv->migrations;

	if (!m->executor_given) {
		m->executor = EXECUTOR_SQL;
		for (size_t i = 0; i < p->scripts.nr; i++)
			if (p->scripts.items[i].kind == SCRIPT_PYTHON)
				m->executor = EXECUTOR_ALEMBIC;
	}
	if (m->executor != EXECUTOR_ALEMBIC || !p->alembic_ini || !m->scripts.nr ||
	    (o->scripts && o->scripts->nr))
		return 0;
	return check_same_dirs(p, err);
}

/*
 * env.py, read as text: a literal version_table or version_table_schema
 * in context.configure(...) that differs from an environment's is a
 * warning, since migsync would then read a table Alembic does not write.
 */
static void check_env_py(struct project *p)
{
	struct env_py_facts f;
	struct strbuf sb = STRBUF_INIT;
	char *path, *here;

	if (!p->alembic.script_location || !p->alembic_ini)
		return;
	here = dir_of(p->alembic_ini);
	path = p->alembic.script_location[0] == '/' ? xstrfmt("%s/env.py", p->alembic.script_location) :
		xstrfmt("%s/%s/env.py", here, p->alembic.script_location);
	free(here);
	env_py_facts_init(&f);
	if (strbuf_read_file(&sb, path, 4 * 1024 * 1024) >= 0)
		env_py_scan(&f, sb.buf, sb.len);
	/* one database from a URL: nothing to compare with, env.py says where the rows are */
	if (p->single) {
		struct inventory_database *db = &p->inv->envs[0].database;

		if (f.version_table) {
			free(db->version_table);
			db->version_table = xstrdup(f.version_table);
		}
		if (f.version_table_schema) {
			free(db->version_table_schema);
			db->version_table_schema = xstrdup(f.version_table_schema);
		}
	}
	for (size_t i = 0; !p->single && i < p->inv->nr; i++) {
		const struct environment *env = &p->inv->envs[i];
		const char *table = env->database.version_table, *schema = env->database.version_table_schema;
		char *hint;

		if (f.version_table && strcmp(f.version_table, table ? table : "alembic_version")) {
			hint = xstrfmt("set version_table: %s under database: in \"%s\"", f.version_table,
				       env->file);
			diag_add(&p->diags, DIAG_WARNING, PROJECT_W_ENV_PY, path, f.version_table_line, NULL,
				 hint, "environment \"%s\": version_table is \"%s\" but env.py configures "
				 "version_table=\"%s\"", env->name, table ? table : "alembic_version",
				 f.version_table);
			free(hint);
		}
		if (f.version_table_schema && (!schema || strcmp(f.version_table_schema, schema))) {
			hint = xstrfmt("set version_table_schema: %s under database: in \"%s\"",
				       f.version_table_schema, env->file);
			diag_add(&p->diags, DIAG_WARNING, PROJECT_W_ENV_PY, path,
				 f.version_table_schema_line, NULL, hint,
				 "environment \"%s\": version_table_schema is %s%s%s but env.py configures "
				 "version_table_schema=\"%s\"", env->name, schema ? "\"" : "",
				 schema ? schema : "not set", schema ? "\"" : "", f.version_table_schema);
			free(hint);
		}
	}
	env_py_facts_release(&f);
	strbuf_release(&sb);
	free(path);
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
	else if (p->inv && p->inv->migrations.scripts.nr)
		ms_error_hint(err, "check migrations.scripts in %s, or pass --scripts DIR", p->inv->file);
	else
		ms_error_hint(err, "check script_location and version_locations in %s, or pass --scripts DIR",
			      p->alembic_ini ? p->alembic_ini : "alembic.ini");
}

static int open_scripts(struct project *p, const struct project_options *o,
			struct ms_error *err)
{
	unsigned flags = o->script_flags | (o->need & PROJECT_KEEP_GOING ? SCRIPTS_KEEP_GOING : 0);
	int ret = 0;

	if (p->alembic.sourceless)
		flags |= SCRIPTS_SOURCELESS;
	for (size_t i = 0; ret == 0 && i < p->script_dirs.nr; i++) {
		ret = scripts_read_dir_in(&p->scripts, p->script_dirs.items[i], flags,
					  &p->alembic.prepend_sys_path, &p->diags, err);
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
	const char *url = (o->need & PROJECT_INVENTORY) ? single_url(o) : NULL;
	int ret = 0;

	if (o->url && o->inventory) {
		ms_error_set(err, MS_ERR_USAGE, "--url and -i name two different things to open");
		ms_error_hint(err, "give the inventory (-i PATH) or one database (--url URL), not both");
		return MS_ERR_USAGE;
	}
	/* the graph commands do not read an inventory they are not given */
	if (url)
		ret = open_single(p, url, err);
	else if ((o->need & PROJECT_INVENTORY) || (!scripts_given && inventory_wanted(o)))
		ret = load_inventory(p, o, err);
	if (ret < 0 || !(o->need & (PROJECT_SCRIPTS | PROJECT_GRAPH)))
		return ret;
	ret = choose_script_dirs(p, o, err);
	if (ret == 0 && p->inv)
		check_env_py(p);
	if (ret == 0)
		ret = open_scripts(p, o, err);
	if (ret == 0 && p->inv)
		ret = complete_inventory(p, o, err);
	return ret;
}

int project_script_dirs(struct strvec *dirs, struct strvec *import_path,
			const struct project_options *o, struct ms_error *err)
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
	for (size_t i = 0; ret == 0 && import_path && i < p.alembic.prepend_sys_path.nr; i++)
		strvec_push(import_path, p.alembic.prepend_sys_path.items[i]);
	project_release(&p);
	return ret;
}

int project_executor_ready(const struct inventory *inv, const char *command,
			   struct ms_error *err)
{
	const struct inventory_migrations *m = &inv->migrations;

	if (m->executor_invalid) {
		ms_error_set(err, MS_ERR_CONFIG, "%s: migrations.executor \"%s\" is not sql or alembic",
			     command, m->executor_invalid);
		ms_error_hint(err, "fix migrations.executor in \"%s\", or leave it out: .py revisions "
			      "run with Alembic, .sql ones with migsync", inv->file);
		return MS_ERR_CONFIG;
	}
	if (m->executor == EXECUTOR_ALEMBIC && !m->alembic_ini) {
		ms_error_set(err, MS_ERR_CONFIG, "%s: the Alembic executor needs an alembic.ini: none in "
			     "migrations.alembic_ini, beside the inventory or in the current directory",
			     command);
		ms_error_hint(err, "set migrations.alembic_ini in \"%s\"", inv->file);
		return MS_ERR_CONFIG;
	}
	return 0;
}
