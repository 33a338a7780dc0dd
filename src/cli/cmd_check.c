/*
 * migsync check: the nightly consistency check in one command. It
 * gathers what status, drift and lint report (status_collect,
 * drift_collect, lint_run) and judges each environment on five checks:
 *
 *   reachable  every database answered
 *   status     no database is unknown, diverged or ahead of the target
 *              (behind or uninitialized only with --fail-on-pending:
 *              pending migrations are normal between releases)
 *   order      no rollout order violation: not ahead of an earlier stage
 *   drift      same schema as the reference at its revision, no INVALID index
 *   checksums  no revision file changed after it was applied
 *
 * plus one "lint" check of the scripts (lint errors; warnings are shown,
 * not counted). A revision file that cannot be read is a lint problem
 * (MS040) and the check goes on without it; when the graph cannot be
 * built at all, only reachability and lint are judged, the other checks
 * are skipped as not run, and the graph error counts as a problem.
 * The facts go to stdout (text or JSON), and optionally to
 * a JUnit XML file (one test case per environment and check) and a
 * Markdown summary. Exit 0 all consistent, 1 problems, 2 could not run.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/drift_collect.h"
#include "cli/status_collect.h"
#include "migsync/json.h"
#include "migsync/lint.h"
#include "migsync/strbuf.h"

enum {
	OPT_JUNIT = OPT_FIRST_COMMAND_OPTION,
	OPT_MARKDOWN,
	OPT_FAIL_ON_PENDING,
};

/* Drift differences listed per database before "... and N more". */
#define DIFFERENCES_SHOWN 10

enum check_kind {
	CHECK_REACHABLE,
	CHECK_STATUS,
	CHECK_ORDER,
	CHECK_DRIFT,
	CHECK_CHECKSUMS,
	CHECK_KIND_NR,
};

static const char *const check_names[CHECK_KIND_NR] = {
	"reachable", "status", "order", "drift", "checksums",
};

enum check_outcome {
	CHECK_PASSED,
	CHECK_FAILED,
	CHECK_SKIPPED,
};

static const char *const outcome_names[] = { "passed", "failed", "skipped" };

/* One test case: an environment's check, or the lint. */
struct check_case {
	enum check_outcome outcome;
	char *summary;			/* a short cell for the tables */
	struct strvec messages;		/* one line per problem, or why it was skipped */
};

struct check_env {
	size_t index;			/* in the status report and the collection */
	struct check_case cases[CHECK_KIND_NR];
};

struct check_run {
	const struct status_collection *status;
	const struct drift_collection *drift;
	struct lint_report lint_report;
	struct check_env *envs;
	size_t envs_nr;
	struct check_case lint;
	size_t problems;
	bool fail_on_pending;
};

static void print_help(void)
{
	printf("migsync check is the nightly consistency check in one command: status, lint,\n"
	       "drift, checksum mismatches, rollout order violations and unreachable\n"
	       "environments, judged together.\n"
	       "\n"
	       "Usage:\n"
	       "  migsync check [OPTION]...\n"
	       "\n"
	       "Options:\n"
	       "  -e, --environment=ENV    only this environment (repeatable)\n"
	       "      --fail-on-pending    count an environment behind the target as a problem\n"
	       "  -j, --jobs=N             reach N databases at a time (default: min(16, databases))\n"
	       "      --junit=FILE         write JUnit XML (a test case per environment and check)\n"
	       "      --markdown=FILE      write a Markdown summary (for a CI step summary or a chat)\n"
	       "\n"
	       "Common options:\n"
	       "  -i, --inventory=PATH     inventory directory (default: $MIGSYNC_INVENTORY or environments/)\n"
	       "      --scripts=DIR        versions directory (default: the inventory's migrations.scripts)\n"
	       "      --format=FORMAT      output format: text (default) or json\n"
	       "      --help               show this help, then exit\n"
	       "\n"
	       "Checks, for each environment:\n"
	       "  reachable    every database answered\n"
	       "  status       no database unknown, diverged or ahead of the target\n"
	       "  order        not ahead of an earlier stage of the rollout\n"
	       "  drift        the same schema as the reference at its revision, no INVALID index\n"
	       "  checksums    no revision file changed after it was applied\n"
	       "and \"lint\" for the revision scripts (errors only).\n"
	       "\n"
	       "Exit status: 0 all consistent, 1 problems found, 2 could not run.\n");
}

static void case_init(struct check_case *k)
{
	k->outcome = CHECK_PASSED;
	k->summary = NULL;
	strvec_init(&k->messages);
}

static void case_release(struct check_case *k)
{
	free(k->summary);
	strvec_release(&k->messages);
}

static void check_run_release(struct check_run *run)
{
	for (size_t i = 0; i < run->envs_nr; i++)
		for (size_t k = 0; k < CHECK_KIND_NR; k++)
			case_release(&run->envs[i].cases[k]);
	free(run->envs);
	case_release(&run->lint);
	lint_report_release(&run->lint_report);
}

static void case_fail(struct check_run *run, struct check_case *k, char *message)
{
	k->outcome = CHECK_FAILED;
	strvec_push_owned(&k->messages, message);
	run->problems++;
}

static void case_skip(struct check_case *k, const char *why)
{
	k->outcome = CHECK_SKIPPED;
	strvec_push(&k->messages, why);
	free(k->summary);
	k->summary = xstrdup("-");
}

/* `environment "ENV"` or `environment "ENV", database "DB"` for a fleet's database. */
static char *subject(const struct status_env *env, const char *database)
{
	if (env->fleet && database)
		return xstrfmt("environment \"%s\", database \"%s\"", env->name, database);
	return xstrfmt("environment \"%s\"", env->name);
}

static void judge_reachable(struct check_run *run, struct check_env *ce,
			    const struct status_env *env)
{
	struct check_case *k = &ce->cases[CHECK_REACHABLE];
	size_t down = 0;

	if (env->error) {
		case_fail(run, k, xstrfmt("environment \"%s\": %s", env->name, env->error));
		k->summary = xstrdup("no");
		return;
	}
	for (size_t t = 0; t < env->targets_nr; t++) {
		const struct status_result *res = &env->targets[t].result;
		char *who;

		if (res->state != STATUS_UNREACHABLE)
			continue;
		down++;
		/* probe errors name their target already */
		who = subject(env, env->targets[t].database);
		if (res->error && starts_with(res->error, "target \""))
			case_fail(run, k, xstrdup(res->error));
		else
			case_fail(run, k, xstrfmt("%s: unreachable: %s", who,
						  res->error ? res->error : "no answer"));
		free(who);
	}
	k->summary = !down ? xstrdup("yes") : env->fleet ?
		xstrfmt("%zu of %zu unreachable", down, env->targets_nr) : xstrdup("no");
}

static void judge_status(struct check_run *run, struct check_env *ce,
			 const struct status_env *env)
{
	struct check_case *k = &ce->cases[CHECK_STATUS];

	for (size_t t = 0; t < env->targets_nr; t++) {
		const struct status_result *res = &env->targets[t].result;
		bool pending = res->state == STATUS_BEHIND || res->state == STATUS_UNINITIALIZED;
		char *who;

		if (res->state == STATUS_CURRENT || res->state == STATUS_UNREACHABLE ||
		    (pending && !run->fail_on_pending))
			continue;
		who = subject(env, env->targets[t].database);
		if (pending)
			case_fail(run, k, xstrfmt("%s: %s, %zu revision%s pending", who,
						  status_state_name(res->state), res->pending.nr,
						  res->pending.nr == 1 ? "" : "s"));
		else
			case_fail(run, k, xstrfmt("%s: %s%s%s", who, status_state_name(res->state),
						  res->note ? ": " : "", res->note ? res->note : ""));
		free(who);
	}
	if (env->pending.nr && env->state != STATUS_UNREACHABLE)
		k->summary = xstrfmt("%s, %zu pending", status_state_name(env->state), env->pending.nr);
	else
		k->summary = xstrdup(status_state_name(env->state));
}

static void judge_order(struct check_run *run, struct check_env *ce,
			const struct status_env *env)
{
	const struct status_report *r = &run->status->report;
	struct check_case *k = &ce->cases[CHECK_ORDER];

	for (size_t v = 0; v < r->violations_nr; v++)
		if (!strcmp(r->violations[v].environment, env->name))
			case_fail(run, k, xstrdup(r->violations[v].detail));
	k->summary = xstrdup(k->messages.nr ? "violation" : "ok");
}

static void judge_drift(struct check_run *run, struct check_env *ce,
			const struct status_env *env)
{
	const struct drift_report *dr = &run->drift->report;
	struct check_case *k = &ce->cases[CHECK_DRIFT];
	size_t targets = 0, drifted = 0, differences = 0, compared = 0;
	const char *state = NULL;

	for (size_t i = 0; i < dr->targets_nr; i++) {
		const struct drift_target *t = &dr->targets[i];
		char *who;

		if (strcmp(t->environment, env->name))
			continue;
		targets++;
		state = drift_state_name(t->state);
		if (t->state != DRIFT_STATE_NOT_COMPARED && t->state != DRIFT_STATE_UNREACHABLE)
			compared++;
		who = subject(env, t->database);
		if (t->state == DRIFT_STATE_UNREACHABLE && env->state != STATUS_UNREACHABLE)
			case_fail(run, k, xstrfmt("%s: could not read the schema: %s", who,
						  t->error ? t->error : "no answer"));
		if (t->state == DRIFT_STATE_DRIFT) {
			drifted++;
			differences += t->diff.nr;
			for (size_t d = 0; d < t->diff.nr && d < DIFFERENCES_SHOWN; d++)
				case_fail(run, k, xstrfmt("%s: drift: %s %s: %s", who,
							  drift_kind_name(t->diff.items[d].kind),
							  t->diff.items[d].object,
							  drift_change_name(t->diff.items[d].change)));
			if (t->diff.nr > DIFFERENCES_SHOWN)
				strvec_push_owned(&k->messages,
						  xstrfmt("%s: ... and %zu more differences", who,
							  t->diff.nr - DIFFERENCES_SHOWN));
		}
		for (size_t x = 0; x < t->invalid_indexes.nr; x++)
			case_fail(run, k, xstrfmt("%s: INVALID index %s", who,
						  t->invalid_indexes.items[x]));
		free(who);
	}
	if (drifted)
		k->summary = env->fleet ? xstrfmt("%zu of %zu drifted", drifted, targets) :
			xstrfmt("drift (%zu difference%s)", differences, differences == 1 ? "" : "s");
	else if (k->outcome == CHECK_FAILED)
		k->summary = xstrdup("problems");
	else if (!compared)
		k->summary = xstrdup("not compared");
	else
		k->summary = xstrdup(env->fleet || !state ? "same" : state);
}

static void judge_checksums(struct check_run *run, struct check_env *ce,
			    const struct status_env *env)
{
	struct check_case *k = &ce->cases[CHECK_CHECKSUMS];
	size_t mismatches = 0;

	for (size_t t = 0; t < env->targets_nr; t++) {
		const struct status_checksums *cs = status_collection_checksums(run->status, ce->index, t);
		char *who = subject(env, env->targets[t].database);

		if (cs->error)
			case_fail(run, k, xstrdup(cs->error));
		for (size_t i = 0; i < cs->nr; i++)
			case_fail(run, k, xstrfmt("%s: revision %s: \"%s\" changed after it was applied "
						  "(sha256 %.12s then, %.12s now)", who,
						  cs->items[i].revision, cs->items[i].file,
						  cs->items[i].applied_sha256, cs->items[i].file_sha256));
		mismatches += cs->nr;
		free(who);
	}
	if (mismatches)
		k->summary = xstrfmt("%zu mismatch%s", mismatches, mismatches == 1 ? "" : "es");
	else
		k->summary = xstrdup(k->outcome == CHECK_FAILED ? "unreadable" : "ok");
}

static void judge_lint(struct check_run *run)
{
	const struct lint_report *r = &run->lint_report;

	for (size_t i = 0; i < r->findings.nr; i++) {
		const struct diag *d = &r->findings.items[i];

		if (d->severity != DIAG_ERROR)
			continue;
		if (d->file && d->line)
			case_fail(run, &run->lint, xstrfmt("%s:%u: %s %s", d->file, d->line, d->code, d->message));
		else if (d->file)
			case_fail(run, &run->lint, xstrfmt("%s: %s %s", d->file, d->code, d->message));
		else
			case_fail(run, &run->lint, xstrfmt("%s %s", d->code, d->message));
	}
	run->lint.summary = xstrfmt("%zu revision%s, %zu error%s, %zu warning%s",
				    r->revisions, r->revisions == 1 ? "" : "s",
				    r->errors, r->errors == 1 ? "" : "s",
				    r->warnings, r->warnings == 1 ? "" : "s");
}

/* Judge every environment and the scripts. */
static void judge(struct check_run *run)
{
	const struct status_report *r = &run->status->report;

	run->envs = xcalloc(r->envs_nr ? r->envs_nr : 1, sizeof(*run->envs));
	run->envs_nr = r->envs_nr;
	for (size_t i = 0; i < r->envs_nr; i++) {
		const struct status_env *env = &r->envs[i];
		struct check_env *ce = &run->envs[i];
		bool none = env->error || env->state == STATUS_UNREACHABLE;

		ce->index = i;
		for (size_t k = 0; k < CHECK_KIND_NR; k++)
			case_init(&ce->cases[k]);
		judge_reachable(run, ce, env);
		if (run->status->graph_error) {
			/* without a graph only reachability means anything */
			for (size_t k = CHECK_STATUS; k < CHECK_KIND_NR; k++)
				case_skip(&ce->cases[k], none ? "unreachable" :
					  "not run: the revision graph could not be built");
			continue;
		}
		judge_status(run, ce, env);
		judge_order(run, ce, env);
		judge_drift(run, ce, env);
		judge_checksums(run, ce, env);
		if (none) {
			/* nothing is known of it: the reachable case says why */
			for (size_t k = CHECK_ORDER; k < CHECK_KIND_NR; k++)
				if (ce->cases[k].outcome == CHECK_PASSED)
					case_skip(&ce->cases[k], "unreachable");
			if (ce->cases[CHECK_STATUS].outcome == CHECK_PASSED)
				case_skip(&ce->cases[CHECK_STATUS], "unreachable");
		}
	}
	judge_lint(run);
	if (run->status->graph_error)
		case_fail(run, &run->lint,
			  xstrfmt("the revision graph could not be built (%s): status, order, drift "
				  "and checksums were not run", run->status->graph_error));
}

/* The revision cell: the environment's heads, "-" when none. */
static char *revision_cell(const struct status_env *env)
{
	struct strbuf sb = STRBUF_INIT;

	cli_add_joined(&sb, &env->heads, ",", "-");
	return strbuf_detach(&sb, NULL);
}

/* The notes cell: the failed checks other than drift and checksums (their own columns). */
static char *notes_cell(const struct check_env *ce)
{
	struct strbuf sb = STRBUF_INIT;

	for (size_t k = CHECK_REACHABLE; k <= CHECK_ORDER; k++) {
		const struct check_case *c = &ce->cases[k];

		if (c->outcome != CHECK_FAILED)
			continue;
		strbuf_addf(&sb, "%s%s: %s", sb.len ? "; " : "", check_names[k],
			    c->messages.items[0]);
		if (c->messages.nr > 1)
			strbuf_addf(&sb, " (+%zu more)", c->messages.nr - 1);
	}
	return strbuf_detach(&sb, NULL);
}

enum { COL_ENV, COL_STATE, COL_REVISION, COL_DRIFT, COL_CHECKSUMS, COL_NOTES, COL_NR };

static const char *const col_headers[COL_NR] = {
	"environment", "state", "revision", "drift", "checksums", "notes",
};

static void row_cells(char *cells[COL_NR], const struct check_run *run, size_t i)
{
	const struct status_env *env = &run->status->report.envs[i];
	const struct check_env *ce = &run->envs[i];

	cells[COL_ENV] = xstrdup(env->name);
	if (run->status->graph_error && !env->error && env->state != STATUS_UNREACHABLE)
		cells[COL_STATE] = xstrdup("not run");
	else
		cells[COL_STATE] = xstrdup(ce->cases[CHECK_STATUS].outcome == CHECK_SKIPPED ?
					   status_state_name(env->state) : ce->cases[CHECK_STATUS].summary);
	cells[COL_REVISION] = revision_cell(env);
	cells[COL_DRIFT] = xstrdup(ce->cases[CHECK_DRIFT].summary);
	cells[COL_CHECKSUMS] = xstrdup(ce->cases[CHECK_CHECKSUMS].summary);
	cells[COL_NOTES] = notes_cell(ce);
}

static void free_cells(char *cells[COL_NR])
{
	for (size_t c = 0; c < COL_NR; c++)
		free(cells[c]);
}

/* Every problem line, environments first in rollout order, then lint. */
static void add_problems(struct strbuf *sb, const struct check_run *run, const char *bullet)
{
	for (size_t i = 0; i < run->envs_nr; i++)
		for (size_t k = 0; k < CHECK_KIND_NR; k++)
			if (run->envs[i].cases[k].outcome == CHECK_FAILED)
				for (size_t m = 0; m < run->envs[i].cases[k].messages.nr; m++)
					strbuf_addf(sb, "%s%s\n", bullet,
						    run->envs[i].cases[k].messages.items[m]);
	for (size_t m = 0; m < run->lint.messages.nr; m++)
		strbuf_addf(sb, "%slint: %s\n", bullet, run->lint.messages.items[m]);
}

static void verdict(struct strbuf *sb, const struct check_run *run)
{
	if (run->problems)
		strbuf_addf(sb, "check failed: %zu problem%s\n", run->problems,
			    run->problems == 1 ? "" : "s");
	else
		strbuf_addf(sb, "check passed: %zu environment%s consistent\n", run->envs_nr,
			    run->envs_nr == 1 ? "" : "s");
}

static void print_text(struct strbuf *sb, const struct check_run *run)
{
	char *(*rows)[COL_NR] = xcalloc(run->envs_nr + 1, sizeof(*rows));
	size_t width[COL_NR];

	for (size_t i = 0; i < run->envs_nr; i++)
		row_cells(rows[i], run, i);
	for (size_t c = 0; c < COL_NR; c++) {
		width[c] = strlen(col_headers[c]);
		for (size_t i = 0; i < run->envs_nr; i++)
			if (strlen(rows[i][c]) > width[c])
				width[c] = strlen(rows[i][c]);
	}
	for (size_t i = 0; i <= run->envs_nr; i++) {
		size_t start = sb->len;

		for (size_t c = 0; c < COL_NR; c++) {
			const char *cell = i ? rows[i - 1][c] : col_headers[c];
			char *upper = xstrdup(cell);

			for (char *p = upper; !i && *p; p++)
				*p = (char)(*p >= 'a' && *p <= 'z' ? *p - 'a' + 'A' : *p);
			strbuf_addf(sb, "%-*s  ", (int)width[c], upper);
			free(upper);
		}
		while (sb->len > start && sb->buf[sb->len - 1] == ' ')
			strbuf_setlen(sb, sb->len - 1);
		strbuf_addch(sb, '\n');
	}
	strbuf_addf(sb, "\nlint: %s\n", run->lint.summary);
	if (run->problems) {
		strbuf_addch(sb, '\n');
		add_problems(sb, run, "  ");
	}
	strbuf_addch(sb, '\n');
	verdict(sb, run);
	for (size_t i = 0; i < run->envs_nr; i++)
		free_cells(rows[i]);
	free(rows);
}

/* A Markdown table cell: one line, "|" escaped. */
static void md_cell(struct strbuf *sb, const char *s)
{
	strbuf_addch(sb, ' ');
	for (; *s; s++) {
		if (*s == '|')
			strbuf_addstr(sb, "\\|");
		else if (*s == '\n' || *s == '\r')
			strbuf_addch(sb, ' ');
		else
			strbuf_addch(sb, *s);
	}
	strbuf_addstr(sb, " |");
}

static void print_markdown(struct strbuf *sb, const struct check_run *run)
{
	strbuf_addstr(sb, "## migsync check: ");
	if (run->problems)
		strbuf_addf(sb, "%zu problem%s\n\n", run->problems, run->problems == 1 ? "" : "s");
	else
		strbuf_addstr(sb, "all consistent\n\n");
	strbuf_addch(sb, '|');
	for (size_t c = 0; c < COL_NR; c++)
		md_cell(sb, col_headers[c]);
	strbuf_addstr(sb, "\n|");
	for (size_t c = 0; c < COL_NR; c++)
		strbuf_addstr(sb, " --- |");
	strbuf_addch(sb, '\n');
	for (size_t i = 0; i < run->envs_nr; i++) {
		char *cells[COL_NR];

		row_cells(cells, run, i);
		strbuf_addch(sb, '|');
		for (size_t c = 0; c < COL_NR; c++)
			md_cell(sb, cells[c]);
		strbuf_addch(sb, '\n');
		free_cells(cells);
	}
	strbuf_addf(sb, "\n**Lint:** %s.\n", run->lint.summary);
	if (run->problems) {
		strbuf_addstr(sb, "\n**Problems:**\n\n");
		add_problems(sb, run, "- ");
	}
}

/* s escaped for XML text or a double-quoted attribute; characters XML 1.0 forbids become "?". */
static void xml_escape(struct strbuf *sb, const char *s)
{
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		switch (ch) {
		case '&':
			strbuf_addstr(sb, "&amp;");
			break;
		case '<':
			strbuf_addstr(sb, "&lt;");
			break;
		case '>':
			strbuf_addstr(sb, "&gt;");
			break;
		case '"':
			strbuf_addstr(sb, "&quot;");
			break;
		case '\'':
			strbuf_addstr(sb, "&apos;");
			break;
		case '\n':
			strbuf_addstr(sb, "&#10;");
			break;
		case '\t':
			strbuf_addstr(sb, "&#9;");
			break;
		case '\r':
			strbuf_addstr(sb, "&#13;");
			break;
		default:
			strbuf_addch(sb, ch < 0x20 || ch == 0x7f ? '?' : ch);
		}
	}
}

static void junit_case(struct strbuf *sb, const char *classname, const char *name,
		       const struct check_case *k)
{
	strbuf_addstr(sb, "    <testcase classname=\"");
	xml_escape(sb, classname);
	strbuf_addstr(sb, "\" name=\"");
	xml_escape(sb, name);
	strbuf_addch(sb, '"');
	if (k->outcome == CHECK_PASSED) {
		strbuf_addstr(sb, "/>\n");
		return;
	}
	strbuf_addstr(sb, ">\n      <");
	strbuf_addstr(sb, k->outcome == CHECK_FAILED ? "failure" : "skipped");
	strbuf_addstr(sb, " message=\"");
	xml_escape(sb, k->messages.nr ? k->messages.items[0] : "");
	if (k->outcome == CHECK_SKIPPED) {
		strbuf_addstr(sb, "\"/>\n    </testcase>\n");
		return;
	}
	strbuf_addf(sb, "\" type=\"%s\">", name);
	for (size_t m = 0; m < k->messages.nr; m++) {
		if (m)
			strbuf_addch(sb, '\n');
		xml_escape(sb, k->messages.items[m]);
	}
	strbuf_addstr(sb, "</failure>\n    </testcase>\n");
}

static void print_junit(struct strbuf *sb, const struct check_run *run)
{
	size_t tests = 1, failures = run->lint.outcome == CHECK_FAILED, skipped = 0;
	struct strbuf counts = STRBUF_INIT;

	for (size_t i = 0; i < run->envs_nr; i++)
		for (size_t k = 0; k < CHECK_KIND_NR; k++) {
			tests++;
			failures += run->envs[i].cases[k].outcome == CHECK_FAILED;
			skipped += run->envs[i].cases[k].outcome == CHECK_SKIPPED;
		}
	strbuf_addf(&counts, "tests=\"%zu\" failures=\"%zu\" errors=\"0\" skipped=\"%zu\"",
		    tests, failures, skipped);
	strbuf_addf(sb, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		    "<testsuites name=\"migsync check\" %s>\n"
		    "  <testsuite name=\"migsync check\" %s>\n", counts.buf, counts.buf);
	for (size_t i = 0; i < run->envs_nr; i++)
		for (size_t k = 0; k < CHECK_KIND_NR; k++)
			junit_case(sb, run->status->report.envs[i].name, check_names[k],
				   &run->envs[i].cases[k]);
	junit_case(sb, "scripts", "lint", &run->lint);
	strbuf_addstr(sb, "  </testsuite>\n</testsuites>\n");
	strbuf_release(&counts);
}

static void json_case(struct json_writer *jw, const char *key, const struct check_case *k)
{
	json_key(jw, key);
	json_object_begin(jw);
	json_kv_string(jw, "outcome", outcome_names[k->outcome]);
	json_kv_string(jw, "summary", k->summary);
	cli_json_strvec(jw, "messages", &k->messages);
	json_object_end(jw);
}

static void json_env(struct json_writer *jw, const struct check_run *run, size_t i)
{
	const struct status_env *env = &run->status->report.envs[i];
	const struct drift_report *dr = &run->drift->report;

	json_object_begin(jw);
	json_kv_string(jw, "name", env->name);
	json_kv_string(jw, "state", status_state_name(env->state));
	cli_json_strvec(jw, "heads", &env->heads);
	cli_json_strvec(jw, "pending", &env->pending);
	json_key(jw, "checks");
	json_object_begin(jw);
	for (size_t k = 0; k < CHECK_KIND_NR; k++)
		json_case(jw, check_names[k], &run->envs[i].cases[k]);
	json_object_end(jw);
	json_key(jw, "checksum_mismatches");
	json_array_begin(jw);
	for (size_t t = 0; t < env->targets_nr; t++) {
		const struct status_checksums *cs = status_collection_checksums(run->status, i, t);

		for (size_t m = 0; m < cs->nr; m++) {
			json_object_begin(jw);
			json_kv_string(jw, "database", env->targets[t].database);
			json_kv_string(jw, "revision", cs->items[m].revision);
			json_kv_string(jw, "file", cs->items[m].file);
			json_kv_string(jw, "applied_sha256", cs->items[m].applied_sha256);
			json_kv_string(jw, "file_sha256", cs->items[m].file_sha256);
			json_object_end(jw);
		}
	}
	json_array_end(jw);
	json_key(jw, "drift");
	json_array_begin(jw);
	for (size_t t = 0; t < dr->targets_nr; t++) {
		const struct drift_target *d = &dr->targets[t];

		if (strcmp(d->environment, env->name))
			continue;
		json_object_begin(jw);
		json_kv_string(jw, "database", d->database);
		json_kv_string(jw, "state", drift_state_name(d->state));
		json_kv_string(jw, "fingerprint", d->snapshot ? d->snapshot->fingerprint : NULL);
		json_kv_string(jw, "error", d->error);
		json_key(jw, "differences");
		json_array_begin(jw);
		for (size_t k = 0; k < d->diff.nr; k++) {
			json_object_begin(jw);
			json_kv_string(jw, "kind", drift_kind_name(d->diff.items[k].kind));
			json_kv_string(jw, "object", d->diff.items[k].object);
			json_kv_string(jw, "change", drift_change_name(d->diff.items[k].change));
			json_object_end(jw);
		}
		json_array_end(jw);
		cli_json_strvec(jw, "invalid_indexes", &d->invalid_indexes);
		json_object_end(jw);
	}
	json_array_end(jw);
	json_object_end(jw);
}

static void print_json(struct strbuf *sb, const struct check_run *run)
{
	const struct status_report *r = &run->status->report;
	struct json_writer jw;

	json_init(&jw, sb);
	json_object_begin(&jw);
	json_kv_bool(&jw, "ok", run->problems == 0);
	json_kv_int(&jw, "problem_count", (int64_t)run->problems);
	json_key(&jw, "problems");
	json_array_begin(&jw);
	for (size_t i = 0; i < run->envs_nr; i++)
		for (size_t k = 0; k < CHECK_KIND_NR; k++)
			for (size_t m = 0; run->envs[i].cases[k].outcome == CHECK_FAILED &&
			     m < run->envs[i].cases[k].messages.nr; m++) {
				json_object_begin(&jw);
				json_kv_string(&jw, "environment", r->envs[i].name);
				json_kv_string(&jw, "check", check_names[k]);
				json_kv_string(&jw, "message", run->envs[i].cases[k].messages.items[m]);
				json_object_end(&jw);
			}
	for (size_t m = 0; m < run->lint.messages.nr; m++) {
		json_object_begin(&jw);
		json_kv_string(&jw, "environment", NULL);
		json_kv_string(&jw, "check", "lint");
		json_kv_string(&jw, "message", run->lint.messages.items[m]);
		json_object_end(&jw);
	}
	json_array_end(&jw);
	cli_json_strvec(&jw, "target", &r->goal);
	json_kv_string(&jw, "graph_error", run->status->graph_error);
	json_key(&jw, "environments");
	json_array_begin(&jw);
	for (size_t i = 0; i < run->envs_nr; i++)
		json_env(&jw, run, i);
	json_array_end(&jw);
	json_key(&jw, "violations");
	json_array_begin(&jw);
	for (size_t i = 0; i < r->violations_nr; i++) {
		json_object_begin(&jw);
		json_kv_string(&jw, "kind", status_violation_kind_name(r->violations[i].kind));
		json_kv_string(&jw, "environment", r->violations[i].environment);
		json_kv_string(&jw, "earlier", r->violations[i].earlier);
		cli_json_strvec(&jw, "revisions", &r->violations[i].revisions);
		json_kv_string(&jw, "detail", r->violations[i].detail);
		json_object_end(&jw);
	}
	json_array_end(&jw);
	json_key(&jw, "lint");
	json_object_begin(&jw);
	json_kv_string(&jw, "outcome", outcome_names[run->lint.outcome]);
	json_kv_int(&jw, "revisions", (int64_t)run->lint_report.revisions);
	json_kv_int(&jw, "errors", (int64_t)run->lint_report.errors);
	json_kv_int(&jw, "warnings", (int64_t)run->lint_report.warnings);
	json_key(&jw, "findings");
	json_array_begin(&jw);
	for (size_t i = 0; i < run->lint_report.findings.nr; i++) {
		const struct diag *d = &run->lint_report.findings.items[i];

		json_object_begin(&jw);
		json_kv_string(&jw, "code", d->code);
		json_kv_string(&jw, "severity", diag_severity_name(d->severity));
		json_kv_string(&jw, "file", d->file);
		json_key(&jw, "line");
		if (d->line)
			json_int(&jw, d->line);
		else
			json_null(&jw);
		json_kv_string(&jw, "message", d->message);
		json_object_end(&jw);
	}
	json_array_end(&jw);
	json_object_end(&jw);
	json_object_end(&jw);
	strbuf_addch(sb, '\n');
}

/* Write what print makes of run, secrets scrubbed, to path; returns 0 or MS_ERR_IO with err set. */
static int write_report(const char *path, void (*print)(struct strbuf *, const struct check_run *),
			const struct check_run *run, const struct strvec *secrets,
			struct ms_error *err)
{
	struct strbuf sb = STRBUF_INIT;
	FILE *f = fopen(path, "w");
	int ret = 0;

	if (!f) {
		ret = ms_error_set(err, MS_ERR_IO, "\"%s\": could not open for writing: %s",
				   path, strerror(errno));
		goto done;
	}
	print(&sb, run);
	cli_scrub(&sb, secrets);
	if (fwrite(sb.buf, 1, sb.len, f) != sb.len)
		ret = ms_error_set(err, MS_ERR_IO, "\"%s\": could not write: %s", path, strerror(errno));
	if (fclose(f) != 0 && ret == 0)
		ret = ms_error_set(err, MS_ERR_IO, "\"%s\": could not write: %s", path, strerror(errno));
done:
	strbuf_release(&sb);
	return ret;
}

/* Lint the directories status read, going on past files that cannot be read. */
static int run_lint(struct check_run *run, const struct strvec *dirs, struct ms_error *err)
{
	struct script_set set = SCRIPT_SET_INIT;
	struct diag_list reader = DIAG_LIST_INIT;
	struct lint_options opts;
	int ret = 0;

	lint_options_init(&opts);
	for (size_t i = 0; ret == 0 && i < dirs->nr; i++)
		ret = lint_read_dir(&set, &reader, dirs->items[i], 0, err);
	if (ret == 0)
		ret = lint_run(&run->lint_report, &set, &reader, &opts, err);
	lint_options_release(&opts);
	diag_list_release(&reader);
	script_set_release(&set);
	return ret;
}

int cmd_check(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_COMMON_LONGOPTS,
		{ "environment", required_argument, NULL, 'e' },
		{ "jobs", required_argument, NULL, 'j' },
		{ "junit", required_argument, NULL, OPT_JUNIT },
		{ "markdown", required_argument, NULL, OPT_MARKDOWN },
		{ "fail-on-pending", no_argument, NULL, OPT_FAIL_ON_PENDING },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_common common;
	struct strvec names = STRVEC_INIT;
	struct status_collect_options opts = { &names, NULL, 0, true };
	struct drift_collect_options dopts = { NULL, NULL, 0 };
	struct status_collection c;
	struct drift_collection dc;
	struct check_run run;
	struct ms_error err = MS_ERROR_INIT;
	struct strbuf out = STRBUF_INIT;
	const char *junit = NULL, *markdown = NULL;
	int ret = EXIT_OK, opt;

	cli_common_init(&common);
	status_collection_init(&c);
	c.keep_going = true;	/* a broken revision file is a lint problem here */
	drift_collection_init(&dc);
	memset(&run, 0, sizeof(run));
	lint_report_init(&run.lint_report);
	case_init(&run.lint);

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
			ret = cli_parse_jobs(&opts.jobs, "check", optarg);
			if (ret != EXIT_OK)
				goto done;
			break;
		case OPT_JUNIT:
			junit = optarg;
			break;
		case OPT_MARKDOWN:
			markdown = optarg;
			break;
		case OPT_FAIL_ON_PENDING:
			run.fail_on_pending = true;
			break;
		default:
			ret = cli_default_option(&common, "check", opt, optarg);
			if (ret != EXIT_OK)
				goto done;
		}
	}
	if (optind < argc) {
		ret = cli_usage_error("check", "too many arguments (first is \"%s\")", argv[optind]);
		goto done;
	}

	dopts.jobs = opts.jobs;
	if (status_collect(&c, &common, &opts, &err) < 0 ||
	    (!c.graph_error && drift_collect(&dc, c.exp, c.exp_nr, &dopts, &err) < 0) ||
	    run_lint(&run, &c.script_dirs, &err) < 0) {
		cli_print_error_scrubbed(&err, &c.secrets);
		ret = EXIT_CANNOT_RUN;
		goto done;
	}
	run.status = &c;
	run.drift = &dc;
	judge(&run);

	if ((junit && write_report(junit, print_junit, &run, &c.secrets, &err) < 0) ||
	    (markdown && write_report(markdown, print_markdown, &run, &c.secrets, &err) < 0)) {
		cli_print_error_scrubbed(&err, &c.secrets);
		ret = EXIT_CANNOT_RUN;
		goto done;
	}
	if (common.format == FORMAT_JSON)
		print_json(&out, &run);
	else
		print_text(&out, &run);
	cli_scrub(&out, &c.secrets);
	ret = cli_write_stdout(out.buf, out.len);
	if (ret == EXIT_OK && run.problems)
		ret = EXIT_PROBLEMS;
done:
	check_run_release(&run);
	drift_collection_release(&dc);
	status_collection_release(&c);
	strvec_release(&names);
	ms_error_release(&err);
	strbuf_release(&out);
	cli_common_release(&common);
	return ret;
}
