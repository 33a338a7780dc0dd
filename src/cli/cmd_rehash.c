/*
 * migsync rehash: accept a changed revision file's new SHA-256 in the
 * ledgers of one environment (Flyway's repair, Atlas's migrate hash),
 * gated like a stamp, with the old and new hashes and the reason
 * recorded. See apply_rehash_run in include/migsync/apply.h.
 *
 * Also promote_rehash_read, with which approve --rehash checks a hash.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/promote.h"
#include "cli/render/render.h"
#include "migsync/apply.h"
#include "migsync/json.h"
#include "migsync/plan.h"
#include "migsync/strbuf.h"

enum {
	OPT_REASON = OPT_FIRST_COMMAND_OPTION,
	OPT_DRY_RUN,
};

/* The SHA-256 of rev's file now, or NULL after printing why. */
static const char *file_sha256(const struct promote *pr, const char *rev)
{
	ssize_t n = revgraph_find(pr->g, rev);

	if (n < 0 || !pr->g->nodes[n].script || !pr->g->nodes[n].script->sha256[0]) {
		fprintf(stderr, "migsync: error: revision \"%s\": not in the scripts\n", rev);
		fprintf(stderr, "hint: give the full revision id; migsync history lists them\n");
		return NULL;
	}
	return pr->g->nodes[n].script->sha256;
}

int promote_rehash_read(struct plan_stage *st, const struct promote *pr,
			const struct environment *env, const char *rev, struct ms_error *err)
{
	const char *sha = file_sha256(pr, rev);
	struct apply_rehash rh;
	struct apply_options o;
	int ret;

	if (!sha)
		return ms_error_set(err, MS_ERR_NOTFOUND, "revision \"%s\": not in the scripts", rev);
	apply_rehash_init(&rh, rev, sha, NULL);
	promote_options(&o, pr, true);
	ret = apply_rehash_read(st, &rh, env, &o, err);
	apply_rehash_release(&rh);
	return ret;
}

static void print_json(struct strbuf *sb, const struct plan_stage *st,
		       const struct apply_rehash *rh, enum apply_outcome out,
		       const struct ms_error *err)
{
	struct json_writer jw;

	json_init(&jw, sb);
	render_json_begin(&jw, "rehash");
	json_kv_string(&jw, "environment", st->env ? st->env->name : NULL);
	json_kv_string(&jw, "revision", rh->revision);
	json_kv_string(&jw, "outcome", promote_outcome_name(out, "rehashed", "would_rehash"));
	json_kv_string(&jw, "plan_hash", st->plan_hash[0] ? st->plan_hash : NULL);
	json_kv_string(&jw, "sha256", rh->sha256);
	json_kv_string(&jw, "reason", rh->reason);
	json_key(&jw, "targets");
	json_array_begin(&jw);
	for (size_t i = 0; i < st->dbs_nr; i++) {
		const char *old = i < rh->old.nr ? rh->old.items[i] : "";

		json_object_begin(&jw);
		json_kv_string(&jw, "database", st->dbs[i].describe);
		json_kv_string(&jw, "previous_sha256", *old ? old : NULL);
		json_kv_string(&jw, "error", st->dbs[i].error);
		json_object_end(&jw);
	}
	json_array_end(&jw);
	if ((out == APPLY_FAILED || out == APPLY_GATED) && err->message)
		render_json_error(&jw, out == APPLY_GATED ? "gated" : render_json_error_code(err->code),
				  err->message, err->hint, NULL);
	else
		json_kv_string(&jw, "error", NULL);
	json_object_end(&jw);
	strbuf_addch(sb, '\n');
}

static void print_text(struct strbuf *sb, const struct plan_stage *st,
		       const struct apply_rehash *rh, enum apply_outcome out)
{
	const char *env = st->env->name;

	for (size_t i = 0; i < st->dbs_nr && i < rh->old.nr; i++)
		if (*rh->old.items[i])
			strbuf_addf(sb, "%s: %s: revision %s: sha256 %.12s in the ledger, %.12s in the file\n",
				    env, st->dbs[i].describe, rh->revision, rh->old.items[i], rh->sha256);
	if (out == APPLY_NOTHING)
		strbuf_addf(sb, "%s: the ledger holds the file's hash of %s (%.12s) wherever it was "
			    "applied; nothing to do\n", env, rh->revision, rh->sha256);
	else if (out == APPLY_DONE)
		strbuf_addf(sb, "%s: rehashed %s (plan %.12s)\n", env, rh->revision, st->plan_hash);
	else if (out == APPLY_DRY_RUN)
		strbuf_addf(sb, "dry run: %s: would rehash %s (plan %.12s); nothing was changed\n",
			    env, rh->revision, st->plan_hash);
}

static void print_help(void)
{
	printf("migsync rehash accepts a changed revision file's new SHA-256 in the ledger of\n"
	       "every database of one environment, after a change that does not alter what\n"
	       "the revision did (a comment, a reformatted statement). Gated like a stamp\n"
	       "(approve the rehash's plan hash); the old and new hashes and the reason are\n"
	       "recorded. Until then, status and check report the mismatch.\n"
	       "\n"
	       "Usage:\n"
	       "  migsync rehash -e ENV REV --reason TEXT [OPTION]...\n"
	       "\n"
	       "Options:\n"
	       "  -e, --environment=ENV   the environment (required)\n"
	       "      --reason=TEXT       why the file changed, kept in the ledger (required)\n"
	       "      --dry-run           read and check the gate; change nothing\n"
	       "  -y, --yes               do not ask before a gated rehash\n"
	       "\n");
	cli_print_common_help(26, CLI_HELP_URL | CLI_HELP_SCRIPTS);
	printf("\n"
	       "Exit status:\n"
	       "  0  rehashed, or nothing to do, or a dry run\n"
	       "  1  a database could not be read, has a step in progress, or refused\n"
	       "  2  could not run (usage, no --reason, an unknown revision, inventory)\n"
	       "  3  stopped at the gate, waiting for approval\n");
}

int cmd_rehash(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_COMMON_LONGOPTS,
		{ "environment", required_argument, NULL, 'e' },
		{ "reason", required_argument, NULL, OPT_REASON },
		{ "dry-run", no_argument, NULL, OPT_DRY_RUN },
		{ "yes", no_argument, NULL, 'y' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_common common;
	struct strvec names = STRVEC_INIT;
	struct promote pr;
	struct plan_stage st;
	struct apply_rehash rh;
	struct apply_options o;
	struct ms_error err = MS_ERROR_INIT;
	struct strbuf out = STRBUF_INIT;
	enum apply_outcome outcome;
	const char *reason = NULL, *sha, *what = NULL;
	char *what_owned = NULL;
	bool dry_run = false, yes = false;
	int ret = EXIT_OK, opt;

	cli_common_init(&common);
	promote_init(&pr);
	plan_stage_init(&st, NULL);
	apply_rehash_init(&rh, NULL, NULL, NULL);
	optind = 1;
	while ((opt = getopt_long(argc, argv, CLI_COMMON_SHORTOPTS "e:y", longopts, NULL)) != -1) {
		switch (opt) {
		case OPT_HELP:
			print_help();
			goto done;
		case 'e':
			strvec_push(&names, optarg);
			break;
		case OPT_REASON:
			reason = optarg;
			break;
		case OPT_DRY_RUN:
			dry_run = true;
			break;
		case 'y':
			yes = true;
			break;
		default:
			ret = cli_default_option(&common, "rehash", opt, optarg);
			if (ret != EXIT_OK)
				goto done;
		}
	}
	if (names.nr != 1 || optind + 1 != argc || !reason || !*reason) {
		ret = cli_usage_error("rehash", "%s", names.nr != 1 ? "exactly one -e ENV is required" :
				      optind + 1 != argc ? "name one revision" :
				      "--reason TEXT is required: say why the file changed");
		goto done;
	}
	ret = promote_load(&pr, &common, &names, NULL, NULL, true);
	if (ret != EXIT_OK)
		goto done;
	sha = file_sha256(&pr, argv[optind]);
	if (!sha) {
		ret = EXIT_CANNOT_RUN;
		goto done;
	}
	apply_rehash_init(&rh, argv[optind], sha, reason);
	promote_gated_options(&o, &pr, dry_run, yes, "rehash in");
	outcome = apply_rehash_run(&st, &rh, pr.envs[0], &o, &err);
	if (common.format == FORMAT_JSON)
		print_json(&out, &st, &rh, outcome, &err);
	else
		print_text(&out, &st, &rh, outcome);
	ret = cli_write_stdout(out.buf, out.len);
	/* approve checks a rehash's hash with --rehash REV */
	what = what_owned = xstrfmt("rehash %s", rh.revision);
	if (ret == EXIT_OK)
		ret = promote_report_stop(&pr, pr.envs[0], &st, outcome, &err, what);
done:
	free(what_owned);
	apply_rehash_release(&rh);
	plan_stage_release(&st);
	promote_release(&pr);
	strvec_release(&names);
	ms_error_release(&err);
	strbuf_release(&out);
	cli_common_release(&common);
	return ret;
}
