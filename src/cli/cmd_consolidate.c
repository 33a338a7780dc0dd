/*
 * migsync consolidate: the two moments of squashing many revisions into
 * one baseline (seed 003) done safely.
 *
 *   --check         is it safe to squash now? Every environment
 *                   reachable, all at the scripts' single head, identical
 *                   schema fingerprints, no pending approval, no step in
 *                   progress, no lint error; each blocker is listed.
 *   --stamp REV     after the baseline revision REV is written (and the
 *                   old files removed): stamp it into every environment
 *                   in rollout order through the usual gates, replacing
 *                   the head they all shared (--expect), after checking
 *                   that every schema equals the first environment's.
 *
 * A pending approval is an approval that has not expired and whose plan
 * hash no ledger entry of the environment's databases records as
 * applied, resolved as applied, or stamped: someone approved a change
 * that has not happened yet, and squashing would void it.
 */
#include <stdarg.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/promote.h"
#include "migsync/apply.h"
#include "migsync/conn.h"
#include "migsync/drift.h"
#include "migsync/inventory.h"
#include "migsync/json.h"
#include "migsync/ledger.h"
#include "migsync/lint.h"
#include "migsync/pool.h"
#include "migsync/strbuf.h"
#include "migsync/target.h"

enum {
	OPT_CHECK = OPT_FIRST_COMMAND_OPTION,
	OPT_STAMP,
	OPT_EXPECT,
	OPT_DRY_RUN,
};

/* Lint errors listed one by one; the rest are counted. */
#define LINT_SHOWN 10
/* Schema differences named in a blocker; the rest are counted. */
#define DIFF_SHOWN 3

/* One database, read in a worker thread. */
struct ctarget {
	const struct environment *env;
	const struct db_target *t;	/* NULL: its environment could not be expanded */
	bool first;			/* the environment's first database: it holds the approvals */
	struct schema_snapshot *snapshot;
	struct ledger_entry *ledger;
	size_t ledger_nr;
	struct approval *approvals;
	size_t approvals_nr;
	struct ms_error err;
};

struct blocker {
	const char *check;		/* "reachable", "head", "schema", "approvals", "ledger", "lint" */
	char *environment;		/* or NULL */
	char *message;
};

struct consolidate {
	struct db_target **targets;	/* per environment, from db_targets_expand */
	size_t *targets_nr;
	size_t envs_nr;
	struct ctarget *items;
	size_t nr;
	size_t alloc;
	struct blocker *blockers;
	size_t blockers_nr;
	size_t blockers_alloc;
	const struct ctarget *reference;	/* the first database read */
};

static void print_help(void)
{
	printf("migsync consolidate helps squash many revisions into one baseline revision:\n"
	       "it says whether it is safe to squash now, and afterwards stamps the baseline\n"
	       "into every environment.\n"
	       "\n"
	       "Usage:\n"
	       "  migsync consolidate --check [OPTION]...\n"
	       "  migsync consolidate --stamp=REV [--expect=REV] [OPTION]...\n"
	       "\n"
	       "Options:\n"
	       "      --check            check that squashing is safe; list what blocks it\n"
	       "      --stamp=REV        stamp the baseline REV into every environment, in\n"
	       "                         rollout order, through the gates\n"
	       "      --expect=REV       the head the environments share now (default: the\n"
	       "                         one they all hold; may be gone from the scripts)\n"
	       "      --dry-run          with --stamp: check everything; change nothing\n"
	       "  -y, --yes              do not ask before a gated stamp\n"
	       "  -j, --jobs=N           read N databases at a time (default: min(16, databases))\n"
	       "\n"
	       "Common options:\n"
	       "  -i, --inventory=PATH   inventory directory (default: $MIGSYNC_INVENTORY or environments/)\n"
	       "      --scripts=DIR      versions directory (default: the inventory's migrations.scripts)\n"
	       "      --format=FORMAT    output format: text (default) or json\n"
	       "      --help             show this help, then exit\n"
	       "\n"
	       "--check blocks on: an environment that cannot be read, one that is not at the\n"
	       "scripts' single head, a schema that differs from the first environment's (or\n"
	       "an INVALID index), an approval not yet used (not expired, its plan neither\n"
	       "applied nor stamped), a step left in progress, a lint error.\n"
	       "\n"
	       "--stamp refuses to start when a schema differs from the first environment's\n"
	       "or an environment holds other rows than --expect (or REV).\n"
	       "\n"
	       "Exit status: 0 safe (--check) or stamped, 1 blocked, or a stamp was refused,\n"
	       "2 could not run, 3 stopped at a gate (the approve command is printed).\n");
}

static void consolidate_release(struct consolidate *c)
{
	for (size_t i = 0; i < c->nr; i++) {
		schema_snapshot_free(c->items[i].snapshot);
		ledger_entries_free(c->items[i].ledger, c->items[i].ledger_nr);
		approvals_free(c->items[i].approvals, c->items[i].approvals_nr);
		ms_error_release(&c->items[i].err);
	}
	free(c->items);
	for (size_t i = 0; i < c->envs_nr; i++)
		db_targets_free(c->targets[i], c->targets_nr[i]);
	free(c->targets);
	free(c->targets_nr);
	for (size_t i = 0; i < c->blockers_nr; i++) {
		free(c->blockers[i].environment);
		free(c->blockers[i].message);
	}
	free(c->blockers);
}

static void block(struct consolidate *c, const char *check, const char *environment,
		  const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void block(struct consolidate *c, const char *check, const char *environment,
		  const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT;
	struct blocker *b;
	va_list ap;

	va_start(ap, fmt);
	strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	ALLOC_GROW(c->blockers, c->blockers_nr + 1, c->blockers_alloc);
	b = &c->blockers[c->blockers_nr++];
	b->check = check;
	b->environment = environment ? xstrdup(environment) : NULL;
	b->message = strbuf_detach(&sb, NULL);
}

static struct ctarget *add_item(struct consolidate *c, const struct environment *env,
				const struct db_target *t, bool first)
{
	struct ctarget *it;

	ALLOC_GROW(c->items, c->nr + 1, c->alloc);
	it = &c->items[c->nr++];
	memset(it, 0, sizeof(*it));
	ms_error_init(&it->err);
	it->env = env;
	it->t = t;
	it->first = first;
	return it;
}

static const char *label_of(const struct ctarget *it)
{
	return it->t ? it->t->label : it->env->name;
}

/* Connect, read the schema (with the version rows), the ledger and, for a first database, the approvals. */
static void read_work(size_t i, void *ctx)
{
	struct ctarget *it = &((struct consolidate *)ctx)->items[i];
	const struct inventory_database *d = &it->env->database;
	struct drift_options opts;
	struct ms_error err = MS_ERROR_INIT;
	struct tunnel *tunnel = NULL;
	PGconn *conn = NULL;
	bool ledger = false;

	if (!it->t)
		goto done;
	if (db_connect(&conn, &tunnel, it->t, &it->err) < 0)
		goto done;
	memset(&opts, 0, sizeof(opts));
	opts.version_table = d->version_table;
	opts.version_schema = d->version_table_schema;
	opts.statement_timeout_ms = d->statement_timeout <= 0 ? 0 :
		d->statement_timeout > INT_MAX / 1000 ? INT_MAX : (int)d->statement_timeout * 1000;
	if (drift_read(&it->snapshot, conn, &opts, &err) < 0 ||
	    ledger_exists(conn, NULL, &ledger, &err) < 0 ||
	    (ledger && ledger_list(&it->ledger, &it->ledger_nr, conn, NULL, 0, &err) < 0) ||
	    (ledger && it->first && ledger_approvals(&it->approvals, &it->approvals_nr, conn,
						     NULL, it->env->name, &err) < 0)) {
		db_target_error(&it->err, err.code, it->t, "%s", err.message);
		schema_snapshot_free(it->snapshot);
		it->snapshot = NULL;
	}
done:
	db_disconnect(conn, tunnel);
	ms_error_release(&err);
}

/*
 * Expand every environment (in rollout order) and read each database in
 * parallel. An environment that cannot be expanded, or a database that
 * cannot be read, is kept with its error.
 */
static int collect(struct consolidate *c, const struct inventory *inv, unsigned jobs,
		   struct ms_error *err)
{
	int ret = 0;

	c->envs_nr = inv->nr;
	c->targets = xcalloc(inv->nr ? inv->nr : 1, sizeof(*c->targets));
	c->targets_nr = xcalloc(inv->nr ? inv->nr : 1, sizeof(*c->targets_nr));
	for (size_t i = 0; i < inv->nr; i++) {
		const struct environment *env = &inv->envs[i];
		struct ms_error e = MS_ERROR_INIT;

		if (db_targets_expand(&c->targets[i], &c->targets_nr[i], env, &e) < 0)
			ms_error_move(&add_item(c, env, NULL, true)->err, &e);
		else if (!c->targets_nr[i])
			ms_error_set(&add_item(c, env, NULL, true)->err, MS_ERR_CONFIG,
				     "environment \"%s\": no databases", env->name);
		for (size_t k = 0; k < c->targets_nr[i]; k++)
			add_item(c, env, &c->targets[i][k], k == 0);
		ms_error_release(&e);
	}
	if (c->nr)
		ret = pool_run(c->nr, jobs, read_work, NULL, c, err);
	for (size_t i = 0; ret == 0 && i < c->nr; i++) {
		struct ctarget *it = &c->items[i];

		if (!it->snapshot) {
			block(c, "reachable", it->env->name, "%s",
			      it->err.message ? it->err.message : "could not read the database");
		} else if (!c->reference) {
			c->reference = it;
		}
	}
	return ret;
}

/* promote_add_rows into a string of its own; caller frees. */
static char *rows_text(const struct strvec *rows)
{
	struct strbuf sb = STRBUF_INIT;

	promote_add_rows(&sb, rows);
	return strbuf_detach(&sb, NULL);
}

/* Every schema against the reference's; every INVALID index. */
static void check_schemas(struct consolidate *c)
{
	const struct ctarget *ref = c->reference;

	for (size_t i = 0; i < c->nr; i++) {
		const struct ctarget *it = &c->items[i];
		const struct schema_snapshot *s = it->snapshot;
		struct drift_diff diff = DRIFT_DIFF_INIT;
		struct strbuf sb = STRBUF_INIT;

		if (!s)
			continue;
		for (size_t k = 0; k < s->nr; k++)
			if (s->objects[k].invalid)
				block(c, "schema", it->env->name, "environment \"%s\": INVALID index %s",
				      label_of(it), s->objects[k].name);
		if (it == ref || !strcmp(s->fingerprint, ref->snapshot->fingerprint))
			continue;
		drift_compare(&diff, ref->snapshot, s);
		for (size_t k = 0; k < diff.nr && k < DIFF_SHOWN; k++)
			strbuf_addf(&sb, "%s%s %s %s", k ? "; " : "", drift_kind_name(diff.items[k].kind),
				    diff.items[k].object, drift_change_name(diff.items[k].change));
		if (diff.nr > DIFF_SHOWN)
			strbuf_addf(&sb, "; and %zu more", diff.nr - DIFF_SHOWN);
		block(c, "schema", it->env->name,
		      "environment \"%s\": schema differs from \"%s\" (%zu difference%s: %s)",
		      label_of(it), label_of(ref), diff.nr, diff.nr == 1 ? "" : "s",
		      sb.len ? sb.buf : "same objects, different fingerprint");
		strbuf_release(&sb);
		drift_diff_release(&diff);
	}
}

/* Every database at exactly the scripts' single head. */
static void check_heads(struct consolidate *c, const struct revgraph *g)
{
	const char *head = g && g->real_heads_nr == 1 ? g->nodes[g->real_heads[0]].id : NULL;

	if (!g)
		return;
	if (!head) {
		struct strbuf sb = STRBUF_INIT;

		for (size_t i = 0; i < g->real_heads_nr; i++)
			strbuf_addf(&sb, "%s%s", i ? ", " : "", g->nodes[g->real_heads[i]].id);
		block(c, "head", NULL, "the scripts have %zu heads%s%s%s: merge them first",
		      g->real_heads_nr, sb.len ? " (" : "", sb.buf, sb.len ? ")" : "");
		strbuf_release(&sb);
	}
	for (size_t i = 0; i < c->nr; i++) {
		const struct ctarget *it = &c->items[i];
		const struct strvec *rows;
		char *have;

		if (!it->snapshot)
			continue;
		rows = &it->snapshot->version_rows;
		if (head ? rows->nr == 1 && !strcmp(rows->items[0], head) :
		    promote_rows_equal(rows, &c->reference->snapshot->version_rows))
			continue;
		have = rows_text(rows);
		if (!head)
			block(c, "head", it->env->name, "environment \"%s\": at %s, \"%s\" at %s",
			      label_of(it), have, label_of(c->reference),
			      c->reference->snapshot->version_rows.nr ?
			      c->reference->snapshot->version_rows.items[0] : "(none)");
		else if (rows->nr == 1 && revgraph_find(g, rows->items[0]) < 0)
			block(c, "head", it->env->name,
			      "environment \"%s\": at %s, which the scripts do not know (their head is %s)",
			      label_of(it), have, head);
		else
			block(c, "head", it->env->name, "environment \"%s\": at %s, not at the head %s",
			      label_of(it), have, head);
		free(have);
	}
}

/* Whether any database of env recorded plan hash as done. */
static bool plan_done(const struct consolidate *c, const struct environment *env, const char *hash)
{
	for (size_t i = 0; i < c->nr; i++) {
		const struct ctarget *it = &c->items[i];

		if (it->env != env)
			continue;
		for (size_t k = 0; k < it->ledger_nr; k++) {
			const struct ledger_entry *e = &it->ledger[k];

			if (e->plan_hash && !strcmp(e->plan_hash, hash) &&
			    (e->outcome == LEDGER_APPLIED || e->outcome == LEDGER_RESOLVED_APPLIED ||
			     e->outcome == LEDGER_STAMPED))
				return true;
		}
	}
	return false;
}

/* Approvals not yet used, and steps left in progress. */
static void check_ledgers(struct consolidate *c)
{
	struct timespec ts;
	int64_t now;

	clock_gettime(CLOCK_REALTIME, &ts);
	now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	for (size_t i = 0; i < c->nr; i++) {
		const struct ctarget *it = &c->items[i];

		for (size_t k = 0; k < it->approvals_nr; k++) {
			const struct approval *a = &it->approvals[k];

			if (a->expires_at_ms && a->expires_at_ms <= now)
				continue;
			if (!a->plan_hash || plan_done(c, it->env, a->plan_hash))
				continue;
			block(c, "approvals", it->env->name,
			      "environment \"%s\": approval by \"%s\" of plan %.12s is pending (not applied, not expired)",
			      it->env->name, a->approver ? a->approver : "?", a->plan_hash);
		}
		for (size_t k = 0; k < it->ledger_nr; k++)
			if (it->ledger[k].outcome == LEDGER_IN_PROGRESS)
				block(c, "ledger", it->env->name,
				      "environment \"%s\": revision \"%s\" was left in progress",
				      label_of(it), it->ledger[k].revision);
	}
}

/* Lint errors of the scripts (read in keep-going mode); *g is the graph when it can be built. */
static int check_lint(struct consolidate *c, struct revgraph **g, struct script_set *set,
		      const struct cli_common *common, struct ms_error *err)
{
	struct lint_options opts;
	struct lint_report report;
	struct diag_list reader = DIAG_LIST_INIT, problems = DIAG_LIST_INIT;
	struct strvec dirs = STRVEC_INIT;
	struct ms_error gerr = MS_ERROR_INIT;
	size_t shown = 0;
	int ret;

	lint_options_init(&opts);
	lint_report_init(&report);
	ret = cli_script_dirs(&dirs, common, err);
	for (size_t i = 0; ret == 0 && i < dirs.nr; i++)
		ret = lint_read_dir(set, &reader, dirs.items[i], 0, err);
	if (ret == 0)
		ret = lint_run(&report, set, &reader, &opts, err);
	if (ret < 0)
		goto done;
	for (size_t i = 0; i < report.findings.nr; i++) {
		const struct diag *d = &report.findings.items[i];

		if (d->severity != DIAG_ERROR || shown++ >= LINT_SHOWN)
			continue;
		if (d->line)
			block(c, "lint", NULL, "%s: %s:%u: %s", d->code, d->file ? d->file : "?",
			      d->line, d->message);
		else
			block(c, "lint", NULL, "%s: %s: %s", d->code, d->file ? d->file : "?", d->message);
	}
	if (shown > LINT_SHOWN)
		block(c, "lint", NULL, "and %zu more lint error%s (run migsync lint)",
		      shown - LINT_SHOWN, shown - LINT_SHOWN == 1 ? "" : "s");
	if (revgraph_build(g, set, &problems, &gerr) < 0)
		block(c, "head", NULL, "the revision graph cannot be built: %s",
		      gerr.message ? gerr.message : "unknown error");
done:
	ms_error_release(&gerr);
	diag_list_release(&problems);
	diag_list_release(&reader);
	strvec_release(&dirs);
	lint_report_release(&report);
	lint_options_release(&opts);
	return ret;
}

static void json_targets(struct json_writer *jw, const struct consolidate *c)
{
	json_key(jw, "targets");
	json_array_begin(jw);
	for (size_t i = 0; i < c->nr; i++) {
		const struct ctarget *it = &c->items[i];

		json_object_begin(jw);
		json_kv_string(jw, "environment", it->env->name);
		json_kv_string(jw, "database", it->t ? it->t->describe : NULL);
		promote_json_rows(jw, "rows", it->snapshot ? &it->snapshot->version_rows : NULL);
		json_kv_string(jw, "fingerprint", it->snapshot ? it->snapshot->fingerprint : NULL);
		json_kv_string(jw, "error", it->snapshot ? NULL : it->err.message);
		json_object_end(jw);
	}
	json_array_end(jw);
}

static void json_blockers(struct json_writer *jw, const struct consolidate *c)
{
	json_key(jw, "blockers");
	json_array_begin(jw);
	for (size_t i = 0; i < c->blockers_nr; i++) {
		json_object_begin(jw);
		json_kv_string(jw, "check", c->blockers[i].check);
		json_kv_string(jw, "environment", c->blockers[i].environment);
		json_kv_string(jw, "message", c->blockers[i].message);
		json_object_end(jw);
	}
	json_array_end(jw);
}

static void text_targets(struct strbuf *sb, const struct consolidate *c)
{
	int width = 0;

	for (size_t i = 0; i < c->nr; i++)
		if ((int)strlen(label_of(&c->items[i])) > width)
			width = (int)strlen(label_of(&c->items[i]));
	for (size_t i = 0; i < c->nr; i++) {
		const struct ctarget *it = &c->items[i];
		char *rows = it->snapshot ? rows_text(&it->snapshot->version_rows) : NULL;

		if (it->snapshot)
			strbuf_addf(sb, "  %-*s  %-12s  schema %.12s\n", width, label_of(it), rows,
				    it->snapshot->fingerprint);
		else
			strbuf_addf(sb, "  %-*s  unreachable\n", width, label_of(it));
		free(rows);
	}
}

static int run_check(const struct cli_common *common, const struct inventory *inv,
		     unsigned jobs)
{
	struct consolidate c;
	struct script_set set = SCRIPT_SET_INIT;
	struct revgraph *g = NULL;
	struct ms_error err = MS_ERROR_INIT;
	struct strbuf sb = STRBUF_INIT;
	const char *head;
	int ret = EXIT_OK;

	memset(&c, 0, sizeof(c));
	if (check_lint(&c, &g, &set, common, &err) < 0 || collect(&c, inv, jobs, &err) < 0) {
		cli_print_error(&err);
		ret = cli_exit_code(&err);
		if (ret == EXIT_PROBLEMS)
			ret = EXIT_CANNOT_RUN;
		goto done;
	}
	if (c.reference) {
		check_heads(&c, g);
		check_schemas(&c);
	}
	check_ledgers(&c);
	head = g && g->real_heads_nr == 1 ? g->nodes[g->real_heads[0]].id : NULL;

	if (common->format == FORMAT_JSON) {
		struct json_writer jw;

		json_init(&jw, &sb);
		json_object_begin(&jw);
		json_kv_bool(&jw, "safe", !c.blockers_nr);
		json_kv_string(&jw, "head", head);
		json_kv_string(&jw, "fingerprint", !c.blockers_nr && c.reference ?
			       c.reference->snapshot->fingerprint : NULL);
		json_targets(&jw, &c);
		json_blockers(&jw, &c);
		json_object_end(&jw);
		strbuf_addch(&sb, '\n');
	} else {
		strbuf_addf(&sb, "scripts: head %s\n", head ? head : "(not a single head)");
		text_targets(&sb, &c);
		strbuf_addch(&sb, '\n');
		if (!c.blockers_nr) {
			strbuf_addf(&sb, "safe to squash: %zu database%s at %s, schema %.12s, no pending approvals, lint clean\n",
				    c.nr, c.nr == 1 ? "" : "s", head, c.reference->snapshot->fingerprint);
		} else {
			strbuf_addf(&sb, "not safe to squash: %zu blocker%s\n", c.blockers_nr,
				    c.blockers_nr == 1 ? "" : "s");
			for (size_t i = 0; i < c.blockers_nr; i++)
				strbuf_addf(&sb, "  %-9s  %s\n", c.blockers[i].check, c.blockers[i].message);
		}
	}
	ret = cli_write_stdout(sb.buf, sb.len);
	if (ret == EXIT_OK && c.blockers_nr)
		ret = EXIT_PROBLEMS;
done:
	consolidate_release(&c);
	revgraph_free(g);
	script_set_release(&set);
	ms_error_release(&err);
	strbuf_release(&sb);
	return ret;
}

/*
 * The rows every environment must hold before the stamp: --expect, or
 * the single row all databases not yet at the baseline share. A
 * database at other rows blocks the whole stamp.
 */
static void check_expect(struct consolidate *c, struct strvec *expect, bool given,
			 const struct strvec *to)
{
	for (size_t i = 0; i < c->nr; i++) {
		const struct ctarget *it = &c->items[i];
		const struct strvec *rows = it->snapshot ? &it->snapshot->version_rows : NULL;
		char *have, *want;

		if (!rows || promote_rows_equal(rows, to))
			continue;
		if (!given && !expect->nr && rows->nr == 1) {
			strvec_push(expect, rows->items[0]);
			given = true;
		}
		if (promote_rows_equal(rows, expect))
			continue;
		have = rows_text(rows);
		want = rows_text(expect);
		block(c, "head", it->env->name, "environment \"%s\": at %s, expected %s", label_of(it),
		      have, expect->nr ? want : "one head shared by every environment");
		free(have);
		free(want);
	}
}

static int run_stamp(struct cli_common *common, const char *baseline, struct strvec *expect,
		     bool expect_given, bool dry, bool yes, unsigned jobs)
{
	struct consolidate c;
	struct promote pr;
	struct apply_options o;
	struct strvec none = STRVEC_INIT;
	struct ms_error err = MS_ERROR_INIT;
	struct strbuf sb = STRBUF_INIT;
	struct json_writer jw;
	bool json = common->format == FORMAT_JSON;
	int ret;

	memset(&c, 0, sizeof(c));
	promote_init(&pr);
	json_init(&jw, &sb);
	ret = promote_load(&pr, common, &none, NULL, baseline, true);
	if (ret != EXIT_OK)
		goto done;
	if (pr.target_ids.nr != 1) {
		ret = cli_usage_error("consolidate", "--stamp must name one revision (\"%s\" is %zu)",
				      baseline, pr.target_ids.nr);
		goto done;
	}
	if (collect(&c, pr.inv, jobs, &err) < 0) {
		cli_print_error(&err);
		ret = EXIT_CANNOT_RUN;
		goto done;
	}
	if (c.reference)
		check_schemas(&c);
	check_expect(&c, expect, expect_given, &pr.target_ids);
	if (json) {
		json_object_begin(&jw);
		json_kv_string(&jw, "baseline", pr.target_ids.items[0]);
		promote_json_rows(&jw, "expect", expect->nr || expect_given ? expect : NULL);
		json_targets(&jw, &c);
		json_blockers(&jw, &c);
		json_key(&jw, "stages");
		json_array_begin(&jw);
	}
	if (c.blockers_nr) {
		for (size_t i = 0; !json && i < c.blockers_nr; i++)
			fprintf(stderr, "migsync: error: %s\n", c.blockers[i].message);
		fprintf(stderr, "migsync: consolidate: nothing was stamped\n");
		if (!json)
			fprintf(stderr, "hint: run migsync consolidate --check with the old scripts, and migsync drift\n");
		ret = EXIT_PROBLEMS;
	}
	promote_stamp_options(&o, &pr, dry, yes);
	for (size_t i = 0; !c.blockers_nr && i < pr.envs_nr && ret == EXIT_OK; i++) {
		ret = promote_stamp(&pr, pr.envs[i], expect->nr || expect_given ? expect : NULL, &o,
				    json ? &jw : NULL);
		if (ret != EXIT_OK && ret != EXIT_GATED && i + 1 < pr.envs_nr)
			fprintf(stderr, "migsync: stopped at %s; later environments were not stamped\n",
				pr.envs[i]->name);
	}
	if (json) {
		json_array_end(&jw);
		json_object_end(&jw);
		strbuf_addch(&sb, '\n');
		if (cli_write_stdout(sb.buf, sb.len) != EXIT_OK && ret == EXIT_OK)
			ret = EXIT_CANNOT_RUN;
	}
done:
	consolidate_release(&c);
	promote_release(&pr);
	ms_error_release(&err);
	strbuf_release(&sb);
	return ret;
}

int cmd_consolidate(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_COMMON_LONGOPTS,
		{ "check", no_argument, NULL, OPT_CHECK },
		{ "stamp", required_argument, NULL, OPT_STAMP },
		{ "expect", required_argument, NULL, OPT_EXPECT },
		{ "dry-run", no_argument, NULL, OPT_DRY_RUN },
		{ "yes", no_argument, NULL, 'y' },
		{ "jobs", required_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_common common;
	struct strvec expect = STRVEC_INIT;
	struct inventory *inv = NULL;
	struct diag_list problems = DIAG_LIST_INIT;
	struct ms_error err = MS_ERROR_INIT;
	const char *baseline = NULL;
	bool check = false, dry = false, yes = false, expect_given = false, probe_ready = false;
	unsigned jobs = 0;
	int ret = EXIT_OK, opt;

	cli_common_init(&common);
	optind = 1;
	while ((opt = getopt_long(argc, argv, CLI_COMMON_SHORTOPTS "yj:", longopts, NULL)) != -1) {
		switch (opt) {
		case OPT_HELP:
			print_help();
			goto done;
		case OPT_CHECK:
			check = true;
			break;
		case OPT_STAMP:
			baseline = optarg;
			break;
		case OPT_EXPECT:
			expect_given = true;
			ret = promote_parse_rows(&expect, "consolidate", optarg);
			if (ret != EXIT_OK)
				goto done;
			break;
		case OPT_DRY_RUN:
			dry = true;
			break;
		case 'y':
			yes = true;
			break;
		case 'j':
			ret = cli_parse_jobs(&jobs, "consolidate", optarg);
			if (ret != EXIT_OK)
				goto done;
			break;
		default:
			ret = cli_default_option(&common, "consolidate", opt, optarg);
			if (ret != EXIT_OK)
				goto done;
		}
	}
	if (optind < argc) {
		ret = cli_usage_error("consolidate", "too many arguments (first is \"%s\")", argv[optind]);
		goto done;
	}
	if (check == !!baseline) {
		ret = cli_usage_error("consolidate", "give exactly one of --check and --stamp REV");
		goto done;
	}
	if (check && (expect_given || dry || yes)) {
		ret = cli_usage_error("consolidate", "--expect, --dry-run and --yes go with --stamp");
		goto done;
	}
	if (conn_global_init(&err) < 0) {
		cli_print_error(&err);
		ret = EXIT_CANNOT_RUN;
		goto done;
	}
	probe_ready = true;
	if (baseline) {
		ret = run_stamp(&common, baseline, &expect, expect_given, dry, yes, jobs);
		goto done;
	}
	if (inventory_load(&inv, inventory_choose_dir(common.inventory), &problems, &err) < 0) {
		cli_print_warnings(&problems);
		cli_print_error(&err);
		ret = EXIT_CANNOT_RUN;
		goto done;
	}
	cli_print_warnings(&problems);
	ret = run_check(&common, inv, jobs);
done:
	if (probe_ready)
		conn_global_cleanup();
	inventory_free(inv);
	diag_list_release(&problems);
	strvec_release(&expect);
	ms_error_release(&err);
	cli_common_release(&common);
	return ret;
}
