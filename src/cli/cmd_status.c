/*
 * migsync status: ask every environment's databases for their version
 * rows, in parallel, and report where each one stands against the target
 * (the heads, or --to REV), in rollout order, with rollout order
 * violations after the table. A revision whose file changed after it
 * was applied (its SHA-256 in migsync's ledger differs from the file's)
 * is named in the note column and under "checksum_mismatches" in JSON.
 *
 * An environment that cannot be reached, or whose fleet cannot be
 * discovered, is reported as unreachable; it never stops the report about
 * the others. Exit status 1 when a database is unreachable, unknown,
 * diverged, missing or stuck with a step in progress, or a stage is out of
 * order (0 with --exit-zero), 2 when no report could be made (usage,
 * inventory, scripts, graph).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/render/render.h"
#include "cli/status_collect.h"
#include "migsync/json.h"
#include "migsync/status.h"
#include "migsync/strbuf.h"

enum {
	OPT_TO = OPT_FIRST_COMMAND_OPTION,
	OPT_EXIT_ZERO,
};

/* Heads named in a fleet's CURRENT column before "+N". */
#define FLEET_HEADS_SHOWN 2

static void print_help(void)
{
	printf("migsync status shows where each environment's databases stand against the\n"
	       "target revision, in rollout order.\n"
	       "\n"
	       "Usage:\n"
	       "  migsync status [OPTION]...\n"
	       "\n"
	       "Options:\n"
	       "  -e, --environment=ENV    only this environment (repeatable)\n"
	       "  -j, --jobs=N             probe N databases at a time (default: min(16, databases))\n"
	       "      --shard=K/N          only the targets of shard K of N (default: a Kubernetes Indexed Job's)\n"
	       "      --to=REV             compare with REV instead of the heads\n"
	       "      --exit-zero          exit 0 whatever the report says (for dashboards)\n"
	       "\n");
	cli_print_common_help(27, CLI_HELP_URL | CLI_HELP_SCRIPTS);
	printf("\n"
	       "States, from worst to best:\n"
	       "  unreachable    the database could not be asked (the note says why)\n"
	       "  unknown        a version row names a revision the scripts do not have\n"
	       "  diverged       on a branch that does not lead to the target\n"
	       "  ahead          holds revisions the target does not contain\n"
	       "  behind         revisions of the target are pending\n"
	       "  uninitialized  no version table, or an empty one\n"
	       "  current        at the target\n"
	       "A fleet's state is its worst database's. The note also names each revision\n"
	       "whose file changed after it was applied (a checksum mismatch, from the ledger).\n"
	       "\n"
	       "Exit status:\n"
	       "  0  every environment is current, behind, ahead or uninitialized, in order\n"
	       "  1  a database is unreachable, unknown, diverged, missing or in_progress,\n"
	       "     or a stage is out of order (0 with --exit-zero)\n"
	       "  2  could not run (usage, inventory, scripts)\n");
}

static bool stuck_or_missing(const struct status_report *r);

/* The report's problems: what makes status exit 1. */
static bool report_has_problems(const struct status_report *r)
{
	return r->worst == STATUS_UNREACHABLE || r->worst == STATUS_UNKNOWN ||
	       r->worst == STATUS_DIVERGED || r->violations_nr > 0 || stuck_or_missing(r);
}

/* "user@host:port" of the SSH server env is reached through, or NULL without one. */
static char *ssh_server(const struct environment *e)
{
	if (!e->ssh.enabled)
		return NULL;
	if (e->ssh.user)
		return xstrfmt("%s@%s:%d", e->ssh.user, e->ssh.host, e->ssh.port);
	return xstrfmt("%s:%d", e->ssh.host, e->ssh.port);
}

/* A DATABASE cell: db, then " via ssh USER@HOST:PORT" when env goes through a tunnel. */
static char *db_cell(char *db, const struct environment *e)
{
	char *ssh = ssh_server(e), *cell;

	if (!ssh)
		return db;
	cell = xstrfmt("%s via ssh %s", db, ssh);
	free(ssh);
	free(db);
	return cell;
}

/*
 * "checksum_mismatches" of a database, or of every database of a fleet
 * (each entry then names its database), and "checksum_error".
 */
static void json_checksums(struct json_writer *jw, const struct cli_status *c,
			   size_t env, size_t target, bool whole_fleet)
{
	const struct status_env *e = &c->report.envs[env];
	size_t from = whole_fleet ? 0 : target, to = whole_fleet ? e->targets_nr : target + 1;
	const char *error = NULL;

	json_key(jw, "checksum_mismatches");
	json_array_begin(jw);
	for (size_t k = from; k < to && k < e->targets_nr; k++) {
		const struct cli_checksums *cs = cli_status_checksums(c, env, k);

		if (cs->error && !error)
			error = cs->error;
		const struct db_target *db = cli_status_target(c, env, k);

		for (size_t i = 0; i < cs->nr; i++)
			render_json_checksum_mismatch(jw, whole_fleet, cli_status_address(c, env, k),
						      db ? db->schema : NULL, &cs->items[i]);
	}
	json_array_end(jw);
	json_kv_string(jw, "checksum_error", error);
}

/* One database of an environment: the same keys for a fleet's member and a lone database. */
static void json_target(struct json_writer *jw, const struct cli_status *c, size_t env, size_t k)
{
	json_object_begin(jw);
	render_json_status_target(jw, c, env, k);
	json_checksums(jw, c, env, k, false);
	json_object_end(jw);
}

static void print_json(struct strbuf *sb, const struct cli_status *c)
{
	const struct status_report *r = &c->report;
	struct json_writer jw;

	json_init(&jw, sb);
	render_json_begin(&jw, "status");
	cli_json_strvec(&jw, "target", &r->goal);
	json_key(&jw, "environments");
	json_array_begin(&jw);
	for (size_t i = 0; i < r->envs_nr; i++) {
		const struct status_env *env = &r->envs[i];
		bool single = !env->fleet && env->targets_nr == 1;
		char *ssh;

		json_object_begin(&jw);
		json_kv_string(&jw, "environment", env->name);
		json_kv_bool(&jw, "fleet", env->fleet);
		json_kv_string(&jw, "state", status_state_name(env->state));
		/* a lone database's address and note, also on the environment: null for a fleet */
		json_kv_string(&jw, "database", single ? cli_status_address(c, i, 0) : NULL);
		cli_json_strvec(&jw, "heads", &env->heads);
		render_json_pending(&jw, env->state, env->summary_error, &env->pending);
		json_kv_string(&jw, "error", env->summary_error);
		ssh = ssh_server(c->envs[i]);
		json_kv_string(&jw, "ssh", ssh);
		free(ssh);
		json_kv_string(&jw, "note", single ? env->targets[0].result.note :
			       env->fleet ? NULL : env->summary_error);
		json_checksums(&jw, c, i, 0, true);
		json_key(&jw, "targets");
		json_array_begin(&jw);
		for (size_t k = 0; k < env->targets_nr; k++)
			json_target(&jw, c, i, k);
		json_array_end(&jw);
		json_object_end(&jw);
	}
	json_array_end(&jw);
	json_key(&jw, "violations");
	json_array_begin(&jw);
	for (size_t i = 0; i < r->violations_nr; i++) {
		const struct status_violation *v = &r->violations[i];

		json_object_begin(&jw);
		json_kv_string(&jw, "kind", status_violation_kind_name(v->kind));
		json_kv_string(&jw, "environment", v->environment);
		json_kv_string(&jw, "earlier", v->earlier);
		cli_json_strvec(&jw, "revisions", &v->revisions);
		json_kv_string(&jw, "detail", v->detail);
		json_object_end(&jw);
	}
	json_array_end(&jw);
	json_object_end(&jw);
	strbuf_addch(sb, '\n');
}

/* One row of the text table, before the widths are known. */
struct row {
	char *cells[6];
};

enum { COL_ENV, COL_DB, COL_STATE, COL_CURRENT, COL_PENDING, COL_NOTE, COL_NR };

static void add_row(struct row **rows, size_t *nr, size_t *alloc,
		    char *env, char *db, const char *state, char *current,
		    char *pending, char *note)
{
	struct row *r;

	ALLOC_GROW(*rows, *nr + 1, *alloc);
	r = &(*rows)[(*nr)++];
	r->cells[COL_ENV] = env;
	r->cells[COL_DB] = db;
	r->cells[COL_STATE] = xstrdup(state);
	r->cells[COL_CURRENT] = current;
	r->cells[COL_PENDING] = pending;
	r->cells[COL_NOTE] = note ? note : xstrdup("");
}

/* "a,b" for a database; for a fleet at most FLEET_HEADS_SHOWN, then "+N". */
static char *heads_cell(const struct strvec *heads, size_t max)
{
	struct strbuf sb = STRBUF_INIT;

	if (!heads->nr)
		return xstrdup("-");
	for (size_t i = 0; i < heads->nr && i < max; i++)
		strbuf_addf(&sb, "%s%s", i ? "," : "", heads->items[i]);
	if (heads->nr > max)
		strbuf_addf(&sb, " +%zu", heads->nr - max);
	return strbuf_detach(&sb, NULL);
}

static char *pending_cell(const struct status_result *res)
{
	if (res->state >= STATUS_UNKNOWN)
		return xstrdup("-");
	return xstrfmt("%zu", res->pending.nr);
}

/* A fleet's distinct pending revisions; "-" when no database could say. */
static char *fleet_pending_cell(const struct status_env *env)
{
	for (size_t i = 0; i < env->targets_nr; i++)
		if (env->targets[i].result.state < STATUS_UNKNOWN)
			return xstrfmt("%zu", env->pending.nr);
	return xstrdup("-");
}

/* "48 current, 2 behind" for a fleet, worst state first. */
static char *fleet_note(const struct status_env *env)
{
	size_t counts[STATUS_UNREACHABLE + 1] = { 0 };
	struct strbuf sb = STRBUF_INIT;

	if (env->error)
		return xstrdup(env->error);
	if (!env->targets_nr)
		return xstrdup("no databases");
	for (size_t i = 0; i < env->targets_nr; i++)
		counts[env->targets[i].result.state]++;
	for (int s = STATUS_UNREACHABLE; s >= STATUS_CURRENT; s--)
		if (counts[s])
			strbuf_addf(&sb, "%s%zu %s", sb.len ? ", " : "", counts[s],
				    status_state_name((enum status_state)s));
	return strbuf_detach(&sb, NULL);
}

/*
 * A database's note for the table. The probe's messages start with their
 * subject (`environment "ENV" (DB): `), which the row already says: leave
 * that out.
 */
static char *note_cell(const struct status_result *res, const struct cli_checksums *cs,
		       const char *env, const char *db)
{
	char *who = ms_error_subject(env, db);
	char *prefix = xstrfmt("%s: ", who);
	struct strbuf sb = STRBUF_INIT;

	free(who);
	if (res->note)
		strbuf_addstr(&sb, starts_with(res->note, prefix) ? res->note + strlen(prefix) : res->note);
	if (cs->nr) {
		strbuf_addf(&sb, "%schecksum mismatch: ", sb.len ? "; " : "");
		for (size_t i = 0; i < cs->nr; i++)
			strbuf_addf(&sb, "%s%s", i ? ", " : "", cs->items[i].revision);
		strbuf_addf(&sb, " (file%s changed after %s applied)", cs->nr == 1 ? "" : "s",
			    cs->nr == 1 ? "it was" : "they were");
	}
	if (cs->error)
		strbuf_addf(&sb, "%s%s", sb.len ? "; " : "", cs->error);
	free(prefix);
	if (!sb.len) {
		strbuf_release(&sb);
		return NULL;
	}
	return strbuf_detach(&sb, NULL);
}

static void print_text(struct strbuf *sb, const struct cli_status *coll)
{
	const struct status_report *r = &coll->report;
	static const char *const headers[COL_NR] = {
		"ENVIRONMENT", "DATABASE", "STATE", "CURRENT", "PENDING", "NOTE",
	};
	struct row *rows = NULL;
	size_t nr = 0, alloc = 0, width[COL_NR];

	for (size_t i = 0; i < r->envs_nr; i++) {
		const struct status_env *env = &r->envs[i];

		if (!env->fleet && env->targets_nr == 1) {
			const struct status_target *t = &env->targets[0];

			add_row(&rows, &nr, &alloc, xstrdup(env->name),
				db_cell(xstrdup(t->database), coll->envs[i]),
				status_state_name(t->result.state),
				heads_cell(&t->result.heads, SIZE_MAX), pending_cell(&t->result),
				note_cell(&t->result, cli_status_checksums(coll, i, 0),
					  env->name, NULL));
			continue;
		}
		if (!env->fleet) {
			add_row(&rows, &nr, &alloc, xstrdup(env->name), xstrdup("-"),
				status_state_name(env->state), xstrdup("-"), xstrdup("-"),
				xstrdup(env->error ? env->error : ""));
			continue;
		}
		add_row(&rows, &nr, &alloc, xstrdup(env->name),
			db_cell(xstrfmt("%zu database%s", env->targets_nr,
					env->targets_nr == 1 ? "" : "s"), coll->envs[i]),
			status_state_name(env->state), heads_cell(&env->heads, FLEET_HEADS_SHOWN),
			fleet_pending_cell(env), fleet_note(env));
		for (size_t k = 0; k < env->targets_nr; k++) {
			const struct status_target *t = &env->targets[k];

			add_row(&rows, &nr, &alloc, xstrdup(""), xstrfmt("  %s", t->database),
				status_state_name(t->result.state),
				heads_cell(&t->result.heads, SIZE_MAX), pending_cell(&t->result),
				note_cell(&t->result, cli_status_checksums(coll, i, k),
					  env->name, t->database));
		}
	}

	for (size_t c = 0; c < COL_NR; c++) {
		width[c] = strlen(headers[c]);
		for (size_t i = 0; i < nr; i++)
			if (strlen(rows[i].cells[c]) > width[c])
				width[c] = strlen(rows[i].cells[c]);
	}
	strbuf_addstr(sb, "target: ");
	cli_add_joined(sb, &r->goal, ", ", "base");
	strbuf_addstr(sb, "\n\n");
	for (size_t i = 0; i <= nr; i++) {
		const char *const *cells = i ? (const char *const *)rows[i - 1].cells : headers;
		size_t start = sb->len;

		for (size_t c = 0; c < COL_NR; c++) {
			if (c == COL_PENDING)
				strbuf_addf(sb, "%*s  ", (int)width[c], cells[c]);
			else if (c == COL_NOTE)
				strbuf_addstr(sb, cells[c]);
			else
				strbuf_addf(sb, "%-*s  ", (int)width[c], cells[c]);
		}
		while (sb->len > start && sb->buf[sb->len - 1] == ' ')
			strbuf_setlen(sb, sb->len - 1);
		strbuf_addch(sb, '\n');
	}
	if (r->violations_nr) {
		strbuf_addf(sb, "\n%zu rollout order violation%s:\n", r->violations_nr,
			    r->violations_nr == 1 ? "" : "s");
		for (size_t i = 0; i < r->violations_nr; i++)
			strbuf_addf(sb, "  %s\n", r->violations[i].detail);
	}

	for (size_t i = 0; i < nr; i++)
		for (size_t c = 0; c < COL_NR; c++)
			free(rows[i].cells[c]);
	free(rows);
}

/* A database stuck with a step in progress, or missing: every deploy to it fails. */
static bool stuck_or_missing(const struct status_report *r)
{
	for (size_t i = 0; i < r->envs_nr; i++)
		for (size_t k = 0; k < r->envs[i].targets_nr; k++)
			if (r->envs[i].targets[k].result.state == STATUS_IN_PROGRESS ||
			    r->envs[i].targets[k].result.state == STATUS_MISSING)
				return true;
	return false;
}

int cmd_status(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_COMMON_LONGOPTS,
		{ "environment", required_argument, NULL, 'e' },
		{ "jobs", required_argument, NULL, 'j' },
		CLI_SHARD_LONGOPT,
		{ "to", required_argument, NULL, OPT_TO },
		{ "exit-zero", no_argument, NULL, OPT_EXIT_ZERO },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_common common;
	struct strvec names = STRVEC_INIT;
	struct cli_status_options opts = { &names, NULL, 0, true };
	struct cli_status c;
	struct ms_error err = MS_ERROR_INIT;
	struct strbuf out = STRBUF_INIT;
	bool exit_zero = false;
	int ret = EXIT_OK, opt;

	cli_common_init(&common);
	common.shardable = true;
	cli_status_init(&c);

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
			ret = cli_parse_jobs(&opts.jobs, "status", optarg);
			if (ret != EXIT_OK)
				goto done;
			break;
		case OPT_TO:
			opts.to = optarg;
			break;
		case OPT_EXIT_ZERO:
			exit_zero = true;
			break;
		default:
			ret = cli_default_option(&common, "status", opt, optarg);
			if (ret != EXIT_OK)
				goto done;
		}
	}
	ret = cli_extra_arguments("status", argc, argv, optind);
	if (ret != EXIT_OK)
		goto done;

	if (cli_status_collect(&c, &common, &opts, &err) < 0) {
		cli_print_error_scrubbed(&err, &c.secrets);
		ret = EXIT_CANNOT_RUN;
		goto done;
	}
	if (common.format == FORMAT_JSON)
		print_json(&out, &c);
	else
		print_text(&out, &c);
	cli_scrub(&out, &c.secrets);
	ret = cli_write_stdout(out.buf, out.len);
	if (ret == EXIT_OK && !exit_zero && report_has_problems(&c.report))
		ret = EXIT_PROBLEMS;
done:
	cli_status_release(&c);
	strvec_release(&names);
	ms_error_release(&err);
	strbuf_release(&out);
	cli_common_release(&common);
	return ret;
}
