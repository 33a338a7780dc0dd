/*
 * What consolidate reads from every database before squash_check or
 * squash_check_stamp judge it (observe_run: the schema with the version
 * rows, the ledger and, from an environment's first database, its
 * approvals), mapped into struct squash_dbs.
 */
#include <stdlib.h>

#include "migsync/apply.h"
#include "migsync/observe.h"
#include "migsync/squash.h"
#include "migsync/target.h"

struct consolidate_read {
	struct squash_dbs *dbs;
	const struct db_target **targets;	/* per database; NULL: not expanded */
	unsigned *also;				/* per database: OBSERVE_APPROVALS for a first one */
};

/* observe_done_fn: the observation of database i into it. */
static void read_done(size_t i, struct observation *obs, void *ctx)
{
	struct consolidate_read *r = ctx;
	struct squash_db *d = &r->dbs->items[i];

	if (!r->targets[i])
		return;
	d->snapshot = obs->schema;
	obs->schema = NULL;
	d->ledger = obs->ledger;
	d->ledger_nr = obs->ledger_nr;
	obs->ledger = NULL;
	obs->ledger_nr = 0;
	d->approvals = obs->approvals;
	d->approvals_nr = obs->approvals_nr;
	obs->approvals = NULL;
	obs->approvals_nr = 0;
	ms_error_move(&d->err, &obs->error);
	observation_release(obs);
}

/* Append env's database t (NULL: env could not be expanded) to r. */
static struct squash_db *add_db(struct consolidate_read *r, size_t *alloc,
				const struct environment *env, const struct db_target *t, bool first)
{
	struct squash_db *d = squash_dbs_add(r->dbs, env, t ? t->label : env->name,
					     t ? t->describe : NULL, first);
	size_t nr = r->dbs->nr, old = *alloc;

	/* targets and also grow together */
	ALLOC_GROW(r->targets, nr, *alloc);
	if (*alloc != old)
		r->also = xrealloc(r->also, *alloc * sizeof(*r->also));
	r->targets[nr - 1] = t;
	r->also[nr - 1] = first ? OBSERVE_APPROVALS : 0;
	return d;
}

int apply_consolidate_read(struct squash_dbs *out, const struct inventory *inv, unsigned jobs,
			   struct ms_error *err)
{
	struct db_target **targets = xcalloc(inv->nr ? inv->nr : 1, sizeof(*targets));
	size_t *targets_nr = xcalloc(inv->nr ? inv->nr : 1, sizeof(*targets_nr));
	struct consolidate_read r = { out, NULL, NULL };
	struct observation *obs = NULL;
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
	if (out->nr) {
		const struct observe_options o = {
			OBSERVE_SCHEMA | OBSERVE_LEDGER, jobs, NULL, read_done, &r, r.also
		};

		obs = xcalloc(out->nr, sizeof(*obs));
		for (size_t i = 0; i < out->nr; i++)
			observation_init(&obs[i]);
		ret = observe_run(obs, r.targets, out->nr, &o, err);
		for (size_t i = 0; i < out->nr; i++)
			observation_release(&obs[i]);
	}
	for (size_t i = 0; i < inv->nr; i++)
		db_targets_free(targets[i], targets_nr[i]);
	free(targets);
	free(targets_nr);
	free(obs);
	free(r.targets);
	free(r.also);
	return ret;
}
