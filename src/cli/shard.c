/*
 * --shard K/N and its default in a Kubernetes Indexed Job
 * (JOB_COMPLETION_INDEX, JOB_COMPLETION_COUNT): which share of the
 * targets this run takes (see db_shard_of in include/migsync/target.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "migsync/inventory.h"

/* "K/N" with 0 <= K < N <= 100000 into *sh; false when s is not one. */
static bool parse_shard(struct inventory_shard *sh, const char *k, const char *n)
{
	char *end;
	long vk, vn;

	errno = 0;
	vk = strtol(k, &end, 10);
	if (errno || end == k || (*end && *end != '/') || vk < 0)
		return false;
	vn = strtol(n, &end, 10);
	if (errno || end == n || *end || vn < 1 || vn > 100000 || vk >= vn)
		return false;
	sh->index = (unsigned)vk;
	sh->count = (unsigned)vn;
	return true;
}

int cli_parse_shard(struct cli_common *c, const char *cmd, const char *arg)
{
	const char *slash = strchr(arg, '/');

	if (!slash || !parse_shard(&c->shard, arg, slash + 1))
		return cli_usage_error(cmd, "invalid shard \"%s\" (expected K/N with 0 <= K < N, e.g. 0/4)",
				       arg);
	return EXIT_OK;
}

int cli_shard_apply(struct inventory *inv, const struct cli_common *c, struct ms_error *err)
{
	struct inventory_shard sh = c->shard;
	const char *k = getenv("JOB_COMPLETION_INDEX"), *n = getenv("JOB_COMPLETION_COUNT");

	if (!sh.count && c->shardable && k && *k) {
		if (!n || !*n) {
			ms_error_set(err, MS_ERR_USAGE,
				     "JOB_COMPLETION_INDEX is set (%s) but JOB_COMPLETION_COUNT is not", k);
			ms_error_hint(err, "set JOB_COMPLETION_COUNT to the Job's completions, or pass --shard K/N");
			return MS_ERR_USAGE;
		}
		if (!parse_shard(&sh, k, n)) {
			ms_error_set(err, MS_ERR_USAGE,
				     "JOB_COMPLETION_INDEX=%s and JOB_COMPLETION_COUNT=%s are not a shard "
				     "(expected 0 <= index < count)", k, n);
			return MS_ERR_USAGE;
		}
	}
	if (inv)
		inventory_set_shard(inv, &sh);
	return 0;
}
