/*
 * The canary of a sharded fleet: shard 0 runs it; every other shard waits
 * for it before it changes anything, watching the canary databases
 * themselves (their version rows and their ledger), so that the shards
 * need no channel of their own: an Indexed Job or a CI matrix starts them
 * all at once.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "apply_int.h"
#include "migsync/clock.h"
#include "migsync/ledger.h"
#include "migsync/strbuf.h"

#define CANARY_POLL_MS 500

/* The canary's state now: 1 at the target, 0 not yet, negative: failed (err says why). */
static int canary_state(const struct db_target *t, const struct apply_options *o,
			int64_t since_ms, struct ms_error *err)
{
	struct plan_stage scratch;
	struct plan_db db;
	struct ledger_entry *entries = NULL;
	size_t nr = 0;
	PGconn *conn = NULL;
	struct tunnel *tunnel = NULL;
	bool ledger = false;
	int ret;

	plan_stage_init(&scratch, NULL);
	plan_db_init(&db);
	ret = db_connect(&conn, &tunnel, t, err);
	if (ret == 0)
		ret = apply_read_db(&db, &scratch, conn, t, false, err);
	if (ret == 0)
		ret = plan_db_compute(&db, o->g, o->target->ident, o->up, err);
	if (ret < 0)
		goto done;
	if (!db.steps_nr) {
		ret = 1;
		goto done;
	}
	/* a failure recorded since we began to wait: the canary failed */
	ret = ledger_exists(conn, NULL, &ledger, err);
	if (ret == 0 && ledger)
		ret = ledger_list(&entries, &nr, conn, NULL, 20, err);
	for (size_t i = 0; ret == 0 && i < nr; i++)
		if (entries[i].outcome == LEDGER_FAILED && entries[i].started_at_ms >= since_ms)
			ret = db_target_error(err, MS_ERR_DB, t, "the canary failed: revision \"%s\": %s",
					      entries[i].revision,
					      entries[i].error ? entries[i].error : "see its ledger");
done:
	ledger_entries_free(entries, nr);
	db_disconnect(conn, tunnel);
	plan_db_release(&db);
	plan_stage_release(&scratch);
	return ret;
}

static void pause_ms(int64_t ms)
{
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

int apply_canary_wait(const struct environment *env, const struct apply_options *o,
		      struct ms_error *err)
{
	struct db_target *all = NULL;
	size_t nr = 0, shard0 = 0, want, waited = 0;
	int64_t since = clock_wall_ms() - 1000, deadline;
	int ret;

	ret = db_targets_expand_all(&all, &nr, env, err);
	if (ret < 0)
		goto done;
	for (size_t i = 0; i < nr; i++)
		shard0 += db_shard_of(env->name, all[i].dbname, all[i].schema, env->shard.count) == 0;
	want = inventory_amount_of(&env->fleet.canary, shard0);
	deadline = clock_mono_ms() + env->database.lock_wait * 1000;
	/*
	 * Shard 0's canaries are its first databases not at the target: one
	 * at the target at the first look is not waited for (shard 0 already
	 * went past it, or it is current); each other is waited for until it
	 * gets there, fails (its ledger) or the wait ends.
	 */
	for (size_t i = 0; i < nr && waited < want; i++) {
		bool first = true;

		if (db_shard_of(env->name, all[i].dbname, all[i].schema, env->shard.count) != 0)
			continue;
		while ((ret = canary_state(&all[i], o, since, err)) == 0) {
			first = false;
			if (apply_cancelled(o)) {
				ret = db_target_error(err, MS_ERR_GENERIC, &all[i],
						      "interrupted while waiting for the canary");
				goto done;
			}
			if (clock_mono_ms() >= deadline) {
				ret = db_target_error(err, MS_ERR_GENERIC, &all[i],
						      "the canary is not at the target after %lld s",
						      (long long)env->database.lock_wait);
				ms_error_hint(err, "shard 0 applies the canary first: run it, or raise "
					      "database.lock_wait, the bound of this wait");
				goto done;
			}
			pause_ms(CANARY_POLL_MS);
		}
		if (ret < 0)
			goto done;
		waited += !first;
	}
	ret = 0;
done:
	db_targets_free(all, nr);
	return ret < 0 ? ret : 0;
}
