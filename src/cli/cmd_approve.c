/*
 * migsync approve: record an approval of one stage's plan (by its hash)
 * in the ledger of the environment's first database, where a deploy hook
 * running anywhere can see it. The hash must be the one of the plan as
 * it is now (computed as plan, downgrade or stamp compute it), unless
 * --force; or withdraw one (--revoke). migsync approvals (cmd_approvals.c)
 * lists them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cli/approve.h"
#include "cli/cli.h"
#include "cli/render/render.h"
#include "cli/promote.h"
#include "migsync/apply.h"
#include "migsync/clock.h"
#include "migsync/inventory.h"
#include "migsync/json.h"
#include "migsync/ledger.h"
#include "migsync/plan.h"
#include "migsync/project.h"
#include "migsync/strbuf.h"
#include "migsync/target.h"

enum {
	OPT_PLAN = OPT_FIRST_COMMAND_OPTION,
	OPT_BY,
	OPT_COMMENT,
	OPT_EXPIRES,
	OPT_TO,
	OPT_DOWNGRADE,
	OPT_STAMP,
	OPT_FORCE,
	OPT_REVOKE,
	OPT_REHASH,
};

static void approve_help(void)
{
	printf("migsync approve records an approval of one stage's plan, by its plan hash,\n"
	       "in the ledger of the environment's database. The hash must be that of the\n"
	       "stage's plan as it is now; in a fleet, that of one group of databases that\n"
	       "start from the same version rows (it covers every database of the group,\n"
	       "tenants added later included).\n"
	       "\n"
	       "Usage:\n"
	       "  migsync approve -e ENV --plan HASH [OPTION]...\n"
	       "  migsync approve --revoke -e ENV --plan HASH [--by NAME] [--comment REASON]\n"
	       "\n"
	       "Options:\n"
	       "  -e, --environment=ENV    the environment (required)\n"
	       "      --plan=HASH          the stage's plan hash, as migsync plan shows it, or a\n"
	       "                           prefix of 12 or more of its digits (required)\n"
	       "      --to=REV             the plan is to REV (default: the heads)\n"
	       "      --downgrade          the plan is migsync downgrade's (with --to)\n"
	       "      --stamp              the plan is a stamp to --to's rows (migsync stamp, consolidate)\n"
	       "      --rehash=REV         the plan is migsync rehash's of REV\n"
	       "      --by=NAME            the approver (default: $USER)\n"
	       "      --comment=TEXT       a note kept with the approval\n"
	       "      --expires=DURATION   the approval lapses after DURATION (e.g. 24h; default: never)\n"
	       "      --force              record HASH even when it is not the plan now\n"
	       "      --revoke             withdraw the approval of HASH instead (kept in the ledger,\n"
	       "                           marked revoked; --comment says why)\n"
	       "\n");
	cli_print_common_help(27, CLI_HELP_URL | CLI_HELP_SCRIPTS);
	printf("\n"
	       "An approval counts only for exactly this plan: if a script changes, a revision\n"
	       "is added or the database moves, the plan hash changes and it no longer counts.\n"
	       "\n"
	       "Exit status:\n"
	       "  0  the approval was recorded (or revoked)\n"
	       "  1  HASH is not the plan now, there is no approval of HASH to revoke, or the\n"
	       "     database could not be reached or refused\n"
	       "  2  could not run (usage, a malformed hash, inventory, an unknown environment)\n");
}

/* What approve compares the hash with. */
enum approve_kind {
	APPROVE_PLAN,
	APPROVE_DOWNGRADE,
	APPROVE_STAMP,
	APPROVE_REHASH,
};

static const char *kind_name(enum approve_kind k)
{
	return k == APPROVE_STAMP ? "stamp" : k == APPROVE_DOWNGRADE ? "downgrade" :
		k == APPROVE_REHASH ? "rehash" : "plan";
}

/* The revision of --rehash REV. */
static const char *rehash_rev;

/* Read env's stage of kind as plan, downgrade, stamp or rehash would, into st. */
static int approve_read(struct plan_stage *st, const struct environment *env,
			const struct promote *pr, enum approve_kind kind, struct ms_error *err)
{
	struct apply_options o;
	int ret;

	promote_options(&o, pr, kind != APPROVE_DOWNGRADE);
	if (kind == APPROVE_REHASH)
		ret = promote_rehash_read(st, pr, env, rehash_rev, err);
	else if (kind == APPROVE_STAMP)
		ret = apply_stamp_read(st, env, &pr->target.ids, &o, err);
	else
		ret = apply_read_stage(st, env, &o, err);
	if (ret < 0)
		return ret;
	/* a fleet's group is approved by its hash: an unreadable tenant is in no group */
	for (size_t i = 0; i < st->dbs_nr && !(st->fleet && kind != APPROVE_STAMP); i++)
		if (st->dbs[i].error)
			return ms_error_set(err, MS_ERR_DB, "%s", st->dbs[i].error);
	return 0;
}

/*
 * The whole hash now that hash (all of it, or a prefix) names: st's, or in
 * a fleet that of one of its groups with steps; NULL when none.
 */
static const char *hash_now(const struct plan_stage *st, const char *hash)
{
	if (promote_hash_matches(st->plan_hash, hash))
		return st->plan_hash;
	for (size_t g = 0; g < st->groups_nr; g++)
		if (st->dbs[st->groups[g].first].steps_nr &&
		    promote_hash_matches(st->groups[g].plan_hash, hash))
			return st->groups[g].plan_hash;
	return NULL;
}

/*
 * Why hash is not st's: the plan now, database by database, and where
 * hash comes from when migsync can tell (another environment's plan
 * now, an earlier approval, a plan already applied). On stderr.
 */
static void explain_mismatch(const struct promote *pr, const struct environment *env,
			     const struct plan_stage *st, enum approve_kind kind, const char *hash,
			     bool force)
{
	struct ledger_entry *entries = NULL;
	struct approval *approvals = NULL;
	size_t entries_nr = 0, approvals_nr = 0;
	struct ms_error err = MS_ERROR_INIT;
	PGconn *conn = NULL;
	struct tunnel *tunnel = NULL;
	bool known = false, ledger = false;
	char when[64];

	fprintf(stderr, "migsync: %s: environment \"%s\": %.12s... is not the %s of this environment now\n",
		force ? "warning" : "error", env->name, hash, kind_name(kind));
	fprintf(stderr, "  the %s now: %s (to ", kind_name(kind), st->plan_hash);
	for (size_t i = 0; i < pr->target.ids.nr; i++)
		fprintf(stderr, "%s%s", i ? "," : "", pr->target.ids.items[i]);
	fprintf(stderr, "%s)\n", pr->target.ids.nr ? "" : "base");
	for (size_t i = 0; i < st->dbs_nr; i++) {
		const struct plan_db *db = &st->dbs[i];
		struct strbuf sb = STRBUF_INIT;

		plan_rows_add(&sb, &db->rows, ",");
		strbuf_addstr(&sb, " -> ");
		plan_rows_add(&sb, &db->end_rows, ",");
		/* a fleet's databases and tenant schemas by their names, as apply's lines */
		fprintf(stderr, "    %s: %s (%zu step%s)\n", st->fleet ? db->label : db->describe,
			sb.buf, db->steps_nr,
			db->steps_nr == 1 ? "" : "s");
		strbuf_release(&sb);
	}

	/* another environment's plan, pasted with the wrong -e */
	for (size_t i = 0; kind == APPROVE_PLAN && i < pr->inv->nr && !known; i++) {
		const struct environment *e = &pr->inv->envs[i];
		struct plan_stage other;

		if (e == env)
			continue;
		plan_stage_init(&other, NULL);
		if (approve_read(&other, e, pr, kind, &err) == 0 &&
		    promote_hash_matches(other.plan_hash, hash)) {
			fprintf(stderr, "  %.12s... is the plan of environment \"%s\" now: did you mean -e %s?\n",
				hash, e->name, e->name);
			known = true;
		}
		ms_error_release(&err);
		plan_stage_release(&other);
	}

	/*
	 * an older plan of this environment, approved or applied before: in
	 * the first database's ledger, where approvals are kept, among the
	 * rows of all its tenant schemas too
	 */
	if (!known && st->dbs_nr) {
		if (approve_connect_first(&conn, &tunnel, env, &err) == 0 &&
		    ledger_exists(conn, NULL, &ledger, &err) == 0 && ledger &&
		    ledger_approvals(&approvals, &approvals_nr, conn, NULL, env->name, &err) == 0)
			ledger_list_database(&entries, &entries_nr, conn, NULL, 0, &err);
		ms_error_release(&err);
	}
	for (size_t i = entries_nr; !known && i-- > 0;) {
		if (!promote_hash_matches(entries[i].plan_hash, hash))
			continue;
		cli_format_time(when, sizeof(when), entries[i].started_at_ms);
		fprintf(stderr, "  %.12s... is an older plan: it was %s on %s (revision %s, %s%s%s)\n", hash,
			ledger_outcome_name(entries[i].outcome), when, entries[i].revision,
			entries[i].environment ? entries[i].environment : "?",
			entries[i].target_schema ? ", schema " : "",
			entries[i].target_schema ? entries[i].target_schema : "");
		known = true;
	}
	for (size_t i = approvals_nr; !known && i-- > 0;) {
		if (!promote_hash_matches(approvals[i].plan_hash, hash))
			continue;
		cli_format_time(when, sizeof(when), approvals[i].created_at_ms);
		fprintf(stderr, "  %.12s... is an older plan: \"%s\" approved it on %s; the plan changed since\n",
			hash, approvals[i].approver ? approvals[i].approver : "?", when);
		known = true;
	}
	if (!known)
		fprintf(stderr, "  %.12s... is no plan migsync knows of: a plan from before a database moved or a\n"
			"  revision file changed, another --to%s, or a copy/paste error\n", hash,
			kind == APPROVE_PLAN ? " (or a downgrade or stamp: --downgrade, --stamp)" : "");
	if (!force) {
		struct strbuf plan = STRBUF_INIT;

		promote_add_command(&plan, pr, "plan", env->name);
		if (pr->target.given) {
			strbuf_addstr(&plan, " --to ");
			strbuf_add_shell_word(&plan, pr->target.given);
		}
		fprintf(stderr, "hint: review the plan now with: %s, then approve its hash;\n"
			"      --force records this hash anyway\n", plan.buf);
		strbuf_release(&plan);
	}
	db_disconnect(conn, tunnel);
	ledger_entries_free(entries, entries_nr);
	approvals_free(approvals, approvals_nr);
}

/* A prefix of a plan hash, as revoke takes it: 12 to 64 hexadecimal digits. */
static bool revoke_hash_valid(const char *s)
{
	size_t len = strspn(s, "0123456789abcdefABCDEF");

	return !s[len] && len >= 12 && len <= 64;
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
		{ "to", required_argument, NULL, OPT_TO },
		{ "downgrade", no_argument, NULL, OPT_DOWNGRADE },
		{ "stamp", no_argument, NULL, OPT_STAMP },
		{ "force", no_argument, NULL, OPT_FORCE },
		{ "revoke", no_argument, NULL, OPT_REVOKE },
		{ "rehash", required_argument, NULL, OPT_REHASH },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_common common;
	struct inventory *inv = NULL;
	struct promote pr;
	struct strvec names = STRVEC_INIT;
	struct plan_stage st;
	enum approve_kind kind = APPROVE_PLAN;
	const struct environment *env = NULL;
	struct ms_error err = MS_ERROR_INIT;
	struct approval a;
	struct strbuf out = STRBUF_INIT;
	PGconn *conn = NULL;
	struct tunnel *tunnel = NULL;
	const char *name = NULL, *hash = NULL, *by = NULL, *comment = NULL, *to = NULL;
	int64_t expires = 0;
	bool force = false, revoke = false;
	int ret = EXIT_OK, opt;

	cli_common_init(&common);
	promote_init(&pr);
	plan_stage_init(&st, NULL);
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
		case OPT_TO:
			to = optarg;
			break;
		case OPT_DOWNGRADE:
		case OPT_STAMP:
			if (kind != APPROVE_PLAN) {
				ret = cli_usage_error("approve", "give one of --downgrade, --stamp and --rehash");
				goto done;
			}
			kind = opt == OPT_STAMP ? APPROVE_STAMP : APPROVE_DOWNGRADE;
			break;
		case OPT_FORCE:
			force = true;
			break;
		case OPT_REVOKE:
			revoke = true;
			break;
		case OPT_REHASH:
			if (kind != APPROVE_PLAN) {
				ret = cli_usage_error("approve", "give one of --downgrade, --stamp and --rehash");
				goto done;
			}
			kind = APPROVE_REHASH;
			rehash_rev = optarg;
			break;
		default:
			ret = cli_default_option(&common, "approve", opt, optarg);
			if (ret != EXIT_OK)
				goto done;
		}
	}
	ret = cli_extra_arguments("approve", argc, argv, optind);
	if (ret != EXIT_OK)
		goto done;
	if (!name || !hash) {
		ret = cli_usage_error("approve", "%s is required", !name ? "-e ENV" : "--plan HASH");
		goto done;
	}
	if (revoke && (kind != APPROVE_PLAN || to || force || expires)) {
		ret = cli_usage_error("approve", "--revoke takes only -e, --plan, --by and --comment");
		goto done;
	}
	if (revoke && !revoke_hash_valid(hash)) {
		ret = cli_usage_error("approve", "\"%s\" is not a plan hash (12 to 64 hexadecimal digits)", hash);
		goto done;
	}
	if ((kind == APPROVE_STAMP || kind == APPROVE_DOWNGRADE) && !to) {
		ret = cli_usage_error("approve", "--%s needs --to REV", kind_name(kind));
		goto done;
	}
	if (!revoke && !promote_hash_prefix_valid(hash)) {
		ret = cli_usage_error("approve", "\"%s\" is not a plan hash (%d to %d hexadecimal digits)",
				      hash, PROMOTE_HASH_PREFIX_MIN, SHA256_HEX_LEN);
		goto done;
	}
	if (!by) {
		by = getenv("USER");
		if (!by || !*by) {
			ret = cli_usage_error("approve", "no approver: $USER is not set; pass --by NAME");
			goto done;
		}
	}
	if (revoke) {
		ret = approve_load_env(&inv, &env, &common, name);
		if (ret == EXIT_OK)
			ret = approve_revoke(&common, env, hash, by, comment);
		goto done;
	}
	strvec_push(&names, name);
	ret = promote_load(&pr, &common, &names, NULL, to, kind != APPROVE_DOWNGRADE);
	if (ret != EXIT_OK)
		goto done;
	env = pr.envs[0];
	if (env->gate.approvers.nr && !strvec_contains(&env->gate.approvers, by))
		fprintf(stderr, "migsync: warning: environment \"%s\": \"%s\" is not on the approvers list; the approval will not count\n",
			env->name, by);

	/* the plan now, made as plan (downgrade, stamp) makes it */
	if (approve_read(&st, env, &pr, kind, &err) < 0) {
		if (!force) {
			cli_print_error(&err);
			fprintf(stderr, "hint: the %s now cannot be made, so the hash cannot be checked; "
				"--force records it anyway\n", kind_name(kind));
			ret = EXIT_PROBLEMS;
			goto done;
		}
		fprintf(stderr, "migsync: warning: %s\n", err.message ? err.message : "cannot read the plan");
		fprintf(stderr, "migsync: warning: environment \"%s\": the hash was not checked (--force)\n",
			env->name);
		ms_error_release(&err);
	} else if (hash_now(&st, hash)) {
		/* what is recorded is always the whole hash */
		hash = hash_now(&st, hash);
	} else {
		explain_mismatch(&pr, env, &st, kind, hash, force);
		if (!force) {
			ret = EXIT_PROBLEMS;
			goto done;
		}
		fprintf(stderr, "migsync: warning: environment \"%s\": recording it anyway (--force); "
			"it counts only if the plan becomes %.12s... again\n", env->name, hash);
	}

	if (!plan_hash_valid(hash)) {
		fprintf(stderr, "migsync: error: environment \"%s\": --force records the hash as given: "
			"give all %d digits\n", env->name, SHA256_HEX_LEN);
		ret = EXIT_CANNOT_RUN;
		goto done;
	}

	if (kind == APPROVE_PLAN && st.env) {
		/* what the approver vouches for, before it is recorded */
		struct strbuf findings = STRBUF_INIT;

		promote_stage_findings(&findings, &st, &pr.safety);
		fputs(findings.buf ? findings.buf : "", stderr);
		strbuf_release(&findings);
	}
	a.plan_hash = xstrdup(hash);
	for (char *p = a.plan_hash; *p; p++)
		if (*p >= 'A' && *p <= 'F')
			*p = (char)(*p - 'A' + 'a');
	a.environment = xstrdup(env->name);
	a.approver = xstrdup(by);
	a.comment = comment ? xstrdup(comment) : NULL;
	if (approve_connect_first(&conn, &tunnel, env, &err) < 0 ||
	    ledger_ensure(conn, NULL, &err) < 0)
		goto failed;
	/* expiry relative to the server's clock would be nicer; ours is what the gate uses too */
	if (expires)
		a.expires_at_ms = clock_wall_ms() + expires * 1000;
	if (ledger_approve(conn, NULL, &a, &err) < 0)
		goto failed;

	if (common.format == FORMAT_JSON) {
		struct json_writer jw;

		json_init(&jw, &out);
		render_json_begin(&jw, "approve");
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

		cli_format_time(when, sizeof(when), a.expires_at_ms);
		strbuf_addf(&out, "approved: environment %s, plan %s, by %s (expires: %s)\n",
			    a.environment, a.plan_hash, a.approver, when);
	}
	ret = cli_write_stdout(out.buf, out.len);
	goto done;
failed:
	cli_print_error(&err);
	ret = cli_db_exit_code(&err);
done:
	db_disconnect(conn, tunnel);
	approval_release(&a);
	plan_stage_release(&st);
	promote_release(&pr);
	inventory_free(inv);
	strvec_release(&names);
	ms_error_release(&err);
	strbuf_release(&out);
	cli_common_release(&common);
	return ret;
}
