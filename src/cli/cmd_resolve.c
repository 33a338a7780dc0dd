/*
 * migsync resolve: settle a `transaction false` step a crash left in
 * progress, once an operator has checked the database by hand.
 *
 * Exit status: 0 resolved, 1 nothing to resolve or the database refused,
 * 2 could not run.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/promote.h"
#include "cli/render/render.h"
#include "migsync/apply.h"
#include "migsync/json.h"

enum {
	OPT_APPLIED = OPT_FIRST_COMMAND_OPTION,
	OPT_ROLLED_BACK,
};

static void resolve_help(void)
{
	printf("migsync resolve settles a `transaction false` revision that an interrupted run\n"
	       "left in progress, once an operator has checked the database by hand.\n"
	       "\n"
	       "Usage:\n"
	       "  migsync resolve -e ENV REV --applied | --rolled-back\n"
	       "\n"
	       "Options:\n"
	       "  -e, --environment=ENV   the environment (required)\n"
	       "      --applied           the revision did apply: move the version rows as it would have\n"
	       "      --rolled-back       it did not: leave the version rows as they are\n"
	       "\n");
	cli_print_common_help(26, CLI_HELP_URL);
	printf("\n"
	       "Exit status:\n"
	       "  0  resolved\n"
	       "  1  nothing to resolve, or the database could not be reached or refused\n"
	       "  2  could not run (usage, inventory, an unknown environment)\n");
}

int cmd_resolve(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_COMMON_LONGOPTS,
		{ "environment", required_argument, NULL, 'e' },
		{ "applied", no_argument, NULL, OPT_APPLIED },
		{ "rolled-back", no_argument, NULL, OPT_ROLLED_BACK },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_common common;
	struct strvec names = STRVEC_INIT;
	struct promote pr;
	struct apply_options o;
	struct ms_error err = MS_ERROR_INIT;
	const char *rev;
	int applied = -1;
	size_t resolved = 0;
	int ret = EXIT_OK, opt;

	cli_common_init(&common);
	promote_init(&pr);
	optind = 1;
	while ((opt = getopt_long(argc, argv, CLI_COMMON_SHORTOPTS "e:", longopts, NULL)) != -1) {
		switch (opt) {
		case OPT_HELP:
			resolve_help();
			goto done;
		case 'e':
			strvec_push(&names, optarg);
			break;
		case OPT_APPLIED:
		case OPT_ROLLED_BACK:
			if (applied >= 0) {
				ret = cli_usage_error("resolve", "give one of --applied and --rolled-back");
				goto done;
			}
			applied = opt == OPT_APPLIED;
			break;
		default:
			ret = cli_default_option(&common, "resolve", opt, optarg);
			if (ret != EXIT_OK)
				goto done;
		}
	}
	if (names.nr != 1 || optind + 1 != argc || applied < 0) {
		ret = cli_usage_error("resolve", "%s", names.nr != 1 ? "exactly one -e ENV is required" :
				      optind + 1 != argc ? "name one revision" :
				      "--applied or --rolled-back is required");
		goto done;
	}
	rev = argv[optind];
	ret = promote_load(&pr, &common, &names, NULL, NULL, true);
	if (ret != EXIT_OK)
		goto done;
	promote_options(&o, &pr, true);
	o.cancel = promote_catch_signals();
	if (apply_resolve(&resolved, pr.envs[0], rev, applied, &o, &err) < 0) {
		cli_print_error(&err);
		ret = cli_db_exit_code(&err);
		goto done;
	}
	if (!resolved) {
		ms_error_set(&err, MS_ERR_GENERIC, "environment \"%s\": revision \"%s\" is not in progress",
			     pr.envs[0]->name, rev);
		cli_print_error(&err);
		ret = EXIT_PROBLEMS;
		goto done;
	}
	if (common.format == FORMAT_JSON) {
		struct strbuf sb = STRBUF_INIT;
		struct json_writer jw;

		json_init(&jw, &sb);
		render_json_begin(&jw, "resolve");
		json_kv_string(&jw, "environment", pr.envs[0]->name);
		json_kv_string(&jw, "revision", rev);
		json_kv_string(&jw, "resolved_as", applied ? "applied" : "rolled_back");
		json_kv_int(&jw, "databases", (int64_t)resolved);
		json_object_end(&jw);
		strbuf_addch(&sb, '\n');
		ret = cli_write_stdout(sb.buf, sb.len);
		strbuf_release(&sb);
	} else {
		printf("%s: revision %s resolved as %s on %zu database%s\n", pr.envs[0]->name, rev,
		       applied ? "applied" : "rolled back", resolved, resolved == 1 ? "" : "s");
	}
done:
	promote_release(&pr);
	strvec_release(&names);
	ms_error_release(&err);
	cli_common_release(&common);
	return ret;
}
