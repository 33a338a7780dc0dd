/*
 * Staged plans: the steps of each database, the plan hash and the
 * rollout order check (see include/migsync/plan.h).
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "migsync/ledger.h"
#include "migsync/plan.h"
#include "migsync/status.h"
#include "migsync/strbuf.h"

void plan_db_init(struct plan_db *db)
{
	memset(db, 0, sizeof(*db));
	strvec_init(&db->rows);
	strvec_init(&db->end_rows);
	strvec_init(&db->in_progress);
}

static void steps_clear(struct plan_db *db)
{
	for (size_t i = 0; i < db->steps_nr; i++) {
		strvec_release(&db->steps[i].step.rows_removed);
		strvec_release(&db->steps[i].step.rows_added);
	}
	free(db->steps);
	db->steps = NULL;
	db->steps_nr = db->steps_alloc = 0;
}

void plan_db_release(struct plan_db *db)
{
	free(db->dbname);
	free(db->describe);
	free(db->identity);
	free(db->error);
	strvec_release(&db->rows);
	strvec_release(&db->end_rows);
	strvec_release(&db->in_progress);
	steps_clear(db);
	plan_db_init(db);
}

struct plan_step *plan_db_add_step(struct plan_db *db, const char *revision,
				   const char *sha256, bool up)
{
	struct plan_step *s;

	ALLOC_GROW(db->steps, db->steps_nr + 1, db->steps_alloc);
	s = &db->steps[db->steps_nr++];
	memset(s, 0, sizeof(*s));
	strvec_init(&s->step.rows_removed);
	strvec_init(&s->step.rows_added);
	s->step.up = up;
	s->revision = revision;
	s->sha256 = sha256;
	return s;
}

int plan_db_compute(struct plan_db *db, const struct revgraph *g, const char *target,
		    bool up, struct ms_error *err)
{
	struct revgraph_path path = REVGRAPH_PATH_INIT;
	int ret;

	steps_clear(db);
	strvec_release(&db->end_rows);
	if (up)
		ret = revgraph_upgrade_path(&path, g, &db->rows, target, err);
	else
		ret = revgraph_downgrade_path(&path, g, &db->rows, target, err);
	if (ret < 0)
		goto done;
	for (size_t i = 0; i < path.nr; i++) {
		const struct revgraph_node *n = &g->nodes[path.steps[i].node];
		struct plan_step *s = plan_db_add_step(db, n->id, n->script->sha256,
						       path.steps[i].up);

		s->script = n->script;
		/* take the step's row lists over; the path keeps empty ones */
		s->step.node = path.steps[i].node;
		s->step.op = path.steps[i].op;
		s->step.rows_removed = path.steps[i].rows_removed;
		s->step.rows_added = path.steps[i].rows_added;
		strvec_init(&path.steps[i].rows_removed);
		strvec_init(&path.steps[i].rows_added);
	}
	for (size_t i = 0; i < path.final_rows.nr; i++)
		strvec_push(&db->end_rows, path.final_rows.items[i]);
	strvec_sort(&db->end_rows);
done:
	revgraph_path_release(&path);
	return ret;
}

void plan_target_init(struct plan_target *t)
{
	t->ident = NULL;
	strvec_init(&t->ids);
	t->given = NULL;
}

void plan_target_release(struct plan_target *t)
{
	free(t->ident);
	strvec_release(&t->ids);
	free(t->given);
	plan_target_init(t);
}

int plan_target_resolve(struct plan_target *t, const struct revgraph *g, const char *to,
			bool up, struct ms_error *err)
{
	struct status_goal goal = STATUS_GOAL_INIT;
	int ret = 0;

	plan_target_release(t);
	t->given = to ? xstrdup(to) : NULL;
	t->ident = xstrdup(to ? to : "heads");
	if (!up) {
		strvec_push(&t->ids, t->ident);
		goto done;
	}
	/* one target for every database: no relative identifiers */
	ret = status_goal_init(&goal, g, to, err);
	if (ret < 0)
		goto done;
	for (size_t i = 0; i < goal.ids.nr; i++)
		strvec_push(&t->ids, goal.ids.items[i]);
	if (goal.path_target) {
		free(t->ident);
		t->ident = xstrdup(goal.path_target);
	}
done:
	status_goal_release(&goal);
	return ret;
}

void plan_init(struct plan *p)
{
	memset(p, 0, sizeof(*p));
	strvec_init(&p->target);
}

void plan_stage_init(struct plan_stage *st, const struct environment *env)
{
	memset(st, 0, sizeof(*st));
	st->env = env;
	gate_result_init(&st->gate);
	strvec_init(&st->order_missing);
}

void plan_stage_release(struct plan_stage *st)
{
	for (size_t i = 0; i < st->dbs_nr; i++)
		plan_db_release(&st->dbs[i]);
	free(st->dbs);
	approvals_free(st->approvals, st->approvals_nr);
	gate_result_release(&st->gate);
	free(st->previous);
	strvec_release(&st->order_missing);
	free(st->order_error);
	free(st->error);
	plan_stage_init(st, NULL);
}

void plan_release(struct plan *p)
{
	for (size_t i = 0; i < p->nr; i++)
		plan_stage_release(&p->stages[i]);
	free(p->stages);
	free(p->target_ident);
	strvec_release(&p->target);
	plan_init(p);
}

struct plan_stage *plan_add_stage(struct plan *p, const struct environment *env)
{
	struct plan_stage *st;

	ALLOC_GROW(p->stages, p->nr + 1, p->alloc);
	st = &p->stages[p->nr++];
	plan_stage_init(st, env);
	return st;
}

struct plan_db *plan_stage_add_db(struct plan_stage *st)
{
	struct plan_db *db;

	ALLOC_GROW(st->dbs, st->dbs_nr + 1, st->dbs_alloc);
	db = &st->dbs[st->dbs_nr++];
	plan_db_init(db);
	return db;
}

size_t plan_stage_steps(const struct plan_stage *st)
{
	size_t n = 0;

	for (size_t i = 0; i < st->dbs_nr; i++)
		n += st->dbs[i].steps_nr;
	return n;
}

/* Length-prefixed, so that no two different inputs share a text. */
static void hash_field(struct strbuf *sb, const char *tag, const char *value)
{
	if (!value)
		value = "";
	strbuf_addf(sb, "%s %zu:%s\n", tag, strlen(value), value);
}

static int by_identity(const void *a, const void *b)
{
	const struct plan_db *const *x = a, *const *y = b;
	int c = strcmp_null((*x)->identity, (*y)->identity);

	return c ? c : strcmp_null((*x)->dbname, (*y)->dbname);
}

/*
 * Every database sorted by identity: its identity, its rows now (sorted)
 * and, for a plan (steps), each step's revision, direction and SHA-256.
 */
static void hash_databases(struct strbuf *sb, const struct plan_db *dbs, size_t nr, bool steps)
{
	const struct plan_db **order = xcalloc(nr ? nr : 1, sizeof(*order));

	for (size_t i = 0; i < nr; i++)
		order[i] = &dbs[i];
	qsort(order, nr, sizeof(*order), by_identity);
	strbuf_addf(sb, "databases %zu\n", nr);
	for (size_t i = 0; i < nr; i++) {
		const struct plan_db *db = order[i];
		struct strvec rows = STRVEC_INIT;

		hash_field(sb, "database", db->identity);
		for (size_t k = 0; k < db->rows.nr; k++)
			strvec_push(&rows, db->rows.items[k]);
		strvec_sort(&rows);
		strbuf_addf(sb, "heads %zu\n", rows.nr);
		for (size_t k = 0; k < rows.nr; k++)
			hash_field(sb, "head", rows.items[k]);
		strvec_release(&rows);
		if (!steps)
			continue;
		strbuf_addf(sb, "steps %zu\n", db->steps_nr);
		for (size_t k = 0; k < db->steps_nr; k++) {
			const struct plan_step *s = &db->steps[k];

			hash_field(sb, s->step.up ? "up" : "down", s->revision);
			hash_field(sb, "sha256", s->sha256);
		}
	}
	free(order);
}

void plan_hash_compute(char out[SHA256_HEX_LEN + 1], const char *environment,
		       const struct strvec *target, const struct plan_db *dbs, size_t nr)
{
	struct strbuf sb = STRBUF_INIT;
	struct strvec ids = STRVEC_INIT;

	strbuf_addstr(&sb, "migsync plan v1\n");
	hash_field(&sb, "environment", environment);
	for (size_t i = 0; target && i < target->nr; i++)
		strvec_push(&ids, target->items[i]);
	strvec_sort(&ids);
	strbuf_addf(&sb, "target %zu\n", ids.nr);
	for (size_t i = 0; i < ids.nr; i++)
		hash_field(&sb, "id", ids.items[i]);

	hash_databases(&sb, dbs, nr, true);
	sha256_hex(sb.buf, sb.len, out);
	strvec_release(&ids);
	strbuf_release(&sb);
}

void plan_stamp_hash(char out[SHA256_HEX_LEN + 1], const char *environment,
		     const struct revgraph *g, const struct strvec *to,
		     const struct plan_db *dbs, size_t nr)
{
	struct strbuf sb = STRBUF_INIT;
	struct strvec ids = STRVEC_INIT;

	strbuf_addstr(&sb, "migsync stamp v1\n");
	hash_field(&sb, "environment", environment);
	for (size_t i = 0; i < to->nr; i++)
		strvec_push(&ids, to->items[i]);
	strvec_sort(&ids);
	strbuf_addf(&sb, "to %zu\n", ids.nr);
	for (size_t i = 0; i < ids.nr; i++) {
		ssize_t n = g ? revgraph_find(g, ids.items[i]) : -1;
		const struct script *s = n >= 0 ? g->nodes[n].script : NULL;

		hash_field(&sb, "id", ids.items[i]);
		hash_field(&sb, "sha256", s ? s->sha256 : NULL);
	}
	hash_databases(&sb, dbs, nr, false);
	sha256_hex(sb.buf, sb.len, out);
	strvec_release(&ids);
	strbuf_release(&sb);
}

void plan_rehash_hash(char out[SHA256_HEX_LEN + 1], const char *environment,
		      const char *revision, const char *sha256, const struct plan_db *dbs,
		      const struct strvec *old, size_t nr)
{
	struct strbuf sb = STRBUF_INIT;
	struct strvec lines = STRVEC_INIT;

	strbuf_addstr(&sb, "migsync rehash v1\n");
	hash_field(&sb, "environment", environment);
	hash_field(&sb, "revision", revision);
	hash_field(&sb, "sha256", sha256);
	for (size_t i = 0; i < nr; i++)
		strvec_push_owned(&lines, xstrfmt("%s\t%s", dbs[i].identity ? dbs[i].identity : "",
						   i < old->nr ? old->items[i] : ""));
	strvec_sort(&lines);
	strbuf_addf(&sb, "databases %zu\n", lines.nr);
	for (size_t i = 0; i < lines.nr; i++)
		hash_field(&sb, "database", lines.items[i]);
	sha256_hex(sb.buf, sb.len, out);
	strvec_release(&lines);
	strbuf_release(&sb);
}

void plan_hash_stage(struct plan_stage *st, const struct strvec *target)
{
	plan_hash_compute(st->plan_hash, st->env ? st->env->name : NULL, target,
			  st->dbs, st->dbs_nr);
}

void plan_rows_add(struct strbuf *sb, const struct strvec *rows, const char *sep)
{
	for (size_t i = 0; i < rows->nr; i++)
		strbuf_addf(sb, "%s%s", i ? sep : "", rows->items[i]);
	if (!rows->nr)
		strbuf_addstr(sb, "(none)");
}

char *plan_rows_text(const struct strvec *rows, const char *sep)
{
	struct strbuf sb = STRBUF_INIT;

	plan_rows_add(&sb, rows, sep);
	return strbuf_detach(&sb, NULL);
}

void plan_rows_parse(struct strvec *out, const char *s)
{
	const char *p = s;

	while (p && *p) {
		size_t n;

		while (*p == ' ')
			p++;
		n = strcspn(p, " ");
		if (n)
			strvec_push_owned(out, xstrndup(p, n));
		p += n;
	}
	strvec_sort(out);
}

bool plan_hash_valid(const char *s)
{
	size_t i;

	for (i = 0; s[i]; i++)
		if (!isxdigit((unsigned char)s[i]))
			return false;
	return i == SHA256_HEX_LEN;
}
