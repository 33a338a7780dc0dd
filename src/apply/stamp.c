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

int apply_stamp_read(struct plan_stage *st, const struct environment *env,
		     const struct strvec *to, const struct apply_options *o,
		     struct ms_error *err)
{
	struct db_target *targets = NULL;
	size_t nr = 0;
	int ret;

	apply_stage_reset(st, env);
	ret = db_targets_expand(&targets, &nr, env, err);
	if (ret < 0) {
		st->error = xstrdup(err->message ? err->message : "could not expand the environment");
		goto done;
	}
	for (size_t i = 0; i < nr; i++) {
		struct plan_db *db = apply_stage_add_target(st, &targets[i]);
		struct ms_error e = MS_ERROR_INIT;
		PGconn *conn = NULL;
		struct tunnel *tunnel = NULL;

		if (db_connect(&conn, &tunnel, &targets[i], &e) < 0 ||
		    apply_read_db(db, st, conn, &targets[i], i == 0, &e) < 0) {
			apply_name_target(&e, &targets[i]);
			apply_db_set_error(db, &e);
		}
		for (size_t k = 0; k < to->nr; k++)
			strvec_push(&db->end_rows, to->items[k]);
		strvec_sort(&db->end_rows);
		db_disconnect(conn, tunnel);
		ms_error_release(&e);
	}
	plan_stamp_hash(st->plan_hash, env->name, o->g, to, st->dbs, st->dbs_nr);
	/* no soak and no order: nothing moves a schema from one stage to the next */
	apply_gate_approvals_only(st, env);
done:
	db_targets_free(targets, nr);
	return ret;
}

/* Stamp one database of st through conn (locked): re-read, compare, swap, verify. */
static int stamp_db(struct plan_stage *st, size_t index, PGconn *conn,
		    const struct db_target *t, const struct apply_options *o,
		    struct ms_error *err)
{
	struct plan_db *db = &st->dbs[index];
	struct plan_db now;
	struct plan_stage scratch;
	struct apply_executor ax;
	int ret;

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

enum apply_outcome apply_stamp_run(struct plan_stage *st, const struct environment *env,
				   const struct strvec *expect, const struct strvec *to,
				   const struct apply_options *o, struct ms_error *err)
{
	struct db_target *targets = NULL;
	size_t nr = 0, todo = 0;
	enum apply_outcome out = APPLY_FAILED;

	if (apply_stamp_read(st, env, to, o, err) < 0)
		goto done;
	if (db_targets_expand(&targets, &nr, env, err) < 0)
		goto done;
	if (nr != st->dbs_nr) {
		ms_error_set(err, MS_ERR_DB, "environment \"%s\": its databases changed while reading",
			     env->name);
		goto done;
	}
	for (size_t i = 0; i < nr; i++) {
		const struct plan_db *db = &st->dbs[i];

		if (db->error) {
			ms_error_set(err, MS_ERR_DB, "%s", db->error);
			goto done;
		}
		if (db->in_progress.nr) {
			apply_in_progress_error(db, &targets[i], err);
			goto done;
		}
		if (strvec_equal(&db->rows, &db->end_rows))
			continue;
		if (expect && !strvec_equal(&db->rows, expect)) {
			char *have = plan_rows_text(&db->rows, " "), *want = plan_rows_text(expect, " ");

			db_target_error(err, MS_ERR_DB, &targets[i],
					"version rows are %s, expected %s: not stamped", have, want);
			ms_error_hint(err, "check with migsync status which revision the schema really is at; "
				      "--expect names the rows to replace");
			free(have);
			free(want);
			goto done;
		}
		todo++;
	}
	if (!todo) {
		out = APPLY_NOTHING;
		goto done;
	}
	out = apply_gate_and_confirm(st, env, o, err);
	if (out != APPLY_DONE)
		goto done;
	out = APPLY_FAILED;
	for (size_t i = 0; i < nr; i++) {
		PGconn *conn = NULL;
		struct tunnel *tunnel = NULL;
		struct ms_error ignore = MS_ERROR_INIT;
		int ret;

		if (strvec_equal(&st->dbs[i].rows, &st->dbs[i].end_rows))
			continue;
		if (apply_cancelled(o)) {
			db_target_error(err, MS_ERR_GENERIC, &targets[i], "interrupted before stamping");
			goto done;
		}
		if (apply_connect_locked(&conn, &tunnel, &targets[i], &st->dbs[i], i, nr, o, err) < 0)
			goto done;
		ret = stamp_db(st, i, conn, &targets[i], o, err);
		ledger_unlock(conn, &ignore);
		ms_error_release(&ignore);
		db_disconnect(conn, tunnel);
		if (ret < 0)
			goto done;
	}
	out = APPLY_DONE;
done:
	db_targets_free(targets, nr);
	return out;
}
