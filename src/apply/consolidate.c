/*
 * What consolidate reads from every database before squash_check or
 * squash_check_stamp judge it: the schema with the version rows, the
 * ledger and, from an environment's first database, its approvals.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "migsync/apply.h"
#include "migsync/drift.h"
#include "migsync/ledger.h"
#include "migsync/pool.h"
#include "migsync/squash.h"
#include "migsync/target.h"

struct consolidate_read {
	struct squash_dbs *dbs;
	const struct db_target **targets;	/* per database; NULL: not expanded */
};

/* Connect, read the schema (with the version rows), the ledger and, for a first database, the approvals. */
static void read_work(size_t i, void *ctx)
{
	struct consolidate_read *r = ctx;
	struct squash_db *d = &r->dbs->items[i];
	const struct db_target *t = r->targets[i];
	const struct inventory_database *db = &d->env->database;
	struct drift_options opts;
	struct ms_error err = MS_ERROR_INIT;
	struct tunnel *tunnel = NULL;
	PGconn *conn = NULL;
	bool ledger = false;

	if (!t)
		goto done;
	if (db_connect(&conn, &tunnel, t, &d->err) < 0)
		goto done;
	memset(&opts, 0, sizeof(opts));
	opts.version_table = db->version_table;
	opts.version_schema = db->version_table_schema;
	opts.statement_timeout_ms = db->statement_timeout <= 0 ? 0 :
		db->statement_timeout > INT_MAX / 1000 ? INT_MAX : (int)db->statement_timeout * 1000;
	if (drift_read(&d->snapshot, conn, &opts, &err) < 0 ||
	    ledger_exists(conn, NULL, &ledger, &err) < 0 ||
	    (ledger && ledger_list(&d->ledger, &d->ledger_nr, conn, NULL, 0, &err) < 0) ||
	    (ledger && d->first && ledger_approvals(&d->approvals, &d->approvals_nr, conn,
						    NULL, d->env->name, &err) < 0)) {
		db_target_error(&d->err, err.code, t, "%s", err.message);
		schema_snapshot_free(d->snapshot);
		d->snapshot = NULL;
	}
done:
	db_disconnect(conn, tunnel);
	ms_error_release(&err);
}

/* Append env's database t (NULL: env could not be expanded) to r. */
static struct squash_db *add_db(struct consolidate_read *r, size_t *alloc,
				const struct environment *env, const struct db_target *t, bool first)
{
	struct squash_db *d = squash_dbs_add(r->dbs, env, t ? t->label : env->name,
					     t ? t->describe : NULL, first);

	ALLOC_GROW(r->targets, r->dbs->nr, *alloc);
	r->targets[r->dbs->nr - 1] = t;
	return d;
}

int apply_consolidate_read(struct squash_dbs *out, const struct inventory *inv, unsigned jobs,
			   struct ms_error *err)
{
	struct db_target **targets = xcalloc(inv->nr ? inv->nr : 1, sizeof(*targets));
	size_t *targets_nr = xcalloc(inv->nr ? inv->nr : 1, sizeof(*targets_nr));
	struct consolidate_read r = { out, NULL };
	size_t alloc = 0;
	int ret = 0;

	for (size_t i = 0; i < inv->nr; i++) {
		const struct environment *env = &inv->envs[i];
		struct ms_error e = MS_ERROR_INIT;

		if (db_targets_expand(&targets[i], &targets_nr[i], env, &e) < 0)
			ms_error_move(&add_db(&r, &alloc, env, NULL, true)->err, &e);
		else if (!targets_nr[i])
			ms_error_set(&add_db(&r, &alloc, env, NULL, true)->err, MS_ERR_CONFIG,
				     "environment \"%s\": no databases", env->name);
		for (size_t k = 0; k < targets_nr[i]; k++)
			add_db(&r, &alloc, env, &targets[i][k], k == 0);
		ms_error_release(&e);
	}
	if (out->nr)
		ret = pool_run(out->nr, jobs, read_work, NULL, &r, err);
	for (size_t i = 0; i < inv->nr; i++)
		db_targets_free(targets[i], targets_nr[i]);
	free(targets);
	free(targets_nr);
	free(r.targets);
	return ret;
}
