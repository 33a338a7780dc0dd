/*
 * migsync drift: read every target's schema from its catalogs, in
 * parallel, group the targets by their version rows and compare each
 * group with its reference (the first environment in rollout order at
 * that revision, or --against), object by object.
 *
 * Meant for a nightly check: exit 1 when a target drifted, holds an
 * INVALID index, or could not be read (it could not be compared); 0 when
 * every target matched its reference; 2 when the check could not run.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/render/render.h"
#include "cli/drift_collect.h"
#include "migsync/conn.h"
#include "migsync/drift.h"
#include "migsync/inventory.h"
#include "migsync/json.h"
#include "migsync/project.h"
#include "migsync/strbuf.h"

enum {
	OPT_AGAINST = OPT_FIRST_COMMAND_OPTION,
	OPT_SCHEMAS,
};

/* Fingerprint characters shown in the text report. */
#define FINGERPRINT_SHOWN 12
/* Definitions longer than this are shown around their first difference. */
#define DEFINITION_SHOWN 160
/* Characters of context kept before the first difference. */
#define DEFINITION_CONTEXT 40

static void print_help(void)
{
	printf("migsync drift compares the schemas of databases at the same revision, object\n"
	       "by object, and reports every difference and every INVALID index.\n"
	       "\n"
	       "Usage:\n"
	       "  migsync drift [OPTION]...\n"
	       "\n"
	       "Options:\n"
	       "  -e, --environment=ENV    only this environment (repeatable)\n"
	       "      --against=ENV        compare with ENV (default: the first environment in\n"
	       "                           rollout order at each revision)\n"
	       "      --schemas=LIST       only these schemas, comma-separated (default: all but\n"
	       "                           the system schemas and migsync's ledger schema)\n"
	       "  -j, --jobs=N             read N databases at a time (default: min(16, databases))\n"
	       "      --shard=K/N          only the targets of shard K of N (default: a Kubernetes Indexed Job's)\n"
	       "\n");
	cli_print_common_help(27, CLI_HELP_URL);
	printf("\n"
	       "Compared: tables, columns (type, nullability, default, identity), constraints,\n"
	       "indexes (definition, validity), views, sequences, functions, triggers, enum and\n"
	       "domain types, schemas, extensions. Not compared: owners, privileges, comments,\n"
	       "column order, data. The version table is left out.\n"
	       "\n"
	       "States:\n"
	       "  reference      the others at its revision were compared with it\n"
	       "  same           same schema as the reference\n"
	       "  drift          differs from the reference (each difference is listed)\n"
	       "  not-compared   no reference at its revision\n"
	       "  unreachable    its schema could not be read (the note says why)\n"
	       "\n"
	       "Exit status:\n"
	       "  0  no drift\n"
	       "  1  drift, an INVALID index, or a database that could not be compared\n"
	       "  2  could not run (usage, inventory)\n");
}

/* The label of report target i (the jobs are in the same order). */
static const char *label_of(const struct cli_drift *dc, size_t i)
{
	return cli_drift_label(dc, i);
}

/* Report target i; database is its address, as in every document, dbname its name. */
static void json_target(struct json_writer *jw, const struct cli_drift *dc, size_t i)
{
	const struct drift_target *t = &dc->report.targets[i];
	const struct db_target *db = dc->jobs[i].t;

	json_object_begin(jw);
	json_kv_string(jw, "environment", t->environment);
	json_kv_string(jw, "database", db ? db->describe : NULL);
	json_kv_string(jw, "dbname", db && db->dbname && db->dbname[0] ? db->dbname : NULL);
	json_kv_string(jw, "fingerprint", t->snapshot ? t->snapshot->fingerprint : NULL);
	json_kv_string(jw, "state", drift_state_name(t->state));
	json_kv_string(jw, "note", t->note);
	json_kv_string(jw, "error", t->error);
	json_key(jw, "differences");
	json_array_begin(jw);
	for (size_t k = 0; k < t->diff.nr; k++) {
		const struct drift_difference *d = &t->diff.items[k];

		json_object_begin(jw);
		json_kv_string(jw, "kind", drift_kind_name(d->kind));
		json_kv_string(jw, "object", d->object);
		json_kv_string(jw, "change", drift_change_name(d->change));
		json_kv_string(jw, "reference", d->reference);
		json_kv_string(jw, "actual", d->actual);
		json_object_end(jw);
	}
	json_array_end(jw);
	cli_json_strvec(jw, "invalid_indexes", &t->invalid_indexes);
	json_object_end(jw);
}

static void print_json(struct strbuf *sb, const struct drift_report *r,
		       const struct cli_drift *dc)
{
	struct json_writer jw;

	json_init(&jw, sb);
	render_json_begin(&jw, "drift");
	json_key(&jw, "groups");
	json_array_begin(&jw);
	for (size_t i = 0; i < r->groups_nr; i++) {
		const struct drift_group *g = &r->groups[i];

		json_object_begin(&jw);
		cli_json_strvec(&jw, "revision", &g->revision);
		json_kv_string(&jw, "reference", g->reference == SIZE_MAX || g->members_nr < 2 ?
			       NULL : label_of(dc, g->reference));
		json_key(&jw, "targets");
		json_array_begin(&jw);
		for (size_t k = 0; k < g->members_nr; k++)
			json_target(&jw, dc, g->members[k]);
		json_array_end(&jw);
		json_object_end(&jw);
	}
	if (r->unreachable) {
		/* the targets that could not be read: no revision is known */
		json_object_begin(&jw);
		json_key(&jw, "revision");
		json_null(&jw);
		json_kv_string(&jw, "reference", NULL);
		json_key(&jw, "targets");
		json_array_begin(&jw);
		for (size_t i = 0; i < r->targets_nr; i++)
			if (r->targets[i].state == DRIFT_STATE_UNREACHABLE)
				json_target(&jw, dc, i);
		json_array_end(&jw);
		json_object_end(&jw);
	}
	json_array_end(&jw);
	json_kv_bool(&jw, "drift", drift_report_failed(r));
	json_kv_int(&jw, "drifted", (int64_t)r->drifted);
	json_kv_int(&jw, "invalid_indexes", (int64_t)r->invalid_indexes);
	json_kv_int(&jw, "unreachable", (int64_t)r->unreachable);
	json_object_end(&jw);
	strbuf_addch(sb, '\n');
}

/* def on one line: every run of white space becomes one space. */
static void add_flat(struct strbuf *sb, const char *def, size_t len)
{
	bool space = false;

	for (size_t i = 0; i < len && def[i]; i++) {
		if (def[i] == ' ' || def[i] == '\n' || def[i] == '\t' || def[i] == '\r') {
			space = true;
			continue;
		}
		if (space && sb->len)
			strbuf_addch(sb, ' ');
		space = false;
		strbuf_addch(sb, def[i]);
	}
}

/*
 * A definition for the text report, on one line. A long one is cut to
 * DEFINITION_SHOWN characters from a little before offset (where it
 * first differs from the other side), with "..." where text was left out.
 */
static char *shown(const char *def, size_t offset)
{
	struct strbuf flat = STRBUF_INIT, out = STRBUF_INIT;
	size_t len = strlen(def), start = 0;

	if (len <= DEFINITION_SHOWN) {
		add_flat(&flat, def, len);
		return strbuf_detach(&flat, NULL);
	}
	if (offset > DEFINITION_CONTEXT)
		start = offset - DEFINITION_CONTEXT;
	if (start + DEFINITION_SHOWN > len)
		start = len - DEFINITION_SHOWN;
	add_flat(&flat, def + start, DEFINITION_SHOWN);
	strbuf_addf(&out, "%s%s%s", start ? "..." : "", flat.buf,
		    start + DEFINITION_SHOWN < len ? "..." : "");
	strbuf_release(&flat);
	return strbuf_detach(&out, NULL);
}

static void print_difference(struct strbuf *sb, const char *label, const struct drift_difference *d)
{
	strbuf_addf(sb, "%s: %s %s: %s", label, drift_kind_name(d->kind), d->object,
		    drift_change_name(d->change));
	if (d->change == DRIFT_CHANGED) {
		size_t p = 0;
		char *a, *b;

		while (d->reference[p] && d->reference[p] == d->actual[p])
			p++;
		a = shown(d->reference, p);
		b = shown(d->actual, p);
		strbuf_addf(sb, ": reference \"%s\" vs \"%s\"\n", a, b);
		free(a);
		free(b);
	} else {
		char *def = shown(d->reference ? d->reference : d->actual, 0);

		strbuf_addf(sb, " (%s)\n", def);
		free(def);
	}
}

static char *state_cell(const struct drift_target *t)
{
	switch (t->state) {
	case DRIFT_STATE_DRIFT:
		return xstrfmt("drift, %zu difference%s", t->diff.nr, t->diff.nr == 1 ? "" : "s");
	case DRIFT_STATE_NOT_COMPARED:
		return xstrfmt("not compared: %s", t->note ? t->note : "no reference");
	case DRIFT_STATE_UNREACHABLE:
		return xstrfmt("unreachable: %s", t->error ? t->error : "could not read the schema");
	default:
		return xstrdup(drift_state_name(t->state));
	}
}

static void print_row(struct strbuf *sb, const struct drift_report *r, const struct cli_drift *dc,
		      size_t i, int width)
{
	const struct drift_target *t = &r->targets[i];
	char *state = state_cell(t);

	strbuf_addf(sb, "  %-*s  %-*.*s  %s\n", width, label_of(dc, i), FINGERPRINT_SHOWN,
		    FINGERPRINT_SHOWN, t->snapshot ? t->snapshot->fingerprint : "-", state);
	free(state);
}

static void print_text(struct strbuf *sb, const struct drift_report *r, const struct cli_drift *dc)
{
	size_t problems = 0;
	int width = 0;

	for (size_t i = 0; i < r->targets_nr; i++)
		if ((int)strlen(label_of(dc, i)) > width)
			width = (int)strlen(label_of(dc, i));
	for (size_t i = 0; i < r->groups_nr; i++) {
		const struct drift_group *g = &r->groups[i];

		strbuf_addstr(sb, "revision ");
		for (size_t k = 0; k < g->revision.nr; k++)
			strbuf_addf(sb, "%s%s", k ? ", " : "", g->revision.items[k]);
		if (!g->revision.nr)
			strbuf_addstr(sb, "(none)");
		if (g->reference != SIZE_MAX && g->members_nr > 1)
			strbuf_addf(sb, ": compared with %s", label_of(dc, g->reference));
		strbuf_addch(sb, '\n');
		for (size_t k = 0; k < g->members_nr; k++)
			print_row(sb, r, dc, g->members[k], width);
	}
	if (r->unreachable) {
		strbuf_addstr(sb, "could not compare\n");
		for (size_t i = 0; i < r->targets_nr; i++)
			if (r->targets[i].state == DRIFT_STATE_UNREACHABLE)
				print_row(sb, r, dc, i, width);
	}

	for (size_t i = 0; i < r->targets_nr; i++) {
		const struct drift_target *t = &r->targets[i];

		if (!t->diff.nr && !t->invalid_indexes.nr)
			continue;
		if (!problems++)
			strbuf_addch(sb, '\n');
		for (size_t k = 0; k < t->diff.nr; k++)
			print_difference(sb, label_of(dc, i), &t->diff.items[k]);
		for (size_t k = 0; k < t->invalid_indexes.nr; k++)
			strbuf_addf(sb, "%s: INVALID index %s\n", label_of(dc, i),
				    t->invalid_indexes.items[k]);
	}

	strbuf_addch(sb, '\n');
	if (!drift_report_failed(r)) {
		size_t compared = 0;

		for (size_t i = 0; i < r->targets_nr; i++)
			if (r->targets[i].state != DRIFT_STATE_NOT_COMPARED)
				compared++;
		strbuf_addf(sb, "no drift: %zu target%s compared", compared, compared == 1 ? "" : "s");
		if (compared < r->targets_nr)
			strbuf_addf(sb, ", %zu not compared", r->targets_nr - compared);
		strbuf_addch(sb, '\n');
		return;
	}
	strbuf_addf(sb, "drift in %zu of %zu target%s", r->drifted, r->targets_nr,
		    r->targets_nr == 1 ? "" : "s");
	if (r->invalid_indexes)
		strbuf_addf(sb, ", %zu INVALID index%s", r->invalid_indexes,
			    r->invalid_indexes == 1 ? "" : "es");
	if (r->unreachable)
		strbuf_addf(sb, ", %zu could not be compared", r->unreachable);
	strbuf_addch(sb, '\n');
}

/*
 * The environments -e names (and --against), in rollout order; every
 * name must exist.
 */
static int select_envs(const struct environment ***out, size_t *nr,
		       const struct inventory *inv, struct strvec *names, const char *against)
{
	struct ms_error err = MS_ERROR_INIT;
	int ret = EXIT_OK;

	*out = NULL;
	*nr = 0;
	if (against && !inventory_find(inv, against)) {
		fprintf(stderr, "migsync: error: environment \"%s\": not in the inventory\n", against);
		fprintf(stderr, "hint: --against must name an environment of the inventory\n");
		ret = EXIT_CANNOT_RUN;
		goto done;
	}
	if (against && names->nr && !strvec_contains(names, against))
		strvec_push(names, against);
	if (cli_select_envs(out, nr, inv, names, &err) < 0) {
		cli_print_error(&err);
		ret = EXIT_CANNOT_RUN;
	}
done:
	ms_error_release(&err);
	return ret;
}

/* Append the comma-separated schema names of arg to schemas. */
static int parse_schemas(struct strvec *schemas, const char *arg)
{
	char *copy = xstrdup(arg), *tok, *save = NULL;
	int ret = EXIT_OK;

	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		while (*tok == ' ')
			tok++;
		for (char *end = tok + strlen(tok); end > tok && end[-1] == ' '; )
			*--end = '\0';
		if (*tok && !strvec_contains(schemas, tok))
			strvec_push(schemas, tok);
	}
	if (!schemas->nr)
		ret = cli_usage_error("drift", "no schema named in --schemas \"%s\"", arg);
	free(copy);
	return ret;
}

int cmd_drift(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_COMMON_LONGOPTS,
		{ "environment", required_argument, NULL, 'e' },
		{ "against", required_argument, NULL, OPT_AGAINST },
		{ "schemas", required_argument, NULL, OPT_SCHEMAS },
		{ "jobs", required_argument, NULL, 'j' },
		CLI_SHARD_LONGOPT,
		{ NULL, 0, NULL, 0 },
	};
	struct cli_common common;
	struct strvec names = STRVEC_INIT, schemas = STRVEC_INIT;
	struct project project;
	struct cli_drift dc;
	struct cli_drift_options opts = { &schemas, NULL, 0 };
	struct cli_expansion *exp = NULL;
	struct ms_error err = MS_ERROR_INIT;
	struct strbuf out = STRBUF_INIT;
	const struct environment **envs = NULL;
	const char *against = NULL;
	size_t envs_nr = 0;
	unsigned jobs = 0;
	bool probe_ready = false;
	int ret = EXIT_OK, opt;

	cli_common_init(&common);
	common.shardable = true;
	project_init(&project);
	cli_drift_init(&dc);

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
			ret = cli_parse_jobs(&jobs, "drift", optarg);
			if (ret != EXIT_OK)
				goto done;
			break;
		case OPT_AGAINST:
			against = optarg;
			break;
		case OPT_SCHEMAS:
			ret = parse_schemas(&schemas, optarg);
			if (ret != EXIT_OK)
				goto done;
			break;
		default:
			ret = cli_default_option(&common, "drift", opt, optarg);
			if (ret != EXIT_OK)
				goto done;
		}
	}
	ret = cli_extra_arguments("drift", argc, argv, optind);
	if (ret != EXIT_OK)
		goto done;

	if (conn_global_init(&err) < 0) {
		cli_print_error(&err);
		ret = EXIT_CANNOT_RUN;
		goto done;
	}
	probe_ready = true;
	ret = cli_open_project(&project, &common, PROJECT_INVENTORY, 0);
	if (ret != EXIT_OK)
		goto done;
	ret = select_envs(&envs, &envs_nr, project.inv, &names, against);
	if (ret != EXIT_OK)
		goto done;
	opts.against = against;
	opts.jobs = jobs;
	if (cli_expand_envs(&exp, envs, envs_nr, jobs, &err) < 0 ||
	    cli_drift_collect(&dc, exp, envs_nr, &opts, &err) < 0) {
		cli_print_error(&err);
		ret = EXIT_CANNOT_RUN;
		goto done;
	}

	if (common.format == FORMAT_JSON)
		print_json(&out, &dc.report, &dc);
	else
		print_text(&out, &dc.report, &dc);
	ret = cli_write_stdout(out.buf, out.len);
	if (ret == EXIT_OK && drift_report_failed(&dc.report))
		ret = EXIT_PROBLEMS;
done:
	if (probe_ready)
		conn_global_cleanup();
	cli_drift_release(&dc);
	cli_expansions_free(exp, envs_nr);
	project_release(&project);
	free(envs);
	strvec_release(&names);
	strvec_release(&schemas);
	ms_error_release(&err);
	strbuf_release(&out);
	cli_common_release(&common);
	return ret;
}
