/*
 * migsync stamp: change only the version table of one environment, as
 * `alembic stamp` does, but as a compare-and-swap under migsync's lock:
 * only when every database holds exactly the expected rows (--expect,
 * else the rows read before the lock, which are printed), gated like a
 * stage of apply (an approval of the stamp's own hash), recorded in the
 * ledger as "stamped". See apply_stamp_run in include/migsync/apply.h.
 *
 * Also promote_stamp*, which consolidate --stamp shares.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/render/render.h"
#include "cli/promote.h"
#include "migsync/apply.h"
#include "migsync/json.h"
#include "migsync/plan.h"
#include "migsync/strbuf.h"

enum {
	OPT_TO = OPT_FIRST_COMMAND_OPTION,
	OPT_EXPECT,
	OPT_DRY_RUN,
};

/* --yes: do not ask before a gated stamp (or rehash) */
static bool assume_yes;

/* On a terminal, ask before a gated stamp changes anything (unless --yes); ctx: the verb. */
static bool confirm(const struct plan_stage *st, void *ctx)
{
	char line[64];

	if (assume_yes || !isatty(STDIN_FILENO) || !isatty(STDERR_FILENO))
		return true;
	fprintf(stderr, "%s %s (plan %.12s)? [y/N] ", (const char *)ctx, st->env->name,
		st->plan_hash);
	if (!fgets(line, sizeof(line), stdin))
		return false;
	return line[0] == 'y' || line[0] == 'Y';
}

void promote_gated_options(struct apply_options *o, const struct promote *pr, bool dry_run,
			   bool yes, const char *verb)
{
	promote_options(o, pr, true);
	o->dry_run = dry_run;
	o->cancel = promote_catch_signals();
	o->confirm = confirm;
	o->ctx = (void *)verb;
	assume_yes = yes;
}

void promote_stamp_options(struct apply_options *o, const struct promote *pr, bool dry_run,
			   bool yes)
{
	promote_gated_options(o, pr, dry_run, yes, "stamp");
}

int promote_parse_rows(struct strvec *rows, const char *cmd, const char *arg)
{
	char *copy = xstrdup(arg), *tok, *save = NULL;
	int ret = EXIT_OK;

	for (tok = strtok_r(copy, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
		if (!strcmp(tok, "base") || !strcmp(tok, "none"))
			continue;
		if (strlen(tok) > 32) {
			ret = cli_usage_error(cmd, "\"%s\" is not a version row (at most 32 characters)", tok);
			goto done;
		}
		if (!strvec_contains(rows, tok))
			strvec_push(rows, tok);
	}
	strvec_sort(rows);
done:
	free(copy);
	return ret;
}

int promote_stamp(const struct promote *pr, const struct environment *env,
		  const struct strvec *expect, const struct apply_options *o,
		  struct json_writer *jw)
{
	struct plan_stage st;
	struct ms_error err = MS_ERROR_INIT;
	struct strbuf sb = STRBUF_INIT;
	const struct strvec *to = &pr->target.ids;
	enum apply_outcome out;
	int ret = EXIT_OK;

	plan_stage_init(&st, NULL);
	out = apply_stamp_run(&st, env, expect, to, o, &err);

	/* what was read before the lock: the rows the stamp replaces */
	for (size_t i = 0; !jw && i < st.dbs_nr; i++) {
		if (st.dbs[i].error)
			continue;
		strbuf_addf(&sb, "%s: %s: version rows ", env->name, st.dbs[i].describe);
		plan_rows_add(&sb, &st.dbs[i].rows, ",");
		if (expect) {
			strbuf_addstr(&sb, ", expected ");
			plan_rows_add(&sb, expect, ",");
		}
		strbuf_addch(&sb, '\n');
	}
	switch (out) {
	case APPLY_NOTHING:
		strbuf_addf(&sb, "%s: already at ", env->name);
		plan_rows_add(&sb, to, ",");
		strbuf_addstr(&sb, "; nothing to do\n");
		break;
	case APPLY_DONE:
	case APPLY_DRY_RUN:
		strbuf_addf(&sb, "%s%s: %s ", out == APPLY_DRY_RUN ? "dry run: " : "", env->name,
			    out == APPLY_DRY_RUN ? "would stamp" : "stamped");
		plan_rows_add(&sb, st.dbs_nr ? &st.dbs[0].rows : expect, ",");
		strbuf_addstr(&sb, " -> ");
		plan_rows_add(&sb, to, ",");
		strbuf_addf(&sb, " (plan %.12s)%s\n", st.plan_hash,
			    out == APPLY_DRY_RUN ? "; nothing was changed" : "");
		break;
	case APPLY_GATED:
	case APPLY_DECLINED:
	case APPLY_FAILED:
		ret = promote_report_stop(pr, env, &st, out, &err, "stamp");
		break;
	}
	if (jw) {
		json_kv_string(jw, "environment", env->name);
		json_kv_string(jw, "outcome", promote_outcome_name(out, "stamped", "would_stamp"));
		json_kv_string(jw, "plan_hash", st.plan_hash[0] ? st.plan_hash : NULL);
		promote_json_rows(jw, "expect", expect);
		promote_json_rows(jw, "to", to);
		json_key(jw, "targets");
		json_array_begin(jw);
		for (size_t i = 0; i < st.dbs_nr; i++) {
			json_object_begin(jw);
			json_kv_string(jw, "database", st.dbs[i].describe);
			cli_json_strvec(jw, "heads", st.dbs[i].error ? NULL : &st.dbs[i].rows);
			json_kv_string(jw, "error", st.dbs[i].error);
			json_object_end(jw);
		}
		json_array_end(jw);
		if (out == APPLY_FAILED || out == APPLY_GATED)
			render_json_ms_error(jw, &err);
		else
			json_kv_string(jw, "error", NULL);
	} else if (cli_write_stdout(sb.buf, sb.len) != EXIT_OK && ret == EXIT_OK) {
		ret = EXIT_CANNOT_RUN;
	}
	fflush(stdout);
	if (o->cancel && *o->cancel && ret == EXIT_OK) {
		fprintf(stderr, "migsync: interrupted\n");
		ret = EXIT_PROBLEMS;
	}
	plan_stage_release(&st);
	ms_error_release(&err);
	strbuf_release(&sb);
	return ret;
}

static void print_help(void)
{
	printf("migsync stamp changes only the version table of one environment, as alembic\n"
	       "stamp does, but as a compare-and-swap: under migsync's lock, and only when\n"
	       "every database holds exactly the expected rows. Gated like apply (approve the\n"
	       "stamp's plan hash) and recorded in the ledger.\n"
	       "\n"
	       "Usage:\n"
	       "  migsync stamp -e ENV --to REV [OPTION]...\n"
	       "\n"
	       "Options:\n"
	       "  -e, --environment=ENV   the environment (required)\n"
	       "      --to=REV            the version rows to write: a revision, heads, base (required)\n"
	       "      --expect=REV        the rows to replace (repeatable; base: none); default:\n"
	       "                          the rows read before taking the lock, which are printed\n"
	       "      --dry-run           read and check the gate; change nothing\n"
	       "  -y, --yes               do not ask before a gated stamp\n"
	       "\n");
	cli_print_common_help(26, CLI_HELP_URL | CLI_HELP_SCRIPTS);
	printf("\n"
	       "Nothing but the version table changes: no revision runs, before_apply does not\n"
	       "run. REV must be in the scripts; --expect may name revisions that are not.\n"
	       "\n"
	       "Exit status:\n"
	       "  0  stamped, or already there\n"
	       "  1  the rows differ from --expect, or the database could not be reached or\n"
	       "     refused\n"
	       "  2  could not run (usage, inventory, scripts)\n"
	       "  3  waiting for approval: stopped at the gate (the approve command is printed)\n");
}

int cmd_stamp(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_COMMON_LONGOPTS,
		{ "environment", required_argument, NULL, 'e' },
		{ "to", required_argument, NULL, OPT_TO },
		{ "expect", required_argument, NULL, OPT_EXPECT },
		{ "dry-run", no_argument, NULL, OPT_DRY_RUN },
		{ "yes", no_argument, NULL, 'y' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_common common;
	struct strvec names = STRVEC_INIT, expect = STRVEC_INIT;
	struct promote pr;
	struct apply_options o;
	struct strbuf js = STRBUF_INIT;
	struct json_writer jw;
	const char *to = NULL;
	bool dry = false, yes = false, expect_given = false;
	int ret = EXIT_OK, opt;

	cli_common_init(&common);
	promote_init(&pr);
	optind = 1;
	while ((opt = getopt_long(argc, argv, CLI_COMMON_SHORTOPTS "e:y", longopts, NULL)) != -1) {
		switch (opt) {
		case OPT_HELP:
			print_help();
			goto done;
		case 'e':
			strvec_push(&names, optarg);
			break;
		case OPT_TO:
			to = optarg;
			break;
		case OPT_EXPECT:
			expect_given = true;
			ret = promote_parse_rows(&expect, "stamp", optarg);
			if (ret != EXIT_OK)
				goto done;
			break;
		case OPT_DRY_RUN:
			dry = true;
			break;
		case 'y':
			yes = true;
			break;
		default:
			ret = cli_default_option(&common, "stamp", opt, optarg);
			if (ret != EXIT_OK)
				goto done;
		}
	}
	ret = cli_extra_arguments("stamp", argc, argv, optind);
	if (ret != EXIT_OK)
		goto done;
	if (names.nr != 1 || !to) {
		ret = cli_usage_error("stamp", "%s", names.nr != 1 ? "exactly one -e ENV is required" :
				      "--to REV is required");
		goto done;
	}
	ret = promote_load(&pr, &common, &names, NULL, to, true);
	if (ret != EXIT_OK)
		goto done;
	promote_stamp_options(&o, &pr, dry, yes);
	if (common.format == FORMAT_JSON) {
		json_init(&jw, &js);
		render_json_begin(&jw, "stamp");
		ret = promote_stamp(&pr, pr.envs[0], expect_given ? &expect : NULL, &o, &jw);
		json_object_end(&jw);
		strbuf_addch(&js, '\n');
		if (cli_write_stdout(js.buf, js.len) != EXIT_OK && ret == EXIT_OK)
			ret = EXIT_CANNOT_RUN;
	} else {
		ret = promote_stamp(&pr, pr.envs[0], expect_given ? &expect : NULL, &o, NULL);
	}
done:
	promote_release(&pr);
	strvec_release(&names);
	strvec_release(&expect);
	strbuf_release(&js);
	cli_common_release(&common);
	return ret;
}
