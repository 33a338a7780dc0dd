/*
 * JSON objects more than one command writes (see render.h), and the
 * envelope of every document: format, migsync, generated_at and, when the
 * command failed, the error object (docs/json/README.md).
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/render/render.h"
#include "cli/status_collect.h"
#include "migsync/clock.h"
#include "migsync/json.h"
#include "migsync/plan.h"
#include "migsync_config.h"

/*
 * The first error the command printed, for the error document main()
 * writes when the command wrote none (the CLI runs on one thread).
 */
static struct {
	char *code;
	char *message;
	char *hint;
	char *where;
	char *diag_message;	/* the first error among the problems printed */
	char *diag_hint;
	char *diag_where;
	bool wrote_document;
} noted;

void render_json_checksum_mismatch(struct json_writer *jw, bool with_database,
				   const char *database, const struct checksum_mismatch *m)
{
	json_object_begin(jw);
	if (with_database)
		json_kv_string(jw, "database", database);
	json_kv_string(jw, "revision", m->revision);
	json_kv_string(jw, "file", m->file);
	json_kv_string(jw, "applied_sha256", m->applied_sha256);
	json_kv_string(jw, "file_sha256", m->file_sha256);
	json_object_end(jw);
}

void render_json_begin(struct json_writer *jw, const char *command)
{
	noted.wrote_document = true;
	json_document_begin(jw, command, MIGSYNC_VERSION, clock_wall_ms());
}

const char *render_json_error_code(int code)
{
	switch (code) {
	case MS_ERR_USAGE:
		return "usage";
	case MS_ERR_CONFIG:
		return "config";
	case MS_ERR_IO:
		return "io";
	case MS_ERR_PARSE:
		return "parse";
	case MS_ERR_GRAPH:
		return "graph";
	case MS_ERR_NOTFOUND:
		return "not_found";
	case MS_ERR_AMBIGUOUS:
		return "ambiguous";
	case MS_ERR_DB:
		return "database";
	default:
		return "failed";
	}
}

/*
 * Where a message says it is about, from its subject: "FILE:LINE[:COL]"
 * or 'file "F", line N' for a file, 'environment "E"' (and its database)
 * for an environment. NULL when it names neither; caller frees.
 */
static char *message_where(const char *m)
{
	const char *colon;
	size_t n = 0;

	if (!m)
		return NULL;
	if (!strncmp(m, "environment \"", 13) || !strncmp(m, "inventory \"", 11) ||
	    !strncmp(m, "file \"", 6)) {
		const char *q = strchr(strchr(m, '"') + 1, '"');

		if (!q)
			return NULL;
		n = (size_t)(q + 1 - m);
		/* environment "prod" (tenant_0150), file "x.py", line 3 */
		if (!strncmp(q + 1, " (", 2) && strchr(q + 1, ')'))
			n = (size_t)(strchr(q + 1, ')') + 1 - m);
		else if (!strncmp(q + 1, ", line ", 7) && isdigit((unsigned char)q[8]))
			for (n = (size_t)(q + 8 - m); isdigit((unsigned char)m[n]); n++)
				;
		return xstrndup(m, n);
	}
	/* FILE:LINE: or FILE:LINE:COL: before the first blank */
	colon = strchr(m, ':');
	if (!colon || colon == m || memchr(m, ' ', (size_t)(colon - m)) || !isdigit((unsigned char)colon[1]))
		return NULL;
	for (n = (size_t)(colon + 1 - m); isdigit((unsigned char)m[n]) || (m[n] == ':' &&
	     isdigit((unsigned char)m[n + 1])); n++)
		;
	return m[n] == ':' ? xstrndup(m, n) : NULL;
}

void render_json_error(struct json_writer *jw, const char *code, const char *message,
		       const char *hint, const char *where)
{
	char *guess = where ? NULL : message_where(message);

	json_key(jw, "error");
	json_object_begin(jw);
	json_kv_string(jw, "code", code);
	json_kv_string(jw, "message", message ? message : "failed");
	json_kv_string(jw, "hint", hint);
	json_kv_string(jw, "where", where ? where : guess);
	json_object_end(jw);
	free(guess);
}

void render_json_ms_error(struct json_writer *jw, const struct ms_error *err)
{
	/* depth 1: the document's own object */
	if (jw->depth == 1)
		render_json_error(jw, render_json_error_code(err->code), err->message, err->hint, NULL);
	else
		json_kv_string(jw, "error", err->message ? err->message : "failed");
}

void render_json_note(const char *code, const char *message, const char *hint,
		      const char *where)
{
	if (noted.message)
		return;
	noted.code = xstrdup(code);
	noted.message = xstrdup(message ? message : "failed");
	noted.hint = hint ? xstrdup(hint) : NULL;
	noted.where = where ? xstrdup(where) : NULL;
}

void render_json_error_noted(struct json_writer *jw, const char *message)
{
	if (noted.message && !noted.where && noted.diag_where)
		/* a summary ("3 problems"): where the first problem is, and its hint */
		render_json_error(jw, noted.code, noted.message,
				  noted.hint ? noted.hint : noted.diag_hint, noted.diag_where);
	else if (noted.message)
		render_json_error(jw, noted.code, noted.message, noted.hint, noted.where);
	else if (noted.diag_message)
		render_json_error(jw, "failed", noted.diag_message, noted.diag_hint, noted.diag_where);
	else
		render_json_error(jw, "failed", message, NULL, NULL);
}

void render_json_pending(struct json_writer *jw, enum status_state state, const char *error,
			 const struct strvec *pending)
{
	if (error || state == STATUS_UNKNOWN || state == STATUS_MISSING ||
	    state == STATUS_UNREACHABLE) {
		json_key(jw, "pending");
		json_null(jw);
		return;
	}
	cli_json_strvec(jw, "pending", pending);
}

void render_json_status_target(struct json_writer *jw, const struct cli_status *c,
			       size_t env, size_t k)
{
	const struct status_target *t = &c->report.envs[env].targets[k];
	const struct db_target *db = cli_status_target(c, env, k);

	json_kv_string(jw, "database", db ? db->describe : NULL);
	json_kv_string(jw, "dbname", db && db->dbname && db->dbname[0] ? db->dbname : NULL);
	json_kv_string(jw, "schema", db ? db->schema : NULL);
	json_kv_string(jw, "state", status_state_name(t->result.state));
	cli_json_strvec(jw, "heads", &t->result.heads);
	render_json_pending(jw, t->result.state, t->result.error, &t->result.pending);
	json_kv_string(jw, "error", t->result.error);
	json_kv_string(jw, "note", t->result.note);
}

void render_json_note_diag(const struct diag *d)
{
	if (d->severity != DIAG_ERROR || noted.diag_message)
		return;
	noted.diag_message = xstrdup(d->message ? d->message : "failed");
	noted.diag_hint = d->hint ? xstrdup(d->hint) : NULL;
	if (d->file && d->line && d->column)
		noted.diag_where = xstrfmt("%s:%u:%u", d->file, d->line, d->column);
	else if (d->file && d->line)
		noted.diag_where = xstrfmt("%s:%u", d->file, d->line);
	else if (d->file)
		noted.diag_where = xstrdup(d->file);
}

/* The last --format among a command's arguments is json (getopt keeps the last). */
static bool json_asked(int argc, char **argv)
{
	bool json = false;

	for (int i = 1; i < argc && strcmp(argv[i], "--"); i++) {
		if (!strncmp(argv[i], "--format=", 9))
			json = !strcmp(argv[i] + 9, "json");
		else if (!strcmp(argv[i], "--format") && i + 1 < argc)
			json = !strcmp(argv[++i], "json");
	}
	return json;
}

int render_json_finish(const char *command, int argc, char **argv, int ret)
{
	struct strbuf sb = STRBUF_INIT;
	struct json_writer jw;

	if (ret != EXIT_OK && !noted.wrote_document && json_asked(argc, argv)) {
		json_init(&jw, &sb);
		render_json_begin(&jw, command);
		render_json_error_noted(&jw, "the command failed; see standard error");
		json_object_end(&jw);
		strbuf_addch(&sb, '\n');
		cli_write_stdout(sb.buf, sb.len);
	}
	strbuf_release(&sb);
	free(noted.code);
	free(noted.message);
	free(noted.hint);
	free(noted.where);
	free(noted.diag_message);
	free(noted.diag_hint);
	free(noted.diag_where);
	return ret;
}
