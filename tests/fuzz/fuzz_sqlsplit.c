/*
 * libFuzzer target: sql_split() on arbitrary bytes. Beyond "no crash": on
 * success the statements lie inside the input, in order, without overlap,
 * each non-empty and starting at a line no earlier than the one before;
 * on failure there are none and the message names a line.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "migsync/sqlsplit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sql_statement *stmts = NULL;
	struct ms_error err = MS_ERROR_INIT;
	size_t nr = 0;
	/* a copy of exactly size bytes, so that reading past the end is caught */
	char *buf = malloc(size ? size : 1);
	const char *prev_end;
	unsigned prev_line = 1;
	int ret;

	if (!buf)
		return 0;
	if (size)
		memcpy(buf, data, size);
	ret = sql_split(&stmts, &nr, buf, size, 1, &err);
	if (ret) {
		if (stmts || nr || !err.message || strncmp(err.message, "line ", 5))
			abort();
	} else {
		prev_end = buf;
		for (size_t i = 0; i < nr; i++) {
			const struct sql_statement *st = &stmts[i];

			if (!st->len || st->text < prev_end || st->text + st->len > buf + size ||
			    st->line < prev_line)
				abort();
			prev_end = st->text + st->len;
			prev_line = st->line;
		}
	}
	free(stmts);
	ms_error_release(&err);
	free(buf);
	return 0;
}
