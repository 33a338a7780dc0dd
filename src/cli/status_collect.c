/*
 * Gathering the status report, for `migsync status` and `migsync check`:
 * inventory, scripts, graph, expansion, parallel probes, ledger checksums,
 * classification and rollout order violations. See status_collect.h.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/status_collect.h"
#include "migsync/json.h"
#include "migsync/pool.h"
#include "migsync/probe.h"

/* Show a progress line on a terminal from this many databases on. */
#define PROGRESS_MIN_TARGETS 8

int cli_select_envs(const struct environment ***out, size_t *nr, const struct inventory *inv,
		    const struct strvec *names, struct ms_error *err)
{
	const struct environment **envs = xcalloc(inv->nr ? inv->nr : 1, sizeof(*envs));
	int ret = 0;

	*nr = 0;
	for (size_t i = 0; names && i < names->nr; i++) {
		if (!inventory_find(inv, names->items[i])) {
			struct strbuf known = STRBUF_INIT;

			for (size_t k = 0; k < inv->nr; k++)
				strbuf_addf(&known, "%s%s", k ? ", " : "", inv->envs[k].name);
			ret = ms_error_set(err, MS_ERR_NOTFOUND,
					   "environment \"%s\": not in the inventory", names->items[i]);
			ms_error_hint(err, "the environments are: %s", known.buf);
			strbuf_release(&known);
			goto done;
		}
	}
	for (size_t i = 0; i < inv->nr; i++)
		if (!names || !names->nr || strvec_contains(names, inv->envs[i].name))
			envs[(*nr)++] = &inv->envs[i];
done:
	if (ret < 0) {
		free(envs);
		envs = NULL;
		*nr = 0;
	}
	*out = envs;
	return ret;
}

static void expand_work(size_t i, void *ctx)
{
	struct env_expansion *x = &((struct env_expansion *)ctx)[i];

	db_targets_expand(&x->targets, &x->nr, x->e, &x->err);
}

int cli_expand_envs(struct env_expansion **out, const struct environment **envs, size_t nr,
		    unsigned jobs, struct ms_error *err)
{
	struct env_expansion *exp = xcalloc(nr ? nr : 1, sizeof(*exp));

	for (size_t i = 0; i < nr; i++) {
		exp[i].e = envs[i];
		ms_error_init(&exp[i].err);
	}
	*out = exp;
	return pool_run(nr, jobs, expand_work, NULL, exp, err);
}

void cli_expansions_free(struct env_expansion *x, size_t nr)
{
	for (size_t i = 0; x && i < nr; i++) {
		db_targets_free(x[i].targets, x[i].nr);
		ms_error_release(&x[i].err);
	}
	free(x);
}

void cli_scrub(struct strbuf *sb, const struct strvec *secrets)
{
	for (size_t i = 0; i < secrets->nr; i++) {
		struct strbuf quoted = STRBUF_INIT, tmp = STRBUF_INIT;
		const char *forms[2];

		json_quote(&quoted, secrets->items[i]);
		strbuf_setlen(&quoted, quoted.len - 1);
		forms[0] = secrets->items[i];
		forms[1] = quoted.buf + 1;
		for (size_t f = 0; f < 2; f++) {
			size_t len = strlen(forms[f]);
			const char *p = sb->buf, *hit;

			if (len < 4 || !strstr(sb->buf, forms[f]))
				continue;
			strbuf_reset(&tmp);
			while ((hit = strstr(p, forms[f]))) {
				strbuf_add(&tmp, p, (size_t)(hit - p));
				strbuf_addstr(&tmp, "***");
				p = hit + len;
			}
			strbuf_addstr(&tmp, p);
			strbuf_reset(sb);
			strbuf_add(sb, tmp.buf, tmp.len);
		}
		strbuf_release(&quoted);
		strbuf_release(&tmp);
	}
}

void cli_print_error_scrubbed(const struct ms_error *err, const struct strvec *secrets)
{
	struct strbuf sb = STRBUF_INIT;

	strbuf_addf(&sb, "migsync: error: %s\n", err->message ? err->message : "unknown error");
	if (err->hint)
		strbuf_addf(&sb, "hint: %s\n", err->hint);
	cli_scrub(&sb, secrets);
	fputs(sb.buf, stderr);
	strbuf_release(&sb);
}

void status_collection_init(struct status_collection *c)
{
	const struct status_goal goal = STATUS_GOAL_INIT;

	memset(c, 0, sizeof(*c));
	strvec_init(&c->script_dirs);
	script_set_init(&c->scripts);
	c->goal = goal;
	status_report_init(&c->report);
	strvec_init(&c->secrets);
}

void status_collection_release(struct status_collection *c)
{
	for (size_t i = 0; i < c->jobs_nr; i++) {
		free(c->jobs[i].database);
		checksum_mismatches_free(c->jobs[i].checksums.items, c->jobs[i].checksums.nr);
		free(c->jobs[i].checksums.error);
	}
	free(c->jobs);
	free(c->first_job);
	cli_expansions_free(c->exp, c->exp_nr);
	status_report_release(&c->report);
	status_goal_release(&c->goal);
	revgraph_free(c->g);
	free(c->graph_error);
	script_set_release(&c->scripts);
	strvec_release(&c->script_dirs);
	free(c->envs);
	inventory_free(c->inv);
	strvec_release(&c->secrets);
	if (c->probe_ready)
		conn_global_cleanup();
	memset(c, 0, sizeof(*c));
}

/*
 * Expand the selected environments into jobs, one per database. An
 * environment that cannot be expanded carries its error in the report.
 */
static int expand(struct status_collection *c, unsigned jobs, struct ms_error *err)
{
	int ret;

	for (size_t i = 0; i < c->envs_nr; i++) {
		const struct environment *e = c->envs[i];

		status_report_add_env(&c->report, e->name,
				      e->targets.databases.nr || e->targets.discover);
	}
	c->first_job = xcalloc(c->envs_nr ? c->envs_nr : 1, sizeof(*c->first_job));
	c->exp_nr = c->envs_nr;
	ret = cli_expand_envs(&c->exp, c->envs, c->envs_nr, jobs, err);
	if (ret < 0)
		goto done;

	for (size_t i = 0; i < c->exp_nr; i++) {
		const struct env_expansion *x = &c->exp[i];

		c->first_job[i] = c->jobs_nr;
		if (x->err.message) {
			c->report.envs[i].error = xstrdup(x->err.message);
			continue;
		}
		for (size_t k = 0; k < x->nr; k++) {
			const struct db_target *t = &x->targets[k];
			struct status_job *job;

			for (size_t s = 0; s < t->secrets.nr; s++)
				if (!strvec_contains(&c->secrets, t->secrets.items[s]))
					strvec_push(&c->secrets, t->secrets.items[s]);
			ALLOC_GROW(c->jobs, c->jobs_nr + 1, c->jobs_alloc);
			job = &c->jobs[c->jobs_nr++];
			memset(job, 0, sizeof(*job));
			job->env = i;
			job->t = t;
			job->database = xstrdup(t->member ? t->dbname : t->describe);
		}
	}
done:
	return ret;
}

static void progress_done(size_t index, const struct probe_target *target,
			  struct probe_result *result, void *ctx)
{
	struct status_collection *c = ctx;

	(void)index;
	(void)target;
	(void)result;
	c->probed++;
	if (c->progress) {
		fprintf(stderr, "\rprobing databases: %zu/%zu", c->probed, c->jobs_nr);
		fflush(stderr);
	}
}

/* A database whose ledger is read, in a worker thread. */
struct checksum_task {
	const struct db_target *t;
	const struct revgraph *g;
	const struct strvec *rows;
	struct status_checksums *out;
};

/*
 * Read one ledger on a connection of its own: the probe's connection is
 * closed inside the probe module, and only databases that have a ledger
 * get this second one.
 */
static void checksum_work(size_t i, void *ctx)
{
	struct checksum_task *task = &((struct checksum_task *)ctx)[i];
	struct ms_error err = MS_ERROR_INIT, msg = MS_ERROR_INIT;
	struct tunnel *tunnel = NULL;
	PGconn *conn = NULL;

	if (db_connect(&conn, &tunnel, task->t, &msg) < 0)
		goto done;
	if (plan_checksum_read(&task->out->items, &task->out->nr, conn, NULL, task->g,
			       task->rows, &err) < 0)
		db_target_error(&msg, err.code, task->t, "could not read the ledger: %s", err.message);
done:
	if (msg.message)
		task->out->error = xstrdup(msg.message);
	db_disconnect(conn, tunnel);
	ms_error_release(&err);
	ms_error_release(&msg);
}

/* Compare the ledger of every reachable database that has one with the scripts. */
static int read_checksums(struct status_collection *c, const struct probe_result *results,
			  unsigned jobs, struct ms_error *err)
{
	struct checksum_task *tasks = xcalloc(c->jobs_nr ? c->jobs_nr : 1, sizeof(*tasks));
	size_t nr = 0;
	int ret = 0;

	for (size_t i = 0; i < c->jobs_nr; i++) {
		if (results[i].state != PROBE_OK || !results[i].ledger_applied_exists)
			continue;
		tasks[nr].t = c->jobs[i].t;
		tasks[nr].g = c->g;
		tasks[nr].rows = &results[i].version_rows;
		tasks[nr].out = &c->jobs[i].checksums;
		nr++;
	}
	if (nr)
		ret = pool_run(nr, jobs, checksum_work, NULL, tasks, err);
	free(tasks);
	return ret;
}

/* Probe every job and classify the results into the report. */
static int probe_all(struct status_collection *c, unsigned jobs, bool checksums,
		     struct ms_error *err)
{
	struct probe_target *targets = xcalloc(c->jobs_nr ? c->jobs_nr : 1, sizeof(*targets));
	struct probe_result *results = xcalloc(c->jobs_nr ? c->jobs_nr : 1, sizeof(*results));
	int ret = 0;

	for (size_t i = 0; i < c->jobs_nr; i++) {
		const struct db_target *t = c->jobs[i].t;
		const struct inventory_database *db = &t->env->database;

		targets[i].name = t->label;
		targets[i].conninfo = t->conninfo;
		targets[i].version_table = db->version_table;
		targets[i].version_schema = db->version_table_schema;
		targets[i].connect_timeout_s = db->connect_timeout > INT_MAX ? INT_MAX :
			(int)db->connect_timeout;
		targets[i].statement_timeout_ms = db->statement_timeout > INT_MAX / 1000 ?
			INT_MAX : (int)db->statement_timeout * 1000;
		targets[i].ssh = t->has_ssh ? &t->ssh : NULL;
		probe_result_init(&results[i]);
	}
	c->progress = isatty(STDERR_FILENO) && c->jobs_nr >= PROGRESS_MIN_TARGETS;
	if (c->jobs_nr)
		ret = probe_run(results, targets, c->jobs_nr, jobs, progress_done, c, err);
	if (c->progress)
		fprintf(stderr, "\r\033[K");
	if (ret < 0)
		goto done;
	if (checksums && (ret = read_checksums(c, results, jobs, err)) < 0)
		goto done;

	for (size_t i = 0; i < c->jobs_nr; i++) {
		const struct probe_result *res = &results[i];
		struct status_target *t = status_env_add_target(&c->report.envs[c->jobs[i].env],
								 c->jobs[i].database);
		struct status_observation obs = { NULL, res->version_table_exists, &res->version_rows };

		if (res->state == PROBE_UNREACHABLE || res->state == PROBE_ERROR)
			obs.error = res->error.message ? res->error.message : "probe failed";
		status_classify(&t->result, c->g, &c->goal, &obs);
	}
	status_report_finish(&c->report, c->g, &c->goal);
done:
	for (size_t i = 0; i < c->jobs_nr; i++)
		probe_result_release(&results[i]);
	free(results);
	free(targets);
	return ret;
}

/*
 * The scripts of the inventory just loaded, unless --scripts says
 * otherwise; without either, where cli_script_dirs looks.
 */
static int load_scripts(struct status_collection *c, const struct cli_common *common,
			unsigned flags, struct ms_error *err)
{
	struct diag_list warnings = DIAG_LIST_INIT;
	const struct strvec *dirs = common->scripts_dirs.nr ? &common->scripts_dirs :
		&c->inv->migrations.scripts;
	int ret = 0;

	for (size_t i = 0; i < dirs->nr; i++)
		strvec_push(&c->script_dirs, dirs->items[i]);
	if (!c->script_dirs.nr && (ret = cli_script_dirs(&c->script_dirs, common, err)) < 0)
		goto done;
	for (size_t i = 0; ret == 0 && i < c->script_dirs.nr; i++)
		ret = scripts_read_dir(&c->scripts, c->script_dirs.items[i], flags, &warnings, err);
done:
	cli_print_warnings(&warnings);
	diag_list_release(&warnings);
	return ret;
}

/*
 * The graph of the scripts read; when it cannot be built, remember why
 * and use an empty one, against which a probe still says whether a
 * database answers. The graph's problems are lint's to report.
 */
static int build_or_empty(struct status_collection *c, struct ms_error *err)
{
	struct script_set none = SCRIPT_SET_INIT;
	struct ms_error why = MS_ERROR_INIT;

	if (revgraph_build(&c->g, &c->scripts, NULL, &why) == 0)
		return 0;
	c->graph_error = xstrdup(why.message ? why.message : "the revision graph is broken");
	ms_error_release(&why);
	return revgraph_build(&c->g, &none, NULL, err);
}

int status_collect(struct status_collection *c, const struct cli_common *common,
		   const struct status_collect_options *opts, struct ms_error *err)
{
	struct diag_list problems = DIAG_LIST_INIT;
	const char *pgpassword = getenv("PGPASSWORD");
	int ret;

	if (pgpassword && *pgpassword && !strvec_contains(&c->secrets, pgpassword))
		strvec_push(&c->secrets, pgpassword);
	if ((ret = conn_global_init(err)) < 0)
		goto done;
	c->probe_ready = true;
	ret = inventory_load(&c->inv, inventory_choose_dir(common->inventory), &problems, err);
	cli_print_warnings(&problems);
	diag_list_release(&problems);
	if (ret < 0)
		goto done;
	for (size_t i = 0; i < c->inv->secrets.nr; i++)
		if (!strvec_contains(&c->secrets, c->inv->secrets.items[i]))
			strvec_push(&c->secrets, c->inv->secrets.items[i]);
	if ((ret = cli_select_envs(&c->envs, &c->envs_nr, c->inv, opts->environments, err)) < 0 ||
	    (ret = load_scripts(c, common, (opts->checksums ? SCRIPTS_SHA256 : 0) |
				(c->keep_going ? SCRIPTS_KEEP_GOING : 0), err)) < 0)
		goto done;
	ret = c->keep_going ? build_or_empty(c, err) : revgraph_build(&c->g, &c->scripts, &problems, err);
	if (ret < 0) {
		cli_print_warnings(&problems);
		goto done;
	}
	if ((ret = status_goal_init(&c->goal, c->g, c->graph_error ? NULL : opts->to, err)) < 0 ||
	    (ret = expand(c, opts->jobs, err)) < 0 ||
	    (ret = probe_all(c, opts->jobs, opts->checksums && !c->graph_error, err)) < 0)
		goto done;
done:
	diag_list_release(&problems);
	return ret;
}

const struct status_checksums *status_collection_checksums(const struct status_collection *c,
							   size_t env, size_t target)
{
	static const struct status_checksums none = { NULL, 0, NULL };
	size_t i;

	if (env >= c->exp_nr || !c->first_job)
		return &none;
	i = c->first_job[env] + target;
	if (i >= c->jobs_nr || c->jobs[i].env != env)
		return &none;
	return &c->jobs[i].checksums;
}
