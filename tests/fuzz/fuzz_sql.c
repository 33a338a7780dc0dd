/* libFuzzer target: script_parse_sql() on arbitrary bytes. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "migsync/scripts.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct script s;
	struct diag_list warnings = DIAG_LIST_INIT;
	struct ms_error err = MS_ERROR_INIT;
	/* a copy of exactly size bytes, so that reading past the end is caught */
	char *buf = malloc(size ? size : 1);
	int ret;

	if (!buf)
		return 0;
	if (size)
		memcpy(buf, data, size);
	ret = script_parse_sql(&s, "fuzz/input", buf, size,
			      SCRIPTS_SHA256 | SCRIPTS_KEEP_SQL, &warnings, &err);
	if (ret) {
		/* every error has a message naming the file */
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
