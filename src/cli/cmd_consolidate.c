/*
 * migsync consolidate: the two moments of squashing many revisions into
 * one baseline (seed 003) done safely.
 *
 *   --check         is it safe to squash now? Every environment
 *                   reachable, all at the scripts' single head, identical
 *                   schema fingerprints, no pending approval, no step in
 *                   progress, no lint error; each blocker is listed.
 *   --stamp REV     after the baseline revision REV is written (and the
 *                   old files removed): stamp it into every environment
 *                   in rollout order through the usual gates, replacing
 *                   the head they all shared (--expect), after checking
 *                   that every schema equals the first environment's.
 *
 * The databases are read by apply_consolidate_read and judged by
 * squash_check or squash_check_stamp (include/migsync/squash.h); this
 * file parses options and renders.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/render/render.h"
#include "cli/promote.h"
#include "migsync/apply.h"
#include "migsync/clock.h"
#include "migsync/conn.h"
#include "migsync/drift.h"
#include "migsync/inventory.h"
#include "migsync/json.h"
#include "migsync/lint.h"
#include "migsync/plan.h"
#include "migsync/project.h"
#include "migsync/squash.h"
#include "migsync/strbuf.h"

enum {
	OPT_CHECK = OPT_FIRST_COMMAND_OPTION,
	OPT_STAMP,
	OPT_EXPECT,
	OPT_DRY_RUN,
};

static void print_help(void)
{
	printf("migsync consolidate helps squash many revisions into one baseline revision:\n"
	       "it says whether it is safe to squash now, and afterwards stamps the baseline\n"
	       "into every environment.\n"
	       "\n"
	       "Usage:\n"
	       "  migsync consolidate --check [OPTION]...\n"
	       "  migsync consolidate --stamp=REV [--expect=REV] [OPTION]...\n"
	       "\n"
	       "Options:\n"
	       "      --check            check that squashing is safe; list what blocks it\n"
	       "      --stamp=REV        stamp the baseline REV into every environment, in\n"
	       "                         rollout order, through the gates\n"
	       "      --expect=REV       the head the environments share now (default: the\n"
	       "                         one they all hold; may be gone from the scripts)\n"
	       "      --dry-run          with --stamp: check everything; change nothing\n"
	       "  -y, --yes              do not ask before a gated stamp\n"
	       "  -j, --jobs=N           read N databases at a time (default: min(16, databases))\n"
	       "\n");
	cli_print_common_help(25, CLI_HELP_URL | CLI_HELP_SCRIPTS);
	printf("\n"
	       "--check blocks on: an environment that cannot be read, one that is not at the\n"
	       "scripts' single head, a schema that differs from the first environment's (or\n"
	       "an INVALID index), an approval not yet used (not expired, its plan neither\n"
	       "applied nor stamped), a step left in progress, a lint error.\n"
	       "\n"
	       "--stamp refuses to start when a schema differs from the first environment's\n"
	       "or an environment holds other rows than --expect (or REV).\n"
	       "\n"
	       "Exit status:\n"
	       "  0  safe to squash (--check), or stamped\n"
	       "  1  blocked, or a stamp was refused\n"
	       "  2  could not run (usage, inventory, scripts)\n"
	       "  3  waiting for approval: stopped at a gate (the approve command is printed)\n");
}

/*
 * Read the scripts in keep-going mode and lint them; *g is the graph when
 * it can be built, else gerr says why.
 */
static int read_scripts(struct lint_report *report, struct revgraph **g, struct ms_error *gerr,
			struct script_set *set, const struct cli_common *common,
			struct ms_error *err)
{
	struct lint_options opts;
	struct diag_list reader = DIAG_LIST_INIT, problems = DIAG_LIST_INIT;
	struct strvec dirs = STRVEC_INIT, import_path = STRVEC_INIT;
	int ret;

	lint_options_init(&opts);
	ret = cli_script_dirs(&dirs, &import_path, common, err);
	for (size_t i = 0; ret == 0 && i < dirs.nr; i++)
		ret = lint_read_dir(set, &reader, dirs.items[i], 0, &import_path, err);
	if (ret == 0)
		ret = lint_run(report, set, &reader, &opts, err);
	if (ret == 0)
		revgraph_build(g, set, &problems, gerr);
	diag_list_release(&problems);
	diag_list_release(&reader);
	strvec_release(&dirs);
	strvec_release(&import_path);
	lint_options_release(&opts);
	return ret;
}

static void json_targets(struct json_writer *jw, const struct squash_dbs *dbs)
{
	json_key(jw, "targets");
	json_array_begin(jw);
	for (size_t i = 0; i < dbs->nr; i++) {
		const struct squash_db *d = &dbs->items[i];

		json_object_begin(jw);
		json_kv_string(jw, "environment", d->env->name);
		json_kv_string(jw, "database", d->describe);
		cli_json_strvec(jw, "heads", d->snapshot ? &d->snapshot->version_rows : NULL);
		json_kv_string(jw, "fingerprint", d->snapshot ? d->snapshot->fingerprint : NULL);
		json_kv_string(jw, "error", d->snapshot ? NULL : d->err.message);
		json_object_end(jw);
	}
	json_array_end(jw);
}

static void json_blockers(struct json_writer *jw, const struct squash_report *r)
{
	json_key(jw, "blockers");
	json_array_begin(jw);
	for (size_t i = 0; i < r->nr; i++) {
		json_object_begin(jw);
		json_kv_string(jw, "check", r->items[i].check);
		json_kv_string(jw, "environment", r->items[i].environment);
		json_kv_string(jw, "message", r->items[i].message);
		json_object_end(jw);
	}
	json_array_end(jw);
}

static void text_targets(struct strbuf *sb, const struct squash_dbs *dbs)
{
	int width = 0;

	for (size_t i = 0; i < dbs->nr; i++)
		if ((int)strlen(dbs->items[i].label) > width)
			width = (int)strlen(dbs->items[i].label);
	for (size_t i = 0; i < dbs->nr; i++) {
		const struct squash_db *d = &dbs->items[i];
		char *rows = d->snapshot ? plan_rows_text(&d->snapshot->version_rows, ",") : NULL;

		if (d->snapshot)
			strbuf_addf(sb, "  %-*s  %-12s  schema %.12s\n", width, d->label, rows,
				    d->snapshot->fingerprint);
		else
			strbuf_addf(sb, "  %-*s  unreachable\n", width, d->label);
		free(rows);
	}
}

static void render_check(struct strbuf *sb, const struct squash_dbs *dbs,
			 const struct squash_report *r, enum cli_format format)
{
	if (format == FORMAT_JSON) {
		struct json_writer jw;

		json_init(&jw, sb);
		render_json_begin(&jw, "consolidate");
		json_kv_bool(&jw, "safe", !r->nr);
		json_kv_string(&jw, "head", r->head);
		json_kv_string(&jw, "fingerprint", !r->nr && r->reference ?
			       r->reference->snapshot->fingerprint : NULL);
		json_targets(&jw, dbs);
		json_blockers(&jw, r);
		json_object_end(&jw);
		strbuf_addch(sb, '\n');
		return;
	}
	strbuf_addf(sb, "scripts: head %s\n", r->head ? r->head : "(not a single head)");
	text_targets(sb, dbs);
	strbuf_addch(sb, '\n');
	if (!r->nr) {
		strbuf_addf(sb, "safe to squash: %zu database%s at %s, schema %.12s, no pending approvals, lint clean\n",
			    dbs->nr, dbs->nr == 1 ? "" : "s", r->head, r->reference->snapshot->fingerprint);
		return;
	}
	strbuf_addf(sb, "not safe to squash: %zu blocker%s\n", r->nr, r->nr == 1 ? "" : "s");
	for (size_t i = 0; i < r->nr; i++)
		strbuf_addf(sb, "  %-9s  %s\n", r->items[i].check, r->items[i].message);
}

static int run_check(const struct cli_common *common, const struct inventory *inv,
		     unsigned jobs)
{
	struct squash_dbs dbs;
	struct squash_report report;
	struct lint_report lint;
	struct script_set set = SCRIPT_SET_INIT;
	struct revgraph *g = NULL;
	struct ms_error err = MS_ERROR_INIT, gerr = MS_ERROR_INIT;
	struct strbuf sb = STRBUF_INIT;
	int ret = EXIT_OK;

	squash_dbs_init(&dbs);
	squash_report_init(&report);
	lint_report_init(&lint);
	if (read_scripts(&lint, &g, &gerr, &set, common, &err) < 0 ||
	    apply_consolidate_read(&dbs, inv, jobs, &err) < 0) {
		cli_print_error(&err);
		ret = cli_exit_code(&err);
		if (ret == EXIT_PROBLEMS)
			ret = EXIT_CANNOT_RUN;
		goto done;
	}
	squash_check(&report, &(struct squash_check_input){
		.lint = &lint.findings,
		.g = g,
		.graph_err = &gerr,
		.dbs = &dbs,
		.now_ms = clock_wall_ms(),
	});
	render_check(&sb, &dbs, &report, common->format);
	ret = cli_write_stdout(sb.buf, sb.len);
	if (ret == EXIT_OK && report.nr)
		ret = EXIT_PROBLEMS;
done:
	squash_report_release(&report);
	squash_dbs_release(&dbs);
	lint_report_release(&lint);
	revgraph_free(g);
	script_set_release(&set);
	ms_error_release(&gerr);
	ms_error_release(&err);
	strbuf_release(&sb);
	return ret;
}

static int run_stamp(struct cli_common *common, const char *baseline, struct strvec *expect,
		     bool expect_given, bool dry, bool yes, unsigned jobs)
{
	struct squash_dbs dbs;
	struct squash_report report;
	struct promote pr;
	struct apply_options o;
	struct strvec none = STRVEC_INIT;
	struct ms_error err = MS_ERROR_INIT;
	struct strbuf sb = STRBUF_INIT;
	struct json_writer jw;
	bool json = common->format == FORMAT_JSON;
	int ret;

	squash_dbs_init(&dbs);
	squash_report_init(&report);
	promote_init(&pr);
	json_init(&jw, &sb);
	ret = promote_load(&pr, common, &none, NULL, baseline, true);
	if (ret != EXIT_OK)
		goto done;
	if (pr.target.ids.nr != 1) {
		ret = cli_usage_error("consolidate", "--stamp must name one revision (\"%s\" is %zu)",
				      baseline, pr.target.ids.nr);
		goto done;
	}
	if (apply_consolidate_read(&dbs, pr.inv, jobs, &err) < 0) {
		cli_print_error(&err);
		ret = EXIT_CANNOT_RUN;
		goto done;
	}
	squash_check_stamp(&report, expect, &dbs, &pr.target.ids, expect_given);
	if (json) {
		render_json_begin(&jw, "consolidate");
		json_kv_string(&jw, "baseline", pr.target.ids.items[0]);
		promote_json_rows(&jw, "expect", expect->nr || expect_given ? expect : NULL);
		json_targets(&jw, &dbs);
		json_blockers(&jw, &report);
		json_key(&jw, "stages");
		json_array_begin(&jw);
	}
	if (report.nr) {
		for (size_t i = 0; !json && i < report.nr; i++)
			fprintf(stderr, "migsync: error: %s\n", report.items[i].message);
		fprintf(stderr, "migsync: consolidate: nothing was stamped\n");
		if (!json)
			fprintf(stderr, "hint: run migsync consolidate --check with the old scripts, and migsync drift\n");
		ret = EXIT_PROBLEMS;
	}
	promote_stamp_options(&o, &pr, dry, yes);
	for (size_t i = 0; !report.nr && i < pr.envs_nr && ret == EXIT_OK; i++) {
		if (json)
			json_object_begin(&jw);
		ret = promote_stamp(&pr, pr.envs[i], expect->nr || expect_given ? expect : NULL, &o,
				    json ? &jw : NULL);
		if (json)
			json_object_end(&jw);
		if (ret != EXIT_OK && ret != EXIT_GATED && i + 1 < pr.envs_nr)
			fprintf(stderr, "migsync: stopped at %s; later environments were not stamped\n",
				pr.envs[i]->name);
	}
	if (json) {
		json_array_end(&jw);
		json_object_end(&jw);
		strbuf_addch(&sb, '\n');
		if (cli_write_stdout(sb.buf, sb.len) != EXIT_OK && ret == EXIT_OK)
			ret = EXIT_CANNOT_RUN;
	}
done:
	squash_report_release(&report);
	squash_dbs_release(&dbs);
	promote_release(&pr);
	ms_error_release(&err);
	strbuf_release(&sb);
	return ret;
}

int cmd_consolidate(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_COMMON_LONGOPTS,
		{ "check", no_argument, NULL, OPT_CHECK },
		{ "stamp", required_argument, NULL, OPT_STAMP },
		{ "expect", required_argument, NULL, OPT_EXPECT },
		{ "dry-run", no_argument, NULL, OPT_DRY_RUN },
		{ "yes", no_argument, NULL, 'y' },
		{ "jobs", required_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_common common;
	struct strvec expect = STRVEC_INIT;
	struct project project = PROJECT_INIT;
	struct ms_error err = MS_ERROR_INIT;
	const char *baseline = NULL;
	bool check = false, dry = false, yes = false, expect_given = false, probe_ready = false;
	unsigned jobs = 0;
	int ret = EXIT_OK, opt;

	cli_common_init(&common);
	optind = 1;
	while ((opt = getopt_long(argc, argv, CLI_COMMON_SHORTOPTS "yj:", longopts, NULL)) != -1) {
		switch (opt) {
		case OPT_HELP:
			print_help();
			goto done;
		case OPT_CHECK:
			check = true;
			break;
		case OPT_STAMP:
			baseline = optarg;
			break;
		case OPT_EXPECT:
			expect_given = true;
			ret = promote_parse_rows(&expect, "consolidate", optarg);
			if (ret != EXIT_OK)
				goto done;
			break;
		case OPT_DRY_RUN:
			dry = true;
			break;
		case 'y':
			yes = true;
			break;
		case 'j':
			ret = cli_parse_jobs(&jobs, "consolidate", optarg);
			if (ret != EXIT_OK)
				goto done;
			break;
		default:
			ret = cli_default_option(&common, "consolidate", opt, optarg);
			if (ret != EXIT_OK)
				goto done;
		}
	}
	ret = cli_extra_arguments("consolidate", argc, argv, optind);
	if (ret != EXIT_OK)
		goto done;
	if (check == !!baseline) {
		ret = cli_usage_error("consolidate", "give exactly one of --check and --stamp REV");
		goto done;
	}
	if (check && (expect_given || dry || yes)) {
		ret = cli_usage_error("consolidate", "--expect, --dry-run and --yes go with --stamp");
		goto done;
	}
	if (conn_global_init(&err) < 0) {
		cli_print_error(&err);
		ret = EXIT_CANNOT_RUN;
		goto done;
	}
	probe_ready = true;
	if (baseline) {
		ret = run_stamp(&common, baseline, &expect, expect_given, dry, yes, jobs);
		goto done;
	}
	ret = cli_open_project(&project, &common, PROJECT_INVENTORY, 0);
	if (ret == EXIT_OK)
		ret = run_check(&common, project.inv, jobs);
done:
	if (probe_ready)
		conn_global_cleanup();
	project_release(&project);
	strvec_release(&expect);
	ms_error_release(&err);
	cli_common_release(&common);
	return ret;
}
