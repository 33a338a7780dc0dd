/*
 * What the parts of the stage runner share: the clocks, cancellation,
 * events, the in-progress error and the gate (see apply_int.h).
 */
#include <stdlib.h>
#include <string.h>

#include "apply_int.h"
#include "migsync/clock.h"
#include "migsync/strbuf.h"

void apply_options_init(struct apply_options *o)
{
	memset(o, 0, sizeof(*o));
}

bool apply_cancelled(const struct apply_options *o)
{
	return o->cancel && *o->cancel;
}

void apply_emit(const struct apply_options *o, struct apply_event *ev)
{
	if (o->event)
		o->event(ev, o->ctx);
}

/* APPLY_EVENT_SKIP for database index of nr (detail: see apply.h). */
void apply_emit_skip(const struct apply_options *o, const struct environment *env,
		      const struct plan_db *db, size_t index, size_t nr, const char *detail)
{
	struct apply_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.kind = APPLY_EVENT_SKIP;
	ev.environment = env->name;
	ev.database = db->describe;
	ev.db_index = index;
	ev.db_nr = nr;
	ev.detail = detail;
	apply_emit(o, &ev);
}

int apply_in_progress_error(const struct plan_db *db, const struct db_target *t,
			     struct ms_error *err)
{
	db_target_error(err, MS_ERR_DB, t,
			"revision \"%s\" was left in progress by an earlier run (transaction false)",
			db->in_progress.items[0]);
	ms_error_hint(err, "check the database by hand, then run: migsync resolve -e %s %s --applied (or --rolled-back)",
		      t->env->name, db->in_progress.items[0]);
	return MS_ERR_DB;
}

/*
 * After a stage or stamp was read and checked: its gate, then a dry run,
 * then the confirmation. APPLY_DONE to go on; otherwise the outcome to
 * stop with (APPLY_GATED with err saying why).
 */
void apply_gate_approvals_only(struct plan_stage *st, const struct environment *env)
{
	struct gate_input in;

	memset(&in, 0, sizeof(in));
	in.gate = &env->gate;
	in.environment = env->name;
	in.plan_hash = st->plan_hash;
	in.approvals = st->approvals;
	in.approvals_nr = st->approvals_nr;
	in.now_ms = clock_wall_ms();
	gate_evaluate(&st->gate, &in);
}

enum apply_outcome apply_gate_and_confirm(struct plan_stage *st, const struct environment *env,
					   const struct apply_options *o, struct ms_error *err)
{
	struct strbuf sb = STRBUF_INIT;

	if (!st->gate.passed) {
		for (size_t i = 0; i < st->gate.notes.nr; i++)
			strbuf_addf(&sb, "%s%s", i ? "; " : "", st->gate.notes.items[i]);
		ms_error_set(err, MS_ERR_GENERIC, "environment \"%s\": stopped at the gate: %s",
			     env->name, sb.len ? sb.buf : "waiting for approval");
		strbuf_release(&sb);
		return APPLY_GATED;
	}
	if (o->dry_run)
		return APPLY_DRY_RUN;
	if (st->gate.gated && o->confirm && !o->confirm(st, o->ctx))
		return APPLY_DECLINED;
	return APPLY_DONE;
}
