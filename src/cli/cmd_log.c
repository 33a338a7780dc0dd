/*
 * migsync log: an environment's ledger as a history, one line per step
 * applied, rolled back, stamped, rehashed or resolved: who, when, how
 * long, the plan hash and the outcome. Every database of the environment
 * is read (observe_run, the ledger on the probe's connection); a fleet's
 * lines are merged by time. A tenant schema's target reads its own rows
 * (the probe scopes them), so each line knows its schema.
 *
 * Exit status: 0 shown, 1 a database could not be read (the others are
 * shown), 2 could not run.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/render/render.h"
#include "cli/status_collect.h"
#include "migsync/conn.h"
#include "migsync/json.h"
#include "migsync/observe.h"
#include "migsync/project.h"

enum {
	OPT_LIMIT = OPT_FIRST_COMMAND_OPTION,
};

static void log_help(void)
{
	printf("migsync log shows an environment's ledger as a history: one line per revision\n"
	       "applied, rolled back, stamped, rehashed or resolved, oldest first.\n"
	       "\n"
	       "Usage:\n"
	       "  migsync log -e ENV [OPTION]...\n"
	       "\n"
	       "Options:\n"
	       "  -e, --environment=ENV    the environment (required)\n"
	       "  -n, --limit=N            only the newest N lines\n"
	       "\n");
	cli_print_common_help(27, CLI_HELP_URL);
	printf("\n"
	       "Exit status:\n"
	       "  0  the history was shown\n"
	       "  1  a database of the environment could not be read (the others are shown)\n"
	       "  2  could not run (usage, inventory, an unknown environment)\n");
}

/* One line of the history: an entry of one database's ledger. */
struct log_line {
	const struct ledger_entry *e;
	const char *database;		/* "user@host:port/db": safe to print */
	const char *dbname;		/* the database's name alone; NULL when libpq decides */
	const char *schema;		/* its tenant schema, or NULL */
	const char *name;		/* a fleet's column: "tenant_001", "app/tenant_001"; or dbname */
};

static int line_cmp(const void *a, const void *b)
{
	const struct log_line *x = a, *y = b;
	int c;

	if (x->e->started_at_ms != y->e->started_at_ms)
		return x->e->started_at_ms < y->e->started_at_ms ? -1 : 1;
	c = strcmp(x->database, y->database);
	if (c)
		return c;
	return x->e->id < y->e->id ? -1 : x->e->id > y->e->id;
}

/* "0.3 s", "12 s", "4 min 2 s" */
static void add_duration(struct strbuf *sb, int64_t ms)
{
	if (ms < 10000)
		strbuf_addf(sb, "%lld.%lld s", (long long)(ms / 1000), (long long)(ms % 1000 / 100));
	else if (ms < 60000)
		strbuf_addf(sb, "%lld s", (long long)(ms / 1000));
	else
		strbuf_addf(sb, "%lld min %lld s", (long long)(ms / 60000),
			    (long long)(ms % 60000 / 1000));
}

/* What a line says beyond its columns: the error, the note, the old hash. */
static void add_detail(struct strbuf *sb, const struct ledger_entry *e)
{
	size_t start = sb->len;

	if (e->outcome == LEDGER_REHASHED)
		strbuf_addf(sb, "sha256 %.12s -> %.12s", e->previous_sha256 ? e->previous_sha256 : "?",
			    e->sha256 ? e->sha256 : "?");
	if (e->note)
		strbuf_addf(sb, "%s%s", sb->len > start ? ": " : "", e->note);
	if (e->error)
		strbuf_addf(sb, "%s%s", sb->len > start ? "; " : "", e->error);
}

static void print_text(struct strbuf *sb, const char *env, const struct log_line *lines,
		       size_t nr, bool fleet)
{
	int dbw = (int)strlen("DATABASE");

	if (!nr) {
		strbuf_addf(sb, "no ledger entries for environment %s\n", env);
		return;
	}
	for (size_t i = 0; fleet && i < nr; i++)
		if (lines[i].name && (int)strlen(lines[i].name) > dbw)
			dbw = (int)strlen(lines[i].name);
	strbuf_addf(sb, "%-20s  ", "STARTED");
	if (fleet)
		strbuf_addf(sb, "%-*s  ", dbw, "DATABASE");
	strbuf_addf(sb, "%-12s  %-4s  %-20s  %9s  %-24s  %-12s  %s\n", "REVISION", "DIR", "OUTCOME",
		    "DURATION", "BY", "PLAN", "NOTE");
	for (size_t i = 0; i < nr; i++) {
		const struct ledger_entry *e = lines[i].e;
		struct strbuf by = STRBUF_INIT, took = STRBUF_INIT, detail = STRBUF_INIT;
		char when[64];

		cli_format_time(when, sizeof(when), e->started_at_ms);
		strbuf_addf(&by, "%s%s%s", e->who ? e->who : "?", e->host ? "@" : "",
			    e->host ? e->host : "");
		add_duration(&took, e->duration_ms);
		add_detail(&detail, e);
		strbuf_addf(sb, "%-20s  ", when);
		if (fleet)
			strbuf_addf(sb, "%-*s  ", dbw, lines[i].name ? lines[i].name : "");
		strbuf_addf(sb, "%-12s  %-4s  %-20s  %9s  %-24s  %-12.12s  %s", e->revision ? e->revision : "",
			    e->up ? "up" : "down", ledger_outcome_name(e->outcome), took.buf, by.buf,
			    e->plan_hash ? e->plan_hash : "-", detail.buf);
		while (sb->len && sb->buf[sb->len - 1] == ' ')
			strbuf_setlen(sb, sb->len - 1);
		strbuf_addch(sb, '\n');
		strbuf_release(&by);
		strbuf_release(&took);
		strbuf_release(&detail);
	}
}

static void print_json(struct strbuf *sb, const char *env, const struct log_line *lines,
		       size_t nr, const struct observation *obs, const struct cli_expansion *x)
{
	struct json_writer jw;

	json_init(&jw, sb);
	render_json_begin(&jw, "log");
	json_kv_string(&jw, "environment", env);
	json_key(&jw, "entries");
	json_array_begin(&jw);
	for (size_t i = 0; i < nr; i++) {
		const struct ledger_entry *e = lines[i].e;
		char when[64];

		cli_format_time(when, sizeof(when), e->started_at_ms);
		json_object_begin(&jw);
		json_kv_string(&jw, "database", lines[i].database);
		json_kv_string(&jw, "dbname", lines[i].dbname);
		if (lines[i].schema)
			json_kv_string(&jw, "schema", lines[i].schema);
		json_kv_int(&jw, "id", e->id);
		json_kv_string(&jw, "revision", e->revision);
		json_kv_string(&jw, "direction", e->up ? "up" : "down");
		json_kv_string(&jw, "outcome", ledger_outcome_name(e->outcome));
		json_kv_string(&jw, "started_at", when);
		json_kv_int(&jw, "duration_ms", e->duration_ms);
		json_kv_string(&jw, "who", e->who);
		json_kv_string(&jw, "host", e->host);
		json_kv_string(&jw, "plan_hash", e->plan_hash);
		json_kv_string(&jw, "sha256", e->sha256);
		json_kv_string(&jw, "previous_sha256", e->previous_sha256);
		json_kv_bool(&jw, "transactional", e->transactional);
		json_kv_string(&jw, "executor", e->executor);
		json_kv_string(&jw, "note", e->note);
		json_kv_string(&jw, "error", e->error);
		json_object_end(&jw);
	}
	json_array_end(&jw);
	json_key(&jw, "errors");
	json_array_begin(&jw);
	for (size_t i = 0; i < x->nr; i++) {
		const char *msg = obs[i].error.message ? obs[i].error.message :
			obs[i].ledger_error.message;

		if (msg)
			json_string(&jw, msg);
	}
	json_array_end(&jw);
	json_object_end(&jw);
	strbuf_addch(sb, '\n');
}

/* Parse --limit: a positive count. */
static int parse_limit(size_t *limit, const char *arg)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(arg, &end, 10);
	if (errno || end == arg || *end || v < 1)
		return cli_usage_error("log", "invalid limit \"%s\" (expected a positive number)", arg);
	*limit = (size_t)v;
	return EXIT_OK;
}

int cmd_log(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_COMMON_LONGOPTS,
		{ "environment", required_argument, NULL, 'e' },
		{ "limit", required_argument, NULL, OPT_LIMIT },
		{ NULL, 0, NULL, 0 },
	};
	const struct observe_options read = {
		OBSERVE_STATE | OBSERVE_LEDGER, 0, NULL, NULL, NULL, NULL
	};
	struct cli_common common;
	struct project project = PROJECT_INIT;
	struct strvec names = STRVEC_INIT, secrets = STRVEC_INIT;
	const struct environment **envs = NULL;
	struct cli_expansion *exp = NULL;
	const struct db_target **targets = NULL;
	struct observation *obs = NULL;
	struct log_line *lines = NULL;
	struct ms_error err = MS_ERROR_INIT;
	struct strbuf out = STRBUF_INIT;
	size_t envs_nr = 0, limit = 0, nr = 0, total = 0, first;
	bool conn_ready = false, fleet, unreadable = false;
	int ret = EXIT_OK, opt;

	cli_common_init(&common);
	optind = 1;
	while ((opt = getopt_long(argc, argv, CLI_COMMON_SHORTOPTS "e:n:", longopts, NULL)) != -1) {
		switch (opt) {
		case OPT_HELP:
			log_help();
			goto done;
		case 'e':
			strvec_push(&names, optarg);
			break;
		case 'n':
		case OPT_LIMIT:
			ret = parse_limit(&limit, optarg);
			if (ret != EXIT_OK)
				goto done;
			break;
		default:
			ret = cli_default_option(&common, "log", opt, optarg);
			if (ret != EXIT_OK)
				goto done;
		}
	}
	ret = cli_extra_arguments("log", argc, argv, optind);
	if (ret != EXIT_OK)
		goto done;
	if (names.nr != 1) {
		ret = cli_usage_error("log", "exactly one -e ENV is required");
		goto done;
	}
	if (conn_global_init(&err) < 0)
		goto cannot_run;
	conn_ready = true;
	ret = cli_open_project(&project, &common, PROJECT_INVENTORY, 0);
	if (ret != EXIT_OK)
		goto done;
	if (cli_select_envs(&envs, &envs_nr, project.inv, &names, &err) < 0 ||
	    cli_expand_envs(&exp, envs, envs_nr, 0, &err) < 0)
		goto cannot_run;
	if (exp[0].err.message) {
		cli_print_error(&exp[0].err);
		ret = EXIT_PROBLEMS;
		goto done;
	}

	targets = xcalloc(exp[0].nr ? exp[0].nr : 1, sizeof(*targets));
	obs = xcalloc(exp[0].nr ? exp[0].nr : 1, sizeof(*obs));
	for (size_t i = 0; i < exp[0].nr; i++) {
		targets[i] = &exp[0].targets[i];
		observation_init(&obs[i]);
		for (size_t s = 0; s < targets[i]->secrets.nr; s++)
			strvec_push(&secrets, targets[i]->secrets.items[s]);
	}
	if (exp[0].nr && observe_run(obs, targets, exp[0].nr, &read, &err) < 0)
		goto cannot_run;

	fleet = inventory_env_is_fleet(envs[0]);
	for (size_t i = 0; i < exp[0].nr; i++)
		total += obs[i].ledger_nr;
	lines = xcalloc(total ? total : 1, sizeof(*lines));
	for (size_t i = 0; i < exp[0].nr; i++) {
		const struct ms_error *why = obs[i].error.message ? &obs[i].error :
			obs[i].ledger_error.message ? &obs[i].ledger_error : NULL;

		if (why) {
			cli_print_error_scrubbed(why, &secrets);
			unreadable = true;
		}
		for (size_t k = 0; k < obs[i].ledger_nr; k++) {
			lines[nr].e = &obs[i].ledger[k];
			lines[nr].database = targets[i]->describe;
			lines[nr].dbname = targets[i]->dbname && *targets[i]->dbname ?
				targets[i]->dbname : NULL;
			lines[nr].schema = targets[i]->schema;
			lines[nr].name = targets[i]->name ? targets[i]->name : lines[nr].dbname;
			nr++;
		}
	}
	qsort(lines, nr, sizeof(*lines), line_cmp);
	first = limit && nr > limit ? nr - limit : 0;
	if (common.format == FORMAT_JSON)
		print_json(&out, envs[0]->name, lines + first, nr - first, obs, &exp[0]);
	else
		print_text(&out, envs[0]->name, lines + first, nr - first, fleet);
	cli_scrub(&out, &secrets);
	ret = cli_write_stdout(out.buf, out.len);
	if (ret == EXIT_OK && unreadable)
		ret = EXIT_PROBLEMS;
	goto done;
cannot_run:
	cli_print_error(&err);
	ret = EXIT_CANNOT_RUN;
done:
	for (size_t i = 0; obs && i < exp[0].nr; i++)
		observation_release(&obs[i]);
	free(obs);
	free(targets);
	free(lines);
	cli_expansions_free(exp, envs_nr);
	free(envs);
	project_release(&project);
	if (conn_ready)
		conn_global_cleanup();
	strvec_release(&names);
	strvec_release(&secrets);
	ms_error_release(&err);
	strbuf_release(&out);
	cli_common_release(&common);
	return ret;
}
