/*
 * migsync apply: promote migrations stage by stage in rollout order, each
 * stage locked, re-read, gated, applied, verified and recorded (see
 * include/migsync/apply.h). migsync downgrade (cmd_downgrade.c) runs
 * the same command for one environment, backwards.
 *
 * Exit status: 0 done, 1 a step failed (or the order cannot be verified),
 * 2 could not run, 3 stopped at a gate.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/render/render.h"
#include "cli/promote.h"
#include "migsync/apply.h"
#include "migsync/clock.h"
#include "migsync/json.h"
#include "migsync/plan.h"
#include "migsync/strbuf.h"

enum {
	OPT_TO = OPT_FIRST_COMMAND_OPTION,
	OPT_THROUGH,
	OPT_DRY_RUN,
	OPT_YES,
	OPT_ALLOW_OUT_OF_ORDER,
};

/* What the callbacks need. */
struct run {
	const struct promote *pr;
	size_t stage, stages;
	bool progress;		/* a terminal: progress lines on stderr */
	bool yes;
	bool json;
	bool quiet_output;	/* Alembic's output only with --verbose */
	int64_t started_ms;
	struct strbuf *out;
};

/* A fleet's database finished: its failure on stderr; on a terminal, the progress line. */
static void fleet_progress(const struct run *r, const struct apply_event *ev)
{
	if (ev->outcome == PLAN_DB_FAILED)
		fprintf(stderr, "%smigsync: %s: failed%s: %s\n", r->progress ? "\r\033[K" : "",
			ev->label, ev->canary ? " (canary)" : "", ev->detail ? ev->detail : "");
	if (r->progress)
		fprintf(stderr, "\r\033[Kstage %zu/%zu %s: %zu done, %zu failed, %zu remaining",
			r->stage, r->stages, ev->environment, ev->done_nr, ev->failed_nr,
			ev->remaining_nr);
}

static void on_event(const struct apply_event *ev, void *ctx)
{
	struct run *r = ctx;
	double elapsed = (double)(clock_mono_ms() - r->started_ms) / 1000.0;

	switch (ev->kind) {
	case APPLY_EVENT_LOCK:
		if (r->progress)
			fprintf(stderr, "\r\033[Kstage %zu/%zu %s: waiting for the lock of %s (%.1f s)",
				r->stage, r->stages, ev->environment, ev->database, elapsed);
		break;
	case APPLY_EVENT_STEP:
		if (r->progress)
			fprintf(stderr, "\r\033[Kstage %zu/%zu %s: revision %zu/%zu %s (%.1f s)",
				r->stage, r->stages, ev->environment, ev->step_index + 1,
				ev->step_nr, ev->revision ? ev->revision : ev->detail, elapsed);
		break;
	case APPLY_EVENT_STEP_DONE:
		if (r->progress)
			fprintf(stderr, "\r\033[K");
		if (!r->json) {
			printf("%s: %s %s%s%s (%lld ms)\n", ev->label ? ev->label : ev->environment,
			       ev->up ? "applied" : "downgraded", ev->revision,
			       ev->detail ? "  " : "", ev->detail ? ev->detail : "",
			       (long long)ev->elapsed_ms);
			fflush(stdout);
		}
		break;
	case APPLY_EVENT_SKIP:
		if (!r->json && ev->label && strcmp(ev->label, ev->environment))
			printf("%s is %s\n", ev->label,
			       ev->detail ? ev->detail : "already there (another run applied it)");
		else if (!r->json)
			printf("%s: %s is %s\n", ev->environment, ev->database,
			       ev->detail ? ev->detail : "already there (another run applied it)");
		break;
	case APPLY_EVENT_DB_DONE:
		fleet_progress(r, ev);
		break;
	case APPLY_EVENT_OUTPUT:
		if (!r->quiet_output)
			fprintf(stderr, "%s%s\n", r->progress ? "\r\033[K" : "", ev->detail);
		break;
	case APPLY_EVENT_HOOK:
	case APPLY_EVENT_WAIT:
		break;
	}
	if (r->progress)
		fflush(stderr);
}

/* On a terminal, ask before a gated stage changes anything (unless --yes). */
static bool confirm(const struct plan_stage *st, void *ctx)
{
	struct run *r = ctx;
	char line[64];

	if (r->yes || !isatty(STDIN_FILENO) || !isatty(STDERR_FILENO))
		return true;
	fprintf(stderr, "\r\033[Kapply %zu step%s to %s (plan %.12s)? [y/N] ",
		plan_stage_steps(st), plan_stage_steps(st) == 1 ? "" : "s", st->env->name,
		st->plan_hash);
	if (!fgets(line, sizeof(line), stdin))
		return false;
	return line[0] == 'y' || line[0] == 'Y';
}

static void json_stage(struct json_writer *jw, const struct plan_stage *st, const char *outcome,
		       const struct ms_error *error)
{
	json_object_begin(jw);
	json_kv_string(jw, "environment", st->env ? st->env->name : NULL);
	json_kv_string(jw, "outcome", outcome);
	json_kv_string(jw, "plan_hash", st->plan_hash[0] ? st->plan_hash : NULL);
	json_key(jw, "steps");
	json_array_begin(jw);
	for (size_t d = 0; d < st->dbs_nr; d++)
		for (size_t k = 0; k < st->dbs[d].steps_nr; k++) {
			json_object_begin(jw);
			json_kv_string(jw, "database", st->dbs[d].describe);
			json_kv_string(jw, "revision", st->dbs[d].steps[k].revision);
			json_kv_string(jw, "direction", st->dbs[d].steps[k].step.up ? "up" : "down");
			json_object_end(jw);
		}
	json_array_end(jw);
	if (error)
		render_json_ms_error(jw, error);
	else
		json_kv_string(jw, "error", NULL);
	json_key(jw, "targets");
	json_array_begin(jw);
	for (size_t d = 0; d < st->dbs_nr; d++) {
		const struct plan_db *db = &st->dbs[d];

		json_object_begin(jw);
		json_kv_string(jw, "database", db->describe);
		json_kv_string(jw, "target", db->label);
		json_kv_string(jw, "outcome", plan_db_outcome_name(db->outcome));
		json_kv_string(jw, "plan_hash", db->group != PLAN_NO_GROUP ? plan_db_hash(st, db) : NULL);
		json_kv_string(jw, "error", db->outcome == PLAN_DB_FAILED ? db->error : NULL);
		json_object_end(jw);
	}
	json_array_end(jw);
	json_key(jw, "summary");
	json_object_begin(jw);
	for (int k = PLAN_DB_NOT_RUN; k <= PLAN_DB_FAILED; k++) {
		size_t n = 0;

		for (size_t d = 0; d < st->dbs_nr; d++)
			n += st->dbs[d].outcome == (enum plan_db_outcome)k;
		json_kv_int(jw, plan_db_outcome_name((enum plan_db_outcome)k), (int64_t)n);
	}
	json_object_end(jw);
	json_object_end(jw);
}

/* "tenants: 297 applied, 2 current, 1 failed, 0 not run" for a fleet. */
static void print_summary(const struct plan_stage *st)
{
	size_t n[PLAN_DB_FAILED + 1] = { 0 };

	if (!st->fleet)
		return;
	for (size_t d = 0; d < st->dbs_nr; d++)
		n[st->dbs[d].outcome]++;
	printf("%s: %zu database%s: %zu applied, %zu current, %zu failed, %zu not run\n",
	       st->env->name, st->dbs_nr, st->dbs_nr == 1 ? "" : "s", n[PLAN_DB_APPLIED],
	       n[PLAN_DB_CURRENT], n[PLAN_DB_FAILED], n[PLAN_DB_NOT_RUN]);
}

/*
 * Dry run: the whole plan as `plan` makes it, then the stages in order up
 * to the first one that could not go on. Nothing is changed.
 */
static int dry_run(struct run *r, const struct apply_options *o, enum cli_format format)
{
	const struct promote *pr = r->pr;
	struct plan p;
	struct ms_error err = MS_ERROR_INIT;
	struct strbuf sb = STRBUF_INIT;
	int ret = EXIT_OK;

	plan_init(&p);
	for (size_t i = 0; i < pr->target.ids.nr; i++)
		strvec_push(&p.target, pr->target.ids.items[i]);
	if (apply_build_plan(&p, pr->envs, pr->envs_nr, o, &err) < 0) {
		cli_print_error(&err);
		ret = cli_exit_code(&err);
		goto done;
	}
	promote_print_plan(&sb, pr, &p, format, false);
	for (size_t i = 0; i < p.nr && ret == EXIT_OK; i++) {
		const struct plan_stage *st = &p.stages[i];
		size_t steps = plan_stage_steps(st);

		for (size_t d = 0; d < st->dbs_nr && ret == EXIT_OK; d++)
			if (st->dbs[d].error || st->dbs[d].in_progress.nr)
				ret = EXIT_PROBLEMS;
		if (ret != EXIT_OK || !steps)
			continue;
		if (st->error || (st->order_error && !st->out_of_order_allowed)) {
			ret = EXIT_PROBLEMS;
		} else if (!st->gate.passed) {
			if (format != FORMAT_JSON)
				strbuf_addf(&sb, "\ndry run: would stop at the gate of %s\n", st->env->name);
			ret = EXIT_GATED;
		} else if (format != FORMAT_JSON) {
			strbuf_addf(&sb, "\ndry run: would apply %zu step%s to %s%s%s\n", steps,
				    steps == 1 ? "" : "s", st->env->name,
				    st->env->before_apply ? " after running before_apply: " : "",
				    st->env->before_apply ? st->env->before_apply : "");
		}
	}
	if (format != FORMAT_JSON)
		strbuf_addstr(&sb, "dry run: nothing was changed\n");
	if (cli_write_stdout(sb.buf, sb.len) != EXIT_OK)
		ret = EXIT_CANNOT_RUN;
done:
	plan_release(&p);
	ms_error_release(&err);
	strbuf_release(&sb);
	return ret;
}

/* Run the selected stages in order; stop at the first that does not finish. */
static int run_stages(struct run *r, struct apply_options *o, enum cli_format format)
{
	const struct promote *pr = r->pr;
	struct strbuf js = STRBUF_INIT;
	struct json_writer jw;
	struct ms_error stopped = MS_ERROR_INIT;	/* why the first stage that stopped did */
	bool gated = false;
	int ret = EXIT_OK;

	json_init(&jw, &js);
	render_json_begin(&jw, o->up ? "apply" : "downgrade");
	json_key(&jw, "stages");
	json_array_begin(&jw);
	r->stages = pr->envs_nr;
	for (size_t i = 0; i < pr->envs_nr && ret == EXIT_OK; i++) {
		const struct environment *env = pr->envs[i];
		struct plan_stage st;
		struct ms_error err = MS_ERROR_INIT;
		enum apply_outcome out;

		plan_stage_init(&st, NULL);
		r->stage = i + 1;
		out = apply_stage_run(&st, env, o, &err);
		if (r->progress)
			fprintf(stderr, "\r\033[K");
		if (format != FORMAT_JSON && (out == APPLY_DONE || out == APPLY_FAILED))
			print_summary(&st);
		switch (out) {
		case APPLY_NOTHING:
			if (format != FORMAT_JSON)
				printf("%s: nothing to do\n", env->name);
			break;
		case APPLY_DONE:
			if (format != FORMAT_JSON)
				printf("%s: done (%zu step%s, plan %.12s)\n", env->name,
				       plan_stage_steps(&st), plan_stage_steps(&st) == 1 ? "" : "s",
				       st.plan_hash);
			break;
		case APPLY_DRY_RUN:
			break;
		case APPLY_GATED:
		case APPLY_DECLINED:
		case APPLY_FAILED:
			ret = promote_report_stop(pr, env, &st, out, &err, o->up ? "plan" : "downgrade");
			if (out == APPLY_FAILED && !*o->cancel && i + 1 < pr->envs_nr)
				fprintf(stderr, "migsync: stopped at %s; later stages were not touched\n",
					env->name);
			break;
		}
		fflush(stdout);
		json_stage(&jw, &st, promote_outcome_name(out, "applied", "would_apply"),
			   out == APPLY_FAILED || out == APPLY_GATED ? &err : NULL);
		if ((out == APPLY_FAILED || out == APPLY_GATED) && !stopped.message && err.message) {
			ms_error_move(&stopped, &err);
			gated = out == APPLY_GATED;
		}
		plan_stage_release(&st);
		ms_error_release(&err);
		if (*o->cancel && ret == EXIT_OK) {
			fprintf(stderr, "migsync: interrupted\n");
			ret = EXIT_PROBLEMS;
		}
	}
	json_array_end(&jw);
	if (stopped.message)
		render_json_error(&jw, gated ? "gated" : render_json_error_code(stopped.code),
				  stopped.message, stopped.hint, NULL);
	json_object_end(&jw);
	strbuf_addch(&js, '\n');
	ms_error_release(&stopped);
	if (format == FORMAT_JSON && cli_write_stdout(js.buf, js.len) != EXIT_OK && ret == EXIT_OK)
		ret = EXIT_CANNOT_RUN;
	strbuf_release(&js);
	return ret;
}

static void apply_help(void)
{
	printf("migsync apply promotes migrations stage by stage in rollout order: for each\n"
	       "stage it runs before_apply, takes the database's lock, re-reads its state,\n"
	       "checks the rollout order and the gate, applies the steps, verifies the\n"
	       "version rows and records everything in the ledger.\n"
	       "\n"
	       "Usage:\n"
	       "  migsync apply [OPTION]...\n"
	       "\n"
	       "Options:\n"
	       "  -e, --environment=ENV      only this environment (repeatable)\n"
	       "      --to=REV               apply up to REV instead of the heads\n"
	       "      --through=ENV          stop after this environment\n"
	       "      --dry-run              check everything up to the gates; change nothing\n"
	       "  -y, --yes                  do not ask before a gated stage\n"
	       "      --allow-out-of-order   let a stage go past the stage before it (recorded)\n"
	       "  -j, --jobs=N               read N databases of a fleet at a time (default: min(16, databases))\n"
	       "  -v, --verbose              show Alembic's output (executor alembic)\n"
	       "      --shard=K/N            only the targets of shard K of N (default: a Kubernetes Indexed Job's)\n"
	       "\n");
	cli_print_common_help(29, CLI_HELP_URL | CLI_HELP_SCRIPTS);
	printf("\n"
	       "Exit status:\n"
	       "  0  done: every selected stage is at the target\n"
	       "  1  a step failed or a database could not be reached (later stages untouched)\n"
	       "  2  could not run (usage, inventory, scripts)\n"
	       "  3  waiting for approval: stopped at a gate (the approve command is printed)\n");
}

int promote_apply_command(int argc, char **argv, bool up, void (*help)(void))
{
	static const struct option longopts[] = {
		CLI_COMMON_LONGOPTS,
		{ "environment", required_argument, NULL, 'e' },
		{ "to", required_argument, NULL, OPT_TO },
		{ "through", required_argument, NULL, OPT_THROUGH },
		{ "dry-run", no_argument, NULL, OPT_DRY_RUN },
		{ "yes", no_argument, NULL, 'y' },
		{ "allow-out-of-order", no_argument, NULL, OPT_ALLOW_OUT_OF_ORDER },
		{ "jobs", required_argument, NULL, 'j' },
		CLI_SHARD_LONGOPT,
		{ "verbose", no_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 },
	};
	const char *cmd = up ? "apply" : "downgrade";
	struct cli_common common;
	struct strvec names = STRVEC_INIT;
	struct promote pr;
	struct apply_options o;
	struct run r = { 0 };
	const char *to = NULL, *through = NULL;
	bool dry = false, allow = false, verbose = false;
	unsigned jobs = 0;
	int ret = EXIT_OK, opt;

	cli_common_init(&common);
	common.shardable = up;
	promote_init(&pr);
	optind = 1;
	while ((opt = getopt_long(argc, argv, CLI_COMMON_SHORTOPTS "e:yj:v", longopts, NULL)) != -1) {
		switch (opt) {
		case OPT_HELP:
			help();
			goto done;
		case 'e':
			strvec_push(&names, optarg);
			break;
		case OPT_TO:
			to = optarg;
			break;
		case OPT_THROUGH:
			if (!up)
				goto unexpected;
			through = optarg;
			break;
		case OPT_DRY_RUN:
			dry = true;
			break;
		case 'y':
			r.yes = true;
			break;
		case 'v':
			verbose = true;
			break;
		case OPT_ALLOW_OUT_OF_ORDER:
			if (!up)
				goto unexpected;
			allow = true;
			break;
		case OPT_SHARD:
			if (!up)
				goto unexpected;
			ret = cli_parse_shard(&common, cmd, optarg);
			if (ret != EXIT_OK)
				goto done;
			break;
		case 'j':
			if (!up)
				goto unexpected;
			ret = cli_parse_jobs(&jobs, cmd, optarg);
			if (ret != EXIT_OK)
				goto done;
			break;
		default:
			ret = cli_default_option(&common, cmd, opt, optarg);
			if (ret != EXIT_OK)
				goto done;
		}
	}
	ret = cli_extra_arguments(cmd, argc, argv, optind);
	if (ret != EXIT_OK)
		goto done;
	if (!up && (names.nr != 1 || !to)) {
		ret = cli_usage_error(cmd, "%s", names.nr != 1 ? "exactly one -e ENV is required" :
				      "--to REV is required");
		goto done;
	}
	ret = promote_load(&pr, &common, &names, through, to, up);
	if (ret != EXIT_OK)
		goto done;
	promote_options(&o, &pr, up);
	o.dry_run = dry;
	o.allow_out_of_order = allow;
	o.jobs = jobs;
	o.cancel = promote_catch_signals();
	o.event = on_event;
	o.confirm = confirm;
	o.ctx = &r;
	r.pr = &pr;
	r.progress = isatty(STDERR_FILENO) && common.format != FORMAT_JSON;
	r.json = common.format == FORMAT_JSON;
	r.quiet_output = !verbose && pr.inv->migrations.executor == EXECUTOR_ALEMBIC;
	r.started_ms = clock_mono_ms();
	if (dry)
		ret = dry_run(&r, &o, common.format);
	else
		ret = run_stages(&r, &o, common.format);
	goto done;
unexpected:
	ret = cli_usage_error(cmd, "unexpected option");
done:
	promote_release(&pr);
	strvec_release(&names);
	cli_common_release(&common);
	return ret;
}

int cmd_apply(int argc, char **argv)
{
	return promote_apply_command(argc, argv, true, apply_help);
}

