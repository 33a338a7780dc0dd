/*
 * Gathering the status report, for `migsync status` and `migsync check`:
 * inventory, scripts, graph, expansion, parallel observations (with the
 * ledger, for checksums), classification and rollout order violations.
 * See status_collect.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/status_collect.h"
#include "migsync/json.h"
#include "migsync/conn.h"
#include "migsync/observe.h"
#include "migsync/pool.h"
#include "migsync/project.h"

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
	struct cli_expansion *x = &((struct cli_expansion *)ctx)[i];

	db_targets_expand(&x->targets, &x->nr, x->e, &x->err);
}

int cli_expand_envs(struct cli_expansion **out, const struct environment **envs, size_t nr,
		    unsigned jobs, struct ms_error *err)
{
	struct cli_expansion *exp = xcalloc(nr ? nr : 1, sizeof(*exp));

	for (size_t i = 0; i < nr; i++) {
		exp[i].e = envs[i];
		ms_error_init(&exp[i].err);
	}
	*out = exp;
	return pool_run(nr, jobs, expand_work, NULL, exp, err);
}

void cli_expansions_free(struct cli_expansion *x, size_t nr)
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
	struct strbuf msg = STRBUF_INIT, hint = STRBUF_INIT;
	struct ms_error scrubbed = { err->code, NULL, NULL };

	strbuf_addstr(&msg, err->message ? err->message : "unknown error");
	cli_scrub(&msg, secrets);
	scrubbed.message = msg.buf;
	if (err->hint) {
		strbuf_addstr(&hint, err->hint);
		cli_scrub(&hint, secrets);
		scrubbed.hint = hint.buf;
	}
	cli_print_error(&scrubbed);
	strbuf_release(&msg);
	strbuf_release(&hint);
}

void cli_status_init(struct cli_status *c)
{
	const struct status_goal goal = STATUS_GOAL_INIT;

	*c = (struct cli_status){ 0 };
	strvec_init(&c->script_dirs);
	strvec_init(&c->import_path);
	script_set_init(&c->scripts);
	c->goal = goal;
	status_report_init(&c->report);
	strvec_init(&c->secrets);
}

void cli_status_release(struct cli_status *c)
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
	strvec_release(&c->import_path);
	free(c->envs);
	inventory_free(c->inv);
	strvec_release(&c->secrets);
	if (c->conn_ready)
		conn_global_cleanup();
	cli_status_init(c);
}

/* The index of name in v, or -1. */
static long index_in(const struct strvec *v, const char *name)
{
	for (size_t i = 0; name && i < v->nr; i++)
		if (!strcmp(v->items[i], name))
			return (long)i;
	return -1;
}

/*
 * See cli_status_job.position. A tenant schema's place: its database's
 * index times the number of listed schemas, plus its own; its
 * database's index alone when its schemas are discovered (they come
 * sorted by name after it).
 */
static long position_of(const struct environment *e, const struct db_target *t)
{
	const struct inventory_targets *tg = &e->targets;
	long db, s;

	if (!t->member)
		return 0;
	if (tg->discover)
		return -1;
	db = tg->databases.nr ? index_in(&tg->databases, t->dbname) : 0;
	if (!t->schema || db < 0)
		return db;
	if (tg->discover_schemas)
		return tg->databases.nr ? db : -1;
	s = index_in(&tg->schemas, t->schema);
	return s < 0 ? -1 : db * (long)tg->schemas.nr + s;
}

/*
 * Expand the selected environments into jobs, one per database. An
 * environment that cannot be expanded carries its error in the report.
 */
static int expand(struct cli_status *c, unsigned jobs, struct ms_error *err)
{
	int ret;

	for (size_t i = 0; i < c->envs_nr; i++) {
		const struct environment *e = c->envs[i];

		status_report_add_env(&c->report, e->name,
				      inventory_env_is_fleet(e));
	}
	c->first_job = xcalloc(c->envs_nr ? c->envs_nr : 1, sizeof(*c->first_job));
	c->exp_nr = c->envs_nr;
	ret = cli_expand_envs(&c->exp, c->envs, c->envs_nr, jobs, err);
	if (ret < 0)
		goto done;

	for (size_t i = 0; i < c->exp_nr; i++) {
		const struct cli_expansion *x = &c->exp[i];

		c->first_job[i] = c->jobs_nr;
		if (x->err.message) {
			c->report.envs[i].error = xstrdup(x->err.message);
			continue;
		}
		for (size_t k = 0; k < x->nr; k++) {
			const struct db_target *t = &x->targets[k];
			struct cli_status_job *job;

			for (size_t s = 0; s < t->secrets.nr; s++)
				if (!strvec_contains(&c->secrets, t->secrets.items[s]))
					strvec_push(&c->secrets, t->secrets.items[s]);
			ALLOC_GROW(c->jobs, c->jobs_nr + 1, c->jobs_alloc);
			job = &c->jobs[c->jobs_nr++];
			*job = (struct cli_status_job){ 0 };
			job->env = i;
			job->t = t;
			job->database = xstrdup(t->name ? t->name : t->describe);
			job->position = position_of(x->e, t);
		}
	}
done:
	return ret;
}

static void progress_done(size_t index, struct observation *obs, void *ctx)
{
	struct cli_status *c = ctx;

	(void)index;
	(void)obs;
	c->probed++;
	if (c->progress) {
		fprintf(stderr, "\rprobing databases: %zu/%zu", c->probed, c->jobs_nr);
		fflush(stderr);
	}
}

/*
 * The files changed after they were applied, from the ledger read with
 * the observation (only of a database that has a version table and a
 * ledger).
 */
static void checksums_from(struct cli_checksums *out, const struct observation *obs,
			   const struct revgraph *g)
{
	if (obs->ledger_error.message)
		out->error = xstrdup(obs->ledger_error.message);
	else if (obs->state == OBSERVE_OK && obs->ledger_applied_exists)
		plan_checksum_compare(&out->items, &out->nr, g, obs->ledger, obs->ledger_nr,
				      &obs->version_rows);
}

/* Observe every job and classify the observations into the report. */
static int observe_all(struct cli_status *c, unsigned jobs, bool checksums,
		       struct ms_error *err)
{
	const struct db_target **targets = xcalloc(c->jobs_nr ? c->jobs_nr : 1, sizeof(*targets));
	struct observation *obs = xcalloc(c->jobs_nr ? c->jobs_nr : 1, sizeof(*obs));
	struct observe_options o = {
		OBSERVE_STATE | (checksums ? OBSERVE_LEDGER : 0), jobs, NULL, progress_done, c, NULL
	};
	int ret = 0;

	for (size_t i = 0; i < c->jobs_nr; i++) {
		targets[i] = c->jobs[i].t;
		observation_init(&obs[i]);
	}
	c->progress = isatty(STDERR_FILENO) && c->jobs_nr >= PROGRESS_MIN_TARGETS;
	if (c->jobs_nr)
		ret = observe_run(obs, targets, c->jobs_nr, &o, err);
	if (c->progress)
		fprintf(stderr, "\r\033[K");
	if (ret < 0)
		goto done;

	for (size_t i = 0; i < c->jobs_nr; i++) {
		const struct observation *ob = &obs[i];
		struct status_target *t = status_env_add_target(&c->report.envs[c->jobs[i].env],
								 c->jobs[i].database);
		struct strvec stuck = STRVEC_INIT;
		struct status_observation so = {
			NULL, ob->version_table_exists, &ob->version_rows,
			ob->state == OBSERVE_MISSING, &stuck, c->envs[c->jobs[i].env]->name,
		};

		if (ob->state == OBSERVE_UNREACHABLE || ob->state == OBSERVE_ERROR ||
		    ob->state == OBSERVE_MISSING)
			so.error = ob->error.message ? ob->error.message : "probe failed";
		for (size_t k = 0; k < ob->in_progress_nr; k++)
			strvec_push(&stuck, ob->in_progress[k].revision ? ob->in_progress[k].revision : "?");
		status_classify(&t->result, c->g, &c->goal, &so);
		strvec_release(&stuck);
		if (checksums)
			checksums_from(&c->jobs[i].checksums, ob, c->g);
	}
	status_report_finish(&c->report, c->g, &c->goal);
done:
	for (size_t i = 0; i < c->jobs_nr; i++)
		observation_release(&obs[i]);
	free(obs);
	free(targets);
	return ret;
}

/*
 * Open the project (inventory, scripts, graph: project_open) and take what
 * it found; with keep_going a graph that cannot be built leaves
 * graph_error and an empty graph, against which a probe still says
 * whether a database answers (the graph's problems are lint's to report).
 */
static int open_project(struct cli_status *c, const struct cli_common *common,
			const struct cli_status_options *opts, struct ms_error *err)
{
	struct project p = PROJECT_INIT;
	struct project_options o = {
		common->inventory, &common->scripts_dirs,
		PROJECT_INVENTORY | PROJECT_GRAPH | (c->keep_going ? PROJECT_KEEP_GOING : 0),
		opts->checksums ? SCRIPTS_SHA256 : 0, common->url,
	};
	int ret = project_open(&p, &o, err);

	if (ret == 0)
		ret = cli_shard_apply(p.inv, common, err);
	cli_print_warnings(&p.diags);
	if (ret < 0) {
		cli_print_warnings(&p.graph_problems);
		cli_error_if_listed(err, &p.diags);
	}
	c->inv = p.inv;
	p.inv = NULL;
	c->script_dirs = p.script_dirs;
	strvec_init(&p.script_dirs);
	c->import_path = p.alembic.prepend_sys_path;
	strvec_init(&p.alembic.prepend_sys_path);
	c->scripts = p.scripts;		/* the graph's nodes point into it */
	script_set_init(&p.scripts);
	c->g = p.graph;
	p.graph = NULL;
	c->graph_error = p.graph_error;
	p.graph_error = NULL;
	for (size_t i = 0; i < p.secrets.nr; i++)
		if (!strvec_contains(&c->secrets, p.secrets.items[i]))
			strvec_push(&c->secrets, p.secrets.items[i]);
	project_release(&p);
	return ret;
}

int cli_status_open(struct cli_status *c, const struct cli_common *common,
		    const struct cli_status_options *opts, struct ms_error *err)
{
	int ret = conn_global_init(err);

	if (ret < 0)
		return ret;
	c->conn_ready = true;
	if ((ret = open_project(c, common, opts, err)) < 0 ||
	    (ret = cli_select_envs(&c->envs, &c->envs_nr, c->inv, opts->environments, err)) < 0)
		return ret;
	return status_goal_init(&c->goal, c->g, c->graph_error ? NULL : opts->to, err);
}

int cli_status_observe(struct cli_status *c, const struct cli_status_options *opts,
		       struct ms_error *err)
{
	int ret = expand(c, opts->jobs, err);

	if (ret < 0)
		return ret;
	return observe_all(c, opts->jobs, opts->checksums && !c->graph_error, err);
}

int cli_status_collect(struct cli_status *c, const struct cli_common *common,
		   const struct cli_status_options *opts, struct ms_error *err)
{
	int ret = cli_status_open(c, common, opts, err);

	return ret < 0 ? ret : cli_status_observe(c, opts, err);
}

const struct cli_checksums *cli_status_checksums(const struct cli_status *c,
							   size_t env, size_t target)
{
	static const struct cli_checksums none = { NULL, 0, NULL };
	size_t i;

	if (env >= c->exp_nr || !c->first_job)
		return &none;
	i = c->first_job[env] + target;
	if (i >= c->jobs_nr || c->jobs[i].env != env)
		return &none;
	return &c->jobs[i].checksums;
}

const struct db_target *cli_status_target(const struct cli_status *c, size_t env, size_t target)
{
	size_t i;

	if (env >= c->exp_nr || !c->first_job)
		return NULL;
	i = c->first_job[env] + target;
	if (i >= c->jobs_nr || c->jobs[i].env != env)
		return NULL;
	return c->jobs[i].t;
}

const char *cli_status_address(const struct cli_status *c, size_t env, size_t target)
{
	const struct db_target *t = cli_status_target(c, env, target);

	return t ? t->describe : NULL;
}
