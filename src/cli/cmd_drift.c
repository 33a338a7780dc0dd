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
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "migsync/drift.h"
#include "migsync/inventory.h"
#include "migsync/json.h"
#include "migsync/probe.h"
#include "migsync/strbuf.h"
#include "migsync/target.h"

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

/* One environment to expand into targets (in a worker thread). */
struct expansion {
	const struct environment *e;
	struct db_target *targets;
	size_t nr;
	struct ms_error err;
};

/* One database to read (in a worker thread). */
struct drift_job {
	const struct db_target *t;	/* NULL: its environment could not be expanded */
	const struct environment *e;
	char *label;			/* "prod", or "tenants/tenant_001" */
	char *database;			/* what the report shows: never a password */
	struct drift_options opts;
	struct schema_snapshot *snapshot;
	struct ms_error err;
};

struct drift_cmd {
	struct expansion *exp;
	size_t exp_nr;
	struct drift_job *jobs;
	size_t jobs_nr;
	size_t jobs_alloc;
	const struct strvec *schemas;
};

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
	       "\n"
	       "Common options:\n"
	       "  -i, --inventory=PATH     inventory directory (default: $MIGSYNC_INVENTORY or environments/)\n"
	       "      --format=FORMAT      output format: text (default) or json\n"
	       "      --help               show this help, then exit\n"
	       "\n"
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
	       "Exit status: 0 no drift, 1 drift, an INVALID index, or a database that could\n"
	       "not be compared, 2 could not run.\n");
}

static void drift_cmd_release(struct drift_cmd *dc)
{
	for (size_t i = 0; i < dc->jobs_nr; i++) {
		free(dc->jobs[i].label);
		free(dc->jobs[i].database);
		schema_snapshot_free(dc->jobs[i].snapshot);
		ms_error_release(&dc->jobs[i].err);
	}
	free(dc->jobs);
	for (size_t i = 0; i < dc->exp_nr; i++) {
		db_targets_free(dc->exp[i].targets, dc->exp[i].nr);
		ms_error_release(&dc->exp[i].err);
	}
	free(dc->exp);
}

static void expand_work(size_t i, void *ctx)
{
	struct expansion *x = &((struct expansion *)ctx)[i];

	db_targets_expand(&x->targets, &x->nr, x->e, &x->err);
}

static struct drift_job *add_job(struct drift_cmd *dc, const struct environment *e,
				 const struct db_target *t)
{
	const struct inventory_database *db = &e->database;
	struct drift_job *job;

	ALLOC_GROW(dc->jobs, dc->jobs_nr + 1, dc->jobs_alloc);
	job = &dc->jobs[dc->jobs_nr++];
	memset(job, 0, sizeof(*job));
	ms_error_init(&job->err);
	job->e = e;
	job->t = t;
	job->label = xstrdup(t ? t->label : e->name);
	job->database = xstrdup(!t ? "-" : t->member ? t->dbname : t->describe);
	job->opts.schemas = dc->schemas;
	job->opts.version_table = db->version_table;
	job->opts.version_schema = db->version_table_schema;
	job->opts.statement_timeout_ms = db->statement_timeout <= 0 ? 0 :
		db->statement_timeout > INT_MAX / 1000 ? INT_MAX : (int)db->statement_timeout * 1000;
	return job;
}

/*
 * Expand the environments into jobs (all in parallel). An environment
 * that cannot be expanded becomes one job that carries the error: it is
 * reported as unreachable, never dropped.
 */
static int expand(struct drift_cmd *dc, const struct environment **envs, size_t nr,
		  unsigned jobs, struct ms_error *err)
{
	int ret;

	dc->exp = xcalloc(nr ? nr : 1, sizeof(*dc->exp));
	dc->exp_nr = nr;
	for (size_t i = 0; i < nr; i++) {
		dc->exp[i].e = envs[i];
		ms_error_init(&dc->exp[i].err);
	}
	ret = probe_pool_run(nr, jobs, expand_work, NULL, dc->exp, err);
	if (ret < 0)
		goto done;
	for (size_t i = 0; i < nr; i++) {
		struct expansion *x = &dc->exp[i];

		if (x->err.message) {
			struct drift_job *job = add_job(dc, x->e, NULL);

			ms_error_move(&job->err, &x->err);
			continue;
		}
		for (size_t k = 0; k < x->nr; k++)
			add_job(dc, x->e, &x->targets[k]);
	}
done:
	return ret;
}

static void read_work(size_t i, void *ctx)
{
	struct drift_job *job = &((struct drift_cmd *)ctx)->jobs[i];
	struct ms_error err = MS_ERROR_INIT;
	struct tunnel *tunnel = NULL;
	PGconn *conn = NULL;

	if (!job->t)
		goto done;
	if (db_connect(&conn, &tunnel, job->t, &job->err) < 0)
		goto done;
	if (drift_read(&job->snapshot, conn, &job->opts, &err) < 0)
		db_target_error(&job->err, err.code, job->t, "%s", err.message);
done:
	db_disconnect(conn, tunnel);
	ms_error_release(&err);
}

/* Read every job's schema, then hand everything to the report. */
static int read_all(struct drift_cmd *dc, struct drift_report *report, unsigned jobs,
		    struct ms_error *err)
{
	int ret = 0;

	if (dc->jobs_nr)
		ret = probe_pool_run(dc->jobs_nr, jobs, read_work, NULL, dc, err);
	if (ret < 0)
		goto done;
	for (size_t i = 0; i < dc->jobs_nr; i++) {
		struct drift_job *job = &dc->jobs[i];
		struct drift_target *t = drift_report_add(report, job->e->name, job->database);

		t->snapshot = job->snapshot;
		job->snapshot = NULL;
		if (!t->snapshot)
			t->error = xstrdup(job->err.message ? job->err.message : "could not read the schema");
	}
done:
	return ret;
}

/* The label of report target i (the jobs are in the same order). */
static const char *label_of(const struct drift_cmd *dc, size_t i)
{
	return dc->jobs[i].label;
}

static void json_strvec(struct json_writer *jw, const char *key, const struct strvec *v)
{
	json_key(jw, key);
	json_array_begin(jw);
	for (size_t i = 0; v && i < v->nr; i++)
		json_string(jw, v->items[i]);
	json_array_end(jw);
}

static void json_target(struct json_writer *jw, const struct drift_target *t)
{
	json_object_begin(jw);
	json_kv_string(jw, "environment", t->environment);
	json_kv_string(jw, "database", t->database);
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
	json_strvec(jw, "invalid_indexes", &t->invalid_indexes);
	json_object_end(jw);
}

static void print_json(struct strbuf *sb, const struct drift_report *r,
		       const struct drift_cmd *dc)
{
	struct json_writer jw;

	json_init(&jw, sb);
	json_object_begin(&jw);
	json_key(&jw, "groups");
	json_array_begin(&jw);
	for (size_t i = 0; i < r->groups_nr; i++) {
		const struct drift_group *g = &r->groups[i];

		json_object_begin(&jw);
		json_strvec(&jw, "revision", &g->revision);
		json_kv_string(&jw, "reference", g->reference == SIZE_MAX || g->members_nr < 2 ?
			       NULL : label_of(dc, g->reference));
		json_key(&jw, "targets");
		json_array_begin(&jw);
		for (size_t k = 0; k < g->members_nr; k++)
			json_target(&jw, &r->targets[g->members[k]]);
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
				json_target(&jw, &r->targets[i]);
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

static void print_row(struct strbuf *sb, const struct drift_report *r, const struct drift_cmd *dc,
		      size_t i, int width)
{
	const struct drift_target *t = &r->targets[i];
	char *state = state_cell(t);

	strbuf_addf(sb, "  %-*s  %-*.*s  %s\n", width, label_of(dc, i), FINGERPRINT_SHOWN,
		    FINGERPRINT_SHOWN, t->snapshot ? t->snapshot->fingerprint : "-", state);
	free(state);
}

static void print_text(struct strbuf *sb, const struct drift_report *r, const struct drift_cmd *dc)
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
	const struct environment **envs = xcalloc(inv->nr ? inv->nr : 1, sizeof(*envs));
	int ret = EXIT_OK;

	*nr = 0;
	if (against && !inventory_find(inv, against)) {
		fprintf(stderr, "migsync: error: environment \"%s\": not in the inventory\n", against);
		fprintf(stderr, "hint: --against must name an environment of the inventory\n");
		ret = EXIT_CANNOT_RUN;
		goto done;
	}
	if (against && names->nr && !strvec_contains(names, against))
		strvec_push(names, against);
	for (size_t i = 0; i < names->nr; i++) {
		if (!inventory_find(inv, names->items[i])) {
			struct strbuf known = STRBUF_INIT;

			for (size_t k = 0; k < inv->nr; k++)
				strbuf_addf(&known, "%s%s", k ? ", " : "", inv->envs[k].name);
			fprintf(stderr, "migsync: error: environment \"%s\": not in the inventory\n",
				names->items[i]);
			fprintf(stderr, "hint: the environments are: %s\n", known.buf);
			strbuf_release(&known);
			ret = EXIT_CANNOT_RUN;
			goto done;
		}
	}
	for (size_t i = 0; i < inv->nr; i++)
		if (!names->nr || strvec_contains(names, inv->envs[i].name))
			envs[(*nr)++] = &inv->envs[i];
done:
	if (ret != EXIT_OK) {
		free(envs);
		envs = NULL;
	}
	*out = envs;
	return ret;
}

static int parse_jobs(unsigned *jobs, const char *arg)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(arg, &end, 10);
	if (errno || end == arg || *end || v < 1 || v > 1024)
		return cli_usage_error("drift", "invalid number of jobs \"%s\" (expected 1 to 1024)", arg);
	*jobs = (unsigned)v;
	return EXIT_OK;
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
		{ NULL, 0, NULL, 0 },
	};
	struct cli_common common;
	struct strvec names = STRVEC_INIT, schemas = STRVEC_INIT;
	struct inventory *inv = NULL;
	struct diag_list problems = DIAG_LIST_INIT;
	struct drift_report report;
	struct drift_cmd dc;
	struct ms_error err = MS_ERROR_INIT;
	struct strbuf out = STRBUF_INIT;
	const struct environment **envs = NULL;
	const char *against = NULL;
	size_t envs_nr = 0;
	unsigned jobs = 0;
	bool probe_ready = false;
	int ret = EXIT_OK, opt, r;

	cli_common_init(&common);
	drift_report_init(&report);
	memset(&dc, 0, sizeof(dc));

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
			ret = parse_jobs(&jobs, optarg);
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
			r = cli_common_option(&common, "drift", opt, optarg);
			if (r <= 0) {
				if (r == 0)
					cli_usage_error("drift", "unexpected option");
				ret = EXIT_CANNOT_RUN;
				goto done;
			}
		}
	}
	if (optind < argc) {
		ret = cli_usage_error("drift", "too many arguments (first is \"%s\")", argv[optind]);
		goto done;
	}

	if (probe_global_init(&err) < 0) {
		cli_print_error(&err);
		ret = EXIT_CANNOT_RUN;
		goto done;
	}
	probe_ready = true;
	if (inventory_load(&inv, inventory_choose_dir(common.inventory), &problems, &err) < 0) {
		cli_print_warnings(&problems);
		cli_print_error(&err);
		ret = EXIT_CANNOT_RUN;
		goto done;
	}
	cli_print_warnings(&problems);
	ret = select_envs(&envs, &envs_nr, inv, &names, against);
	if (ret != EXIT_OK)
		goto done;
	dc.schemas = &schemas;

	if (expand(&dc, envs, envs_nr, jobs, &err) < 0 ||
	    read_all(&dc, &report, jobs, &err) < 0 ||
	    drift_report_finish(&report, against, &err) < 0) {
		cli_print_error(&err);
		ret = EXIT_CANNOT_RUN;
		goto done;
	}

	if (common.format == FORMAT_JSON)
		print_json(&out, &report, &dc);
	else
		print_text(&out, &report, &dc);
	ret = cli_write_stdout(out.buf, out.len);
	if (ret == EXIT_OK && drift_report_failed(&report))
		ret = EXIT_PROBLEMS;
done:
	if (probe_ready)
		probe_global_cleanup();
	drift_report_release(&report);
	drift_cmd_release(&dc);
	inventory_free(inv);
	free(envs);
	diag_list_release(&problems);
	strvec_release(&names);
	strvec_release(&schemas);
	ms_error_release(&err);
	strbuf_release(&out);
	cli_common_release(&common);
	return ret;
}
