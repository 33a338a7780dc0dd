/*
 * migsync plan: the staged plan to a target, one stage per environment in
 * rollout order, with each stage's steps, gate and plan hash. Also how
 * the promotion commands print a plan (promote_print_plan).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/render/render.h"
#include "cli/promote.h"
#include "migsync/apply.h"
#include "migsync/inventory.h"
#include "migsync/json.h"
#include "migsync/plan.h"
#include "migsync/status.h"
#include "migsync/strbuf.h"

enum {
	OPT_TO = OPT_FIRST_COMMAND_OPTION,
	OPT_SQL,
	OPT_ALLOW_OUT_OF_ORDER,
};

static const char *op_name(enum revgraph_row_op op)
{
	switch (op) {
	case ROW_INSERT:
		return "insert";
	case ROW_UPDATE:
		return "update";
	case ROW_MERGE:
		return "merge";
	case ROW_DELETE:
		return "delete";
	case ROW_UNMERGE:
		return "unmerge";
	}
	return "?";
}

static void json_step(struct json_writer *jw, const struct plan_step *s, bool sql,
		      const struct safety_report *safety)
{
	const char *why = NULL, *text = sql ? promote_step_sql(safety, s, &why) : NULL;

	json_object_begin(jw);
	json_kv_string(jw, "revision", s->revision);
	json_kv_string(jw, "direction", s->step.up ? "up" : "down");
	json_kv_string(jw, "file", s->script ? s->script->path : NULL);
	json_kv_string(jw, "sha256", s->sha256);
	json_kv_string(jw, "message", s->script ? s->script->message : NULL);
	json_kv_string(jw, "version_change", op_name(s->step.op));
	cli_json_strvec(jw, "rows_removed", &s->step.rows_removed);
	cli_json_strvec(jw, "rows_added", &s->step.rows_added);
	if (sql) {
		json_kv_string(jw, "sql", text);
		json_kv_string(jw, "sql_unavailable", why);
	}
	promote_json_findings(jw, s->step.up ? &safety->findings : NULL, s->revision);
	json_object_end(jw);
}

/* The distinct steps of a stage, first database first (a fleet's union). */
static void stage_steps(const struct plan_step ***out, size_t *nr, const struct plan_stage *st)
{
	size_t total = plan_stage_steps(st);

	*out = xcalloc(total ? total : 1, sizeof(**out));
	*nr = 0;
	for (size_t i = 0; i < st->dbs_nr; i++)
		for (size_t k = 0; k < st->dbs[i].steps_nr; k++) {
			const struct plan_step *s = &st->dbs[i].steps[k];
			bool seen = false;

			for (size_t j = 0; j < *nr && !seen; j++)
				seen = !strcmp((*out)[j]->revision, s->revision) &&
					(*out)[j]->step.up == s->step.up;
			if (!seen)
				(*out)[(*nr)++] = s;
		}
}

static void print_json(struct strbuf *sb, const struct plan *p, bool sql,
		       const struct safety_report *safety)
{
	struct json_writer jw;

	json_init(&jw, sb);
	render_json_begin(&jw, "plan");
	cli_json_strvec(&jw, "target", &p->target);
	json_key(&jw, "stages");
	json_array_begin(&jw);
	for (size_t i = 0; i < p->nr; i++) {
		const struct plan_stage *st = &p->stages[i];
		const struct plan_step **steps;
		size_t steps_nr;

		json_object_begin(&jw);
		json_kv_string(&jw, "environment", st->env->name);
		json_kv_string(&jw, "plan_hash", st->plan_hash);
		json_key(&jw, "gate");
		json_object_begin(&jw);
		json_kv_int(&jw, "approvals", st->env->gate.approvals);
		cli_json_strvec(&jw, "approved_by", &st->gate.approved_by);
		cli_json_strvec(&jw, "approvers", &st->env->gate.approvers);
		json_kv_int(&jw, "soak", st->env->gate.soak);
		json_kv_int(&jw, "risky_approvals", st->env->gate.risky_approvals);
		json_kv_int(&jw, "needed", st->gate.needed);
		json_kv_int(&jw, "risky_findings", (int64_t)st->gate.risky);
		json_kv_bool(&jw, "passed", st->gate.passed || !plan_stage_steps(st));
		cli_json_strvec(&jw, "notes", &st->gate.notes);
		json_object_end(&jw);
		stage_steps(&steps, &steps_nr, st);
		json_key(&jw, "steps");
		json_array_begin(&jw);
		for (size_t k = 0; k < steps_nr; k++)
			json_step(&jw, steps[k], sql, safety);
		json_array_end(&jw);
		free(steps);
		json_kv_bool(&jw, "fleet", st->fleet);
		json_key(&jw, "groups");
		json_array_begin(&jw);
		for (size_t g = 0; g < st->groups_nr; g++) {
			const struct plan_group *gr = &st->groups[g];
			const struct plan_db *first = &st->dbs[gr->first];

			json_object_begin(&jw);
			json_kv_string(&jw, "plan_hash", gr->plan_hash);
			json_kv_int(&jw, "count", (int64_t)gr->count);
			cli_json_strvec(&jw, "heads", &first->rows);
			cli_json_strvec(&jw, "end", &first->end_rows);
			json_key(&jw, "steps");
			json_array_begin(&jw);
			for (size_t k = 0; k < first->steps_nr; k++)
				json_string(&jw, first->steps[k].revision);
			json_array_end(&jw);
			json_kv_bool(&jw, "approved", !first->steps_nr || gr->gate.passed);
			cli_json_strvec(&jw, "approved_by", &gr->gate.approved_by);
			json_object_end(&jw);
		}
		json_array_end(&jw);
		json_key(&jw, "targets");
		json_array_begin(&jw);
		for (size_t d = 0; d < st->dbs_nr; d++) {
			const struct plan_db *db = &st->dbs[d];

			json_object_begin(&jw);
			json_kv_string(&jw, "database", db->describe);
			json_kv_string(&jw, "target", db->label);
			json_kv_string(&jw, "plan_hash", db->group != PLAN_NO_GROUP ?
				       plan_db_hash(st, db) : NULL);
			cli_json_strvec(&jw, "heads", &db->rows);
			cli_json_strvec(&jw, "end", &db->end_rows);
			json_key(&jw, "steps");
			json_array_begin(&jw);
			for (size_t k = 0; k < db->steps_nr; k++)
				json_string(&jw, db->steps[k].revision);
			json_array_end(&jw);
			cli_json_strvec(&jw, "in_progress", &db->in_progress);
			json_kv_string(&jw, "error", db->error);
			json_object_end(&jw);
		}
		json_array_end(&jw);
		json_kv_string(&jw, "order_error", st->order_error);
		json_kv_bool(&jw, "out_of_order", st->out_of_order_allowed);
		json_kv_string(&jw, "error", st->error);
		json_object_end(&jw);
	}
	json_array_end(&jw);
	json_key(&jw, "safety");
	json_object_begin(&jw);
	json_kv_int(&jw, "reviewed", (int64_t)safety->reviewed);
	json_kv_int(&jw, "skipped", (int64_t)safety->skipped_nr);
	json_kv_string(&jw, "skipped_reason", safety->skipped);
	json_object_end(&jw);
	json_object_end(&jw);
	strbuf_addch(sb, '\n');
}

/* The steps of db, numbered, each with its version-row change, safety findings (and its SQL). */
static void print_steps(struct strbuf *sb, const struct promote *pr, const struct plan_db *db,
			bool sql, const char *indent)
{
	for (size_t k = 0; k < db->steps_nr; k++) {
		const struct plan_step *s = &db->steps[k];

		strbuf_addf(sb, "%s%zu. %-4s %s  %s\n", indent, k + 1, s->step.up ? "up" : "down",
			    s->revision, s->script && s->script->message ? s->script->message : "");
		strbuf_addf(sb, "%s   %s: ", indent, op_name(s->step.op));
		plan_rows_add(sb, &s->step.rows_removed, ",");
		strbuf_addstr(sb, " -> ");
		plan_rows_add(sb, &s->step.rows_added, ",");
		if (s->script)
			strbuf_addf(sb, "  (%s)", s->script->filename);
		strbuf_addch(sb, '\n');
		if (s->step.up) {
			char *more = xstrfmt("%s   ", indent);

			promote_print_findings(sb, &pr->safety.findings, s->revision, more);
			free(more);
		}
		if (sql) {
			const char *why = NULL;
			const char *q = promote_step_sql(&pr->safety, s, &why);

			if (!q)
				strbuf_addf(sb, "%s   | (no SQL to show: %s)\n", indent, why);
			while (q && *q) {
				size_t n = strcspn(q, "\n");

				strbuf_addf(sb, "%s   | ", indent);
				strbuf_add(sb, q, n);
				strbuf_addch(sb, '\n');
				q += n + (q[n] == '\n');
			}
		}
	}
}

/* "ROWS -> END (N steps)" or "ROWS (nothing to do)", and a newline; whether there are steps. */
static bool add_transition(struct strbuf *sb, const struct plan_db *db)
{
	plan_rows_add(sb, &db->rows, ",");
	if (!db->steps_nr) {
		strbuf_addstr(sb, " (nothing to do)\n");
		return false;
	}
	strbuf_addstr(sb, " -> ");
	plan_rows_add(sb, &db->end_rows, ",");
	strbuf_addf(sb, " (%zu step%s)\n", db->steps_nr, db->steps_nr == 1 ? "" : "s");
	return true;
}

/*
 * A fleet: its groups (databases starting from the same rows), each with
 * its count, steps, plan hash and gate, then one line per database.
 */
static void print_fleet(struct strbuf *sb, const struct promote *pr, const struct plan_stage *st,
			bool sql)
{
	size_t errors = 0;

	for (size_t d = 0; d < st->dbs_nr; d++)
		errors += st->dbs[d].error != NULL;
	strbuf_addf(sb, "  %zu database%s in %zu group%s", st->dbs_nr, st->dbs_nr == 1 ? "" : "s",
		    st->groups_nr, st->groups_nr == 1 ? "" : "s");
	if (errors)
		strbuf_addf(sb, ", %zu unreadable", errors);
	strbuf_addstr(sb, " (one approval per group)\n");
	for (size_t g = 0; g < st->groups_nr; g++) {
		const struct plan_group *gr = &st->groups[g];
		const struct plan_db *first = &st->dbs[gr->first];

		strbuf_addf(sb, "  group %zu: %zu database%s: ", g + 1, gr->count,
			    gr->count == 1 ? "" : "s");
		if (!add_transition(sb, first))
			continue;
		strbuf_addf(sb, "    plan %s, gate %s", gr->plan_hash,
			    !st->env->gate.approvals && !st->env->gate.soak ? "none" :
			    gr->gate.passed ? "open" : "closed");
		if (gr->gate.approved_by.nr) {
			strbuf_addstr(sb, ", approved by ");
			plan_rows_add(sb, &gr->gate.approved_by, ",");
		}
		strbuf_addch(sb, '\n');
		print_steps(sb, pr, first, sql, "      ");
		if (!gr->gate.passed && st->env->gate.approvals) {
			struct plan_stage one = *st;
			char *cmd;

			/* the approve command of this group: only env and hash are read */
			memcpy(one.plan_hash, gr->plan_hash, sizeof(one.plan_hash));
			cmd = promote_approve_command(pr, &one, "plan");
			strbuf_addf(sb, "    to approve: %s\n", cmd);
			free(cmd);
		}
	}
	for (size_t d = 0; d < st->dbs_nr; d++) {
		const struct plan_db *db = &st->dbs[d];

		strbuf_addf(sb, "  %s: ", db->label ? db->label : db->describe);
		if (db->error) {
			strbuf_addf(sb, "error: %s\n", db->error);
			continue;
		}
		plan_rows_add(sb, &db->rows, ",");
		if (db->steps_nr) {
			strbuf_addstr(sb, " -> ");
			plan_rows_add(sb, &db->end_rows, ",");
		}
		strbuf_addf(sb, " (group %zu)\n", db->group + 1);
		for (size_t k = 0; k < db->in_progress.nr; k++)
			strbuf_addf(sb, "    revision %s was left in progress: run migsync resolve first\n",
				    db->in_progress.items[k]);
	}
}

void promote_print_plan(struct strbuf *sb, const struct promote *pr, const struct plan *p,
			enum cli_format format, bool sql)
{
	if (format == FORMAT_JSON) {
		print_json(sb, p, sql, &pr->safety);
		return;
	}
	promote_print_safety_skipped(sb, &pr->safety);
	strbuf_addstr(sb, "target: ");
	cli_add_joined(sb, &p->target, ", ", "base");
	strbuf_addch(sb, '\n');
	for (size_t i = 0; i < p->nr; i++) {
		const struct plan_stage *st = &p->stages[i];
		const struct inventory_gate *gate = &st->env->gate;
		size_t steps = plan_stage_steps(st);

		strbuf_addf(sb, "\nstage %zu/%zu: %s\n", i + 1, p->nr, st->env->name);
		strbuf_addf(sb, "  plan %s\n", st->plan_hash);
		if (st->error)
			strbuf_addf(sb, "  error: %s\n", st->error);
		if (st->fleet)
			print_fleet(sb, pr, st, sql);
		for (size_t d = 0; !st->fleet && d < st->dbs_nr; d++) {
			const struct plan_db *db = &st->dbs[d];

			strbuf_addf(sb, "  %s: ", db->describe);
			if (db->error) {
				strbuf_addf(sb, "error: %s\n", db->error);
				continue;
			}
			if (add_transition(sb, db))
				print_steps(sb, pr, db, sql, "    ");
			for (size_t k = 0; k < db->in_progress.nr; k++)
				strbuf_addf(sb, "    revision %s was left in progress: run migsync resolve first\n",
					    db->in_progress.items[k]);
		}
		if (st->order_error)
			strbuf_addf(sb, "  %s: %s\n",
				    st->out_of_order_allowed ? "out of order (allowed)" : "order violation",
				    st->order_error);
		if (!st->gate.needed && !gate->soak) {
			strbuf_addstr(sb, "  gate: none\n");
		} else {
			strbuf_addf(sb, "  gate: %d approval%s", st->gate.needed,
				    st->gate.needed == 1 ? "" : "s");
			if (st->gate.needed > gate->approvals)
				strbuf_addf(sb, " (risky: %zu safety finding%s)", st->gate.risky,
					    st->gate.risky == 1 ? "" : "s");
			if (gate->approvers.nr) {
				strbuf_addstr(sb, " from ");
				plan_rows_add(sb, &gate->approvers, ",");
			}
			if (gate->soak) {
				char *d = inventory_format_duration(gate->soak);

				strbuf_addf(sb, ", soak %s", d);
				free(d);
			}
			strbuf_addf(sb, "; approved by: ");
			if (st->gate.approved_by.nr)
				plan_rows_add(sb, &st->gate.approved_by, ",");
			else
				strbuf_addstr(sb, "nobody");
			strbuf_addf(sb, " (%s)\n", !steps ? "nothing to approve" :
				    st->gate.passed ? "open" : "closed");
			for (size_t k = 0; steps && !st->gate.passed && k < st->gate.notes.nr; k++)
				strbuf_addf(sb, "    %s\n", st->gate.notes.items[k]);
			if (steps && !st->gate.passed && st->gate.needed) {
				char *cmd = promote_approve_command(pr, st, "plan");

				strbuf_addf(sb, "  to approve: %s\n", cmd);
				free(cmd);
			}
		}
	}
}

static void print_help(void)
{
	printf("migsync plan shows the staged plan to a target revision: one stage per\n"
	       "environment in rollout order, with its steps, gate and plan hash.\n"
	       "\n"
	       "Usage:\n"
	       "  migsync plan [OPTION]...\n"
	       "\n"
	       "Options:\n"
	       "  -e, --environment=ENV      only this environment (repeatable)\n"
	       "      --to=REV               plan to REV instead of the heads\n"
	       "      --sql                  show each step's SQL (Alembic: its offline SQL)\n"
	       "      --allow-out-of-order   let a stage go past the stage before it\n"
	       "  -j, --jobs=N               read N databases of a fleet at a time (default: min(16, databases))\n"
	       "      --shard=K/N            only the targets of shard K of N (default: a Kubernetes Indexed Job's)\n"
	       "  -o, --output=FILE          write the plan to FILE\n"
	       "\n");
	cli_print_common_help(29, CLI_HELP_URL | CLI_HELP_SCRIPTS);
	printf("\n"
	       "Each upgrade step lists its safety findings (see migsync lint --rules); a\n"
	       "stage with findings no comment allows needs gate.risky_approvals approvers.\n"
	       "\n"
	       "Exit status:\n"
	       "  0  a plan was made\n"
	       "  1  a stage cannot run (an unreachable database, an order violation, a step\n"
	       "     left in progress, a step that does not parse)\n"
	       "  2  could not run (usage, inventory, scripts, a target that names no revision)\n");
}

/* A step whose SQL (or Python) does not parse: apply would refuse it. */
static bool syntax_error(const struct plan_db *db, const struct safety_list *safety)
{
	for (size_t k = 0; k < db->steps_nr; k++)
		for (size_t i = 0; db->steps[k].step.up && i < safety->nr; i++)
			if (!strcmp(safety->items[i].rule->name, "syntax-error") &&
			    !strcmp_null(safety->items[i].revision, db->steps[k].revision))
				return true;
	return false;
}

/* Whether a stage of p cannot run as planned. */
static bool plan_blocked(const struct plan *p, const struct safety_list *safety)
{
	for (size_t i = 0; i < p->nr; i++) {
		const struct plan_stage *st = &p->stages[i];

		if (st->error || (st->order_error && !st->out_of_order_allowed))
			return true;
		for (size_t d = 0; d < st->dbs_nr; d++)
			if (st->dbs[d].error || st->dbs[d].in_progress.nr ||
			    syntax_error(&st->dbs[d], safety))
				return true;
	}
	return false;
}

int cmd_plan(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_COMMON_LONGOPTS,
		{ "environment", required_argument, NULL, 'e' },
		{ "output", required_argument, NULL, 'o' },
		{ "jobs", required_argument, NULL, 'j' },
		CLI_SHARD_LONGOPT,
		{ "to", required_argument, NULL, OPT_TO },
		{ "sql", no_argument, NULL, OPT_SQL },
		{ "allow-out-of-order", no_argument, NULL, OPT_ALLOW_OUT_OF_ORDER },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_common common;
	struct strvec names = STRVEC_INIT;
	struct promote pr;
	struct apply_options o;
	struct plan p;
	struct ms_error err = MS_ERROR_INIT;
	struct strbuf out = STRBUF_INIT;
	const char *to = NULL, *output = NULL;
	bool sql = false, allow = false;
	unsigned jobs = 0;
	int ret = EXIT_OK, opt;

	cli_common_init(&common);
	common.shardable = true;
	promote_init(&pr);
	plan_init(&p);
	optind = 1;
	while ((opt = getopt_long(argc, argv, CLI_COMMON_SHORTOPTS "e:o:j:", longopts, NULL)) != -1) {
		switch (opt) {
		case OPT_HELP:
			print_help();
			goto done;
		case 'e':
			strvec_push(&names, optarg);
			break;
		case 'o':
			output = optarg;
			break;
		case 'j':
			ret = cli_parse_jobs(&jobs, "plan", optarg);
			if (ret != EXIT_OK)
				goto done;
			break;
		case OPT_TO:
			to = optarg;
			break;
		case OPT_SQL:
			sql = true;
			break;
		case OPT_ALLOW_OUT_OF_ORDER:
			allow = true;
			break;
		default:
			ret = cli_default_option(&common, "plan", opt, optarg);
			if (ret != EXIT_OK)
				goto done;
		}
	}
	ret = cli_extra_arguments("plan", argc, argv, optind);
	if (ret != EXIT_OK)
		goto done;
	ret = promote_load(&pr, &common, &names, NULL, to, true);
	if (ret != EXIT_OK)
		goto done;
	promote_options(&o, &pr, true);
	o.allow_out_of_order = allow;
	o.jobs = jobs;
	for (size_t i = 0; i < pr.target.ids.nr; i++)
		strvec_push(&p.target, pr.target.ids.items[i]);
	p.target_ident = xstrdup(pr.target.ident);
	if (apply_build_plan(&p, pr.envs, pr.envs_nr, &o, &err) < 0) {
		cli_print_error(&err);
		ret = cli_exit_code(&err);
		goto done;
	}
	promote_print_plan(&out, &pr, &p, common.format, sql);
	if (output) {
		FILE *f = fopen(output, "w");
		bool ok = f && fwrite(out.buf, 1, out.len, f) == out.len;

		if (f && fclose(f) != 0)
			ok = false;
		if (!ok) {
			fprintf(stderr, "migsync: error: \"%s\": could not write the plan\n", output);
			ret = EXIT_CANNOT_RUN;
			goto done;
		}
	} else {
		ret = cli_write_stdout(out.buf, out.len);
		if (ret != EXIT_OK)
			goto done;
	}
	if (plan_blocked(&p, &pr.safety.findings))
		ret = EXIT_PROBLEMS;
done:
	plan_release(&p);
	promote_release(&pr);
	strvec_release(&names);
	ms_error_release(&err);
	strbuf_release(&out);
	cli_common_release(&common);
	return ret;
}
