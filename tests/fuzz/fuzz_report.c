/*
 * libFuzzer target: report_merge_files() on arbitrary bytes, the JSON of
 * the shards of a sharded check as `migsync report merge` reads it. The
 * input is cut at each line "#%% shard" into files (at most 8) of one
 * temporary directory (in /dev/shm when there is one, made once, reused,
 * removed at exit). Beyond "no crash": a failure has a message and one of
 * the codes report.h documents; a success has the environments of
 * status, each with as many merged databases as status has, and drift
 * targets that name an environment and a database of the report.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "migsync/error.h"
#include "migsync/report.h"

#define SEPARATOR "\n#%% shard\n"
#define MAX_FILES 8

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *dir, *paths[MAX_FILES];

static void remove_dir(void)
{
	for (size_t i = 0; i < MAX_FILES; i++)
		unlink(paths[i]);
	rmdir(dir);
}

/* A fresh directory, in memory where there is /dev/shm. */
static char *make_dir(void)
{
	const char *tmp = getenv("TMPDIR");
	const char *bases[] = { "/dev/shm", tmp && *tmp ? tmp : "/tmp", "/tmp" };

	for (size_t i = 0; i < sizeof(bases) / sizeof(bases[0]); i++) {
		char *d = malloc(strlen(bases[i]) + 32);

		if (!d)
			abort();
		sprintf(d, "%s/migsync-fuzz-report.XXXXXX", bases[i]);
		if (mkdtemp(d))
			return d;
		free(d);
	}
	return NULL;
}

static void write_file(const char *path, const uint8_t *data, size_t size)
{
	FILE *f = fopen(path, "wb");

	if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f))
		abort();
}

/* The position of the next separator in data from at, or size when there is none. */
static size_t find_separator(const uint8_t *data, size_t size, size_t at)
{
	size_t n = strlen(SEPARATOR);

	for (size_t i = at; i + n <= size; i++)
		if (!memcmp(data + i, SEPARATOR, n))
			return i;
	return size;
}

static void check_merge(const struct report_merge *m)
{
	if (m->envs_nr != m->status.envs_nr)
		abort();
	for (size_t e = 0; e < m->envs_nr; e++)
		if (m->envs[e].targets_nr != m->status.envs[e].targets_nr)
			abort();
	for (size_t i = 0; i < m->drift.targets_nr; i++) {
		size_t e = m->drift_target_env[i], k = m->drift_target_db[i];

		if (e >= m->envs_nr || (k != SIZE_MAX && k >= m->envs[e].targets_nr))
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct report_merge m;
	struct ms_error err = MS_ERROR_INIT;
	const char *files[MAX_FILES];
	size_t nr = 0, at = 0;
	int ret;

	if (!dir) {
		dir = make_dir();
		if (!dir || atexit(remove_dir))
			abort();
		for (size_t i = 0; i < MAX_FILES; i++) {
			paths[i] = malloc(strlen(dir) + 32);
			if (!paths[i])
				abort();
			sprintf(paths[i], "%s/shard-%zu.json", dir, i);
		}
	}
	while (nr < MAX_FILES && at <= size) {
		size_t sep = find_separator(data, size, at);

		write_file(paths[nr], data + at, sep - at);
		files[nr] = paths[nr];
		nr++;
		at = sep + strlen(SEPARATOR);
	}

	report_merge_init(&m);
	ret = report_merge_files(&m, files, nr, &err);
	if (ret) {
		if (!err.message || (ret != MS_ERR_IO && ret != MS_ERR_PARSE && ret != MS_ERR_CONFIG &&
				     ret != MS_ERR_GRAPH && ret != MS_ERR_NOTFOUND &&
				     ret != MS_ERR_AMBIGUOUS) || m.envs)
			abort();
	} else {
		check_merge(&m);
	}
	report_merge_release(&m);
	ms_error_release(&err);
	return 0;
}
