/*
 * project: everything a command needs about the project, found and loaded
 * once: the inventory, where the revision scripts are, the scripts, the
 * revision graph and the secrets to keep out of output.
 *
 * Where the scripts are, in order: the --scripts directories; else the
 * inventory's migrations.scripts (the inventory is -i PATH,
 * $MIGSYNC_INVENTORY, or environments/ when environments/inventory.yaml
 * exists); else the version locations of the project's alembic.ini: the
 * inventory's migrations.alembic_ini, else alembic.ini beside the
 * inventory directory (in its parent), else in the current directory.
 *
 * With an inventory, project_open completes what it leaves out (see
 * struct inventory_migrations): alembic_ini, and, once the scripts are
 * read, the executor (alembic for .py revisions, else sql). With the
 * Alembic executor, migrations.scripts must name alembic.ini's locations.
 * env.py is read as text: a literal version_table or
 * version_table_schema that differs from an environment's is a warning.
 */
#ifndef MIGSYNC_PROJECT_H
#define MIGSYNC_PROJECT_H

#include <stdbool.h>

#include "migsync/diag.h"
#include "migsync/error.h"
#include "migsync/scripts.h"
#include "migsync/strbuf.h"

struct inventory;
struct revgraph;

/* Warnings of project_open (in diags). */
#define PROJECT_W_ALEMBIC_INI	"MS212"	/* an alembic.ini that could not be read, left aside */
#define PROJECT_W_ENV_PY	"MS213"	/* env.py's version table differs from the inventory's */

enum {
	PROJECT_INVENTORY = 1 << 0,	/* the inventory must load (else: only if there) */
	PROJECT_SCRIPTS = 1 << 1,	/* read the revision scripts */
	PROJECT_GRAPH = 1 << 2,		/* build the graph (implies PROJECT_SCRIPTS) */
	/*
	 * With PROJECT_GRAPH: a graph that cannot be built is no error: its
	 * reason goes to graph_error and the graph is empty, so that a
	 * command can still say whether databases answer.
	 */
	PROJECT_KEEP_GOING = 1 << 3,
};

struct project_options {
	const char *inventory;		/* -i PATH, or NULL */
	const struct strvec *scripts;	/* --scripts DIR..., or NULL */
	unsigned need;			/* PROJECT_* */
	unsigned script_flags;		/* SCRIPTS_* for scripts_read_dir */
	/*
	 * One database without an inventory (--url URL, a secret): the
	 * inventory is that database alone, as environment PROJECT_URL_ENV.
	 * $DATABASE_URL does the same when no inventory is named or found
	 * and alembic.ini is in the current directory (or --scripts given).
	 */
	const char *url;
};

/* The one environment of a project opened on a database URL. */
#define PROJECT_URL_ENV "default"

struct project {
	struct inventory *inv;		/* NULL when not needed and not there */
	struct strvec script_dirs;
	struct script_set scripts;
	struct revgraph *graph;		/* NULL unless PROJECT_GRAPH */
	bool single;			/* inv is one database from a URL */
	char *graph_error;		/* PROJECT_KEEP_GOING: why the graph is empty */
	char *alembic_ini;		/* the project's alembic.ini (absolute), or NULL */
	struct alembic_config alembic;	/* what it says, locations made absolute */
	struct strvec secrets;		/* the inventory's secret values, $PGPASSWORD */
	/*
	 * What the readers found on the way, in the order they found it
	 * (inventory problems, then script warnings), and the problems of a
	 * graph that could not be built. Callers show them whether
	 * project_open succeeded or not.
	 */
	struct diag_list diags;
	struct diag_list graph_problems;
};

#define PROJECT_INIT { NULL, STRVEC_INIT, SCRIPT_SET_INIT, NULL, false, NULL, NULL, \
		       { NULL, STRVEC_INIT, STRVEC_INIT, false }, STRVEC_INIT, \
		       DIAG_LIST_INIT, DIAG_LIST_INIT }

void project_init(struct project *p);
void project_release(struct project *p);

/*
 * Open the project as o says. Returns 0, or a negative code with err set
 * (MS_ERR_CONFIG, MS_ERR_IO ...); p must be released either way.
 */
int project_open(struct project *p, const struct project_options *o, struct ms_error *err);

/*
 * Only find the scripts directories, as project_open would (the graph
 * commands' and lint's way in, and for showing where scripts come from).
 * import_path (may be NULL) receives where project_open looks for the
 * modules revisions import constants from: Alembic's prepend_sys_path
 * when an alembic.ini is known.
 */
int project_script_dirs(struct strvec *dirs, struct strvec *import_path,
			const struct project_options *o, struct ms_error *err);

/*
 * The commands that apply migrations call this before they start: the
 * executor settings the read-only commands never need. Returns 0, or
 * MS_ERR_CONFIG naming command and what is missing (an unknown
 * migrations.executor, the Alembic executor without an alembic.ini).
 */
/*
 * Does o open one database from a URL (--url, or $DATABASE_URL as
 * project_options.url says)? For commands that must name an environment.
 */
bool project_single_database(const struct project_options *o);

int project_executor_ready(const struct inventory *inv, const char *command,
			   struct ms_error *err);

/*
 * The Python interpreter that runs Alembic (*out, caller frees): the
 * configured one (migrations.python, looked up on $PATH when it has no
 * "/"), else $VIRTUAL_ENV/bin/python, else the first python3 on $PATH
 * that can import alembic (each tried with a deadline). Else
 * MS_ERR_CONFIG naming what was tried, with a hint. Starts Python only
 * in the last case: callers are the commands that run Alembic.
 */
int project_python_find(char **out, const char *configured, struct ms_error *err);

/* The version of Alembic python imports (*out, caller frees), or MS_ERR_CONFIG. */
int project_alembic_version(char **out, const char *python, struct ms_error *err);

#endif
