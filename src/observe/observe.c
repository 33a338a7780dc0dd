/*
 * One parallel read per target: the probe for the state (and the ledger
 * on the same connection), or a schema snapshot (with the ledger and the
 * approvals); and the read through a connection the caller holds. See
 * observe.h.
 */

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "migsync/conn.h"
#include "migsync/db.h"
#include "migsync/observe.h"
#include "migsync/pool.h"
#include "migsync/util.h"

void observation_init(struct observation *o)
{
	memset(o, 0, sizeof(*o));
	strvec_init(&o->version_rows);
	ms_error_init(&o->ledger_error);
	ms_error_init(&o->error);
}

void observation_release(struct observation *o)
{
	if (!o)
		return;
	strvec_release(&o->version_rows);
	ledger_entries_free(o->ledger, o->ledger_nr);
	ms_error_release(&o->ledger_error);
	ledger_entries_free(o->in_progress, o->in_progress_nr);
	approvals_free(o->approvals, o->approvals_nr);
	free(o->identity);
	schema_snapshot_free(o->schema);
	ms_error_release(&o->error);
	observation_init(o);
}

void observation_move(struct observation *dst, struct observation *src)
{
	observation_release(dst);
	*dst = *src;
	observation_init(src);
}

const char *observe_state_name(enum observe_state state)
{
	switch (state) {
	case OBSERVE_OK:
		return "ok";
	case OBSERVE_UNINITIALIZED:
		return "uninitialized";
	case OBSERVE_UNREACHABLE:
		return "unreachable";
	case OBSERVE_ERROR:
		return "error";
	case OBSERVE_MISSING:
		return "missing";
	}
	return "unknown";
}

static int clamp_int(int64_t v)
{
	return v > INT_MAX ? INT_MAX : v < 0 ? 0 : (int)v;
}

/* An inventory timeout in seconds as milliseconds; 0 (the default) when not positive. */
static int seconds_ms(int64_t s)
{
	return s <= 0 ? 0 : s > INT_MAX / 1000 ? INT_MAX : (int)s * 1000;
}

struct observe_ctx {
	struct observation *out;
	const struct db_target *const *targets;
	const struct observe_options *o;
};

/* The probe of t, into obs; a ledger that cannot be read is named after t. */
static void observe_state(struct observation *obs, const struct db_target *t, bool ledger)
{
	const struct inventory_database *db = &t->env->database;
	char *subject = ms_error_subject(t->env->name, t->name);
	struct observe_probe pt;

	memset(&pt, 0, sizeof(pt));
	pt.name = t->label;
	pt.subject = subject;
	pt.conninfo = t->conninfo;
	pt.version_table = db->version_table;
	pt.version_schema = db_target_version_schema(t);
	pt.target_schema = t->schema;
	pt.connect_timeout_s = clamp_int(db->connect_timeout);
	pt.statement_timeout_ms = seconds_ms(db->statement_timeout);
	pt.ssh = t->has_ssh ? &t->ssh : NULL;
	pt.ledger_entries = ledger;
	observe_probe_one(obs, &pt);
	if (obs->ledger_error.message) {
		struct ms_error named = MS_ERROR_INIT;

		db_target_error(&named, obs->ledger_error.code, t, "could not read the ledger: %s",
				obs->ledger_error.message);
		ms_error_move(&obs->ledger_error, &named);
	}
	free(subject);
}

/* What what asks of the ledger on conn (OBSERVE_LEDGER, OBSERVE_IN_PROGRESS, OBSERVE_APPROVALS). */
static int observe_ledger(struct observation *obs, PGconn *conn, const char *environment,
			  unsigned what, struct ms_error *err)
{
	int ret;

	ret = ledger_exists(conn, NULL, &obs->ledger_applied_exists, err);
	if (ret < 0 || !obs->ledger_applied_exists)
		goto done;
	if (what & OBSERVE_LEDGER) {
		ret = ledger_list(&obs->ledger, &obs->ledger_nr, conn, NULL, 0, err);
		if (ret < 0)
			goto done;
	}
	if (what & OBSERVE_IN_PROGRESS) {
		ret = ledger_in_progress(&obs->in_progress, &obs->in_progress_nr, conn, NULL, err);
		if (ret < 0)
			goto done;
	}
	if (what & OBSERVE_APPROVALS)
		ret = ledger_approvals(&obs->approvals, &obs->approvals_nr, conn, NULL,
				       environment, err);
done:
	return ret;
}

int observe_conn(struct observation *out, PGconn *conn, const struct db_target *t,
		 unsigned what, struct ms_error *err)
{
	const struct inventory_database *db = &t->env->database;
	int ret = 0;

	observation_release(out);
	if (what & OBSERVE_IDENTITY) {
		ret = db_identity(&out->identity, conn, t, err);
		if (ret < 0)
			goto done;
	}
	if (what & OBSERVE_ROWS) {
		ret = db_version_rows(&out->version_rows, &out->version_table_exists, NULL, conn,
				      db->version_table, db_target_version_schema(t), err);
		if (ret < 0) {
			db_target_error(err, ret, t, "%s", err->message);
			goto done;
		}
	}
	if (what & (OBSERVE_IN_PROGRESS | OBSERVE_APPROVALS))
		ret = observe_ledger(out, conn, t->env->name,
				     what & (OBSERVE_IN_PROGRESS | OBSERVE_APPROVALS), err);
done:
	return ret;
}

/*
 * A schema snapshot of t, on a connection of its own, and what `what`
 * asks of its ledger (OBSERVE_LEDGER, OBSERVE_APPROVALS) on the same
 * connection; a ledger that cannot be read fails the snapshot too.
 */
static void observe_schema(struct observation *obs, const struct db_target *t,
			   const struct strvec *schemas, unsigned what)
{
	const struct inventory_database *db = &t->env->database;
	const struct drift_options opts = {
		schemas, NULL, db->version_table, db_target_version_schema(t),
		seconds_ms(db->statement_timeout), t->schema
	};
	struct ms_error err = MS_ERROR_INIT;
	struct tunnel *tunnel = NULL;
	PGconn *conn = NULL;

	if (db_connect(&conn, &tunnel, t, &obs->error) < 0)
		goto done;
	if (drift_read(&obs->schema, conn, &opts, &err) < 0 ||
	    ((what & (OBSERVE_LEDGER | OBSERVE_APPROVALS)) &&
	     observe_ledger(obs, conn, t->env->name, what & (OBSERVE_LEDGER | OBSERVE_APPROVALS),
			    &err) < 0)) {
		db_target_error(&obs->error, err.code, t, "%s", err.message);
		schema_snapshot_free(obs->schema);
		obs->schema = NULL;
	}
done:
	db_disconnect(conn, tunnel);
	ms_error_release(&err);
}

static void observe_work(size_t i, void *arg)
{
	struct observe_ctx *oc = arg;
	const struct db_target *t = oc->targets[i];
	unsigned what = oc->o->what | (oc->o->also ? oc->o->also[i] : 0);

	if (!t)
		return;
	if (what & OBSERVE_STATE)
		observe_state(&oc->out[i], t, what & OBSERVE_LEDGER);
	if (what & OBSERVE_SCHEMA)
		observe_schema(&oc->out[i], t, oc->o->schemas, what);
}

static void observe_done(size_t i, void *arg)
{
	struct observe_ctx *oc = arg;

	if (oc->o->done)
		oc->o->done(i, &oc->out[i], oc->o->ctx);
}

int observe_run(struct observation *out, const struct db_target *const *targets, size_t nr,
		const struct observe_options *o, struct ms_error *err)
{
	struct observe_ctx oc = { out, targets, o };
	int ret;

	ret = conn_global_init(err);
	if (ret < 0)
		goto done;
	ret = pool_run(nr, o->jobs, observe_work, observe_done, &oc, err);
done:
	return ret;
}
