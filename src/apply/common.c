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

static void serial_event(const struct apply_event *ev, void *ctx)
{
	struct apply_serial *s = ctx;

	pthread_mutex_lock(&s->lock);
	s->o->event(ev, s->o->ctx);
	pthread_mutex_unlock(&s->lock);
}

void apply_serial_init(struct apply_serial *s, struct apply_options *wo,
		       const struct apply_options *o)
{
	s->o = o;
	pthread_mutex_init(&s->lock, NULL);
	*wo = *o;
	if (o->event) {
		wo->event = serial_event;
		wo->ctx = s;
	}
}

void apply_serial_release(struct apply_serial *s)
{
	pthread_mutex_destroy(&s->lock);
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
	ev.label = db->label ? db->label : env->name;
	ev.db_index = index;
	ev.db_nr = nr;
	ev.detail = detail;
	apply_emit(o, &ev);
}

int apply_in_progress_error(const struct plan_db *db, const struct db_target *t,
			     struct ms_error *err)
{
	struct strbuf cmd = STRBUF_INIT;

	/* the revision comes from the ledger: quoted, as every word of a command to paste */
	strbuf_addstr(&cmd, "migsync resolve -e ");
	strbuf_add_shell_word(&cmd, t->env->name);
	strbuf_addch(&cmd, ' ');
	strbuf_add_shell_word(&cmd, db->in_progress.items[0]);
	db_target_error(err, MS_ERR_DB, t,
			"revision \"%s\" was left in progress by an earlier run (transaction false)",
			db->in_progress.items[0]);
	ms_error_hint(err, "check the database by hand, then run: %s --applied (or --rolled-back)",
		      cmd.buf);
	strbuf_release(&cmd);
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
