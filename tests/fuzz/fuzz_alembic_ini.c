/*
 * libFuzzer target: alembic_ini_script_dirs() on arbitrary bytes. Beyond
 * "no crash": a success yields at least one directory, none of them empty
 * or with a blank at either end; a failure adds no directory and its
 * message names the file.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "migsync/scripts.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct strvec dirs = STRVEC_INIT;
	struct ms_error err = MS_ERROR_INIT;
	/* a copy of exactly size bytes, so that reading past the end is caught */
	char *buf = malloc(size ? size : 1);
	int ret;

	if (!buf)
		return 0;
	if (size)
		memcpy(buf, data, size);
	ret = alembic_ini_script_dirs(&dirs, buf, size, "alembic.ini", "/here", &err);
	if (ret) {
		if (dirs.nr || !err.message || strncmp(err.message, "\"alembic.ini\"", 13))
			abort();
	} else {
		if (!dirs.nr || err.message)
			abort();
		for (size_t i = 0; i < dirs.nr; i++) {
			size_t len = strlen(dirs.items[i]);

			if (!len || blank(dirs.items[i][0]) || blank(dirs.items[i][len - 1]))
				abort();
		}
	}
	strvec_release(&dirs);
	ms_error_release(&err);
	free(buf);
	return 0;
}
