/*
 * migsync check: the nightly consistency check in one command. It
 * gathers what status, drift and lint report (cli_status_collect,
 * cli_drift_collect, lint_run), hands them to the nightly rules
 * (nightly_judge, migsync/nightly.h), and renders the judgement
 * (src/cli/render): text or JSON on stdout, and optionally a JUnit XML
 * file (one test case per environment and check) and a Markdown
 * summary. Exit 0 all consistent, 1 problems, 2 could not run.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/check_output.h"
#include "cli/cli.h"
#include "cli/drift_collect.h"
#include "cli/render/render.h"
#include "cli/status_collect.h"
#include "migsync/layout.h"
#include "migsync/lint.h"
#include "migsync/nightly.h"
#include "migsync/pool.h"
#include "migsync/safety.h"
#include "migsync/strbuf.h"

enum {
	OPT_JUNIT = OPT_FIRST_COMMAND_OPTION,
	OPT_MARKDOWN,
	OPT_FAIL_ON_PENDING,
	OPT_HTML,
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
	       "      --html=FILE          write one self-contained HTML page: the matrix, the graph\n"
	       "                           with every environment on it, and each problem's details\n"
	       "  -j, --jobs=N             reach N databases at a time (default: min(16, databases))\n"
	       "      --shard=K/N          only the targets of shard K of N (default: a Kubernetes Indexed Job's)\n"
	       "      --junit=FILE         write JUnit XML (a test case per environment and check)\n"
	       "      --markdown=FILE      write a Markdown summary (for a CI step summary or a chat)\n"
	       "\n");
	cli_print_common_help(27, CLI_HELP_URL | CLI_HELP_SCRIPTS);
	printf("\n"
	       "Checks, for each environment:\n"
	       "  reachable    every database answered\n"
	       "  status       no database unknown, diverged or ahead of the target\n"
	       "  order        not ahead of an earlier stage of the rollout\n"
	       "  drift        the same schema as the reference at its revision, no INVALID index\n"
	       "  checksums    no revision file changed after it was applied\n"
	       "and \"lint\" for the revision scripts: errors, and the safety findings no\n"
	       "comment allows of revisions some database still needs (migsync lint --rules).\n"
	       "\n"
	       "Exit status:\n"
	       "  0  all consistent\n"
	       "  1  problems found (each is listed, with its hint)\n"
	       "  2  could not run (usage, inventory)\n");
}

/* The revisions lint reads and their safety review, between its task and lint_finish. */
struct check_review {
	struct script_set set;
	struct diag_list reader;
	struct safety_report safety;
	struct ms_error err;
	int ret;
};

/*
 * Read the directories status read, going on past files that cannot be
 * read, and review them: for Alembic revisions a Python process writes
 * their offline SQL, the longest step of a check, so it runs while drift
 * reads the databases.
 */
static void review_scripts(struct check_review *rv, const struct cli_status *c)
{
	for (size_t i = 0; rv->ret == 0 && i < c->script_dirs.nr; i++)
		rv->ret = lint_read_dir(&rv->set, &rv->reader, c->script_dirs.items[i],
					SCRIPTS_KEEP_SQL, &c->import_path, &rv->err);
	if (rv->ret == 0)
		cli_safety_review(&rv->safety, &rv->set, c->inv);
}

/*
 * Lint the revisions read, with the safety findings of the revisions some
 * database still needs (pending in report): a finding matters until it
 * reached every database, and an old one must not fail every night after.
 */
static int lint_finish(struct lint_report *out, struct check_review *rv,
		       const struct status_report *report, struct ms_error *err)
{
	struct lint_options opts;
	struct safety_list pending = SAFETY_LIST_INIT;
	struct strvec revs = STRVEC_INIT;
	int ret;

	lint_options_init(&opts);
	for (size_t e = 0; e < report->envs_nr; e++)
		for (size_t k = 0; k < report->envs[e].pending.nr; k++)
			if (!strvec_contains(&revs, report->envs[e].pending.items[k])) {
				strvec_push(&revs, report->envs[e].pending.items[k]);
				safety_list_copy(&pending, &rv->safety.findings,
						 report->envs[e].pending.items[k]);
			}
	opts.safety = &pending;
	ret = lint_run(out, &rv->set, &rv->reader, &opts, err);
	strvec_release(&revs);
	safety_list_release(&pending);
	lint_options_release(&opts);
	return ret;
}

/* What check gathers once the project is open (see collect). */
struct check_collect {
	struct cli_status *c;
	const struct cli_status_options *opts;
	struct cli_drift *dc;
	const struct cli_drift_options *dopts;
	struct render_html_graph *graph;	/* NULL: no --html */
	struct check_review review;
	struct ms_error err;			/* status's or drift's */
	int ret;
};

/* After status: drift, and with --html the page's graph, which needs status's marks. */
static void after_status_work(size_t index, void *ctx)
{
	struct check_collect *r = ctx;

	if (index == 0 && !r->c->graph_error)
		r->ret = cli_drift_collect(r->dc, r->c->exp, r->c->exp_nr, r->dopts, &r->err);
	else if (index == 1)
		render_html_graph_draw(r->graph, r->c);
}

/* Status, then drift beside the drawing: the databases' side of the check. */
static void databases_work(struct check_collect *r)
{
	r->ret = cli_status_observe(r->c, r->opts, &r->err);
	if (r->ret == 0) {
		struct ms_error pool_err = MS_ERROR_INIT;
		int ret = pool_run(r->graph ? 2 : 1, 2, after_status_work, NULL, r, &pool_err);

		if (ret < 0 && r->ret == 0) {
			ms_error_move(&r->err, &pool_err);
			r->ret = ret;
		}
		ms_error_release(&pool_err);
	}
}

static void collect_work(size_t index, void *ctx)
{
	struct check_collect *r = ctx;

	if (index == 0)
		databases_work(r);
	else if (index == 1)
		review_scripts(&r->review, r->c);
	else
		layout_warm_up();
}

/*
 * Open the project, then at once: status and drift, which wait on the
 * databases; the read and safety review of the revisions, which waits on
 * Python (the offline SQL of Alembic revisions, a check's longest step);
 * and with --html (graph not NULL), Graphviz loaded while status runs and
 * the page's graph drawn after it. Then lint, which needs the revisions
 * status found pending.
 */
static int collect(struct cli_status *c, struct cli_common *common,
		   const struct cli_status_options *opts, struct cli_drift *dc,
		   const struct cli_drift_options *dopts, struct lint_report *lint,
		   struct render_html_graph *graph, struct ms_error *err)
{
	struct check_collect r = { .c = c, .opts = opts, .dc = dc, .dopts = dopts, .graph = graph,
				   .review = { .set = SCRIPT_SET_INIT, .reader = DIAG_LIST_INIT,
					       .err = MS_ERROR_INIT },
				   .err = MS_ERROR_INIT };
	size_t tasks = graph ? 3 : 2;
	int ret = cli_status_open(c, common, opts, err);

	if (ret < 0)
		return ret;
	safety_report_init(&r.review.safety);
	ret = pool_run(tasks, (unsigned)tasks, collect_work, NULL, &r, err);
	if (ret == 0 && r.ret < 0) {
		ms_error_move(err, &r.err);
		ret = r.ret;
	} else if (ret == 0 && r.review.ret < 0) {
		ms_error_move(err, &r.review.err);
		ret = r.review.ret;
	} else if (ret == 0) {
		ret = lint_finish(lint, &r.review, &c->report, err);
	}
	ms_error_release(&r.err);
	ms_error_release(&r.review.err);
	safety_report_release(&r.review.safety);
	diag_list_release(&r.review.reader);
	script_set_release(&r.review.set);
	return ret;
}

int cmd_check(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_COMMON_LONGOPTS,
		{ "environment", required_argument, NULL, 'e' },
		{ "jobs", required_argument, NULL, 'j' },
		CLI_SHARD_LONGOPT,
		{ "junit", required_argument, NULL, OPT_JUNIT },
		{ "markdown", required_argument, NULL, OPT_MARKDOWN },
		{ "fail-on-pending", no_argument, NULL, OPT_FAIL_ON_PENDING },
		{ "html", required_argument, NULL, OPT_HTML },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_common common;
	struct strvec names = STRVEC_INIT;
	struct cli_status_options opts = { &names, NULL, 0, true };
	struct cli_drift_options dopts = { NULL, NULL, 0 };
	struct cli_status c;
	struct cli_drift dc;
	struct lint_report lint;
	struct nightly_report report;
	struct render_html_graph graph = { NULL, NULL };
	struct render_check run = { &report, &c, &dc, &lint, NULL, &graph, 0, 0, false };
	struct ms_error err = MS_ERROR_INIT;
	struct cli_check_files files = { NULL, NULL, NULL };
	int ret = EXIT_OK, opt;

	cli_common_init(&common);
	common.shardable = true;
	cli_status_init(&c);
	c.keep_going = true;	/* a broken revision file is a lint problem here */
	cli_drift_init(&dc);
	lint_report_init(&lint);
	nightly_report_init(&report);

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
			files.junit = optarg;
			break;
		case OPT_MARKDOWN:
			files.markdown = optarg;
			break;
		case OPT_FAIL_ON_PENDING:
			run.fail_on_pending = true;
			break;
		case OPT_HTML:
			files.html = optarg;
			break;
		default:
			ret = cli_default_option(&common, "check", opt, optarg);
			if (ret != EXIT_OK)
				goto done;
		}
	}
	ret = cli_extra_arguments("check", argc, argv, optind);
	if (ret != EXIT_OK)
		goto done;

	dopts.jobs = opts.jobs;
	if (collect(&c, &common, &opts, &dc, &dopts, &lint, files.html ? &graph : NULL, &err) < 0) {
		cli_print_error_scrubbed(&err, &c.secrets);
		ret = EXIT_CANNOT_RUN;
		goto done;
	}
	if (c.inv && c.inv->nr) {
		run.shard_index = c.inv->envs[0].shard.index;
		run.shard_count = c.inv->envs[0].shard.count;
	}
	ret = cli_check_finish(&report, &run, common.format, &files);
done:
	nightly_report_release(&report);
	render_html_graph_release(&graph);
	lint_report_release(&lint);
	cli_drift_release(&dc);
	cli_status_release(&c);
	strvec_release(&names);
	ms_error_release(&err);
	cli_common_release(&common);
	return ret;
}
