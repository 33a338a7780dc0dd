/*
 * Shared pieces of the commands: common options, error printing, and
 * finding the revision scripts.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/render/render.h"
#include "migsync/json.h"
#include "migsync/project.h"
#include "migsync/safety.h"
#include "migsync/strbuf.h"

void cli_common_init(struct cli_common *c)
{
	c->format = FORMAT_TEXT;
	strvec_init(&c->scripts_dirs);
	c->inventory = NULL;
	c->url = NULL;
	c->shard.index = 0;
	c->shard.count = 0;
	c->shardable = false;
}

void cli_common_release(struct cli_common *c)
{
	strvec_release(&c->scripts_dirs);
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
	struct strbuf msg = STRBUF_INIT, hint = STRBUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	strbuf_vaddf(&msg, fmt, ap);
	va_end(ap);
	strbuf_addf(&hint, "Try 'migsync%s%s --help' for more information.", cmd ? " " : "",
		    cmd ? cmd : "");
	fprintf(stderr, "migsync%s%s: %s\n%s\n", cmd ? " " : "", cmd ? cmd : "", msg.buf, hint.buf);
	render_json_note("usage", msg.buf, hint.buf, NULL);
	strbuf_release(&msg);
	strbuf_release(&hint);
	return EXIT_CANNOT_RUN;
}

static char **cli_argv;

void cli_set_argv(char **argv)
{
	cli_argv = argv;
}

int cli_option_error(const char *cmd, int opt)
{
	/* getopt_long has stepped past a long option and the last letter of a cluster */
	const char *arg = cli_argv && optind > 0 ? cli_argv[optind - 1] : "";
	int len = (int)strcspn(arg, "=");
	bool is_long = arg[0] == '-' && arg[1] == '-';

	if (opt == ':' && is_long)
		return cli_usage_error(cmd, "option \"%.*s\" requires an argument", len, arg);
	if (opt == ':')
		return cli_usage_error(cmd, "option \"-%c\" requires an argument", optopt);
	/* optopt is 0 for an unknown long option, its code for a known one given a value */
	if (is_long && optopt)
		return cli_usage_error(cmd, "option \"%.*s\" doesn't allow an argument", len, arg);
	if (is_long || !optopt)
		return cli_usage_error(cmd, "unrecognized option \"%.*s\"", len, arg);
	return cli_usage_error(cmd, "unrecognized option \"-%c\"", optopt);
}

int cli_common_option(struct cli_common *c, const char *cmd, int opt, const char *arg)
{
	switch (opt) {
	case OPT_FORMAT:
		if (!strcmp(arg, "text"))
			c->format = FORMAT_TEXT;
		else if (!strcmp(arg, "json"))
			c->format = FORMAT_JSON;
		else {
			cli_usage_error(cmd, "unknown format \"%s\" (expected text or json)", arg);
			return -1;
		}
		return 1;
	case OPT_SCRIPTS:
		strvec_push(&c->scripts_dirs, arg);
		return 1;
	case 'i':
		c->inventory = arg;
		return 1;
	case OPT_URL:
		c->url = arg;
		return 1;
	case OPT_SHARD:
		return cli_parse_shard(c, cmd, arg) == EXIT_OK ? 1 : -1;
	case '?':
	case ':':
		cli_option_error(cmd, opt);
		return -1;
	default:
		return 0;
	}
}

int cli_default_option(struct cli_common *c, const char *cmd, int opt, const char *arg)
{
	int r = cli_common_option(c, cmd, opt, arg);

	if (r == 0)
		cli_usage_error(cmd, "unexpected option");
	return r > 0 ? EXIT_OK : EXIT_CANNOT_RUN;
}

static void help_line(int column, const char *option, const char *text)
{
	printf("%-*s%s\n", column, option, text);
}

void cli_print_common_help(int column, unsigned what)
{
	printf("Common options:\n");
	help_line(column, "  -i, --inventory=PATH",
		  "inventory directory (default: $MIGSYNC_INVENTORY or environments/)");
	if (what & CLI_HELP_URL)
		help_line(column, "      --url=URL",
			  "one database instead of an inventory (also $DATABASE_URL)");
	if (what & CLI_HELP_SCRIPTS)
		help_line(column, "      --scripts=DIR",
			  "versions directory (default: the inventory's migrations.scripts)");
	else if (what & CLI_HELP_SCRIPTS_REPEATABLE)
		help_line(column, "      --scripts=DIR", "versions directory (repeatable)");
	help_line(column, "      --format=FORMAT", what & CLI_HELP_SUMMARY ?
		  "summary format: text (default) or json" : "output format: text (default) or json");
	help_line(column, "  -h, --help", "show this help, then exit");
}

int cli_extra_arguments(const char *cmd, int argc, char **argv, int first)
{
	if (first >= argc)
		return EXIT_OK;
	return cli_usage_error(cmd, "too many arguments (first is \"%s\")", argv[first]);
}

int cli_parse_jobs(unsigned *jobs, const char *cmd, const char *arg)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(arg, &end, 10);
	if (errno || end == arg || *end || v < 1 || v > 1024)
		return cli_usage_error(cmd, "invalid number of jobs \"%s\" (expected 1 to 1024)", arg);
	*jobs = (unsigned)v;
	return EXIT_OK;
}

void cli_add_joined(struct strbuf *sb, const struct strvec *v, const char *sep, const char *empty)
{
	if (!v->nr)
		strbuf_addstr(sb, empty);
	for (size_t i = 0; i < v->nr; i++)
		strbuf_addf(sb, "%s%s", i ? sep : "", v->items[i]);
}

void cli_json_strvec(struct json_writer *jw, const char *key, const struct strvec *v)
{
	json_key(jw, key);
	json_array_begin(jw);
	for (size_t i = 0; v && i < v->nr; i++)
		json_string(jw, v->items[i]);
	json_array_end(jw);
}

void cli_print_error(const struct ms_error *err)
{
	fprintf(stderr, "migsync: error: %s\n",
		err->message ? err->message : "unknown error");
	if (err->hint)
		fprintf(stderr, "hint: %s\n", err->hint);
	render_json_note(render_json_error_code(err->code), err->message, err->hint, NULL);
}

void cli_print_warnings(const struct diag_list *warnings)
{
	for (size_t i = 0; i < warnings->nr; i++) {
		const struct diag *d = &warnings->items[i];

		if (d->file && d->line && d->column)
			fprintf(stderr, "migsync: %s: %s:%u:%u: %s\n",
				diag_severity_name(d->severity), d->file, d->line, d->column, d->message);
		else if (d->file && d->line)
			fprintf(stderr, "migsync: %s: %s:%u: %s\n",
				diag_severity_name(d->severity), d->file, d->line, d->message);
		else if (d->file)
			fprintf(stderr, "migsync: %s: %s: %s\n",
				diag_severity_name(d->severity), d->file, d->message);
		else
			fprintf(stderr, "migsync: %s: %s\n",
				diag_severity_name(d->severity), d->message);
		if (d->hint)
			fprintf(stderr, "hint: %s\n", d->hint);
		render_json_note_diag(d);
	}
}

void cli_error_if_listed(struct ms_error *err, const struct diag_list *diags)
{
	size_t errors = diag_list_count(diags, DIAG_ERROR);
	bool listed = false;
	int code = err->code;

	for (size_t i = 0; i < diags->nr && !listed && err->message; i++) {
		const struct diag *d = &diags->items[i];
		char *where;

		if (d->severity != DIAG_ERROR || !d->file)
			continue;
		where = xstrfmt("%s:%u:", d->file, d->line);
		listed = starts_with(err->message, where);
		free(where);
	}
	if (!listed)
		return;
	ms_error_release(err);
	ms_error_set(err, code, "%zu problem%s (listed above)", errors, errors == 1 ? "" : "s");
}

int cli_exit_code(const struct ms_error *err)
{
	switch (err->code) {
	case MS_ERR_NOTFOUND:
	case MS_ERR_AMBIGUOUS:
	case MS_ERR_USAGE:
	case MS_ERR_CONFIG:
	case MS_ERR_IO:
	case MS_ERR_PARSE:
	case MS_ERR_GRAPH:
		return EXIT_CANNOT_RUN;
	default:
		return EXIT_PROBLEMS;
	}
}

int cli_db_exit_code(const struct ms_error *err)
{
	return err->code == MS_ERR_IO ? EXIT_PROBLEMS : cli_exit_code(err);
}

int cli_write_stdout(const char *buf, size_t len)
{
	if (len && fwrite(buf, 1, len, stdout) != len)
		return EXIT_CANNOT_RUN;
	if (fflush(stdout) != 0) {
		fprintf(stderr, "migsync: error: could not write to standard output: %s\n",
			strerror(errno));
		return EXIT_CANNOT_RUN;
	}
	return EXIT_OK;
}

int cli_script_dirs(struct strvec *dirs, struct strvec *import_path,
		    const struct cli_common *c, struct ms_error *err)
{
	struct project_options o = { c->inventory, &c->scripts_dirs, 0, 0, c->url };

	return project_script_dirs(dirs, import_path, &o, err);
}

bool cli_single_database(const struct cli_common *c)
{
	struct project_options o = { c->inventory, &c->scripts_dirs, PROJECT_INVENTORY, 0, c->url };

	return project_single_database(&o);
}

int cli_open_project(struct project *p, const struct cli_common *c, unsigned need,
		     unsigned script_flags)
{
	struct project_options o = { c->inventory, &c->scripts_dirs, need, script_flags, c->url };
	struct ms_error err = MS_ERROR_INIT;
	int ret = project_open(p, &o, &err);

	if (ret == 0)
		ret = cli_shard_apply(p->inv, c, &err);
	cli_print_warnings(&p->diags);
	if (ret < 0) {
		cli_print_warnings(&p->graph_problems);
		cli_error_if_listed(&err, &p->diags);
		cli_print_error(&err);
	}
	ms_error_release(&err);
	return ret < 0 ? EXIT_CANNOT_RUN : EXIT_OK;
}

void cli_format_time(char *buf, size_t len, int64_t ms)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (!ms) {
		snprintf(buf, len, "never");
		return;
	}
	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void cli_safety_review(struct safety_report *out, const struct script_set *set,
		       const struct inventory *inv)
{
	struct safety_options so;
	struct ms_error err = MS_ERROR_INIT;
	char *python = NULL;
	bool py = false;

	safety_options_for(&so, inv);
	for (size_t i = 0; i < set->nr && !py; i++)
		py = set->items[i].kind == SCRIPT_PYTHON;
	if (py && project_python_find(&python, so.python, &err) == 0)
		so.python = python;
	else if (py)
		so.python_error = err.message;
	safety_review_scripts(out, set, &so);
	free(python);
	ms_error_release(&err);
}
