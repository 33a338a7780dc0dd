/*
 * The gated operations that change one thing in every database of an
 * environment without running revisions (stamp, rehash): read every
 * database, check each, pass the gate once, then change the databases one
 * by one, each under its lock. stamp.c and rehash.c say what the read
 * adds, what a database needs and the change itself.
 */
#include <stdlib.h>

#include "apply_int.h"
#include "migsync/ledger.h"

int apply_each_read(struct plan_stage *st, const struct environment *env,
		    const struct apply_each *each, struct ms_error *err)
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
		bool read = db_connect(&conn, &tunnel, &targets[i], &e) == 0 &&
			    apply_read_db(db, st, conn, &targets[i], i == 0, &e) == 0;

		if (each->read(each->ctx, db, read ? conn : NULL, &e) < 0 || !read) {
			apply_name_target(&e, &targets[i]);
			apply_db_set_error(db, &e);
		}
		db_disconnect(conn, tunnel);
		ms_error_release(&e);
	}
done:
	db_targets_free(targets, nr);
	return ret;
}

/*
 * Whether st may go on: every database read, none with a step in progress,
 * none refused by each->refuse. *todo counts those with something to do.
 */
static int check_all(size_t *todo, const struct plan_stage *st, const struct db_target *targets,
		     const struct apply_each *each, struct ms_error *err)
{
	*todo = 0;
	for (size_t i = 0; i < st->dbs_nr; i++) {
		const struct plan_db *db = &st->dbs[i];

		if (db->error)
			return ms_error_set(err, MS_ERR_DB, "%s", db->error);
		if (db->in_progress.nr)
			return apply_in_progress_error(db, &targets[i], err);
		if (!each->todo(each->ctx, st, i))
			continue;
		if (each->refuse && each->refuse(each->ctx, db, &targets[i], err) < 0)
			return -1;
		(*todo)++;
	}
	return 0;
}

enum apply_outcome apply_each_run(struct plan_stage *st, const struct environment *env,
				  const struct apply_each *each, const struct apply_options *o,
				  struct ms_error *err)
{
	struct db_target *targets = NULL;
	size_t nr = 0, todo = 0;
	enum apply_outcome out = APPLY_FAILED;

	if (db_targets_expand(&targets, &nr, env, err) < 0)
		goto done;
	if (nr != st->dbs_nr) {
		ms_error_set(err, MS_ERR_DB, "environment \"%s\": its databases changed while reading",
			     env->name);
		goto done;
	}
	if (check_all(&todo, st, targets, each, err) < 0)
		goto done;
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

		if (!each->todo(each->ctx, st, i))
			continue;
		if (apply_cancelled(o)) {
			db_target_error(err, MS_ERR_GENERIC, &targets[i], "interrupted before %s",
					each->doing);
			goto done;
		}
		if (apply_connect_locked(&conn, &tunnel, &targets[i], &st->dbs[i], i, nr, o, err) < 0)
			goto done;
		ret = each->one(each->ctx, st, i, conn, &targets[i], o, err);
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
