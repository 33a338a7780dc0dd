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
#include "migsync/strbuf.h"

enum {
	OPT_ID_PATTERN = OPT_FIRST_COMMAND_OPTION,
	OPT_FILE_PATTERN,
	OPT_DISABLE,
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
	       "\n"
	       "Common options:\n"
	       "  -i, --inventory=PATH     inventory directory (default: $MIGSYNC_INVENTORY or environments/)\n"
	       "      --scripts=DIR        versions directory (repeatable)\n"
	       "      --format=FORMAT      output format: text (default) or json\n"
	       "  -h, --help               show this help, then exit\n"
	       "\n"
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
	printf("\n"
	       "Exit status:\n"
	       "  0  no error found (warnings allowed)\n"
	       "  1  errors found\n"
	       "  2  could not run (usage, an invalid pattern, no scripts)\n");
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

static void print_text(struct strbuf *sb, const struct lint_report *r)
{
	for (size_t i = 0; i < r->findings.nr; i++) {
		const struct diag *d = &r->findings.items[i];

		if (d->file && d->line)
			strbuf_addf(sb, "%s:%u: ", d->file, d->line);
		else if (d->file)
			strbuf_addf(sb, "%s: ", d->file);
		strbuf_addf(sb, "%s %s: %s\n", diag_severity_name(d->severity), d->code, d->message);
		if (d->hint)
			strbuf_addf(sb, "  hint: %s\n", d->hint);
	}
	if (r->findings.nr)
		strbuf_addch(sb, '\n');
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

static void print_json(struct strbuf *sb, const struct lint_report *r)
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
		json_object_end(&jw);
	}
	json_array_end(&jw);
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
		{ NULL, 0, NULL, 0 },
	};
	struct cli_common common;
	struct lint_options opts;
	struct lint_report report;
	struct script_set set = SCRIPT_SET_INIT;
	struct diag_list reader = DIAG_LIST_INIT;
	struct strvec dirs = STRVEC_INIT;
	struct ms_error err = MS_ERROR_INIT;
	struct strbuf out = STRBUF_INIT;
	int ret = EXIT_OK, opt;

	cli_common_init(&common);
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
		default:
			ret = cli_default_option(&common, "lint", opt, optarg);
			if (ret != EXIT_OK)
				goto done;
		}
	}
	if (optind < argc) {
		ret = cli_usage_error("lint", "too many arguments (first is \"%s\")", argv[optind]);
		goto done;
	}

	if (cli_script_dirs(&dirs, &common, &err) < 0) {
		cli_print_error(&err);
		ret = cli_exit_code(&err);
		goto done;
	}
	for (size_t i = 0; i < dirs.nr; i++) {
		if (lint_read_dir(&set, &reader, dirs.items[i], 0, &err) < 0) {
			cli_print_error(&err);
			ret = EXIT_CANNOT_RUN;
			goto done;
		}
	}
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
		print_json(&out, &report);
	else
		print_text(&out, &report);
	ret = cli_write_stdout(out.buf, out.len);
	if (ret == EXIT_OK && report.errors)
		ret = EXIT_PROBLEMS;
done:
	strbuf_release(&out);
	ms_error_release(&err);
	strvec_release(&dirs);
	diag_list_release(&reader);
	script_set_release(&set);
	lint_report_release(&report);
	lint_options_release(&opts);
	cli_common_release(&common);
	return ret;
}
