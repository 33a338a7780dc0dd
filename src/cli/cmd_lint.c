/*
 * migsync lint: run the lint rules over the revision scripts and print
 * the findings and a health summary per category.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/render/render.h"
#include "migsync/json.h"
#include "migsync/lint.h"
#include "migsync/project.h"
#include "migsync/safety.h"
#include "migsync/strbuf.h"

enum {
	OPT_ID_PATTERN = OPT_FIRST_COMMAND_OPTION,
	OPT_FILE_PATTERN,
	OPT_DISABLE,
	OPT_RULES,
};

static void print_help(void)
{
	size_t nr;
	const struct lint_rule *rules = lint_rules(&nr);

	printf("migsync lint checks the revision scripts for problems and reports their health.\n"
	       "\n"
	       "Usage:\n"
	       "  migsync lint [OPTION]...\n"
	       "\n"
	       "Options:\n"
	       "      --disable=CODE       skip a rule (repeatable, or CODE,CODE...)\n"
	       "      --file-pattern=ERE   file names must match this POSIX extended regex\n"
	       "      --id-pattern=ERE     revision ids must match this POSIX extended regex\n"
	       "      --rules              list every rule with its rationale, then exit\n"
	       "\n");
	cli_print_common_help(27, CLI_HELP_SCRIPTS_REPEATABLE);
	printf("\n"
	       "Default patterns:\n"
	       "  id    %s\n"
	       "        (alembic's 12 hex characters, a 32-character uuid, or a counter or\n"
	       "        date such as 0001, 20250824 or 20250824_001)\n"
	       "  file  %s\n"
	       "        (<rev>_<slug>.py or .sql, optionally after a \"<date>-\" prefix)\n"
	       "\n"
	       "Rules:\n",
	       LINT_DEFAULT_ID_PATTERN, LINT_DEFAULT_FILE_PATTERN);
	for (size_t i = 0; i < nr; i++)
		printf("  %s  %-8s %-14s %s\n", rules[i].code,
		       diag_severity_name(rules[i].severity),
		       lint_category_name(rules[i].category), rules[i].summary);
	printf("  MS100-MS114       safety   the safety review (see --rules)\n"
	       "\n"
	       "Exit status:\n"
	       "  0  no error found (warnings allowed)\n"
	       "  1  errors found\n"
	       "  2  could not run (usage, an invalid pattern, no scripts)\n");
}

/* The keys a safety finding adds: rule, column, statement, direction, why and what instead. */
static void json_safety_detail(struct json_writer *jw, const struct diag *d)
{
	const struct safety_rule *rule = safety_rule_find(d->rule);

	json_kv_string(jw, "rule", d->rule);
	json_key(jw, "column");
	if (d->column)
		json_int(jw, d->column);
	else
		json_null(jw);
	json_kv_string(jw, "statement", d->statement);
	json_kv_string(jw, "direction", d->down ? "down" : "up");
	json_kv_string(jw, "why", rule ? rule->why : NULL);
	json_kv_string(jw, "instead", rule ? rule->instead : NULL);
}

/* lint --rules: every rule with what it finds and, for the safety rules, why and what instead. */
static void print_rules(struct strbuf *sb, enum cli_format format)
{
	size_t nr, snr;
	const struct lint_rule *rules = lint_rules(&nr);
	const struct safety_rule *srules = safety_rules(&snr);
	struct json_writer jw;

	if (format == FORMAT_JSON) {
		json_init(&jw, sb);
		render_json_begin(&jw, "lint-rules");
		json_key(&jw, "rules");
		json_array_begin(&jw);
		for (size_t i = 0; i < nr; i++) {
			json_object_begin(&jw);
			json_kv_string(&jw, "code", rules[i].code);
			json_kv_string(&jw, "severity", diag_severity_name(rules[i].severity));
			json_kv_string(&jw, "category", lint_category_name(rules[i].category));
			json_kv_string(&jw, "summary", rules[i].summary);
			json_object_end(&jw);
		}
		for (size_t i = 0; i < snr; i++) {
			json_object_begin(&jw);
			json_kv_string(&jw, "code", srules[i].code);
			json_kv_string(&jw, "rule", srules[i].name);
			json_kv_string(&jw, "severity", i ? "warning" : "error");
			json_kv_string(&jw, "category", lint_category_name(LINT_SAFETY));
			json_kv_string(&jw, "summary", srules[i].summary);
			json_kv_string(&jw, "why", srules[i].why);
			json_kv_string(&jw, "instead", srules[i].instead);
			json_object_end(&jw);
		}
		json_array_end(&jw);
		json_object_end(&jw);
		strbuf_addch(sb, '\n');
		return;
	}
	strbuf_addstr(sb, "Revision rules:\n");
	for (size_t i = 0; i < nr; i++)
		strbuf_addf(sb, "  %s  %-8s %-14s %s\n", rules[i].code,
			    diag_severity_name(rules[i].severity),
			    lint_category_name(rules[i].category), rules[i].summary);
	strbuf_addstr(sb, "\nSafety rules (on PostgreSQL's parse tree of each upgrade):\n");
	for (size_t i = 0; i < snr; i++)
		strbuf_addf(sb, "\n  %s  %s\n    finds:   %s\n    why:     %s\n    instead: %s\n",
			    srules[i].code, srules[i].name, srules[i].summary, srules[i].why,
			    srules[i].instead);
}

/* Add the codes of a --disable argument, which may be a comma-separated list. */
static void add_disabled(struct strvec *disabled, const char *arg)
{
	const char *p = arg;

	while (*p) {
		size_t n = strcspn(p, ", ");

		if (n)
			strvec_push_owned(disabled, xstrndup(p, n));
		p += n;
		p += strspn(p, ", ");
	}
}

static void print_text(struct strbuf *sb, const struct lint_report *r,
		       const struct safety_report *safety)
{
	for (size_t i = 0; i < r->findings.nr; i++) {
		const struct diag *d = &r->findings.items[i];

		if (d->file && d->line && d->column)
			strbuf_addf(sb, "%s:%u:%u: ", d->file, d->line, d->column);
		else if (d->file && d->line)
			strbuf_addf(sb, "%s:%u: ", d->file, d->line);
		else if (d->file)
			strbuf_addf(sb, "%s: ", d->file);
		strbuf_addf(sb, "%s %s", diag_severity_name(d->severity), d->code);
		if (d->rule)
			strbuf_addf(sb, " %s", d->rule);
		strbuf_addf(sb, ": %s\n", d->message);
		if (d->rule && d->revision)
			strbuf_addf(sb, "  revision: %s\n", d->revision);
		if (d->statement)
			strbuf_addf(sb, "  statement: %s\n", d->statement);
		if (d->hint)
			strbuf_addf(sb, "  %s: %s\n", d->rule ? "instead" : "hint", d->hint);
	}
	if (r->findings.nr)
		strbuf_addch(sb, '\n');
	if (safety->skipped)
		strbuf_addf(sb, "safety review skipped for %zu Alembic revision%s: %s\n",
			    safety->skipped_nr, safety->skipped_nr == 1 ? "" : "s", safety->skipped);
	strbuf_addf(sb, "%zu revision%s, %zu error%s, %zu warning%s\n",
		    r->revisions, r->revisions == 1 ? "" : "s",
		    r->errors, r->errors == 1 ? "" : "s",
		    r->warnings, r->warnings == 1 ? "" : "s");
	strbuf_addf(sb, "%-15s %11s %8s\n", "category", "clean/total", "percent");
	for (size_t c = 0; c < LINT_CATEGORY_NR; c++) {
		const struct lint_category_count *k = &r->categories[c];
		char ratio[48];

		snprintf(ratio, sizeof(ratio), "%zu/%zu", k->clean, k->total);
		strbuf_addf(sb, "%-15s %11s %7.1f%%\n", lint_category_name((enum lint_category)c),
			    ratio, lint_category_percent(k));
	}
}

static void print_json(struct strbuf *sb, const struct lint_report *r,
		       const struct safety_report *safety)
{
	struct json_writer jw;

	json_init(&jw, sb);
	render_json_begin(&jw, "lint");
	json_key(&jw, "findings");
	json_array_begin(&jw);
	for (size_t i = 0; i < r->findings.nr; i++) {
		const struct diag *d = &r->findings.items[i];

		json_object_begin(&jw);
		json_kv_string(&jw, "code", d->code);
		json_kv_string(&jw, "severity", diag_severity_name(d->severity));
		json_kv_string(&jw, "file", d->file);
		json_key(&jw, "line");
		if (d->line)
			json_int(&jw, d->line);
		else
			json_null(&jw);
		json_kv_string(&jw, "revision", d->revision);
		json_kv_string(&jw, "message", d->message);
		json_kv_string(&jw, "hint", d->hint);
		if (d->rule)
			json_safety_detail(&jw, d);
		json_object_end(&jw);
	}
	json_array_end(&jw);
	json_key(&jw, "safety");
	json_object_begin(&jw);
	json_kv_int(&jw, "reviewed", (int64_t)safety->reviewed);
	json_kv_int(&jw, "skipped", (int64_t)safety->skipped_nr);
	json_kv_string(&jw, "skipped_reason", safety->skipped);
	json_kv_int(&jw, "allowed", (int64_t)(safety->findings.nr -
					      safety_list_unallowed(&safety->findings)));
	json_object_end(&jw);
	json_key(&jw, "summary");
	json_object_begin(&jw);
	json_kv_int(&jw, "revisions", (int64_t)r->revisions);
	json_kv_int(&jw, "errors", (int64_t)r->errors);
	json_kv_int(&jw, "warnings", (int64_t)r->warnings);
	json_key(&jw, "categories");
	json_array_begin(&jw);
	for (size_t c = 0; c < LINT_CATEGORY_NR; c++) {
		json_object_begin(&jw);
		json_kv_string(&jw, "name", lint_category_name((enum lint_category)c));
		json_kv_int(&jw, "clean", (int64_t)r->categories[c].clean);
		json_kv_int(&jw, "total", (int64_t)r->categories[c].total);
		json_key(&jw, "percent");
		json_double(&jw, lint_category_percent(&r->categories[c]));
		json_object_end(&jw);
	}
	json_array_end(&jw);
	json_object_end(&jw);
	json_object_end(&jw);
	strbuf_addch(sb, '\n');
}

int cmd_lint(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_COMMON_LONGOPTS,
		{ "id-pattern", required_argument, NULL, OPT_ID_PATTERN },
		{ "file-pattern", required_argument, NULL, OPT_FILE_PATTERN },
		{ "disable", required_argument, NULL, OPT_DISABLE },
		{ "rules", no_argument, NULL, OPT_RULES },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_common common;
	struct lint_options opts;
	struct lint_report report;
	struct script_set set = SCRIPT_SET_INIT;
	struct diag_list reader = DIAG_LIST_INIT;
	struct strvec dirs = STRVEC_INIT, import_path = STRVEC_INIT;
	struct ms_error err = MS_ERROR_INIT;
	struct strbuf out = STRBUF_INIT;
	struct safety_report safety;
	struct safety_list both = SAFETY_LIST_INIT;
	struct project proj;
	struct project_options po = { NULL, NULL, 0, 0, NULL };
	bool rules = false;
	int ret = EXIT_OK, opt;

	cli_common_init(&common);
	safety_report_init(&safety);
	project_init(&proj);
	lint_options_init(&opts);
	lint_report_init(&report);
	optind = 1;
	while ((opt = getopt_long(argc, argv, CLI_COMMON_SHORTOPTS, longopts, NULL)) != -1) {
		switch (opt) {
		case OPT_HELP:
			print_help();
			goto done;
		case OPT_ID_PATTERN:
			opts.id_pattern = optarg;
			break;
		case OPT_FILE_PATTERN:
			opts.file_pattern = optarg;
			break;
		case OPT_DISABLE:
			add_disabled(&opts.disabled, optarg);
			break;
		case OPT_RULES:
			rules = true;
			break;
		default:
			ret = cli_default_option(&common, "lint", opt, optarg);
			if (ret != EXIT_OK)
				goto done;
		}
	}
	ret = cli_extra_arguments("lint", argc, argv, optind);
	if (ret != EXIT_OK)
		goto done;

	if (rules) {
		print_rules(&out, common.format);
		ret = cli_write_stdout(out.buf, out.len);
		goto done;
	}
	if (cli_script_dirs(&dirs, &import_path, &common, &err) < 0) {
		cli_print_error(&err);
		ret = cli_exit_code(&err);
		goto done;
	}
	for (size_t i = 0; i < dirs.nr; i++) {
		if (lint_read_dir(&set, &reader, dirs.items[i], SCRIPTS_KEEP_SQL, &import_path,
				  &err) < 0) {
			cli_print_error(&err);
			ret = EXIT_CANNOT_RUN;
			goto done;
		}
	}
	/* The inventory only says where Alembic is; lint runs without one. */
	po.inventory = common.inventory;
	if (project_open(&proj, &po, &err) < 0)
		ms_error_release(&err);
	safety.alembic_downgrades = true;
	cli_safety_review(&safety, &set, proj.inv);
	/* lint alone reports the downgrades' findings too */
	safety_list_copy(&both, &safety.findings, NULL);
	safety_list_copy(&both, &safety.down_findings, NULL);
	opts.safety = &both;
	if (lint_run(&report, &set, &reader, &opts, &err) < 0) {
		if (err.code == MS_ERR_USAGE)
			ret = cli_usage_error("lint", "%s", err.message);
		else {
			cli_print_error(&err);
			ret = cli_exit_code(&err);
		}
		goto done;
	}

	if (common.format == FORMAT_JSON)
		print_json(&out, &report, &safety);
	else
		print_text(&out, &report, &safety);
	ret = cli_write_stdout(out.buf, out.len);
	if (ret == EXIT_OK && report.errors)
		ret = EXIT_PROBLEMS;
done:
	strbuf_release(&out);
	safety_list_release(&both);
	safety_report_release(&safety);
	project_release(&proj);
	ms_error_release(&err);
	strvec_release(&dirs);
	strvec_release(&import_path);
	diag_list_release(&reader);
	script_set_release(&set);
	lint_report_release(&report);
	lint_options_release(&opts);
	cli_common_release(&common);
	return ret;
}
