/*
 * Shared pieces of the commands: common options, error printing, and
 * finding the revision scripts.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "migsync/json.h"
#include "migsync/project.h"
#include "migsync/strbuf.h"

void cli_common_init(struct cli_common *c)
{
	c->format = FORMAT_TEXT;
	strvec_init(&c->scripts_dirs);
	c->inventory = NULL;
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
	va_list ap;

	fprintf(stderr, "migsync %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'migsync %s --help' for more information.\n", cmd);
	return EXIT_CANNOT_RUN;
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
	case OPT_SHARD:
		return cli_parse_shard(c, cmd, arg) == EXIT_OK ? 1 : -1;
	case '?':
		fprintf(stderr, "Try 'migsync %s --help' for more information.\n", cmd);
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
}

void cli_print_warnings(const struct diag_list *warnings)
{
	for (size_t i = 0; i < warnings->nr; i++) {
		const struct diag *d = &warnings->items[i];

		if (d->file && d->line)
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
	}
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

int cli_script_dirs(struct strvec *dirs, const struct cli_common *c, struct ms_error *err)
{
	struct project_options o = { c->inventory, &c->scripts_dirs, 0, 0 };

	return project_script_dirs(dirs, &o, err);
}

int cli_open_project(struct project *p, const struct cli_common *c, unsigned need,
		     unsigned script_flags)
{
	struct project_options o = { c->inventory, &c->scripts_dirs, need, script_flags };
	struct ms_error err = MS_ERROR_INIT;
	int ret = project_open(p, &o, &err);

	if (ret == 0)
		ret = cli_shard_apply(p->inv, c, &err);
	cli_print_warnings(&p->diags);
	if (ret < 0) {
		cli_print_warnings(&p->graph_problems);
		cli_print_error(&err);
	}
	ms_error_release(&err);
	return ret < 0 ? EXIT_CANNOT_RUN : EXIT_OK;
}
