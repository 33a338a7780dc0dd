/*
 * migsync report merge: the reports of the shards of one sharded
 * `migsync check` (--shard K/N, a Kubernetes Indexed Job, a CI matrix)
 * joined into the report one unsharded check prints. The core reads and
 * checks the documents (report_merge_files, migsync/report.h); here they
 * become the values check renders, are judged by the same nightly rules
 * and written by the same renderers (check_output.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/check_output.h"
#include "cli/cli.h"
#include "cli/drift_collect.h"
#include "cli/status_collect.h"
#include "migsync/lint.h"
#include "migsync/nightly.h"
#include "migsync/report.h"

enum {
	OPT_JUNIT = OPT_FIRST_COMMAND_OPTION,
	OPT_MARKDOWN,
	OPT_HTML,
};

static void print_help(void)
{
	printf("migsync report merge joins the reports of the shards of one sharded check\n"
	       "(migsync check --shard K/N --format json, one file per shard) into the report\n"
	       "one unsharded check prints, in the same formats.\n"
	       "\n"
	       "Usage:\n"
	       "  migsync report merge [OPTION]... FILE...\n"
	       "\n"
	       "Commands:\n"
	       "  merge                    merge the JSON of every shard of one check\n"
	       "\n"
	       "Options:\n"
	       "      --format=FORMAT      output format: text (default) or json\n"
	       "      --html=FILE          write the self-contained HTML page of check --html\n"
	       "      --junit=FILE         write JUnit XML (a test case per environment and check)\n"
	       "      --markdown=FILE      write a Markdown summary (for a CI step summary or a chat)\n"
	       "  -h, --help               show this help, then exit\n"
	       "\n"
	       "Every shard of the run must be given once (any order), all written by one\n"
	       "migsync from one commit and inventory. Only documents of migsync check are\n"
	       "merged, not those of status.\n"
	       "\n"
	       "Exit status:\n"
	       "  0  all consistent\n"
	       "  1  problems found (each is listed, with its hint)\n"
	       "  2  could not merge: a file that is not a shard's check document, shards of\n"
	       "     different runs, a shard given twice, a database in two shards, or a\n"
	       "     missing shard (its job must be rerun)\n");
}

/*
 * An inventory that knows what the renderers ask of one: the project's
 * name and each environment's gate (the shards wrote them).
 */
static struct inventory *inventory_of(struct report_merge *m)
{
	struct inventory *inv = xcalloc(1, sizeof(*inv));

	inv->project = m->project;
	m->project = NULL;
	inv->nr = m->status.envs_nr;
	inv->envs = xcalloc(inv->nr ? inv->nr : 1, sizeof(*inv->envs));
	for (size_t e = 0; e < inv->nr; e++) {
		inv->envs[e].name = xstrdup(m->status.envs[e].name);
		inv->envs[e].gate.approvals = m->envs[e].approvals;
		inv->envs[e].gate.risky_approvals = m->envs[e].risky_approvals;
	}
	return inv;
}

/* The merged databases as c's expansions and jobs (what status_collect makes of a run). */
static void add_targets(struct cli_status *c, struct report_merge *m)
{
	c->exp_nr = c->envs_nr;
	c->exp = xcalloc(c->exp_nr ? c->exp_nr : 1, sizeof(*c->exp));
	c->first_job = xcalloc(c->envs_nr ? c->envs_nr : 1, sizeof(*c->first_job));
	for (size_t e = 0; e < c->envs_nr; e++) {
		struct cli_expansion *x = &c->exp[e];
		const struct status_env *env = &c->report.envs[e];

		x->e = c->envs[e];
		ms_error_init(&x->err);
		x->nr = m->envs[e].targets_nr;
		x->targets = xcalloc(x->nr ? x->nr : 1, sizeof(*x->targets));
		c->first_job[e] = c->jobs_nr;
		for (size_t k = 0; k < x->nr; k++) {
			struct report_target *rt = &m->envs[e].targets[k];
			struct db_target *t = &x->targets[k];
			struct cli_status_job *job;

			db_target_init(t);
			t->env = x->e;
			t->member = env->fleet;
			t->dbname = xstrdup(rt->dbname ? rt->dbname : "");
			t->describe = rt->address ? xstrdup(rt->address) : NULL;
			t->label = env->fleet ? xstrfmt("%s/%s", env->name, t->dbname) : xstrdup(env->name);
			ALLOC_GROW(c->jobs, c->jobs_nr + 1, c->jobs_alloc);
			job = &c->jobs[c->jobs_nr++];
			*job = (struct cli_status_job){ 0 };
			job->env = e;
			job->t = t;
			job->database = xstrdup(env->targets[k].database);
			job->position = rt->position;
			job->checksums.items = rt->mismatches;
			job->checksums.nr = rt->mismatches_nr;
			job->checksums.error = rt->ledger_error;
			rt->mismatches = NULL;
			rt->mismatches_nr = 0;
			rt->ledger_error = NULL;
		}
	}
}

/* Move what m merged into the structures check renders from. */
static void take_merge(struct cli_status *c, struct cli_drift *dc, struct lint_report *lint,
		       struct report_merge *m)
{
	const struct status_goal none = STATUS_GOAL_INIT;

	c->inv = inventory_of(m);
	c->envs_nr = c->inv->nr;
	c->envs = xcalloc(c->envs_nr ? c->envs_nr : 1, sizeof(*c->envs));
	for (size_t e = 0; e < c->envs_nr; e++)
		c->envs[e] = &c->inv->envs[e];
	c->scripts = m->scripts;
	script_set_init(&m->scripts);
	c->g = m->g;
	m->g = NULL;
	c->graph_error = m->graph_error;
	m->graph_error = NULL;
	c->goal = m->goal;
	m->goal = none;
	c->report = m->status;
	status_report_init(&m->status);
	add_targets(c, m);

	dc->report = m->drift;
	drift_report_init(&m->drift);
	dc->jobs_nr = dc->jobs_alloc = dc->report.targets_nr;
	dc->jobs = xcalloc(dc->jobs_nr ? dc->jobs_nr : 1, sizeof(*dc->jobs));
	for (size_t i = 0; i < dc->jobs_nr; i++) {
		struct cli_drift_job *job = &dc->jobs[i];
		size_t e = m->drift_target_env[i], k = m->drift_target_db[i];

		ms_error_init(&job->err);
		job->e = c->envs[e];
		job->t = k == SIZE_MAX ? NULL : &c->exp[e].targets[k];
		job->label = xstrdup(job->t ? job->t->label : job->e->name);
		job->database = xstrdup(dc->report.targets[i].database);
	}
	*lint = m->lint;
	lint_report_init(&m->lint);
}

static int report_merge(int argc, char **argv, const struct cli_common *common,
			const struct cli_check_files *files)
{
	struct report_merge m;
	struct cli_status c;
	struct cli_drift dc;
	struct lint_report lint;
	struct nightly_report report;
	struct render_check run = { &report, &c, &dc, &lint, NULL, NULL, 0, 0, false };
	struct ms_error err = MS_ERROR_INIT;
	int ret = EXIT_OK;

	report_merge_init(&m);
	cli_status_init(&c);
	cli_drift_init(&dc);
	lint_report_init(&lint);
	nightly_report_init(&report);

	if (!argc) {
		ret = cli_usage_error("report merge", "no file to merge (one per shard)");
		goto done;
	}
	if (report_merge_files(&m, (const char *const *)argv, (size_t)argc, &err) < 0) {
		cli_print_error(&err);
		ret = EXIT_CANNOT_RUN;
		goto done;
	}
	run.fail_on_pending = m.fail_on_pending;
	take_merge(&c, &dc, &lint, &m);
	ret = cli_check_finish(&report, &run, common->format, files);
done:
	nightly_report_release(&report);
	lint_report_release(&lint);
	cli_drift_release(&dc);
	cli_status_release(&c);
	report_merge_release(&m);
	ms_error_release(&err);
	return ret;
}

int cmd_report(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_COMMON_LONGOPTS,
		{ "junit", required_argument, NULL, OPT_JUNIT },
		{ "markdown", required_argument, NULL, OPT_MARKDOWN },
		{ "html", required_argument, NULL, OPT_HTML },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_common common;
	struct cli_check_files files = { NULL, NULL, NULL };
	bool help = false;
	int ret = EXIT_OK, opt;

	cli_common_init(&common);
	optind = 1;
	while ((opt = getopt_long(argc, argv, CLI_COMMON_SHORTOPTS, longopts, NULL)) != -1) {
		switch (opt) {
		case OPT_HELP:
			help = true;
			break;
		case OPT_JUNIT:
			files.junit = optarg;
			break;
		case OPT_MARKDOWN:
			files.markdown = optarg;
			break;
		case OPT_HTML:
			files.html = optarg;
			break;
		case OPT_FORMAT:
		case '?':
		case ':':
			ret = cli_default_option(&common, "report", opt, optarg);
			if (ret != EXIT_OK)
				goto done;
			break;
		default:
			/* the shards' files are all it reads: no inventory, no scripts */
			ret = cli_usage_error("report", "%s is not an option of report merge",
					      opt == 'i' ? "--inventory" : opt == OPT_SCRIPTS ? "--scripts" :
					      opt == OPT_URL ? "--url" : "this");
			goto done;
		}
	}
	if (help) {
		print_help();
		goto done;
	}
	if (optind >= argc) {
		ret = cli_usage_error("report", "which report command? (merge)");
		goto done;
	}
	if (strcmp(argv[optind], "merge")) {
		ret = cli_usage_error("report", "unknown report command \"%s\" (expected merge)",
				      argv[optind]);
		goto done;
	}
	ret = report_merge(argc - optind - 1, argv + optind + 1, &common, &files);
done:
	cli_common_release(&common);
	return ret;
}
