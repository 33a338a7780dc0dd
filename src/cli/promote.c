/*
 * What the promotion commands share (plan, approve, apply, downgrade,
 * resolve, stamp, hook): signals, elapsed time, and the report of a
 * stopped stage (see promote.h).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/promote.h"
#include "migsync/apply.h"

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	interrupted = sig;
}

volatile sig_atomic_t *promote_catch_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	return &interrupted;
}

int64_t promote_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int promote_report_stop(const struct promote *pr, const struct environment *env,
			const struct plan_stage *st, enum apply_outcome out,
			const struct ms_error *err, const char *what)
{
	char *cmd;

	switch (out) {
	case APPLY_GATED:
		cmd = promote_approve_command(pr, st, what);
		fprintf(stderr, "migsync: %s\n", err->message ? err->message : "stopped at the gate");
		if (st->gate.soak_unknown) {
			fprintf(stderr, "hint: the soak counts from migsync's ledger of environment \"%s\": apply the "
				"revisions there with migsync (migsync downgrade, then migsync apply -e %s), "
				"or lower gate.soak of %s for this release\n",
				st->previous ? st->previous : "?", st->previous ? st->previous : "ENV", env->name);
		} else if (st->gate.soak_remaining > 0) {
			char *left = inventory_format_duration(st->gate.soak_remaining);

			fprintf(stderr, "hint: run again in %s (soak)\n", left);
			free(left);
		}
		if ((int64_t)st->gate.approved_by.nr < st->gate.needed)
			fprintf(stderr, "hint: to approve this %s, run:\n  %s\n",
				strcmp(what, "stamp") ? "plan" : what, cmd);
		free(cmd);
		return EXIT_GATED;
	case APPLY_DECLINED:
		fprintf(stderr, "migsync: environment \"%s\": not confirmed; stopped\n", env->name);
		return EXIT_GATED;
	case APPLY_FAILED:
		cli_print_error(err);
		return err->code == MS_ERR_CONFIG || err->code == MS_ERR_USAGE ?
			EXIT_CANNOT_RUN : EXIT_PROBLEMS;
	case APPLY_NOTHING:
	case APPLY_DONE:
	case APPLY_DRY_RUN:
		break;
	}
	return EXIT_OK;
}

/* For cmd_consolidate.c, until it calls plan_rows_add and plan_rows_equal itself. */
void promote_add_rows(struct strbuf *sb, const struct strvec *rows)
{
	plan_rows_add(sb, rows, ",");
}

bool promote_rows_equal(const struct strvec *a, const struct strvec *b)
{
	return plan_rows_equal(a, b);
}
