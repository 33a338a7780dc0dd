/*
 * libFuzzer target: inventory_load() on arbitrary bytes. There is no
 * buffer-level entry point, so the input is written to a directory in
 * /dev/shm, else $TMPDIR or /tmp (made once, reused by every run): the
 * bytes before the first
 * line "#%% dev.yaml" are inventory.yaml, the rest (if any) dev.yaml.
 * Beyond "no crash": a success has environments with names and files; a
 * failure has a message, and MS_ERR_CONFIG at least one error in the
 * problem list; every problem has a code and a message.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "migsync/diag.h"
#include "fuzz_dir.h"
#include "migsync/error.h"
#include "migsync/inventory.h"

#define ENV_SEPARATOR "\n#%% dev.yaml\n"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *dir, *inv_path, *env_path;

static void remove_dir(void)
{
	unlink(inv_path);
	unlink(env_path);
	rmdir(dir);
}

static int write_file(const char *path, const uint8_t *data, size_t size)
{
	FILE *f = fopen(path, "wb");
	int ret = 0;

	if (!f)
		return -1;
	if (size && fwrite(data, 1, size, f) != size)
		ret = -1;
	if (fclose(f))
		ret = -1;
	return ret;
}

/* The position of the separator in data, or size when there is none. */
static size_t find_separator(const uint8_t *data, size_t size)
{
	size_t n = strlen(ENV_SEPARATOR);

	for (size_t i = 0; i + n <= size; i++)
		if (!memcmp(data + i, ENV_SEPARATOR, n))
			return i;
	return size;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct inventory *inv = NULL;
	struct diag_list problems = DIAG_LIST_INIT;
	struct ms_error err = MS_ERROR_INIT;
	size_t sep = find_separator(data, size);
	size_t nerrors = 0;
	int ret;

	if (!dir) {
		dir = fuzz_make_dir("inv");
		if (!dir || atexit(remove_dir))
			abort();
		inv_path = malloc(strlen(dir) + 32);
		env_path = malloc(strlen(dir) + 32);
		if (!inv_path || !env_path)
			abort();
		sprintf(inv_path, "%s/inventory.yaml", dir);
		sprintf(env_path, "%s/dev.yaml", dir);
	}
	if (write_file(inv_path, data, sep))
		abort();
	if (sep < size) {
		size_t skip = sep + strlen(ENV_SEPARATOR);

		if (write_file(env_path, data + skip, size - skip))
			abort();
	} else {
		unlink(env_path);
	}

	ret = inventory_load(&inv, dir, &problems, &err);
	for (size_t i = 0; i < problems.nr; i++) {
		if (!problems.items[i].message || !problems.items[i].code)
			abort();
		if (problems.items[i].severity == DIAG_ERROR)
			nerrors++;
	}
	if (ret) {
		if (inv || !err.message || (ret == MS_ERR_CONFIG && !nerrors))
			abort();
	} else {
		if (!inv)
			abort();
		for (size_t i = 0; i < inv->nr; i++)
			if (!inv->envs[i].name || !*inv->envs[i].name || !inv->envs[i].file)
				abort();
		inventory_free(inv);
	}
	diag_list_release(&problems);
	ms_error_release(&err);
	return 0;
}
