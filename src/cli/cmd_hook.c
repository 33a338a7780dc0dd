/*
 * migsync hook: bring one environment to the target from a container
 * start or pre-deploy command (`migsync hook -e prod && exec python
 * run.py`). The machinery is apply's (apply_stage_run): an unlocked read
 * that is also the fast path (nothing to do: no lock is ever taken),
 * before_apply, the advisory lock, a re-read under it, the rollout order
 * and the gate, the steps, the check of the version rows, the ledger.
 * What the hook adds: waiting for a database that is not up yet, its own
 * lock bound, no prompt ever, --on-unapproved skip, and one summary line
 * (or one JSON object) at the end.
 *
 * Several replicas starting at once: all read, one takes the lock and
 * applies; the others wait for it, re-read, find nothing to do and exit 0.
 *
 * Exit status: 0 applied, already current, or skipped at the gate; 1 a
 * step failed, no database within --wait, or a signal stopped the hook;
 * 2 could not run (usage, inventory, scripts); 3 stopped at the gate.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/render/render.h"
#include "cli/promote.h"
#include "cli/status_collect.h"
#include "migsync/apply.h"
#include "migsync/clock.h"
#include "migsync/project.h"
#include "migsync/json.h"
#include "migsync/plan.h"
#include "migsync/strbuf.h"

enum {
	OPT_TO = OPT_FIRST_COMMAND_OPTION,
	OPT_WAIT,
	OPT_LOCK_WAIT,
	OPT_ON_UNAPPROVED,
};

#define HOOK_DEFAULT_WAIT 60		/* seconds */
#define HOOK_WAIT_NOTE_EVERY_MS 10000	/* "still waiting for the database" */

/* What the event callback gathers while the stage runs. */
struct hook_run {
	int64_t started_ms;
	int64_t wait_noted_ms;		/* elapsed_ms of the last "waiting" line, -1: none */
	struct strvec applied;		/* native revisions applied, in order */
	struct strvec alembic_dbs;	/* databases Alembic ran on (describe strings) */
	bool quiet_output;		/* Alembic's output only with --verbose, as in apply */
};

/* Progress on stderr: the summary (or the JSON) is all stdout gets. */
static void on_event(const struct apply_event *ev, void *ctx)
{
	struct hook_run *r = ctx;

	switch (ev->kind) {
	case APPLY_EVENT_WAIT:
		if (r->wait_noted_ms < 0 || ev->elapsed_ms - r->wait_noted_ms >= HOOK_WAIT_NOTE_EVERY_MS) {
			fprintf(stderr, "migsync hook: %s: waiting for %s (%.0f s): %s\n",
				ev->environment, ev->database, (double)ev->elapsed_ms / 1000.0,
				ev->detail);
			r->wait_noted_ms = ev->elapsed_ms;
		}
		break;
	case APPLY_EVENT_STEP:
		/* Alembic runs to the target in one go: no revision */
		if (!ev->revision && !strvec_contains(&r->alembic_dbs, ev->database))
			strvec_push(&r->alembic_dbs, ev->database);
		break;
	case APPLY_EVENT_STEP_DONE:
		if (!strvec_contains(&r->applied, ev->revision))
			strvec_push(&r->applied, ev->revision);
		fprintf(stderr, "migsync hook: %s: applied %s%s%s (%lld ms)\n",
			ev->label ? ev->label : ev->environment,
			ev->revision, ev->detail ? "  " : "", ev->detail ? ev->detail : "",
			(long long)ev->elapsed_ms);
		break;
	case APPLY_EVENT_SKIP:
		fprintf(stderr, "migsync hook: %s: %s is %s\n", ev->environment, ev->database,
			ev->detail ? ev->detail : "already there (another run applied it)");
		break;
	case APPLY_EVENT_OUTPUT:
		if (!r->quiet_output)
			fprintf(stderr, "%s\n", ev->detail);
		break;
	case APPLY_EVENT_HOOK:
	case APPLY_EVENT_LOCK:
	case APPLY_EVENT_DB_DONE:
		break;
	}
}

static void print_help(void)
{
	printf("migsync hook brings one environment to the target revision from a container\n"
	       "start or pre-deploy command, e.g. migsync hook -e prod && exec python run.py.\n"
	       "It waits for the database, returns at once without a lock when there is\n"
	       "nothing to do, and otherwise applies as migsync apply does for one stage:\n"
	       "lock, re-read, rollout order, gate, steps, verify, ledger. It never prompts.\n"
	       "When several replicas start at once, exactly one applies; the others wait\n"
	       "for it and exit 0.\n"
	       "\n"
	       "Usage:\n"
	       "  migsync hook -e ENV [OPTION]...\n"
	       "\n"
	       "Options:\n"
	       "  -e, --environment=ENV        the environment (required)\n"
	       "      --to=REV                 apply up to REV instead of the heads\n"
	       "      --wait=SECONDS           wait this long for the database to accept\n"
	       "                               connections (default: 60; 0: try once)\n"
	       "      --lock-wait=SECONDS      wait this long for another run's lock\n"
	       "                               (default: the environment's database.lock_wait)\n"
	       "      --on-unapproved=ACTION   at a closed gate: fail (default, exit 3) or skip\n"
	       "                               (start without migrating; exit 0, warned on stderr)\n"
	       "  -v, --verbose                show Alembic's output (executor alembic)\n"
	       "\n");
	cli_print_common_help(31, CLI_HELP_URL | CLI_HELP_SCRIPTS | CLI_HELP_SUMMARY);
	printf("\n"
	       "SIGTERM or SIGINT cancels a running statement, rolls it back, releases the\n"
	       "lock and exits 1, also as PID 1. Behind a shell (sh -c 'migsync hook ... &&\n"
	       "exec app') the shell is PID 1 and does not pass SIGTERM on: use an init such\n"
	       "as tini or docker run --init, which signal the whole process group.\n"
	       "\n"
	       "Exit status:\n"
	       "  0  applied, already current, or skipped at the gate (--on-unapproved=skip)\n"
	       "  1  a step failed, no database within --wait, or a signal stopped the hook\n"
	       "  2  could not run (usage, inventory, scripts)\n"
	       "  3  waiting for approval: stopped at the gate (the approve command is printed)\n");
}

/* The union of rows (end rows when end) over the databases of st, sorted. */
static void stage_rows(struct strvec *out, const struct plan_stage *st, bool end)
{
	for (size_t i = 0; i < st->dbs_nr; i++) {
		const struct strvec *rows = end ? &st->dbs[i].end_rows : &st->dbs[i].rows;

		for (size_t k = 0; k < rows->nr; k++)
			if (!strvec_contains(out, rows->items[k]))
				strvec_push(out, rows->items[k]);
	}
	strvec_sort(out);
}

/* The distinct revisions of st's steps, first database first. */
static void stage_revisions(struct strvec *out, const struct plan_stage *st)
{
	for (size_t i = 0; i < st->dbs_nr; i++)
		for (size_t k = 0; k < st->dbs[i].steps_nr; k++)
			if (!strvec_contains(out, st->dbs[i].steps[k].revision))
				strvec_push(out, st->dbs[i].steps[k].revision);
}

/* Version rows in the summary line: "a,b", or "base" when there are none. */
static void add_rows(struct strbuf *sb, const struct strvec *rows)
{
	cli_add_joined(sb, rows, ",", "base");
}

/* Parse a --wait / --lock-wait value (seconds, or a duration such as 5m) into ms. */
static int parse_wait(int64_t *ms, const char *option, const char *arg)
{
	int64_t seconds = 0;

	if (inventory_parse_duration(arg, &seconds) < 0 || seconds < 0)
		return cli_usage_error("hook", "%s: \"%s\" is not a number of seconds or a duration",
				       option, arg);
	*ms = seconds * 1000;
	return EXIT_OK;
}

int cmd_hook(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_COMMON_LONGOPTS,
		{ "environment", required_argument, NULL, 'e' },
		{ "to", required_argument, NULL, OPT_TO },
		{ "wait", required_argument, NULL, OPT_WAIT },
		{ "lock-wait", required_argument, NULL, OPT_LOCK_WAIT },
		{ "on-unapproved", required_argument, NULL, OPT_ON_UNAPPROVED },
		{ "verbose", no_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_common common;
	struct strvec names = STRVEC_INIT, from = STRVEC_INIT, to_rows = STRVEC_INIT;
	struct strvec pending = STRVEC_INIT;
	struct promote pr;
	struct apply_options o;
	struct plan_stage st;
	struct hook_run r = { 0 };
	struct ms_error err = MS_ERROR_INIT;
	struct strbuf sb = STRBUF_INIT;
	struct json_writer jw;
	volatile sig_atomic_t *cancel;
	const struct environment *env;
	const char *to = NULL, *action = "failed", *error = NULL;
	char *approve = NULL;
	int64_t wait_ms = HOOK_DEFAULT_WAIT * 1000, lock_wait_ms = 0, elapsed;
	bool lock_wait_set = false, skip = false, unread = false, verbose = false;
	enum apply_outcome out;
	int ret = EXIT_OK, opt;

	/* first: as PID 1, a signal without a handler would be ignored */
	cancel = promote_catch_signals();
	cli_common_init(&common);
	promote_init(&pr);
	plan_stage_init(&st, NULL);
	r.started_ms = clock_mono_ms();
	r.wait_noted_ms = -1;
	strvec_init(&r.applied);
	strvec_init(&r.alembic_dbs);
	optind = 1;
	while ((opt = getopt_long(argc, argv, CLI_COMMON_SHORTOPTS "e:v", longopts, NULL)) != -1) {
		switch (opt) {
		case OPT_HELP:
			print_help();
			goto done;
		case 'e':
			strvec_push(&names, optarg);
			break;
		case OPT_TO:
			to = optarg;
			break;
		case 'v':
			verbose = true;
			break;
		case OPT_WAIT:
			ret = parse_wait(&wait_ms, "--wait", optarg);
			if (ret != EXIT_OK)
				goto done;
			break;
		case OPT_LOCK_WAIT:
			ret = parse_wait(&lock_wait_ms, "--lock-wait", optarg);
			if (ret != EXIT_OK)
				goto done;
			lock_wait_set = true;
			break;
		case OPT_ON_UNAPPROVED:
			if (strcmp(optarg, "fail") && strcmp(optarg, "skip")) {
				ret = cli_usage_error("hook", "--on-unapproved: \"%s\" is neither fail nor skip",
						      optarg);
				goto done;
			}
			skip = !strcmp(optarg, "skip");
			break;
		default:
			ret = cli_default_option(&common, "hook", opt, optarg);
			if (ret != EXIT_OK)
				goto done;
		}
	}
	ret = cli_extra_arguments("hook", argc, argv, optind);
	if (ret != EXIT_OK)
		goto done;
	/* one database from a URL is the one environment there is */
	if (!names.nr && cli_single_database(&common))
		strvec_push(&names, PROJECT_URL_ENV);
	if (names.nr != 1) {
		ret = cli_usage_error("hook", "exactly one -e ENV is required");
		goto done;
	}
	ret = promote_load(&pr, &common, &names, NULL, to, true);
	if (ret != EXIT_OK) {
		error = "could not load the inventory or the scripts";
		goto summary;
	}
	env = pr.envs[0];
	promote_options(&o, &pr, true);
	o.cancel = cancel;
	o.connect_wait_ms = wait_ms;
	o.lock_wait_set = lock_wait_set;
	o.lock_wait_ms = lock_wait_ms;
	o.event = on_event;
	o.ctx = &r;
	r.quiet_output = !verbose && pr.inv->migrations.executor == EXECUTOR_ALEMBIC;

	out = apply_stage_run(&st, env, &o, &err);
	stage_rows(&from, &st, false);
	stage_rows(&to_rows, &st, true);
	stage_revisions(&pending, &st);
	for (size_t i = 0; out == APPLY_DONE && i < st.dbs_nr; i++)
		if (strvec_contains(&r.alembic_dbs, st.dbs[i].describe))
			for (size_t k = 0; k < st.dbs[i].steps_nr; k++)
				if (!strvec_contains(&r.applied, st.dbs[i].steps[k].revision))
					strvec_push(&r.applied, st.dbs[i].steps[k].revision);
	switch (out) {
	case APPLY_NOTHING:
		action = "current";
		break;
	case APPLY_DONE:
		/* a fleet whose databases another run did already */
		action = r.applied.nr ? "applied" : "current";
		break;
	case APPLY_GATED:
		approve = promote_approve_command(&pr, &st, "plan");
		error = err.message;
		if (skip) {
			action = "skipped";
			fprintf(stderr, "migsync: warning: %s\n", err.message ? err.message : "gate closed");
			fprintf(stderr, "migsync: warning: environment \"%s\": NOT MIGRATED: %zu pending revision%s; "
				"starting without them (--on-unapproved skip)\n", env->name, pending.nr,
				pending.nr == 1 ? "" : "s");
		} else {
			fprintf(stderr, "migsync: error: %s\n", err.message ? err.message : "gate closed");
			action = "gated";	/* as apply and stamp say of a stage stopped at its gate */
			ret = EXIT_GATED;
		}
		fprintf(stderr, "hint: to approve this plan, run:\n  %s\n", approve);
		break;
	case APPLY_DRY_RUN:
	case APPLY_DECLINED:
	case APPLY_FAILED:
		cli_print_error(&err);
		error = err.message ? err.message : "failed";
		ret = *cancel ? EXIT_PROBLEMS : cli_db_exit_code(&err);
		break;
	}
	if (*cancel) {
		/* the container is being stopped: never let `&& exec app` start it */
		fprintf(stderr, "migsync hook: %s: interrupted by %s\n", env->name,
			*cancel == SIGTERM ? "SIGTERM" : *cancel == SIGINT ? "SIGINT" : "a signal");
		if (ret == EXIT_OK) {
			action = "failed";
			error = "interrupted";
			ret = EXIT_PROBLEMS;
		}
	}
	for (size_t i = 0; i < st.dbs_nr; i++)
		if (st.dbs[i].error)
			unread = true;
summary:
	elapsed = clock_mono_ms() - r.started_ms;
	if (common.format == FORMAT_JSON) {
		json_init(&jw, &sb);
		render_json_begin(&jw, "hook");
		json_kv_string(&jw, "environment", names.items[0]);
		json_kv_string(&jw, "action", action);
		cli_json_strvec(&jw, "from", &from);
		cli_json_strvec(&jw, "to", &to_rows);
		cli_json_strvec(&jw, "applied", &r.applied);
		/* no plan without every database read */
		json_kv_string(&jw, "plan_hash", st.plan_hash[0] && !unread ? st.plan_hash : NULL);
		json_kv_int(&jw, "elapsed_ms", elapsed);
		json_key(&jw, "targets");
		json_array_begin(&jw);
		for (size_t i = 0; i < st.dbs_nr; i++) {
			json_object_begin(&jw);
			json_kv_string(&jw, "database", st.dbs[i].describe);
			cli_json_strvec(&jw, "heads", st.dbs[i].error ? NULL : &st.dbs[i].rows);
			json_kv_string(&jw, "error", st.dbs[i].error);
			json_object_end(&jw);
		}
		json_array_end(&jw);
		if (error && err.message) {
			char *hint = approve ? xstrfmt("to approve this plan, run: %s", approve) : NULL;

			render_json_error(&jw, approve ? "gated" : render_json_error_code(err.code),
					  err.message, hint ? hint : err.hint, NULL);
			free(hint);
		} else if (error) {
			render_json_error_noted(&jw, error);
		} else {
			json_kv_string(&jw, "error", NULL);
		}
		json_object_end(&jw);
		strbuf_addch(&sb, '\n');
	} else {
		strbuf_addf(&sb, "migsync hook: %s: ", names.items[0]);
		if (!strcmp(action, "current")) {
			strbuf_addstr(&sb, "already at ");
			add_rows(&sb, &to_rows);
		} else if (!strcmp(action, "applied")) {
			strbuf_addf(&sb, "applied %zu revision%s (", r.applied.nr,
				    r.applied.nr == 1 ? "" : "s");
			add_rows(&sb, &from);
			strbuf_addstr(&sb, " -> ");
			add_rows(&sb, &to_rows);
			strbuf_addf(&sb, ") in %.1f s", (double)elapsed / 1000.0);
		} else if (!strcmp(action, "skipped")) {
			strbuf_addf(&sb, "skipped: waiting for approval of plan %.12s; still at ",
				    st.plan_hash);
			add_rows(&sb, &from);
		} else {
			strbuf_addstr(&sb, ret == EXIT_GATED ? "stopped at the gate" : "failed");
			if (pending.nr) {
				strbuf_addstr(&sb, " (");
				add_rows(&sb, &from);
				strbuf_addstr(&sb, " -> ");
				add_rows(&sb, &to_rows);
				strbuf_addf(&sb, "; applied %zu of %zu revision%s)", r.applied.nr,
					    pending.nr, pending.nr == 1 ? "" : "s");
			}
			strbuf_addf(&sb, " after %.1f s", (double)elapsed / 1000.0);
		}
		strbuf_addch(&sb, '\n');
	}
	if (cli_write_stdout(sb.buf, sb.len) != EXIT_OK && ret == EXIT_OK)
		ret = EXIT_CANNOT_RUN;
done:
	free(approve);
	plan_stage_release(&st);
	promote_release(&pr);
	strvec_release(&names);
	strvec_release(&from);
	strvec_release(&to_rows);
	strvec_release(&pending);
	strvec_release(&r.applied);
	strvec_release(&r.alembic_dbs);
	ms_error_release(&err);
	strbuf_release(&sb);
	cli_common_release(&common);
	return ret;
}
