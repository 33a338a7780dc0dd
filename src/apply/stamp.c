/*
 * Stamping: the version table of every database of an environment
 * changed as a compare-and-swap, gated like a stage (see apply.h).
 */
#include <stdlib.h>
#include <string.h>

#include "apply_int.h"
#include "migsync/executor.h"
#include "migsync/ledger.h"
#include "migsync/strbuf.h"

/* What a stamp adds to the runs of each.c. */
struct stamp {
	const struct strvec *to;
	const struct strvec *expect;	/* NULL: any rows */
};

static int stamp_read(void *ctx, struct plan_db *db, PGconn *conn, struct ms_error *err)
{
	const struct stamp *s = ctx;

	(void)conn;
	(void)err;
	for (size_t k = 0; k < s->to->nr; k++)
		strvec_push(&db->end_rows, s->to->items[k]);
	strvec_sort(&db->end_rows);
	return 0;
}

static bool stamp_todo(void *ctx, const struct plan_stage *st, size_t i)
{
	(void)ctx;
	return !strvec_equal(&st->dbs[i].rows, &st->dbs[i].end_rows);
}

static int stamp_refuse(void *ctx, const struct plan_db *db, const struct db_target *t,
			struct ms_error *err)
{
	const struct stamp *s = ctx;
	char *have, *want;

	if (!s->expect || strvec_equal(&db->rows, s->expect))
		return 0;
	have = plan_rows_text(&db->rows, " ");
	want = plan_rows_text(s->expect, " ");
	db_target_error(err, MS_ERR_DB, t, "version rows are %s, expected %s: not stamped", have,
			want);
	ms_error_hint(err, "check with migsync status which revision the schema really is at; "
		      "--expect names the rows to replace");
	free(have);
	free(want);
	return -1;
}

/* Stamp one database of st through conn (locked): re-read, compare, swap, verify. */
static int stamp_db(void *ctx, struct plan_stage *st, size_t index, PGconn *conn,
		    const struct db_target *t, const struct apply_options *o,
		    struct ms_error *err)
{
	struct plan_db *db = &st->dbs[index];
	struct plan_db now;
	struct plan_stage scratch;
	struct apply_executor ax;
	int ret;

	(void)ctx;
	apply_executor_open(&ax, conn, t, st->plan_hash, o);
	plan_stage_init(&scratch, NULL);
	plan_db_init(&now);
	ret = apply_read_db(&now, &scratch, conn, t, false, err);
	if (ret < 0)
		goto done;
	if (now.in_progress.nr) {
		ret = apply_in_progress_error(&now, t, err);
		goto done;
	}
	if (strvec_equal(&now.rows, &db->end_rows)) {
		/* another run stamped it while we waited for the lock */
		apply_emit_skip(o, t->env, db, index, st->dbs_nr, NULL);
		goto done;
	}
	if (!strvec_equal(&now.rows, &db->rows)) {
		char *have = plan_rows_text(&now.rows, " "), *want = plan_rows_text(&db->rows, " ");

		ret = db_target_error(err, MS_ERR_DB, t,
				      "the version rows moved to %s since they were read (%s): not stamped",
				      have, want);
		ms_error_hint(err, "run migsync status, then stamp again; an approval was for the old rows");
		free(have);
		free(want);
		goto done;
	}
	ret = ax.x.ops->stamp(&ax.x, &db->rows, &db->end_rows, err);
	if (ret < 0) {
		apply_name_target(err, t);
		goto done;
	}
	ret = apply_verify(db, &ax.x, t, err);
done:
	apply_executor_close(&ax);
	plan_db_release(&now);
	plan_stage_release(&scratch);
	return ret;
}

static void stamp_each(struct apply_each *each, struct stamp *s)
{
	each->ctx = s;
	each->doing = "stamping";
	each->read = stamp_read;
	each->todo = stamp_todo;
	each->refuse = stamp_refuse;
	each->one = stamp_db;
}

int apply_stamp_read(struct plan_stage *st, const struct environment *env,
		     const struct strvec *to, const struct apply_options *o,
		     struct ms_error *err)
{
	struct stamp s = { to, NULL };
	struct apply_each each;
	int ret;

	stamp_each(&each, &s);
	ret = apply_each_read(st, env, &each, err);
	if (ret < 0)
		return ret;
	plan_stamp_hash(st->plan_hash, env->name, o->g, to, st->dbs, st->dbs_nr);
	/* no soak and no order: nothing moves a schema from one stage to the next */
	apply_gate_approvals_only(st, env);
	return 0;
}

enum apply_outcome apply_stamp_run(struct plan_stage *st, const struct environment *env,
				   const struct strvec *expect, const struct strvec *to,
				   const struct apply_options *o, struct ms_error *err)
{
	struct stamp s = { to, expect };
	struct apply_each each;

	if (apply_stamp_read(st, env, to, o, err) < 0)
		return APPLY_FAILED;
	stamp_each(&each, &s);
	return apply_each_run(st, env, &each, o, err);
}
