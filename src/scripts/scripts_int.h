#ifndef MIGSYNC_SCRIPTS_INT_H
#define MIGSYNC_SCRIPTS_INT_H

/* Helpers shared by the .py and .sql readers; not part of the public API. */

#include <stddef.h>

#include "migsync/error.h"

/* Longest physical line a revision file may have. */
#define SCRIPTS_MAX_LINE (1024u * 1024)

/*
 * Set err to `"path", line N: message` (no line part when line is 0) and
 * return code.
 */
int scripts_error_at(struct ms_error *err, int code, const char *path,
		     unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/*
 * Refuse what is not a text file we can scan: too large, a NUL byte (a
 * binary file), a line longer than SCRIPTS_MAX_LINE. Returns 0 or
 * MS_ERR_PARSE with err set.
 */
int scripts_check_text(const char *path, const char *buf, size_t len,
		       struct ms_error *err);

/*
 * Move the script's small strings (path, filename, revision, message,
 * doc, list items) into one allocation, and size its lists exactly.
 * The readers call it on success.
 */
struct script;
void scripts_compact(struct script *s);

/* Length of the UTF-8 byte order mark at buf, or 0. */
size_t scripts_bom_len(const char *buf, size_t len);

#endif
