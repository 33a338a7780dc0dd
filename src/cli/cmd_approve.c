/*
 * migsync approve: record an approval of one stage's plan (by its hash)
 * in the ledger of the environment's first database, where a deploy hook
 * running anywhere can see it. migsync approvals: list them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/promote.h"
#include "migsync/inventory.h"
#include "migsync/json.h"
#include "migsync/ledger.h"
#include "migsync/plan.h"
#include "migsync/strbuf.h"
#include "migsync/target.h"

enum {
	OPT_PLAN = OPT_FIRST_COMMAND_OPTION,
	OPT_BY,
	OPT_COMMENT,
	OPT_EXPIRES,
};

static void approve_help(void)
{
	printf("migsync approve records an approval of one stage's plan, by its plan hash,\n"
	       "in the ledger of the environment's database.\n"
	       "\n"
	       "Usage:\n"
	       "  migsync approve -e ENV --plan HASH [OPTION]...\n"
	       "\n"
	       "Options:\n"
	       "  -e, --environment=ENV    the environment (required)\n"
	       "      --plan=HASH          the stage's plan hash, as migsync plan shows it (required)\n"
	       "      --by=NAME            the approver (default: $USER)\n"
	       "      --comment=TEXT       a note kept with the approval\n"
	       "      --expires=DURATION   the approval lapses after DURATION (e.g. 24h; default: never)\n"
	       "\n"
	       "Common options:\n"
	       "  -i, --inventory=PATH     inventory directory (default: $MIGSYNC_INVENTORY or environments/)\n"
	       "      --format=FORMAT      output format: text (default) or json\n"
	       "      --help               show this help, then exit\n"
	       "\n"
	       "An approval counts only for exactly this plan: if a script changes, a revision\n"
	       "is added or the database moves, the plan hash changes and it no longer counts.\n"
	       "\n"
	       "Exit status: 0 recorded, 1 the database refused, 2 could not run.\n");
}

static void approvals_help(void)
{
	printf("migsync approvals lists the approvals recorded for an environment.\n"
	       "\n"
	       "Usage:\n"
	       "  migsync approvals -e ENV [OPTION]...\n"
	       "\n"
	       "Options:\n"
	       "  -e, --environment=ENV    the environment (required)\n"
	       "\n"
	       "Common options:\n"
	       "  -i, --inventory=PATH     inventory directory (default: $MIGSYNC_INVENTORY or environments/)\n"
	       "      --format=FORMAT      output format: text (default) or json\n"
	       "      --help               show this help, then exit\n"
	       "\n"
	       "Exit status: 0 listed, 1 the database could not be read, 2 could not run.\n");
}

/* Load the inventory and find env. */
static int load_env(struct inventory **inv, const struct environment **env,
		    const struct cli_common *c, const char *name)
{
	struct diag_list problems = DIAG_LIST_INIT;
	struct ms_error err = MS_ERROR_INIT;
	int ret = EXIT_OK;

	if (inventory_load(inv, inventory_choose_dir(c->inventory), &problems, &err) < 0) {
		cli_print_warnings(&problems);
		cli_print_error(&err);
		ret = EXIT_CANNOT_RUN;
		goto done;
	}
	cli_print_warnings(&problems);
	*env = inventory_find(*inv, name);
	if (!*env) {
		fprintf(stderr, "migsync: error: environment \"%s\": not in the inventory\n", name);
		ret = EXIT_CANNOT_RUN;
	}
done:
	diag_list_release(&problems);
	ms_error_release(&err);
	return ret;
}

/* Connect to env's first target database (where approvals live). */
static int connect_first(PGconn **conn, struct tunnel **tunnel, const struct environment *env,
			 struct ms_error *err)
{
	struct db_target *targets = NULL;
	size_t nr = 0;
	int ret;

	ret = db_targets_expand(&targets, &nr, env, err);
	if (ret == 0 && !nr)
		ret = ms_error_set(err, MS_ERR_CONFIG, "environment \"%s\": no databases", env->name);
	if (ret == 0)
		ret = db_connect(conn, tunnel, &targets[0], err);
	db_targets_free(targets, nr);
	return ret;
}

static void format_time(char *buf, size_t len, int64_t ms)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (!ms) {
		snprintf(buf, len, "never");
		return;
	}
	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int cmd_approve(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_COMMON_LONGOPTS,
		{ "environment", required_argument, NULL, 'e' },
		{ "plan", required_argument, NULL, OPT_PLAN },
		{ "by", required_argument, NULL, OPT_BY },
		{ "comment", required_argument, NULL, OPT_COMMENT },
		{ "expires", required_argument, NULL, OPT_EXPIRES },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_common common;
	struct inventory *inv = NULL;
	const struct environment *env = NULL;
	struct ms_error err = MS_ERROR_INIT;
	struct approval a;
	struct strbuf out = STRBUF_INIT;
	PGconn *conn = NULL;
	struct tunnel *tunnel = NULL;
	const char *name = NULL, *hash = NULL, *by = NULL, *comment = NULL;
	int64_t expires = 0;
	int ret = EXIT_OK, opt;

	cli_common_init(&common);
	approval_init(&a);
	optind = 1;
	while ((opt = getopt_long(argc, argv, CLI_COMMON_SHORTOPTS "e:", longopts, NULL)) != -1) {
		switch (opt) {
		case OPT_HELP:
			approve_help();
			goto done;
		case 'e':
			name = optarg;
			break;
		case OPT_PLAN:
			hash = optarg;
			break;
		case OPT_BY:
			by = optarg;
			break;
		case OPT_COMMENT:
			comment = optarg;
			break;
		case OPT_EXPIRES:
			if (inventory_parse_duration(optarg, &expires) < 0 || expires <= 0) {
				ret = cli_usage_error("approve", "invalid duration \"%s\" (e.g. 30m, 24h, 2d)",
						      optarg);
				goto done;
			}
			break;
		default:
			ret = cli_default_option(&common, "approve", opt, optarg);
			if (ret != EXIT_OK)
				goto done;
		}
	}
	if (optind < argc) {
		ret = cli_usage_error("approve", "too many arguments (first is \"%s\")", argv[optind]);
		goto done;
	}
	if (!name || !hash) {
		ret = cli_usage_error("approve", "%s is required", !name ? "-e ENV" : "--plan HASH");
		goto done;
	}
	if (!plan_hash_valid(hash)) {
		ret = cli_usage_error("approve", "\"%s\" is not a plan hash (64 hexadecimal digits)", hash);
		goto done;
	}
	if (!by) {
		by = getenv("USER");
		if (!by || !*by) {
			ret = cli_usage_error("approve", "no approver: $USER is not set; pass --by NAME");
			goto done;
		}
	}
	ret = load_env(&inv, &env, &common, name);
	if (ret != EXIT_OK)
		goto done;
	if (env->gate.approvers.nr && !strvec_contains(&env->gate.approvers, by))
		fprintf(stderr, "migsync: warning: environment \"%s\": \"%s\" is not on the approvers list; the approval will not count\n",
			env->name, by);

	a.plan_hash = xstrdup(hash);
	for (char *p = a.plan_hash; *p; p++)
		if (*p >= 'A' && *p <= 'F')
			*p = (char)(*p - 'A' + 'a');
	a.environment = xstrdup(env->name);
	a.approver = xstrdup(by);
	a.comment = comment ? xstrdup(comment) : NULL;
	if (connect_first(&conn, &tunnel, env, &err) < 0 ||
	    ledger_ensure(conn, NULL, &err) < 0)
		goto failed;
	/* expiry relative to the server's clock would be nicer; ours is what the gate uses too */
	if (expires) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		a.expires_at_ms = ((int64_t)ts.tv_sec + expires) * 1000 + ts.tv_nsec / 1000000;
	}
	if (ledger_approve(conn, NULL, &a, &err) < 0)
		goto failed;

	if (common.format == FORMAT_JSON) {
		struct json_writer jw;

		json_init(&jw, &out);
		json_object_begin(&jw);
		json_kv_int(&jw, "id", a.id);
		json_kv_string(&jw, "environment", a.environment);
		json_kv_string(&jw, "plan_hash", a.plan_hash);
		json_kv_string(&jw, "approver", a.approver);
		json_kv_string(&jw, "comment", a.comment);
		json_kv_int(&jw, "created_at_ms", a.created_at_ms);
		if (a.expires_at_ms)
			json_kv_int(&jw, "expires_at_ms", a.expires_at_ms);
		else
			json_kv_string(&jw, "expires_at_ms", NULL);
		json_object_end(&jw);
		strbuf_addch(&out, '\n');
	} else {
		char when[64];

		format_time(when, sizeof(when), a.expires_at_ms);
		strbuf_addf(&out, "approved: environment %s, plan %s, by %s (expires: %s)\n",
			    a.environment, a.plan_hash, a.approver, when);
	}
	ret = cli_write_stdout(out.buf, out.len);
	goto done;
failed:
	cli_print_error(&err);
	ret = cli_exit_code(&err);
done:
	db_disconnect(conn, tunnel);
	approval_release(&a);
	inventory_free(inv);
	ms_error_release(&err);
	strbuf_release(&out);
	cli_common_release(&common);
	return ret;
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
	size_t nr = 0;
	struct strbuf out = STRBUF_INIT;
	PGconn *conn = NULL;
	struct tunnel *tunnel = NULL;
	const char *name = NULL;
	struct timespec ts;
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
	if (optind < argc) {
		ret = cli_usage_error("approvals", "too many arguments (first is \"%s\")", argv[optind]);
		goto done;
	}
	if (!name) {
		ret = cli_usage_error("approvals", "-e ENV is required");
		goto done;
	}
	ret = load_env(&inv, &env, &common, name);
	if (ret != EXIT_OK)
		goto done;
	if (connect_first(&conn, &tunnel, env, &err) < 0 ||
	    ledger_approvals(&list, &nr, conn, NULL, env->name, &err) < 0) {
		cli_print_error(&err);
		ret = cli_exit_code(&err);
		goto done;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	if (common.format == FORMAT_JSON) {
		struct json_writer jw;

		json_init(&jw, &out);
		json_object_begin(&jw);
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
			json_object_end(&jw);
		}
		json_array_end(&jw);
		json_object_end(&jw);
		strbuf_addch(&out, '\n');
	} else if (!nr) {
		strbuf_addf(&out, "no approvals for environment %s\n", env->name);
	} else {
		strbuf_addf(&out, "%-20s  %-12s  %-16s  %-20s  %s\n", "CREATED", "PLAN", "APPROVER",
			    "EXPIRES", "COMMENT");
		for (size_t i = 0; i < nr; i++) {
			const struct approval *a = &list[i];
			char created[64], expires[64];

			format_time(created, sizeof(created), a->created_at_ms);
			format_time(expires, sizeof(expires), a->expires_at_ms);
			if (a->expires_at_ms && a->expires_at_ms <= now)
				strcat(expires, " (expired)");
			strbuf_addf(&out, "%-20s  %-12.12s  %-16s  %-20s  %s\n", created,
				    a->plan_hash ? a->plan_hash : "", a->approver ? a->approver : "",
				    expires, a->comment ? a->comment : "");
		}
	}
	ret = cli_write_stdout(out.buf, out.len);
done:
	db_disconnect(conn, tunnel);
	approvals_free(list, nr);
	inventory_free(inv);
	ms_error_release(&err);
	strbuf_release(&out);
	cli_common_release(&common);
	return ret;
}
