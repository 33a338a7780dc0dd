/*
 * The safety review of a project's revision files: native SQL from its
 * up section, Alembic revisions through their offline SQL.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "migsync/alembic.h"
#include "migsync/inventory.h"
#include "migsync/pool.h"
#include "migsync/safety.h"
#include "migsync/strbuf.h"
#include "migsync/util.h"
#include "safety_int.h"

void safety_options_for(struct safety_options *o, const struct inventory *inv)
{
	o->python = inv ? inv->migrations.python : NULL;
	o->python_error = NULL;
	o->alembic_ini = inv ? inv->migrations.alembic_ini : NULL;
	if (!o->alembic_ini && !access("alembic.ini", R_OK))
		o->alembic_ini = "alembic.ini";
}

void safety_report_init(struct safety_report *r)
{
	safety_list_init(&r->findings);
	safety_list_init(&r->down_findings);
	r->alembic_downgrades = false;
	r->offline = NULL;
	r->reviewed = 0;
	r->skipped_nr = 0;
	r->skipped = NULL;
}

void safety_report_release(struct safety_report *r)
{
	safety_list_release(&r->findings);
	safety_list_release(&r->down_findings);
	if (r->offline)
		alembic_offline_release(r->offline);
	free(r->offline);
	free(r->skipped);
	safety_report_init(r);
}

/* The file's text for its allowances; "" when it cannot be read (the reader said why). */
static char *file_text(const char *path)
{
	struct strbuf sb = STRBUF_INIT;

	if (strbuf_read_file(&sb, path, SCRIPTS_MAX_FILE_SIZE) < 0)
		strbuf_reset(&sb);
	return strbuf_detach(&sb, NULL);
}

static void review_native(struct safety_list *out, struct safety_list *down,
			  const struct script *s)
{
	/* the reader saw every migsync:allow line: no need to read the file again without one */
	char *text = s->has_allow ? file_text(s->path) : NULL;
	struct safety_input in = {
		.revision = s->revision, .file = s->path, .sql = s->up_sql,
		.first_line = s->up_line, .transactional = s->transactional,
		.comments = text, .comment_mark = '-',
	};

	safety_review(out, &in);
	if (s->down_sql) {
		in.sql = s->down_sql;
		in.first_line = s->down_line;
		in.down = true;
		safety_review(down, &in);
	}
	free(text);
}

/*
 * The native revisions, reviewed in parallel: one list per revision,
 * joined in order. A task is a run of NATIVE_BATCH revisions: the pool's
 * lock once per revision costs more than a revision's review.
 */
#define NATIVE_BATCH 32

struct native_review {
	const struct script **scripts;
	struct safety_list *lists;
	struct safety_list *down_lists;
	size_t nr;
};

static void native_work(size_t task, void *ctx)
{
	struct native_review *nr = ctx;

	for (size_t i = task * NATIVE_BATCH; i < nr->nr && i < (task + 1) * NATIVE_BATCH; i++)
		review_native(&nr->lists[i], &nr->down_lists[i], nr->scripts[i]);
}

/* Move the findings of l to the end of out. */
static void join(struct safety_list *out, struct safety_list *l)
{
	ALLOC_GROW(out->items, out->nr + l->nr, out->alloc);
	if (l->nr)
		memcpy(out->items + out->nr, l->items, l->nr * sizeof(*l->items));
	out->nr += l->nr;
	free(l->items);
}

static void review_natives(struct safety_report *out, const struct script_set *set)
{
	struct native_review nr = { xcalloc(set->nr + 1, sizeof(*nr.scripts)),
				    xcalloc(set->nr + 1, sizeof(*nr.lists)),
				    xcalloc(set->nr + 1, sizeof(*nr.down_lists)), 0 };
	struct ms_error err = MS_ERROR_INIT;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	size_t n = 0;

	for (size_t i = 0; i < set->nr; i++)
		if (set->items[i].kind == SCRIPT_SQL && set->items[i].up_sql)
			nr.scripts[n++] = &set->items[i];
	nr.nr = n;
	/* libpg_query keeps its memory per thread: parsing scales with the cores */
	pool_run((n + NATIVE_BATCH - 1) / NATIVE_BATCH,
		 cpus > 1 ? (unsigned)(cpus < 16 ? cpus : 16) : 1, native_work, NULL, &nr, &err);
	for (size_t i = 0; i < n; i++) {
		join(&out->findings, &nr.lists[i]);
		join(&out->down_findings, &nr.down_lists[i]);
	}
	out->reviewed += n;
	ms_error_release(&err);
	free(nr.scripts);
	free(nr.lists);
	free(nr.down_lists);
}

static void skip(struct safety_report *out, size_t nr, char *why)
{
	out->skipped_nr = nr;
	free(out->skipped);
	out->skipped = why;
}

/* Python's compile() over every .py file; false when Python could not run. */
static bool compile_check(struct safety_report *out, const struct strvec *paths,
			  const struct script_set *set, const struct safety_options *o,
			  size_t *broken)
{
	struct alembic_compile_error *errs = NULL;
	struct ms_error err = MS_ERROR_INIT;
	size_t nr = 0;
	bool ok = alembic_compile_check(&errs, &nr, o->python, paths, &err) == 0;

	if (!ok)
		skip(out, paths->nr, xstrdup(err.message));
	for (size_t i = 0; i < nr; i++) {
		const char *rev = NULL;

		for (size_t k = 0; k < set->nr && !rev; k++)
			if (!strcmp(set->items[k].path, errs[i].path))
				rev = set->items[k].revision;
		safety_add(&out->findings, "syntax-error", rev, errs[i].path, errs[i].line,
			   errs[i].column, xstrfmt("Python cannot compile the file: %s",
						   errs[i].message));
	}
	*broken = nr;
	alembic_compile_errors_free(errs, nr);
	ms_error_release(&err);
	return ok;
}

static const struct script *find_script(const struct script_set *set, const char *revision)
{
	for (size_t i = 0; i < set->nr; i++)
		if (set->items[i].kind == SCRIPT_PYTHON && set->items[i].revision &&
		    !strcmp(set->items[i].revision, revision))
			return &set->items[i];
	return NULL;
}

/*
 * One step of Alembic's offline SQL (an upgrade, or a downgrade when
 * down), with the session state the steps before it left (tx, lock);
 * findings point at the op.* calls of upgrade() or downgrade(). Returns
 * whether the step's revision is one of set's.
 */
static bool review_step(struct safety_list *out, const struct script_set *set,
			const struct alembic_offline_step *step, bool *tx, bool *lock, bool down)
{
	const struct script *s = find_script(set, step->revision);
	char *text = s ? file_text(s->path) : NULL;
	struct safety_calls calls = { NULL, 0, 0 };
	struct safety_input in = {
		.revision = step->revision, .file = s ? s->path : NULL, .sql = step->sql,
		.transactional = *tx, .lock_timeout = *lock, .down = down,
		.comments = text, .comment_mark = '#', .calls = &calls,
		.function_line = s ? (down ? s->downgrade_line : s->upgrade_line) : 0,
		.transaction_after = tx, .lock_timeout_after = lock,
	};

	if (s)
		safety_calls_read(&calls, text, in.function_line);
	safety_review(out, &in);
	safety_calls_release(&calls);
	free(text);
	return s != NULL;
}

static void review_alembic(struct safety_report *out, const struct script_set *set,
			   const struct safety_options *o, size_t py_nr)
{
	struct alembic_offline off;
	struct ms_error err = MS_ERROR_INIT;
	struct safety_list preamble = SAFETY_LIST_INIT;
	bool tx = false, lock = false;
	size_t reviewed = 0;

	alembic_offline_init(&off);
	if (alembic_offline_sql(&off, o->python, o->alembic_ini, "heads", &err) < 0) {
		skip(out, py_nr, xstrdup(err.message));
		goto done;
	}
	{
		struct safety_input in = {
			.sql = off.preamble, .transaction_after = &tx, .lock_timeout_after = &lock,
		};

		safety_review(&preamble, &in);
	}
	for (size_t i = 0; i < off.nr; i++)
		reviewed += review_step(&out->findings, set, &off.steps[i], &tx, &lock, false);
	out->reviewed += reviewed;
	if (reviewed < py_nr)
		skip(out, py_nr - reviewed,
		     xstrfmt("%zu Alembic revision%s not in the offline SQL of \"upgrade heads\"",
			     py_nr - reviewed, py_nr - reviewed == 1 ? "" : "s"));
	/* kept for plan --sql: the SQL of each Alembic step */
	out->offline = xmalloc(sizeof(*out->offline));
	*out->offline = off;
	alembic_offline_init(&off);
done:
	safety_list_release(&preamble);
	alembic_offline_release(&off);
	ms_error_release(&err);
}

/*
 * The downgrades of the Alembic revisions, from one `downgrade
 * heads:base --sql`, into out->down_findings. When Alembic cannot write
 * it (several heads, an env.py that cannot), the downgrades are left
 * unreviewed: lint's exit and the upgrades' review do not depend on them.
 */
static void review_alembic_down(struct safety_report *out, const struct script_set *set,
				const struct safety_options *o)
{
	struct alembic_offline off;
	struct ms_error err = MS_ERROR_INIT;
	bool tx = true, lock = false;

	alembic_offline_init(&off);
	if (alembic_offline_down_sql(&off, o->python, o->alembic_ini, "heads:base", &err) < 0)
		goto done;
	for (size_t i = 0; i < off.nr; i++)
		review_step(&out->down_findings, set, &off.steps[i], &tx, &lock, true);
done:
	alembic_offline_release(&off);
	ms_error_release(&err);
}

void safety_review_scripts(struct safety_report *out, const struct script_set *set,
			   const struct safety_options *o)
{
	struct strvec py = STRVEC_INIT;
	size_t broken = 0;

	review_natives(out, set);
	for (size_t i = 0; i < set->nr; i++) {
		const struct script *s = &set->items[i];

		if (s->kind == SCRIPT_PYTHON)
			strvec_push(&py, s->path);
	}
	if (!py.nr)
		goto done;
	if (o->python_error) {
		skip(out, py.nr, xstrdup(o->python_error));
		goto done;
	}
	if (!compile_check(out, &py, set, o, &broken))
		goto done;
	if (broken)
		skip(out, py.nr, xstrfmt("%zu Alembic revision%s cannot be compiled, so Alembic "
					 "cannot generate their SQL", broken, broken == 1 ? "" : "s"));
	else if (!o->alembic_ini)
		skip(out, py.nr, xstrdup("no alembic.ini: set migrations.alembic_ini in the "
					 "inventory, or run lint where alembic.ini is"));
	else {
		review_alembic(out, set, o, py.nr);
		if (!out->skipped && out->alembic_downgrades)
			review_alembic_down(out, set, o);
	}
done:
	strvec_release(&py);
}
