/*
 * What the promotion commands share (plan, approve, apply, downgrade,
 * resolve, stamp, hook): loading the inventory, scripts, graph,
 * environments and target once; the apply options; the approve command
 * to print; signals, elapsed time, and the report of a stopped stage
 * (see promote.h).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/promote.h"
#include "migsync/alembic.h"
#include "migsync/apply.h"
#include "migsync/inventory.h"
#include "migsync/json.h"
#include "migsync/plan.h"
#include "migsync/project.h"
#include "migsync/status.h"
#include "migsync/strbuf.h"

void promote_init(struct promote *pr)
{
	*pr = (struct promote){ 0 };
	script_set_init(&pr->scripts);
	plan_target_init(&pr->target);
	strvec_init(&pr->scripts_option);
	safety_report_init(&pr->safety);
}

void promote_release(struct promote *pr)
{
	free(pr->envs);
	plan_target_release(&pr->target);
	strvec_release(&pr->scripts_option);
	revgraph_free(pr->g);
	script_set_release(&pr->scripts);
	inventory_free(pr->inv);
	free(pr->who);
	free(pr->host);
	safety_report_release(&pr->safety);
	promote_init(pr);
}

/* The environments -e names (all when none), in rollout order, up to through. */
static int select_envs(struct promote *pr, const struct strvec *names, const char *through)
{
	const struct inventory *inv = pr->inv;
	const struct environment *last = NULL;

	for (size_t i = 0; i < names->nr + (through ? 1 : 0); i++) {
		const char *name = i < names->nr ? names->items[i] : through;
		const struct environment *e = inventory_find(inv, name);

		if (!e) {
			struct strbuf known = STRBUF_INIT;

			for (size_t k = 0; k < inv->nr; k++)
				strbuf_addf(&known, "%s%s", k ? ", " : "", inv->envs[k].name);
			fprintf(stderr, "migsync: error: environment \"%s\": not in the inventory\n", name);
			fprintf(stderr, "hint: the environments are: %s\n", known.buf);
			strbuf_release(&known);
			return EXIT_CANNOT_RUN;
		}
		if (i == names->nr)
			last = e;
	}
	pr->envs = xcalloc(inv->nr ? inv->nr : 1, sizeof(*pr->envs));
	for (size_t i = 0; i < inv->nr; i++) {
		if (last && inv->envs[i].stage > last->stage)
			break;
		if (!names->nr || strvec_contains(names, inv->envs[i].name))
			pr->envs[pr->envs_nr++] = &inv->envs[i];
	}
	return EXIT_OK;
}

int promote_load(struct promote *pr, struct cli_common *c, const struct strvec *names,
		 const char *through, const char *to, bool up)
{
	struct project project = PROJECT_INIT;
	struct ms_error err = MS_ERROR_INIT;
	char host[256];
	const char *user = getenv("USER");
	int ret = EXIT_OK;

	pr->inventory_option = c->inventory;
	for (size_t i = 0; i < c->scripts_dirs.nr; i++)
		strvec_push(&pr->scripts_option, c->scripts_dirs.items[i]);
	pr->who = xstrdup(user && *user ? user : "unknown");
	if (gethostname(host, sizeof(host)) < 0)
		strcpy(host, "unknown");
	host[sizeof(host) - 1] = '\0';
	pr->host = xstrdup(host);

	ret = cli_open_project(&project, c, PROJECT_INVENTORY | PROJECT_GRAPH,
			       SCRIPTS_SHA256 | SCRIPTS_KEEP_SQL);
	/* the promotion takes what the project found */
	pr->inv = project.inv;
	project.inv = NULL;
	pr->scripts = project.scripts;	/* the graph's nodes point into it */
	script_set_init(&project.scripts);
	pr->g = project.graph;
	project.graph = NULL;
	if (ret != EXIT_OK)
		goto done;
	ret = select_envs(pr, names, through);
	if (ret != EXIT_OK)
		goto done;
	if (plan_target_resolve(&pr->target, pr->g, to, up, &err) < 0) {
		cli_print_error(&err);
		ret = EXIT_CANNOT_RUN;
		goto done;
	}
	/*
	 * A downgrade's target is resolved against each database's rows (it
	 * may be relative: -1); one without + or - names the same revisions
	 * everywhere, so one that names none is refused here, once.
	 */
	if (!up && to && !strpbrk(to, "+-")) {
		struct revgraph_set set = REVGRAPH_SET_INIT;

		if (revgraph_resolve(&set, pr->g, to, NULL, &err) < 0) {
			cli_print_error(&err);
			ret = EXIT_CANNOT_RUN;
		}
		revgraph_set_release(&set);
	}
	if (up)
		cli_safety_review(&pr->safety, &pr->scripts, pr->inv);
done:
	project_release(&project);
	ms_error_release(&err);
	return ret;
}

void promote_options(struct apply_options *o, const struct promote *pr, bool up)
{
	apply_options_init(o);
	o->inv = pr->inv;
	o->g = pr->g;
	o->target = &pr->target;
	o->up = up;
	o->who = pr->who;
	o->host = pr->host;
	o->safety = up ? &pr->safety.findings : NULL;
}

void promote_print_findings(struct strbuf *sb, const struct safety_list *safety,
			    const char *revision, const char *indent)
{
	for (size_t i = 0; safety && i < safety->nr; i++) {
		const struct safety_finding *f = &safety->items[i];

		if (strcmp_null(f->revision, revision))
			continue;
		strbuf_addf(sb, "%s%s %s (%s): %s", indent, f->allowed ? "allowed:" : "risk:",
			    f->rule->name, f->rule->code, f->message);
		if (f->file && f->line)
			strbuf_addf(sb, " at %s:%u:%u", f->file, f->line, f->column);
		strbuf_addch(sb, '\n');
		if (f->statement)
			strbuf_addf(sb, "%s  statement: %s\n", indent, f->statement);
		if (f->allowed)
			strbuf_addf(sb, "%s  allowed because: %s\n", indent, f->allow_reason);
		else
			strbuf_addf(sb, "%s  why: %s\n%s  instead: %s\n", indent, f->rule->why,
				    indent, f->rule->instead);
	}
}

void promote_json_findings(struct json_writer *jw, const struct safety_list *safety,
			   const char *revision)
{
	json_key(jw, "findings");
	json_array_begin(jw);
	for (size_t i = 0; safety && i < safety->nr; i++) {
		const struct safety_finding *f = &safety->items[i];

		if (strcmp_null(f->revision, revision))
			continue;
		json_object_begin(jw);
		json_kv_string(jw, "rule", f->rule->name);
		json_kv_string(jw, "code", f->rule->code);
		json_kv_string(jw, "file", f->file);
		json_key(jw, "line");
		if (f->line)
			json_int(jw, f->line);
		else
			json_null(jw);
		json_key(jw, "column");
		if (f->column)
			json_int(jw, f->column);
		else
			json_null(jw);
		json_kv_string(jw, "statement", f->statement);
		json_kv_string(jw, "message", f->message);
		json_kv_string(jw, "why", f->rule->why);
		json_kv_string(jw, "instead", f->rule->instead);
		json_kv_bool(jw, "allowed", f->allowed);
		json_kv_string(jw, "allow_reason", f->allow_reason);
		json_object_end(jw);
	}
	json_array_end(jw);
}

void promote_stage_findings(struct strbuf *sb, const struct plan_stage *st,
			    const struct safety_report *r)
{
	struct strvec revs = STRVEC_INIT;
	size_t risky = plan_stage_risky(st, &r->findings);

	for (size_t i = 0; i < st->dbs_nr; i++)
		for (size_t k = 0; k < st->dbs[i].steps_nr; k++) {
			const struct plan_step *s = &st->dbs[i].steps[k];
			struct safety_list mine = SAFETY_LIST_INIT;

			if (!s->step.up || strvec_contains(&revs, s->revision))
				continue;
			strvec_push(&revs, s->revision);
			safety_list_copy(&mine, &r->findings, s->revision);
			if (mine.nr) {
				if (!sb->len)
					strbuf_addf(sb, "environment \"%s\": the plan's steps carry safety "
						    "findings (%zu that no comment allows):\n",
						    st->env->name, risky);
				strbuf_addf(sb, "  revision %s:\n", s->revision);
				promote_print_findings(sb, &mine, s->revision, "    ");
			}
			safety_list_release(&mine);
		}
	strvec_release(&revs);
	promote_print_safety_skipped(sb, r);
}

const char *promote_step_sql(const struct safety_report *r, const struct plan_step *s,
			     const char **why)
{
	const struct alembic_offline_step *off;

	*why = NULL;
	if (!s->script) {
		*why = "no revision file";
		return NULL;
	}
	if (s->script->kind == SCRIPT_SQL) {
		const char *text = s->step.up ? s->script->up_sql : s->script->down_sql;

		if (!text)
			*why = "the revision has no such section";
		return text;
	}
	if (!s->step.up) {
		*why = "the offline SQL of Alembic downgrades is not shown";
		return NULL;
	}
	off = r->offline ? alembic_offline_find(r->offline, s->revision) : NULL;
	if (!off)
		*why = r->skipped ? r->skipped : "not in Alembic's offline SQL";
	return off ? off->sql : NULL;
}

void promote_print_safety_skipped(struct strbuf *sb, const struct safety_report *r)
{
	if (r->skipped)
		strbuf_addf(sb, "safety review skipped for %zu Alembic revision%s: %s\n",
			    r->skipped_nr, r->skipped_nr == 1 ? "" : "s", r->skipped);
}

bool promote_hash_prefix_valid(const char *hash)
{
	size_t len = strspn(hash, "0123456789abcdefABCDEF");

	return !hash[len] && len >= PROMOTE_HASH_PREFIX_MIN && len <= SHA256_HEX_LEN;
}

bool promote_hash_matches(const char *full, const char *hash)
{
	size_t len = strlen(hash);

	return full && strlen(full) >= len && !strncasecmp(full, hash, len);
}

/* " OPTION VALUE", the value quoted for the shell */
static void add_option(struct strbuf *sb, const char *option, const char *value)
{
	strbuf_addf(sb, " %s ", option);
	strbuf_add_shell_word(sb, value);
}

void promote_add_command(struct strbuf *sb, const struct promote *pr, const char *cmd,
			 const char *env)
{
	strbuf_addf(sb, "migsync %s", cmd);
	if (pr->inventory_option)
		add_option(sb, "-i", pr->inventory_option);
	for (size_t i = 0; i < pr->scripts_option.nr; i++)
		add_option(sb, "--scripts", pr->scripts_option.items[i]);
	add_option(sb, "-e", env);
}

char *promote_approve_command(const struct promote *pr, const struct plan_stage *st,
			      const char *what)
{
	struct strbuf sb = STRBUF_INIT;

	promote_add_command(&sb, pr, "approve", st->env->name);
	if (what && strcmp(what, "plan"))
		strbuf_addf(&sb, " --%s", what);
	if (pr->target.given)
		add_option(&sb, "--to", pr->target.given);
	add_option(&sb, "--plan", st->plan_hash);
	return strbuf_detach(&sb, NULL);
}

void promote_json_rows(struct json_writer *jw, const char *key, const struct strvec *rows)
{
	if (!rows) {
		json_key(jw, key);
		json_null(jw);
		return;
	}
	cli_json_strvec(jw, key, rows);
}


static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	interrupted = sig;
}

volatile sig_atomic_t *promote_catch_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	return &interrupted;
}

const char *promote_outcome_name(enum apply_outcome out, const char *done, const char *dry_run)
{
	switch (out) {
	case APPLY_NOTHING:
		return "current";
	case APPLY_DONE:
		return done;
	case APPLY_DRY_RUN:
		return dry_run;
	case APPLY_GATED:
		return "gated";
	case APPLY_DECLINED:
		return "declined";
	case APPLY_FAILED:
		return "failed";
	}
	return "?";
}

int promote_report_stop(const struct promote *pr, const struct environment *env,
			const struct plan_stage *st, enum apply_outcome out,
			const struct ms_error *err, const char *what)
{
	char *cmd;

	switch (out) {
	case APPLY_GATED:
		cmd = promote_approve_command(pr, st, what);
		fprintf(stderr, "migsync: %s\n", err->message ? err->message : "stopped at the gate");
		if (st->gate.soak_unknown) {
			struct strbuf apply = STRBUF_INIT;

			promote_add_command(&apply, pr, "apply", st->previous ? st->previous : "ENV");
			fprintf(stderr, "hint: the soak counts from migsync's ledger of environment \"%s\": apply the "
				"revisions there with migsync (migsync downgrade, then %s), "
				"or lower gate.soak of %s for this release\n",
				st->previous ? st->previous : "?", apply.buf, env->name);
			strbuf_release(&apply);
		} else if (st->gate.soak_remaining > 0) {
			char *left = inventory_format_duration(st->gate.soak_remaining);

			fprintf(stderr, "hint: run again in %s (soak)\n", left);
			free(left);
		}
		if ((int64_t)st->gate.approved_by.nr < st->gate.needed)
			fprintf(stderr, "hint: to approve this %s, run:\n  %s\n",
				strcmp(what, "stamp") ? "plan" : what, cmd);
		free(cmd);
		return EXIT_GATED;
	case APPLY_DECLINED:
		fprintf(stderr, "migsync: environment \"%s\": not confirmed; stopped\n", env->name);
		return EXIT_GATED;
	case APPLY_FAILED:
		cli_print_error(err);
		return cli_db_exit_code(err);
	case APPLY_NOTHING:
	case APPLY_DONE:
	case APPLY_DRY_RUN:
		break;
	}
	return EXIT_OK;
}
