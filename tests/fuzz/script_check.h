/*
 * The body of the script-reader fuzz targets (fuzz_python, fuzz_sql): one
 * reader on a copy of exactly size bytes, so that reading past the end is
 * caught, and its contract checked: an error has a message naming the
 * file, a success a non-empty revision, every warning a message and a line.
 */
#ifndef FUZZ_SCRIPT_CHECK_H
#define FUZZ_SCRIPT_CHECK_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "migsync/scripts.h"

typedef int script_reader_fn(struct script *s, const char *path, const char *buf, size_t len,
			     unsigned flags, struct diag_list *warnings, struct ms_error *err);

static inline int fuzz_script_reader(script_reader_fn *read, const uint8_t *data, size_t size)
{
	struct script s;
	struct diag_list warnings = DIAG_LIST_INIT;
	struct ms_error err = MS_ERROR_INIT;
	char *buf = malloc(size ? size : 1);
	int ret;

	if (!buf)
		return 0;
	if (size)
		memcpy(buf, data, size);
	ret = read(&s, "fuzz/input", buf, size, SCRIPTS_SHA256 | SCRIPTS_KEEP_SQL, &warnings, &err);
	if (ret) {
		if (!err.message || strncmp(err.message, "\"fuzz/input\"", 12))
			abort();
	} else {
		if (!s.revision || !*s.revision || !s.path || !s.filename)
			abort();
		script_release(&s);
	}
	for (size_t i = 0; i < warnings.nr; i++)
		if (!warnings.items[i].message || !warnings.items[i].line)
			abort();
	diag_list_release(&warnings);
	ms_error_release(&err);
	free(buf);
	return 0;
}

#endif
