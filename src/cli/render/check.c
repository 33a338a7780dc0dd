/*
 * The renderers of `migsync check`: a nightly_report, with the status,
 * drift and lint reports it was judged from, as a text table, a
 * Markdown summary, JUnit XML (a test case per environment and check)
 * or JSON. The judging is done: nothing here decides what is a problem.
 */
#include <stdlib.h>
#include <string.h>

#include "cli/drift_collect.h"
#include "cli/render/render.h"
#include "cli/status_collect.h"
#include "migsync/json.h"
#include "migsync/lint.h"
#include "migsync/nightly.h"

enum { COL_ENV, COL_STATE, COL_REVISION, COL_DRIFT, COL_CHECKSUMS, COL_NOTES, COL_NR };

static const char *const col_headers[COL_NR] = {
	"environment", "state", "revision", "drift", "checksums", "notes",
};

static const char *message(const struct render_check *run, const struct nightly_case *k, size_t m)
{
	return run->report->findings[k->first + m].message;
}

/* The messages of k, for render_junit_case; free() the array. */
static const char **messages(const struct render_check *run, const struct nightly_case *k)
{
	const char **out = xcalloc(k->nr ? k->nr : 1, sizeof(*out));

	for (size_t m = 0; m < k->nr; m++)
		out[m] = message(run, k, m);
	return out;
}

/* The notes cell: the failed checks other than drift and checksums (their own columns). */
static char *notes_cell(const struct render_check *run, const struct nightly_env *ne)
{
	struct strbuf sb = STRBUF_INIT;

	for (size_t k = NIGHTLY_REACHABLE; k <= NIGHTLY_ORDER; k++) {
		const struct nightly_case *c = &ne->cases[k];

		if (c->outcome != NIGHTLY_FAILED)
			continue;
		strbuf_addf(&sb, "%s%s: %s", sb.len ? "; " : "",
			    nightly_check_name((enum nightly_check)k), message(run, c, 0));
		if (c->nr > 1)
			strbuf_addf(&sb, " (+%zu more)", c->nr - 1);
	}
	return strbuf_detach(&sb, NULL);
}

/* The table of environments, rows x COL_NR cells; free with free_cells. */
static char **table_cells(const struct render_check *run)
{
	const struct nightly_report *r = run->report;
	char **cells = xcalloc(r->envs_nr ? r->envs_nr * COL_NR : 1, sizeof(*cells));

	for (size_t i = 0; i < r->envs_nr; i++) {
		const struct status_env *env = &run->status->report.envs[i];
		const struct nightly_env *ne = &r->envs[i];
		const struct nightly_case *status = &ne->cases[NIGHTLY_STATUS];
		char **row = &cells[i * COL_NR];
		struct strbuf revision = STRBUF_INIT;

		row[COL_ENV] = xstrdup(env->name);
		if (run->status->graph_error && !env->error && env->state != STATUS_UNREACHABLE)
			row[COL_STATE] = xstrdup("not run");
		else
			row[COL_STATE] = xstrdup(status->outcome == NIGHTLY_SKIPPED ?
						 status_state_name(env->state) : status->summary);
		cli_add_joined(&revision, &env->heads, ",", "-");
		row[COL_REVISION] = strbuf_detach(&revision, NULL);
		row[COL_DRIFT] = xstrdup(ne->cases[NIGHTLY_DRIFT].summary);
		row[COL_CHECKSUMS] = xstrdup(ne->cases[NIGHTLY_CHECKSUMS].summary);
		row[COL_NOTES] = notes_cell(run, ne);
	}
	return cells;
}

static void free_cells(char **cells, size_t rows)
{
	for (size_t i = 0; i < rows * COL_NR; i++)
		free(cells[i]);
	free(cells);
}

/* Every problem line, environments first in rollout order, then lint. */
static void add_problems(struct strbuf *sb, const struct render_check *run, const char *bullet)
{
	const struct nightly_report *r = run->report;

	for (size_t i = 0; i < r->envs_nr; i++)
		for (size_t k = 0; k < NIGHTLY_ENV_CHECK_NR; k++)
			for (size_t m = 0; r->envs[i].cases[k].outcome == NIGHTLY_FAILED &&
			     m < r->envs[i].cases[k].nr; m++)
				strbuf_addf(sb, "%s%s\n", bullet, message(run, &r->envs[i].cases[k], m));
	for (size_t m = 0; m < r->lint.nr; m++)
		strbuf_addf(sb, "%slint: %s\n", bullet, message(run, &r->lint, m));
}

void render_check_text(struct strbuf *sb, const struct render_check *run)
{
	const struct nightly_report *r = run->report;
	char **cells = table_cells(run);

	render_text_table(sb, col_headers, cells, r->envs_nr, COL_NR);
	strbuf_addf(sb, "\nlint: %s\n", r->lint.summary);
	if (r->problems) {
		strbuf_addch(sb, '\n');
		add_problems(sb, run, "  ");
	}
	strbuf_addch(sb, '\n');
	if (r->problems)
		strbuf_addf(sb, "check failed: %zu problem%s\n", r->problems,
			    r->problems == 1 ? "" : "s");
	else
		strbuf_addf(sb, "check passed: %zu environment%s consistent\n", r->envs_nr,
			    r->envs_nr == 1 ? "" : "s");
	free_cells(cells, r->envs_nr);
}

void render_check_markdown(struct strbuf *sb, const struct render_check *run)
{
	const struct nightly_report *r = run->report;
	char **cells = table_cells(run);

	strbuf_addstr(sb, "## migsync check: ");
	if (r->problems)
		strbuf_addf(sb, "%zu problem%s\n\n", r->problems, r->problems == 1 ? "" : "s");
	else
		strbuf_addstr(sb, "all consistent\n\n");
	if (run->html_link)
		strbuf_addf(sb, "[The whole report, with the graph](%s)\n\n", run->html_link);
	render_md_table(sb, col_headers, cells, r->envs_nr, COL_NR);
	strbuf_addf(sb, "\n**Lint:** %s.\n", r->lint.summary);
	if (r->problems) {
		strbuf_addstr(sb, "\n**Problems:**\n\n");
		add_problems(sb, run, "- ");
	}
	free_cells(cells, r->envs_nr);
}

static void junit_case(struct strbuf *sb, const struct render_check *run,
		       const char *classname, enum nightly_check check, const struct nightly_case *k)
{
	static const enum render_outcome outcomes[] = {
		[NIGHTLY_PASSED] = RENDER_PASSED,
		[NIGHTLY_FAILED] = RENDER_FAILED,
		[NIGHTLY_SKIPPED] = RENDER_SKIPPED,
	};
	const char **msgs = messages(run, k);

	render_junit_case(sb, classname, nightly_check_name(check), outcomes[k->outcome],
			  nightly_check_name(check), msgs, k->nr);
	free(msgs);
}

void render_check_junit(struct strbuf *sb, const struct render_check *run)
{
	const struct nightly_report *r = run->report;
	size_t tests = 1, failures = r->lint.outcome == NIGHTLY_FAILED, skipped = 0;

	for (size_t i = 0; i < r->envs_nr; i++)
		for (size_t k = 0; k < NIGHTLY_ENV_CHECK_NR; k++) {
			tests++;
			failures += r->envs[i].cases[k].outcome == NIGHTLY_FAILED;
			skipped += r->envs[i].cases[k].outcome == NIGHTLY_SKIPPED;
		}
	render_junit_begin(sb, "migsync check", tests, failures, skipped);
	if (run->html_link) {
		strbuf_addstr(sb, "    <properties>\n      <property name=\"html_report\" value=\"");
		render_xml_escape(sb, run->html_link);
		strbuf_addstr(sb, "\"/>\n    </properties>\n");
	}
	for (size_t i = 0; i < r->envs_nr; i++)
		for (size_t k = 0; k < NIGHTLY_ENV_CHECK_NR; k++)
			junit_case(sb, run, r->envs[i].name, (enum nightly_check)k,
				   &r->envs[i].cases[k]);
	junit_case(sb, run, "scripts", NIGHTLY_LINT, &r->lint);
	render_junit_end(sb);
}

static void json_case(struct json_writer *jw, const struct render_check *run,
		      enum nightly_check check, const struct nightly_case *k)
{
	json_key(jw, nightly_check_name(check));
	json_object_begin(jw);
	json_kv_string(jw, "outcome", nightly_outcome_name(k->outcome));
	json_kv_string(jw, "summary", k->summary);
	json_key(jw, "messages");
	json_array_begin(jw);
	for (size_t m = 0; m < k->nr; m++)
		json_string(jw, message(run, k, m));
	json_array_end(jw);
	json_object_end(jw);
}

static void json_checksums(struct json_writer *jw, const struct render_check *run, size_t i)
{
	const struct status_env *env = &run->status->report.envs[i];

	json_key(jw, "checksum_mismatches");
	json_array_begin(jw);
	for (size_t t = 0; t < env->targets_nr; t++) {
		const struct cli_checksums *cs = cli_status_checksums(run->status, i, t);

		for (size_t m = 0; m < cs->nr; m++)
			render_json_checksum_mismatch(jw, true, cli_status_address(run->status, i, t),
						      &cs->items[m]);
	}
	json_array_end(jw);
}

static void json_drift(struct json_writer *jw, const struct render_check *run, const char *name)
{
	const struct drift_report *dr = &run->drift->report;

	json_key(jw, "drift");
	json_array_begin(jw);
	for (size_t t = 0; t < dr->targets_nr; t++) {
		const struct drift_target *d = &dr->targets[t];

		if (strcmp(d->environment, name))
			continue;
		json_object_begin(jw);
		json_kv_string(jw, "database", run->drift->jobs[t].t ? run->drift->jobs[t].t->describe : NULL);
		json_kv_string(jw, "dbname", run->drift->jobs[t].t ? run->drift->jobs[t].t->dbname : NULL);
		json_kv_string(jw, "state", drift_state_name(d->state));
		json_kv_string(jw, "fingerprint", d->snapshot ? d->snapshot->fingerprint : NULL);
		if (d->snapshot) {
			cli_json_strvec(jw, "version_rows", &d->snapshot->version_rows);
		} else {
			json_key(jw, "version_rows");
			json_null(jw);
		}
		json_kv_string(jw, "error", d->error);
		json_key(jw, "differences");
		json_array_begin(jw);
		for (size_t k = 0; k < d->diff.nr; k++) {
			json_object_begin(jw);
			json_kv_string(jw, "kind", drift_kind_name(d->diff.items[k].kind));
			json_kv_string(jw, "object", d->diff.items[k].object);
			json_kv_string(jw, "change", drift_change_name(d->diff.items[k].change));
			json_object_end(jw);
		}
		json_array_end(jw);
		cli_json_strvec(jw, "invalid_indexes", &d->invalid_indexes);
		json_object_end(jw);
	}
	json_array_end(jw);
}

static void json_env(struct json_writer *jw, const struct render_check *run, size_t i)
{
	const struct status_env *env = &run->status->report.envs[i];

	json_object_begin(jw);
	json_kv_string(jw, "environment", env->name);
	json_kv_bool(jw, "fleet", env->fleet);
	json_kv_string(jw, "state", status_state_name(env->state));
	cli_json_strvec(jw, "heads", &env->heads);
	render_json_pending(jw, env->state, env->summary_error, &env->pending);
	json_kv_string(jw, "error", env->summary_error);
	json_key(jw, "gate");
	json_object_begin(jw);
	json_kv_int(jw, "approvals", i < run->status->envs_nr ? run->status->envs[i]->gate.approvals : 0);
	json_kv_int(jw, "risky_approvals",
		    i < run->status->envs_nr ? run->status->envs[i]->gate.risky_approvals : 0);
	json_object_end(jw);
	json_key(jw, "targets");
	json_array_begin(jw);
	for (size_t t = 0; t < env->targets_nr; t++) {
		const struct cli_status *c = run->status;
		size_t job = c->first_job ? c->first_job[i] + t : c->jobs_nr;

		json_object_begin(jw);
		render_json_status_target(jw, c, i, t);
		json_key(jw, "position");
		if (job < c->jobs_nr && c->jobs[job].position >= 0)
			json_int(jw, c->jobs[job].position);
		else
			json_null(jw);
		json_kv_string(jw, "ledger_error", cli_status_checksums(c, i, t)->error);
		json_object_end(jw);
	}
	json_array_end(jw);
	json_key(jw, "checks");
	json_object_begin(jw);
	for (size_t k = 0; k < NIGHTLY_ENV_CHECK_NR; k++)
		json_case(jw, run, (enum nightly_check)k, &run->report->envs[i].cases[k]);
	json_object_end(jw);
	json_checksums(jw, run, i);
	json_drift(jw, run, env->name);
	json_object_end(jw);
}

/* The problems: every message of a failed case (notes included), lint last. */
static void json_problems(struct json_writer *jw, const struct render_check *run)
{
	const struct nightly_report *r = run->report;

	json_key(jw, "problems");
	json_array_begin(jw);
	for (size_t i = 0; i < r->envs_nr; i++)
		for (size_t k = 0; k < NIGHTLY_ENV_CHECK_NR; k++)
			for (size_t m = 0; r->envs[i].cases[k].outcome == NIGHTLY_FAILED &&
			     m < r->envs[i].cases[k].nr; m++) {
				json_object_begin(jw);
				json_kv_string(jw, "environment", r->envs[i].name);
				json_kv_string(jw, "check", nightly_check_name((enum nightly_check)k));
				json_kv_string(jw, "message", message(run, &r->envs[i].cases[k], m));
				json_object_end(jw);
			}
	for (size_t m = 0; m < r->lint.nr; m++) {
		json_object_begin(jw);
		json_kv_string(jw, "environment", NULL);
		json_kv_string(jw, "check", "lint");
		json_kv_string(jw, "message", message(run, &r->lint, m));
		json_object_end(jw);
	}
	json_array_end(jw);
}

static void json_lint(struct json_writer *jw, const struct render_check *run)
{
	const struct lint_report *lint = run->lint;

	json_key(jw, "lint");
	json_object_begin(jw);
	json_kv_string(jw, "outcome", nightly_outcome_name(run->report->lint.outcome));
	json_kv_int(jw, "revisions", (int64_t)lint->revisions);
	json_kv_int(jw, "errors", (int64_t)lint->errors);
	json_kv_int(jw, "warnings", (int64_t)lint->warnings);
	json_key(jw, "findings");
	json_array_begin(jw);
	for (size_t i = 0; i < lint->findings.nr; i++) {
		const struct diag *d = &lint->findings.items[i];

		json_object_begin(jw);
		json_kv_string(jw, "code", d->code);
		json_kv_string(jw, "severity", diag_severity_name(d->severity));
		json_kv_string(jw, "file", d->file);
		json_key(jw, "line");
		if (d->line)
			json_int(jw, d->line);
		else
			json_null(jw);
		json_key(jw, "column");
		if (d->line && d->column)
			json_int(jw, d->column);
		else
			json_null(jw);
		json_kv_string(jw, "message", d->message);
		if (d->rule) {
			json_kv_string(jw, "rule", d->rule);
			json_kv_string(jw, "revision", d->revision);
			json_kv_string(jw, "statement", d->statement);
			json_kv_string(jw, "instead", d->hint);
		}
		json_object_end(jw);
	}
	json_array_end(jw);
	json_object_end(jw);
}

/*
 * A shard's "graph": each revision as its file declares it, in the
 * graph's order, so that report merge builds the same graph.
 */
static void json_shard_graph(struct json_writer *jw, const struct revgraph *g)
{
	json_key(jw, "graph");
	json_array_begin(jw);
	for (size_t n = 0; g && n < g->nr; n++) {
		const struct script *s = g->nodes[n].script;

		json_object_begin(jw);
		json_kv_string(jw, "revision", s->revision);
		json_kv_string(jw, "file", s->path);
		json_kv_string(jw, "kind", s->kind == SCRIPT_SQL ? "sql" : "python");
		cli_json_strvec(jw, "down_revisions", &s->down_revisions);
		cli_json_strvec(jw, "depends_on", &s->depends_on);
		cli_json_strvec(jw, "branch_labels", &s->branch_labels);
		json_kv_string(jw, "message", s->message);
		json_kv_string(jw, "doc", s->doc);
		json_object_end(jw);
	}
	json_array_end(jw);
}

/*
 * A shard's "schemas": each schema its databases were read to have, once
 * per fingerprint, so that report merge compares databases of different
 * shards as one run compares them.
 */
static void json_shard_schemas(struct json_writer *jw, const struct drift_report *dr)
{
	struct strvec seen = STRVEC_INIT;

	json_key(jw, "schemas");
	json_array_begin(jw);
	for (size_t t = 0; t < dr->targets_nr; t++) {
		const struct schema_snapshot *s = dr->targets[t].snapshot;

		if (!s || strvec_contains(&seen, s->fingerprint))
			continue;
		strvec_push(&seen, s->fingerprint);
		json_object_begin(jw);
		json_kv_string(jw, "fingerprint", s->fingerprint);
		json_key(jw, "objects");
		json_array_begin(jw);
		for (size_t o = 0; o < s->nr; o++) {
			json_object_begin(jw);
			json_kv_string(jw, "kind", drift_kind_name(s->objects[o].kind));
			json_kv_string(jw, "name", s->objects[o].name);
			json_kv_string(jw, "definition", s->objects[o].definition);
			json_kv_string(jw, "parent", s->objects[o].parent);
			json_kv_bool(jw, "invalid", s->objects[o].invalid);
			json_object_end(jw);
		}
		json_array_end(jw);
		json_object_end(jw);
	}
	json_array_end(jw);
	strvec_release(&seen);
}

void render_check_json(struct strbuf *sb, const struct render_check *run)
{
	const struct status_report *r = &run->status->report;
	struct json_writer jw;

	json_init(&jw, sb);
	render_json_begin(&jw, "check");
	json_kv_string(&jw, "project", run->status->inv ? run->status->inv->project : NULL);
	json_key(&jw, "shard");
	if (run->shard_count) {
		json_object_begin(&jw);
		json_kv_int(&jw, "index", run->shard_index);
		json_kv_int(&jw, "count", run->shard_count);
		json_object_end(&jw);
	} else {
		json_null(&jw);
	}
	json_kv_bool(&jw, "fail_on_pending", run->fail_on_pending);
	json_kv_bool(&jw, "ok", run->report->verdict == NIGHTLY_PASS);
	json_kv_int(&jw, "problem_count", (int64_t)run->report->problems);
	json_problems(&jw, run);
	cli_json_strvec(&jw, "target", &r->goal);
	json_kv_string(&jw, "graph_error", run->status->graph_error);
	json_key(&jw, "environments");
	json_array_begin(&jw);
	for (size_t i = 0; i < run->report->envs_nr; i++)
		json_env(&jw, run, i);
	json_array_end(&jw);
	json_key(&jw, "violations");
	json_array_begin(&jw);
	for (size_t i = 0; i < r->violations_nr; i++) {
		json_object_begin(&jw);
		json_kv_string(&jw, "kind", status_violation_kind_name(r->violations[i].kind));
		json_kv_string(&jw, "environment", r->violations[i].environment);
		json_kv_string(&jw, "earlier", r->violations[i].earlier);
		cli_json_strvec(&jw, "revisions", &r->violations[i].revisions);
		json_kv_string(&jw, "detail", r->violations[i].detail);
		json_object_end(&jw);
	}
	json_array_end(&jw);
	json_lint(&jw, run);
	if (run->shard_count) {
		json_shard_graph(&jw, run->status->g);
		json_shard_schemas(&jw, &run->drift->report);
	}
	json_object_end(&jw);
	strbuf_addch(sb, '\n');
}
