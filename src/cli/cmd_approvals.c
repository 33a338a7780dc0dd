/*
 * migsync approvals: the approvals recorded for an environment, each
 * with its state (valid, stale, expired, used, revoked), read from the
 * ledger of the environment's first database, where approve records them.
 * An approval is used when a row of that ledger ran under its hash: a
 * row of the database's own or of any of its tenant schemas, since one
 * approval of a fleet's transition serves all of them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/approve.h"
#include "cli/cli.h"
#include "cli/render/render.h"
#include "migsync/clock.h"
#include "migsync/inventory.h"
#include "migsync/json.h"
#include "migsync/ledger.h"
#include "migsync/plan.h"
#include "migsync/strbuf.h"
#include "migsync/target.h"

static void approvals_help(void)
{
	printf("migsync approvals lists the approvals recorded for an environment.\n"
	       "\n"
	       "Usage:\n"
	       "  migsync approvals -e ENV [OPTION]...\n"
	       "\n"
	       "Options:\n"
	       "  -e, --environment=ENV    the environment (required)\n"
	       "\n");
	cli_print_common_help(27, CLI_HELP_URL | CLI_HELP_SCRIPTS);
	printf("\n"
	       "Each approval's state: valid (counts for the plan now), stale (the plan changed),\n"
	       "expired, used (a step ran under it), revoked (approve --revoke).\n"
	       "\n"
	       "Exit status:\n"
	       "  0  listed (possibly none)\n"
	       "  1  the database could not be reached or read\n"
	       "  2  could not run (usage, inventory, an unknown environment)\n");
}

int cmd_approvals(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_COMMON_LONGOPTS,
		{ "environment", required_argument, NULL, 'e' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_common common;
	struct inventory *inv = NULL;
	const struct environment *env = NULL;
	struct ms_error err = MS_ERROR_INIT;
	struct approval *list = NULL;
	struct ledger_entry *entries = NULL;
	size_t nr = 0, entries_nr = 0;
	struct strbuf out = STRBUF_INIT;
	PGconn *conn = NULL;
	struct tunnel *tunnel = NULL;
	const char *name = NULL;
	char *plan_now = NULL;
	int64_t now;
	int ret = EXIT_OK, opt;

	cli_common_init(&common);
	optind = 1;
	while ((opt = getopt_long(argc, argv, CLI_COMMON_SHORTOPTS "e:", longopts, NULL)) != -1) {
		switch (opt) {
		case OPT_HELP:
			approvals_help();
			goto done;
		case 'e':
			name = optarg;
			break;
		default:
			ret = cli_default_option(&common, "approvals", opt, optarg);
			if (ret != EXIT_OK)
				goto done;
		}
	}
	ret = cli_extra_arguments("approvals", argc, argv, optind);
	if (ret != EXIT_OK)
		goto done;
	if (!name) {
		ret = cli_usage_error("approvals", "-e ENV is required");
		goto done;
	}
	ret = approve_load_env(&inv, &env, &common, name);
	if (ret != EXIT_OK)
		goto done;
	if (approve_connect_first(&conn, &tunnel, env, &err) < 0 ||
	    ledger_approvals(&list, &nr, conn, NULL, env->name, &err) < 0 ||
	    (nr && ledger_list_database(&entries, &entries_nr, conn, NULL, 0, &err) < 0)) {
		cli_print_error(&err);
		ret = cli_db_exit_code(&err);
		goto done;
	}
	if (nr)
		plan_now = approve_plan_now(&common, env->name);
	now = clock_wall_ms();
	if (common.format == FORMAT_JSON) {
		struct json_writer jw;

		json_init(&jw, &out);
		render_json_begin(&jw, "approvals");
		json_kv_string(&jw, "environment", env->name);
		json_key(&jw, "approvals");
		json_array_begin(&jw);
		for (size_t i = 0; i < nr; i++) {
			const struct approval *a = &list[i];

			json_object_begin(&jw);
			json_kv_int(&jw, "id", a->id);
			json_kv_string(&jw, "plan_hash", a->plan_hash);
			json_kv_string(&jw, "approver", a->approver);
			json_kv_string(&jw, "comment", a->comment);
			json_kv_int(&jw, "created_at_ms", a->created_at_ms);
			if (a->expires_at_ms)
				json_kv_int(&jw, "expires_at_ms", a->expires_at_ms);
			else
				json_kv_string(&jw, "expires_at_ms", NULL);
			json_kv_bool(&jw, "expired", a->expires_at_ms && a->expires_at_ms <= now);
			json_kv_string(&jw, "state", approval_state_name(
					       approval_state_of(a, plan_now, entries, entries_nr, now)));
			if (a->revoked_at_ms)
				json_kv_int(&jw, "revoked_at_ms", a->revoked_at_ms);
			else
				json_kv_string(&jw, "revoked_at_ms", NULL);
			json_kv_string(&jw, "revoked_by", a->revoked_by);
			json_kv_string(&jw, "revoke_reason", a->revoke_reason);
			json_object_end(&jw);
		}
		json_array_end(&jw);
		json_object_end(&jw);
		strbuf_addch(&out, '\n');
	} else if (!nr) {
		strbuf_addf(&out, "no approvals for environment %s\n", env->name);
	} else {
		strbuf_addf(&out, "%-20s  %-12s  %-16s  %-8s  %-20s  %s\n", "CREATED", "PLAN", "APPROVER",
			    "STATE", "EXPIRES", "COMMENT");
		for (size_t i = 0; i < nr; i++) {
			const struct approval *a = &list[i];
			char created[64], expires[64];

			cli_format_time(created, sizeof(created), a->created_at_ms);
			cli_format_time(expires, sizeof(expires), a->expires_at_ms);
			strbuf_addf(&out, "%-20s  %-12.12s  %-16s  %-8s  %-20s  %s", created,
				    a->plan_hash ? a->plan_hash : "", a->approver ? a->approver : "",
				    approval_state_name(approval_state_of(a, plan_now, entries,
									  entries_nr, now)),
				    expires, a->comment ? a->comment : "");
			if (a->revoked_at_ms)
				strbuf_addf(&out, "%srevoked by %s%s%s", a->comment ? "; " : "",
					    a->revoked_by ? a->revoked_by : "?",
					    a->revoke_reason ? ": " : "",
					    a->revoke_reason ? a->revoke_reason : "");
			strbuf_addch(&out, '\n');
		}
	}
	ret = cli_write_stdout(out.buf, out.len);
done:
	db_disconnect(conn, tunnel);
	approvals_free(list, nr);
	ledger_entries_free(entries, entries_nr);
	free(plan_now);
	inventory_free(inv);
	ms_error_release(&err);
	strbuf_release(&out);
	cli_common_release(&common);
	return ret;
}
