/*
 * Rehashing: accepting a revision file's new SHA-256 in the ledgers of an
 * environment, read and gated like a stamp (see apply.h).
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "apply_int.h"
#include "migsync/ledger.h"
#include "migsync/strbuf.h"

void apply_rehash_init(struct apply_rehash *rh, const char *revision, const char *sha256,
		       const char *reason)
{
	rh->revision = revision;
	rh->sha256 = sha256;
	rh->reason = reason;
	strvec_init(&rh->old);
}

void apply_rehash_release(struct apply_rehash *rh)
{
	strvec_release(&rh->old);
}

/*
 * The SHA-256 the ledger on conn holds for rh->revision when it is not
 * the file's (the rule of status and check: the latest upward step that
 * applied it, or a rehash), else "" (caller frees either).
 */
static int recorded_hash(char **out, PGconn *conn, const struct plan_db *db,
			 const struct apply_rehash *rh, const struct apply_options *o,
			 struct ms_error *err)
{
	struct ledger_entry *entries = NULL;
	struct checksum_mismatch *m = NULL;
	size_t entries_nr = 0, m_nr = 0;
	int ret;

	*out = xstrdup("");
	ret = ledger_list(&entries, &entries_nr, conn, NULL, 0, err);
	if (ret < 0)
		goto done;
	plan_checksum_compare(&m, &m_nr, o->g, entries, entries_nr, &db->rows);
	for (size_t i = 0; i < m_nr; i++) {
		if (strcmp(m[i].revision, rh->revision))
			continue;
		free(*out);
		*out = xstrdup(m[i].applied_sha256);
	}
done:
	checksum_mismatches_free(m, m_nr);
	ledger_entries_free(entries, entries_nr);
	return ret;
}

/* Rehash one database of st through conn (locked): re-read, compare, record. */
static int rehash_db(void *ctx, struct plan_stage *st, size_t index, PGconn *conn,
		     const struct db_target *t, const struct apply_options *o,
		     struct ms_error *err)
{
	struct apply_rehash *rh = ctx;
	struct plan_db now;
	struct plan_stage scratch;
	struct ledger_entry e;
	char *old = NULL;
	int ret;

	plan_stage_init(&scratch, NULL);
	plan_db_init(&now);
	ledger_entry_init(&e);
	ret = apply_read_db(&now, &scratch, conn, t, false, err);
	if (ret == 0)
		ret = recorded_hash(&old, conn, &now, rh, o, err);
	if (ret < 0) {
		apply_name_target(err, t);
		goto done;
	}
	if (now.in_progress.nr) {
		ret = apply_in_progress_error(&now, t, err);
		goto done;
	}
	if (!*old) {
		/* another run rehashed it while we waited for the lock */
		apply_emit_skip(o, t->env, &st->dbs[index], index, st->dbs_nr, NULL);
		goto done;
	}
	if (strcasecmp(old, rh->old.items[index])) {
		ret = db_target_error(err, MS_ERR_DB, t,
				      "the ledger's hash of revision %s moved to %.12s since it was read: not rehashed",
				      rh->revision, old);
		ms_error_hint(err, "run migsync rehash again; an approval was for the old hash");
		goto done;
	}
	ret = ledger_ensure(conn, NULL, err);
	if (ret < 0)
		goto named;
	e.revision = xstrdup(rh->revision);
	e.sha256 = xstrdup(rh->sha256);
	e.previous_sha256 = xstrdup(old);
	e.plan_hash = xstrdup(st->plan_hash);
	e.who = o->who ? xstrdup(o->who) : NULL;
	e.host = o->host ? xstrdup(o->host) : NULL;
	e.environment = xstrdup(t->env->name);
	e.note = rh->reason ? xstrdup(rh->reason) : NULL;
	ret = ledger_insert_rehash(conn, NULL, &e, err);
named:
	if (ret < 0)
		apply_name_target(err, t);
done:
	free(old);
	ledger_entry_release(&e);
	plan_db_release(&now);
	plan_stage_release(&scratch);
	return ret;
}

/* What a rehash adds to the reads of each.c: the hash each ledger holds. */
struct rehash_read {
	struct apply_rehash *rh;
	const struct apply_options *o;
};

static int rehash_read_db(void *ctx, struct plan_db *db, PGconn *conn, struct ms_error *err)
{
	struct rehash_read *r = ctx;
	char *old = NULL;
	int ret = conn ? recorded_hash(&old, conn, db, r->rh, r->o, err) : 0;

	strvec_push(&r->rh->old, old ? old : "");
	free(old);
	return ret;
}

static bool rehash_todo(void *ctx, const struct plan_stage *st, size_t i)
{
	const struct apply_rehash *rh = ctx;

	(void)st;
	return *rh->old.items[i] != '\0';
}

int apply_rehash_read(struct plan_stage *st, struct apply_rehash *rh,
		      const struct environment *env, const struct apply_options *o,
		      struct ms_error *err)
{
	struct rehash_read r = { rh, o };
	struct apply_each each = { &r, "rehashing", rehash_read_db, NULL, NULL, NULL };
	int ret;

	strvec_release(&rh->old);
	ret = apply_each_read(st, env, &each, err);
	if (ret < 0)
		return ret;
	plan_rehash_hash(st->plan_hash, env->name, rh->revision, rh->sha256, st->dbs, &rh->old,
			 st->dbs_nr);
	/* no soak and no order: nothing moves a schema from one stage to the next */
	apply_gate_approvals_only(st, env);
	return 0;
}

enum apply_outcome apply_rehash_run(struct plan_stage *st, struct apply_rehash *rh,
				    const struct environment *env, const struct apply_options *o,
				    struct ms_error *err)
{
	struct apply_each each = { rh, "rehashing", NULL, rehash_todo, NULL, rehash_db };

	if (apply_rehash_read(st, rh, env, o, err) < 0)
		return APPLY_FAILED;
	return apply_each_run(st, env, &each, o, err);
}
