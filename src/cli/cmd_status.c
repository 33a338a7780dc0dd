/*
 * migsync status: ask every environment's databases for their version
 * rows, in parallel, and report where each one stands against the target
 * (the heads, or --to REV), in rollout order, with rollout order
 * violations after the table.
 *
 * An environment that cannot be reached, or whose fleet cannot be
 * discovered, is reported as unreachable; it never stops the report about
 * the others. Exit status 0 whenever a report was made, 2 when none could
 * be (usage, inventory, scripts, graph).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "migsync/inventory.h"
#include "migsync/json.h"
#include "migsync/probe.h"
#include "migsync/status.h"
#include "migsync/strbuf.h"
#include "migsync/target.h"

enum {
	OPT_TO = OPT_FIRST_COMMAND_OPTION,
};

/* Show a progress line on a terminal from this many databases on. */
#define PROGRESS_MIN_TARGETS 8
/* Heads named in a fleet's CURRENT column before "+N". */
#define FLEET_HEADS_SHOWN 2

/* One database to probe. */
struct status_job {
	size_t env;			/* index in report.envs */
	const struct db_target *t;	/* borrowed from its expansion */
	char *database;			/* what the report shows: never a password */
};

/* An environment expanded to its databases (in a worker thread). */
struct expansion {
	const struct environment *e;
	struct db_target *targets;
	size_t nr;
	struct ms_error err;
};

struct status_cmd {
	struct expansion *exp;
	size_t exp_nr;
	struct status_job *jobs;
	size_t jobs_nr;
	size_t jobs_alloc;
	struct strvec secrets;		/* every password met, scrubbed from all output */
	bool progress;
	size_t probed;
};

static void print_help(void)
{
	printf("migsync status shows where each environment's databases stand against the\n"
	       "target revision, in rollout order.\n"
	       "\n"
	       "Usage:\n"
	       "  migsync status [OPTION]...\n"
	       "\n"
	       "Options:\n"
	       "  -e, --environment=ENV    only this environment (repeatable)\n"
	       "  -j, --jobs=N             probe N databases at a time (default: min(16, databases))\n"
	       "      --to=REV             compare with REV instead of the heads\n"
	       "\n"
	       "Common options:\n"
	       "  -i, --inventory=PATH     inventory directory (default: $MIGSYNC_INVENTORY or environments/)\n"
	       "      --scripts=DIR        versions directory (default: the inventory's migrations.scripts)\n"
	       "      --format=FORMAT      output format: text (default) or json\n"
	       "      --help               show this help, then exit\n"
	       "\n"
	       "States, from worst to best:\n"
	       "  unreachable    the database could not be asked (the note says why)\n"
	       "  unknown        a version row names a revision the scripts do not have\n"
	       "  diverged       on a branch that does not lead to the target\n"
	       "  ahead          holds revisions the target does not contain\n"
	       "  behind         revisions of the target are pending\n"
	       "  uninitialized  no version table, or an empty one\n"
	       "  current        at the target\n"
	       "A fleet's state is its worst database's.\n"
	       "\n"
	       "Exit status: 0 a report was made (whatever it says), 2 could not run.\n");
}

static void status_cmd_release(struct status_cmd *sc)
{
	for (size_t i = 0; i < sc->jobs_nr; i++)
		free(sc->jobs[i].database);
	free(sc->jobs);
	for (size_t i = 0; i < sc->exp_nr; i++) {
		db_targets_free(sc->exp[i].targets, sc->exp[i].nr);
		ms_error_release(&sc->exp[i].err);
	}
	free(sc->exp);
	strvec_release(&sc->secrets);
}

static void expand_work(size_t i, void *ctx)
{
	struct expansion *x = &((struct expansion *)ctx)[i];

	db_targets_expand(&x->targets, &x->nr, x->e, &x->err);
}

/*
 * Expand the selected environments into jobs: one database, a list of
 * them, or the result of a discovery query (all environments in
 * parallel). An environment that cannot be expanded (an unset
 * password_env, a failed discovery) gets the error instead.
 */
static int expand(struct status_cmd *sc, struct status_report *report,
		  const struct environment **envs, size_t nr, unsigned jobs,
		  struct ms_error *err)
{
	int ret = 0;

	sc->exp = xcalloc(nr ? nr : 1, sizeof(*sc->exp));
	sc->exp_nr = nr;
	for (size_t i = 0; i < nr; i++) {
		const struct environment *e = envs[i];

		status_report_add_env(report, e->name, e->targets.databases.nr || e->targets.discover);
		sc->exp[i].e = e;
		ms_error_init(&sc->exp[i].err);
	}
	ret = probe_pool_run(nr, jobs, expand_work, NULL, sc->exp, err);
	if (ret < 0)
		goto done;

	for (size_t i = 0; i < nr; i++) {
		const struct expansion *x = &sc->exp[i];

		if (x->err.message) {
			report->envs[i].error = xstrdup(x->err.message);
			continue;
		}
		for (size_t k = 0; k < x->nr; k++) {
			const struct db_target *t = &x->targets[k];
			struct status_job *job;

			for (size_t s = 0; s < t->secrets.nr; s++)
				if (!strvec_contains(&sc->secrets, t->secrets.items[s]))
					strvec_push(&sc->secrets, t->secrets.items[s]);
			ALLOC_GROW(sc->jobs, sc->jobs_nr + 1, sc->jobs_alloc);
			job = &sc->jobs[sc->jobs_nr++];
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
	struct status_cmd *sc = ctx;

	(void)index;
	(void)target;
	(void)result;
	sc->probed++;
	if (sc->progress) {
		fprintf(stderr, "\rprobing databases: %zu/%zu", sc->probed, sc->jobs_nr);
		fflush(stderr);
	}
}

/* Probe every job and classify the results into the report. */
static int probe_all(struct status_cmd *sc, struct status_report *report,
		     const struct revgraph *g, const struct status_goal *goal,
		     unsigned jobs, struct ms_error *err)
{
	struct probe_target *targets = xcalloc(sc->jobs_nr ? sc->jobs_nr : 1, sizeof(*targets));
	struct probe_result *results = xcalloc(sc->jobs_nr ? sc->jobs_nr : 1, sizeof(*results));
	int ret = 0;

	for (size_t i = 0; i < sc->jobs_nr; i++) {
		const struct db_target *t = sc->jobs[i].t;
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
	sc->progress = isatty(STDERR_FILENO) && sc->jobs_nr >= PROGRESS_MIN_TARGETS;
	if (sc->jobs_nr)
		ret = probe_run(results, targets, sc->jobs_nr, jobs, progress_done, sc, err);
	if (sc->progress)
		fprintf(stderr, "\r\033[K");
	if (ret < 0)
		goto done;

	for (size_t i = 0; i < sc->jobs_nr; i++) {
		const struct probe_result *res = &results[i];
		struct status_target *t = status_env_add_target(&report->envs[sc->jobs[i].env],
								 sc->jobs[i].database);
		struct status_observation obs = { NULL, res->version_table_exists, &res->version_rows };

		if (res->state == PROBE_UNREACHABLE || res->state == PROBE_ERROR)
			obs.error = res->error.message ? res->error.message : "probe failed";
		status_classify(&t->result, g, goal, &obs);
	}
	status_report_finish(report, g, goal);
done:
	for (size_t i = 0; i < sc->jobs_nr; i++)
		probe_result_release(&results[i]);
	free(results);
	free(targets);
	return ret;
}

static void json_strvec(struct json_writer *jw, const char *key, const struct strvec *v)
{
	json_key(jw, key);
	json_array_begin(jw);
	for (size_t i = 0; i < v->nr; i++)
		json_string(jw, v->items[i]);
	json_array_end(jw);
}

static void print_json(struct strbuf *sb, const struct status_report *r)
{
	struct json_writer jw;

	json_init(&jw, sb);
	json_object_begin(&jw);
	json_strvec(&jw, "target", &r->goal);
	json_key(&jw, "environments");
	json_array_begin(&jw);
	for (size_t i = 0; i < r->envs_nr; i++) {
		const struct status_env *env = &r->envs[i];

		json_object_begin(&jw);
		json_kv_string(&jw, "name", env->name);
		json_kv_string(&jw, "state", status_state_name(env->state));
		if (!env->fleet)
			json_kv_string(&jw, "database", env->targets_nr ? env->targets[0].database : NULL);
		json_strvec(&jw, "heads", &env->heads);
		json_strvec(&jw, "pending", &env->pending);
		json_kv_string(&jw, "error", env->summary_error);
		if (!env->fleet)
			json_kv_string(&jw, "note", env->targets_nr ? env->targets[0].result.note :
				       env->summary_error);
		if (env->fleet) {
			json_key(&jw, "targets");
			json_array_begin(&jw);
			for (size_t k = 0; k < env->targets_nr; k++) {
				const struct status_target *t = &env->targets[k];

				json_object_begin(&jw);
				json_kv_string(&jw, "database", t->database);
				json_kv_string(&jw, "state", status_state_name(t->result.state));
				json_strvec(&jw, "heads", &t->result.heads);
				json_strvec(&jw, "pending", &t->result.pending);
				json_kv_string(&jw, "error", t->result.error);
				json_kv_string(&jw, "note", t->result.note);
				json_object_end(&jw);
			}
			json_array_end(&jw);
		}
		json_object_end(&jw);
	}
	json_array_end(&jw);
	json_key(&jw, "violations");
	json_array_begin(&jw);
	for (size_t i = 0; i < r->violations_nr; i++) {
		const struct status_violation *v = &r->violations[i];

		json_object_begin(&jw);
		json_kv_string(&jw, "kind", status_violation_kind_name(v->kind));
		json_kv_string(&jw, "environment", v->environment);
		json_kv_string(&jw, "earlier", v->earlier);
		json_strvec(&jw, "revisions", &v->revisions);
		json_kv_string(&jw, "detail", v->detail);
		json_object_end(&jw);
	}
	json_array_end(&jw);
	json_object_end(&jw);
	strbuf_addch(sb, '\n');
}

/* One row of the text table, before the widths are known. */
struct row {
	char *cells[6];
};

enum { COL_ENV, COL_DB, COL_STATE, COL_CURRENT, COL_PENDING, COL_NOTE, COL_NR };

static void add_row(struct row **rows, size_t *nr, size_t *alloc,
		    char *env, char *db, const char *state, char *current,
		    char *pending, char *note)
{
	struct row *r;

	ALLOC_GROW(*rows, *nr + 1, *alloc);
	r = &(*rows)[(*nr)++];
	r->cells[COL_ENV] = env;
	r->cells[COL_DB] = db;
	r->cells[COL_STATE] = xstrdup(state);
	r->cells[COL_CURRENT] = current;
	r->cells[COL_PENDING] = pending;
	r->cells[COL_NOTE] = note ? note : xstrdup("");
}

/* "a,b" for a database; for a fleet at most FLEET_HEADS_SHOWN, then "+N". */
static char *heads_cell(const struct strvec *heads, size_t max)
{
	struct strbuf sb = STRBUF_INIT;

	if (!heads->nr)
		return xstrdup("-");
	for (size_t i = 0; i < heads->nr && i < max; i++)
		strbuf_addf(&sb, "%s%s", i ? "," : "", heads->items[i]);
	if (heads->nr > max)
		strbuf_addf(&sb, " +%zu", heads->nr - max);
	return strbuf_detach(&sb, NULL);
}

static char *pending_cell(const struct status_result *res)
{
	if (res->state == STATUS_UNREACHABLE || res->state == STATUS_UNKNOWN)
		return xstrdup("-");
	return xstrfmt("%zu", res->pending.nr);
}

/* A fleet's distinct pending revisions; "-" when no database could say. */
static char *fleet_pending_cell(const struct status_env *env)
{
	for (size_t i = 0; i < env->targets_nr; i++)
		if (env->targets[i].result.state < STATUS_UNKNOWN)
			return xstrfmt("%zu", env->pending.nr);
	return xstrdup("-");
}

/* "48 current, 2 behind" for a fleet, worst state first. */
static char *fleet_note(const struct status_env *env)
{
	size_t counts[STATUS_UNREACHABLE + 1] = { 0 };
	struct strbuf sb = STRBUF_INIT;

	if (env->error)
		return xstrdup(env->error);
	if (!env->targets_nr)
		return xstrdup("no databases");
	for (size_t i = 0; i < env->targets_nr; i++)
		counts[env->targets[i].result.state]++;
	for (int s = STATUS_UNREACHABLE; s >= STATUS_CURRENT; s--)
		if (counts[s])
			strbuf_addf(&sb, "%s%zu %s", sb.len ? ", " : "", counts[s],
				    status_state_name((enum status_state)s));
	return strbuf_detach(&sb, NULL);
}

/*
 * A database's note for the table. The probe's messages start with
 * `target "LABEL": `, which the row already says: leave that out.
 */
static char *note_cell(const struct status_result *res, const char *env, const char *db)
{
	char *prefix = db ? xstrfmt("target \"%s/%s\": ", env, db) : xstrfmt("target \"%s\": ", env);
	char *note = NULL;

	if (res->note)
		note = xstrdup(starts_with(res->note, prefix) ? res->note + strlen(prefix) : res->note);
	free(prefix);
	return note;
}

static void print_text(struct strbuf *sb, const struct status_report *r)
{
	static const char *const headers[COL_NR] = {
		"ENVIRONMENT", "DATABASE", "STATE", "CURRENT", "PENDING", "NOTE",
	};
	struct row *rows = NULL;
	size_t nr = 0, alloc = 0, width[COL_NR];

	for (size_t i = 0; i < r->envs_nr; i++) {
		const struct status_env *env = &r->envs[i];

		if (!env->fleet && env->targets_nr == 1) {
			const struct status_target *t = &env->targets[0];

			add_row(&rows, &nr, &alloc, xstrdup(env->name), xstrdup(t->database),
				status_state_name(t->result.state),
				heads_cell(&t->result.heads, SIZE_MAX), pending_cell(&t->result),
				note_cell(&t->result, env->name, NULL));
			continue;
		}
		if (!env->fleet) {
			add_row(&rows, &nr, &alloc, xstrdup(env->name), xstrdup("-"),
				status_state_name(env->state), xstrdup("-"), xstrdup("-"),
				xstrdup(env->error ? env->error : ""));
			continue;
		}
		add_row(&rows, &nr, &alloc, xstrdup(env->name),
			xstrfmt("%zu database%s", env->targets_nr, env->targets_nr == 1 ? "" : "s"),
			status_state_name(env->state), heads_cell(&env->heads, FLEET_HEADS_SHOWN),
			fleet_pending_cell(env), fleet_note(env));
		for (size_t k = 0; k < env->targets_nr; k++) {
			const struct status_target *t = &env->targets[k];

			add_row(&rows, &nr, &alloc, xstrdup(""), xstrfmt("  %s", t->database),
				status_state_name(t->result.state),
				heads_cell(&t->result.heads, SIZE_MAX), pending_cell(&t->result),
				note_cell(&t->result, env->name, t->database));
		}
	}

	for (size_t c = 0; c < COL_NR; c++) {
		width[c] = strlen(headers[c]);
		for (size_t i = 0; i < nr; i++)
			if (strlen(rows[i].cells[c]) > width[c])
				width[c] = strlen(rows[i].cells[c]);
	}
	strbuf_addstr(sb, "target: ");
	for (size_t i = 0; i < r->goal.nr; i++)
		strbuf_addf(sb, "%s%s", i ? ", " : "", r->goal.items[i]);
	if (!r->goal.nr)
		strbuf_addstr(sb, "base");
	strbuf_addstr(sb, "\n\n");
	for (size_t i = 0; i <= nr; i++) {
		const char *const *cells = i ? (const char *const *)rows[i - 1].cells : headers;
		size_t start = sb->len;

		for (size_t c = 0; c < COL_NR; c++) {
			if (c == COL_PENDING)
				strbuf_addf(sb, "%*s  ", (int)width[c], cells[c]);
			else if (c == COL_NOTE)
				strbuf_addstr(sb, cells[c]);
			else
				strbuf_addf(sb, "%-*s  ", (int)width[c], cells[c]);
		}
		while (sb->len > start && sb->buf[sb->len - 1] == ' ')
			strbuf_setlen(sb, sb->len - 1);
		strbuf_addch(sb, '\n');
	}
	if (r->violations_nr) {
		strbuf_addf(sb, "\n%zu rollout order violation%s:\n", r->violations_nr,
			    r->violations_nr == 1 ? "" : "s");
		for (size_t i = 0; i < r->violations_nr; i++)
			strbuf_addf(sb, "  %s\n", r->violations[i].detail);
	}

	for (size_t i = 0; i < nr; i++)
		for (size_t c = 0; c < COL_NR; c++)
			free(rows[i].cells[c]);
	free(rows);
}

/* Replace every secret (raw, and as JSON escapes it) in sb with "***". */
static void scrub(struct strbuf *sb, const struct strvec *secrets)
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

/* Print err (scrubbed) on stderr. */
static void print_error(const struct ms_error *err, const struct strvec *secrets)
{
	struct strbuf sb = STRBUF_INIT;

	strbuf_addf(&sb, "migsync: error: %s\n", err->message ? err->message : "unknown error");
	if (err->hint)
		strbuf_addf(&sb, "hint: %s\n", err->hint);
	scrub(&sb, secrets);
	fputs(sb.buf, stderr);
	strbuf_release(&sb);
}

/* The environments -e names, in rollout order; every name must exist. */
static int select_envs(const struct environment ***out, size_t *nr,
		       const struct inventory *inv, const struct strvec *names)
{
	const struct environment **envs = xcalloc(inv->nr ? inv->nr : 1, sizeof(*envs));
	int ret = EXIT_OK;

	*nr = 0;
	for (size_t i = 0; i < names->nr; i++) {
		if (!inventory_find(inv, names->items[i])) {
			struct strbuf known = STRBUF_INIT;

			for (size_t k = 0; k < inv->nr; k++)
				strbuf_addf(&known, "%s%s", k ? ", " : "", inv->envs[k].name);
			fprintf(stderr, "migsync: error: environment \"%s\": not in the inventory\n",
				names->items[i]);
			fprintf(stderr, "hint: the environments are: %s\n", known.buf);
			strbuf_release(&known);
			ret = EXIT_CANNOT_RUN;
			goto done;
		}
	}
	for (size_t i = 0; i < inv->nr; i++)
		if (!names->nr || strvec_contains(names, inv->envs[i].name))
			envs[(*nr)++] = &inv->envs[i];
done:
	if (ret != EXIT_OK) {
		free(envs);
		envs = NULL;
	}
	*out = envs;
	return ret;
}

static int parse_jobs(unsigned *jobs, const char *arg)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(arg, &end, 10);
	if (errno || end == arg || *end || v < 1 || v > 1024)
		return cli_usage_error("status", "invalid number of jobs \"%s\" (expected 1 to 1024)", arg);
	*jobs = (unsigned)v;
	return EXIT_OK;
}

int cmd_status(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_COMMON_LONGOPTS,
		{ "environment", required_argument, NULL, 'e' },
		{ "jobs", required_argument, NULL, 'j' },
		{ "to", required_argument, NULL, OPT_TO },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_common common;
	struct strvec names = STRVEC_INIT;
	struct inventory *inv = NULL;
	struct diag_list problems = DIAG_LIST_INIT, warnings = DIAG_LIST_INIT;
	struct script_set scripts = SCRIPT_SET_INIT;
	struct revgraph *g = NULL;
	struct status_goal goal = STATUS_GOAL_INIT;
	struct status_report report;
	struct status_cmd sc;
	struct ms_error err = MS_ERROR_INIT;
	struct strbuf out = STRBUF_INIT;
	const struct environment **envs = NULL;
	const char *to = NULL;
	size_t envs_nr = 0;
	unsigned jobs = 0;
	bool probe_ready = false;
	int ret = EXIT_OK, opt, r;

	cli_common_init(&common);
	status_report_init(&report);
	memset(&sc, 0, sizeof(sc));
	strvec_init(&sc.secrets);
	if (getenv("PGPASSWORD") && *getenv("PGPASSWORD"))
		strvec_push(&sc.secrets, getenv("PGPASSWORD"));

	optind = 1;
	while ((opt = getopt_long(argc, argv, CLI_COMMON_SHORTOPTS "e:j:", longopts, NULL)) != -1) {
		switch (opt) {
		case OPT_HELP:
			print_help();
			goto done;
		case 'e':
			strvec_push(&names, optarg);
			break;
		case 'j':
			ret = parse_jobs(&jobs, optarg);
			if (ret != EXIT_OK)
				goto done;
			break;
		case OPT_TO:
			to = optarg;
			break;
		default:
			r = cli_common_option(&common, "status", opt, optarg);
			if (r <= 0) {
				if (r == 0)
					cli_usage_error("status", "unexpected option");
				ret = EXIT_CANNOT_RUN;
				goto done;
			}
		}
	}
	if (optind < argc) {
		ret = cli_usage_error("status", "too many arguments (first is \"%s\")", argv[optind]);
		goto done;
	}

	if (probe_global_init(&err) < 0) {
		print_error(&err, &sc.secrets);
		ret = EXIT_CANNOT_RUN;
		goto done;
	}
	probe_ready = true;
	if (inventory_load(&inv, inventory_choose_dir(common.inventory), &problems, &err) < 0) {
		cli_print_warnings(&problems);
		print_error(&err, &sc.secrets);
		ret = EXIT_CANNOT_RUN;
		goto done;
	}
	cli_print_warnings(&problems);
	ret = select_envs(&envs, &envs_nr, inv, &names);
	if (ret != EXIT_OK)
		goto done;

	/* the scripts of the inventory just loaded, unless --scripts says otherwise */
	if (!common.scripts_dirs.nr)
		for (size_t i = 0; i < inv->migrations.scripts.nr; i++)
			strvec_push(&common.scripts_dirs, inv->migrations.scripts.items[i]);
	if (cli_load_scripts(&scripts, &common, 0, &warnings, &err) < 0) {
		cli_print_warnings(&warnings);
		print_error(&err, &sc.secrets);
		ret = EXIT_CANNOT_RUN;
		goto done;
	}
	cli_print_warnings(&warnings);
	diag_list_release(&problems);
	if (revgraph_build(&g, &scripts, &problems, &err) < 0) {
		cli_print_warnings(&problems);
		print_error(&err, &sc.secrets);
		ret = EXIT_CANNOT_RUN;
		goto done;
	}
	if (status_goal_init(&goal, g, to, &err) < 0) {
		print_error(&err, &sc.secrets);
		ret = EXIT_CANNOT_RUN;
		goto done;
	}

	if (expand(&sc, &report, envs, envs_nr, jobs, &err) < 0 ||
	    probe_all(&sc, &report, g, &goal, jobs, &err) < 0) {
		print_error(&err, &sc.secrets);
		ret = EXIT_CANNOT_RUN;
		goto done;
	}

	if (common.format == FORMAT_JSON)
		print_json(&out, &report);
	else
		print_text(&out, &report);
	scrub(&out, &sc.secrets);
	ret = cli_write_stdout(out.buf, out.len);
done:
	if (probe_ready)
		probe_global_cleanup();
	status_report_release(&report);
	status_cmd_release(&sc);
	status_goal_release(&goal);
	revgraph_free(g);
	script_set_release(&scripts);
	inventory_free(inv);
	free(envs);
	diag_list_release(&problems);
	diag_list_release(&warnings);
	strvec_release(&names);
	ms_error_release(&err);
	strbuf_release(&out);
	cli_common_release(&common);
	return ret;
}
