/*
 * Withdrawing an approval (migsync approve --revoke) and the plan an
 * approval is judged against (migsync approvals). See approve.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli/approve.h"
#include "cli/promote.h"
#include "cli/render/render.h"
#include "migsync/apply.h"
#include "migsync/clock.h"
#include "migsync/json.h"
#include "migsync/ledger.h"
#include "migsync/plan.h"
#include "migsync/project.h"

int approve_load_env(struct inventory **inv, const struct environment **env,
		     const struct cli_common *c, const char *name)
{
	struct project project = PROJECT_INIT;
	int ret = cli_open_project(&project, c, PROJECT_INVENTORY, 0);

	*inv = project.inv;
	project.inv = NULL;
	if (ret != EXIT_OK)
		goto done;
	*env = inventory_find(*inv, name);
	if (!*env) {
		fprintf(stderr, "migsync: error: environment \"%s\": not in the inventory\n", name);
		ret = EXIT_CANNOT_RUN;
	}
done:
	project_release(&project);
	return ret;
}

int approve_connect_first(PGconn **conn, struct tunnel **tunnel, const struct environment *env,
			  struct ms_error *err)
{
	struct db_target *targets = NULL;
	size_t nr = 0;
	int ret;

	/* the first of all, as apply reads them (db_targets_expand_all), whatever the shard */
	ret = db_targets_expand_all(&targets, &nr, env, err);
	if (ret == 0 && !nr)
		ret = ms_error_set(err, MS_ERR_CONFIG, "environment \"%s\": no databases", env->name);
	if (ret == 0)
		ret = db_connect(conn, tunnel, &targets[0], err);
	db_targets_free(targets, nr);
	return ret;
}

/*
 * The one plan hash of env's approvals not revoked yet that starts with
 * prefix: NULL (err set) when none or several do.
 */
static const char *find_approval(const struct approval *list, size_t nr,
				 const struct environment *env, const char *prefix,
				 struct ms_error *err)
{
	const char *found = NULL;
	size_t len = strlen(prefix);

	for (size_t i = 0; i < nr; i++) {
		const struct approval *a = &list[i];

		if (a->revoked_at_ms || !a->plan_hash || strncasecmp(a->plan_hash, prefix, len))
			continue;
		if (found && strcasecmp(found, a->plan_hash)) {
			ms_error_set(err, MS_ERR_AMBIGUOUS,
				     "environment \"%s\": \"%s\" starts more than one approved plan hash (%.12s..., %.12s...)",
				     env->name, prefix, found, a->plan_hash);
			ms_error_hint(err, "give more digits of the hash");
			return NULL;
		}
		found = a->plan_hash;
	}
	if (!found) {
		ms_error_set(err, MS_ERR_DB, "environment \"%s\": no approval of plan %s to revoke",
			     env->name, prefix);
		ms_error_hint(err, "migsync approvals -e %s lists the approvals and their states", env->name);
	}
	return found;
}

int approve_revoke(const struct cli_common *common, const struct environment *env,
		   const char *hash, const char *by, const char *reason)
{
	struct ms_error err = MS_ERROR_INIT;
	struct approval *list = NULL;
	struct strbuf out = STRBUF_INIT;
	PGconn *conn = NULL;
	struct tunnel *tunnel = NULL;
	const char *full;
	int64_t revoked = 0;
	size_t nr = 0;
	int ret;

	if (approve_connect_first(&conn, &tunnel, env, &err) < 0 ||
	    ledger_ensure(conn, NULL, &err) < 0 ||
	    ledger_approvals(&list, &nr, conn, NULL, env->name, &err) < 0)
		goto failed;
	full = find_approval(list, nr, env, hash, &err);
	if (!full ||
	    ledger_revoke(&revoked, conn, NULL, env->name, full, by, reason, clock_wall_ms(), &err) < 0)
		goto failed;
	if (common->format == FORMAT_JSON) {
		struct json_writer jw;

		json_init(&jw, &out);
		render_json_begin(&jw, "approve-revoke");
		json_kv_string(&jw, "environment", env->name);
		json_kv_string(&jw, "plan_hash", full);
		json_kv_int(&jw, "revoked", revoked);
		json_kv_string(&jw, "revoked_by", by);
		json_kv_string(&jw, "reason", reason);
		json_object_end(&jw);
		strbuf_addch(&out, '\n');
	} else {
		strbuf_addf(&out, "revoked: environment %s, plan %s, by %s (%lld approval%s)\n",
			    env->name, full, by, (long long)revoked, revoked == 1 ? "" : "s");
	}
	ret = cli_write_stdout(out.buf, out.len);
	goto done;
failed:
	cli_print_error(&err);
	ret = err.code == MS_ERR_AMBIGUOUS ? EXIT_CANNOT_RUN : EXIT_PROBLEMS;
done:
	db_disconnect(conn, tunnel);
	approvals_free(list, nr);
	ms_error_release(&err);
	strbuf_release(&out);
	return ret;
}

char *approve_plan_now(struct cli_common *common, const char *env)
{
	struct strvec names = STRVEC_INIT;
	struct promote pr;
	struct plan_stage st;
	struct apply_options o;
	struct ms_error err = MS_ERROR_INIT;
	char *hash = NULL;

	promote_init(&pr);
	plan_stage_init(&st, NULL);
	strvec_push(&names, env);
	if (promote_load(&pr, common, &names, NULL, NULL, true) != EXIT_OK)
		goto done;
	promote_options(&o, &pr, true);
	if (apply_read_stage(&st, pr.envs[0], &o, &err) < 0)
		goto done;
	for (size_t i = 0; i < st.dbs_nr; i++)
		if (st.dbs[i].error && !err.message)
			ms_error_set(&err, MS_ERR_DB, "%s", st.dbs[i].error);
	if (!err.message)
		hash = xstrdup(st.plan_hash);
done:
	if (!hash)
		fprintf(stderr, "migsync: warning: environment \"%s\": the plan now cannot be made%s%s; "
			"no approval is shown as stale\n", env, err.message ? ": " : "",
			err.message ? err.message : "");
	plan_stage_release(&st);
	promote_release(&pr);
	strvec_release(&names);
	ms_error_release(&err);
	return hash;
}
