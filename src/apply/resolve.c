/* Settling a `transaction false` step a crash left in progress (migsync resolve). */
#include <stdlib.h>
#include <string.h>

#include "apply_int.h"
#include "migsync/executor.h"
#include "migsync/ledger.h"
#include "migsync/observe.h"

int apply_resolve(size_t *resolved, const struct environment *env, const char *revision,
		  bool applied, const struct apply_options *o, struct ms_error *err)
{
	struct db_target *targets = NULL;
	size_t nr = 0;
	int ret;

	*resolved = 0;
	ret = db_targets_expand(&targets, &nr, env, err);
	for (size_t i = 0; ret == 0 && i < nr; i++) {
		struct observation obs;
		PGconn *conn = NULL;
		struct tunnel *tunnel = NULL;

		observation_init(&obs);
		ret = apply_connect_locked(&conn, &tunnel, &targets[i], NULL, i, nr, o, err);
		if (ret < 0)
			break;
		ret = observe_conn(&obs, conn, &targets[i], OBSERVE_IN_PROGRESS, err);
		for (size_t k = 0; ret == 0 && k < obs.in_progress_nr; k++) {
			struct ledger_entry *e = &obs.in_progress[k];

			if (strcmp(e->revision, revision))
				continue;
			if (applied && e->rows_after) {
				struct strvec now = STRVEC_INIT, want = STRVEC_INIT;
				struct apply_executor ax;

				/* the ledger row names the plan the step belonged to */
				apply_executor_open(&ax, conn, &targets[i], e->plan_hash, o);
				plan_rows_parse(&want, e->rows_after);
				ret = ax.x.ops->read_rows(&ax.x, &now, err);
				if (ret == 0 && !strvec_equal(&now, &want))
					ret = ax.x.ops->stamp(&ax.x, &now, &want, err);
				apply_executor_close(&ax);
				strvec_release(&now);
				strvec_release(&want);
			}
			if (ret == 0)
				ret = ledger_finish(conn, NULL, e->id,
						    applied ? LEDGER_RESOLVED_APPLIED :
						    LEDGER_RESOLVED_ROLLED_BACK,
						    e->duration_ms, e->error, err);
			if (ret == 0)
				(*resolved)++;
		}
		observation_release(&obs);
		{
			struct ms_error ignore = MS_ERROR_INIT;

			ledger_unlock(conn, &ignore);
			ms_error_release(&ignore);
		}
		db_disconnect(conn, tunnel);
	}
	db_targets_free(targets, nr);
	return ret;
}
