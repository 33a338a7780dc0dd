#ifndef MIGSYNC_ERROR_H
#define MIGSYNC_ERROR_H

/*
 * The error object fallible functions fill in (libgit2 style). It is owned
 * by the caller (or by a task, for worker threads); there is no global
 * error state. Messages are lowercase without a final full stop, the
 * subject quoted first: `file "x.py", line 3: revision is not a literal`.
 * The optional hint says what to do next.
 */

#include <stdarg.h>

enum ms_error_code {
	MS_OK = 0,
	MS_ERR_GENERIC = -1,
	MS_ERR_USAGE = -2,	/* bad command line */
	MS_ERR_CONFIG = -3,	/* bad inventory or configuration */
	MS_ERR_IO = -4,		/* file system */
	MS_ERR_PARSE = -5,	/* malformed revision file */
	MS_ERR_GRAPH = -6,	/* inconsistent revision graph */
	MS_ERR_NOTFOUND = -7,	/* an identifier that resolves to nothing */
	MS_ERR_AMBIGUOUS = -8,	/* an identifier that resolves to several */
	MS_ERR_DB = -9,		/* database */
};

struct ms_error {
	int code;
	char *message;
	char *hint;
};

#define MS_ERROR_INIT { 0, NULL, NULL }

void ms_error_init(struct ms_error *err);
void ms_error_release(struct ms_error *err);

/*
 * Set the message (replacing any earlier one) and return code, so that a
 * caller can write `return ms_error_set(err, MS_ERR_IO, "...")`.
 * err may be NULL, in which case only the code is returned.
 */
int ms_error_set(struct ms_error *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int ms_error_vset(struct ms_error *err, int code, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));
/* Set or replace the hint line. */
void ms_error_hint(struct ms_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Prefix the current message with "prefix: ". */
void ms_error_prefix(struct ms_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/*
 * The subject of every message about a database, without the colon:
 * `environment "prod"`, or `environment "prod" (tenant_0150)` when
 * database names one database of a fleet (NULL: the environment's only
 * one). Caller frees.
 */
char *ms_error_subject(const char *environment, const char *database);
/* Move src into dst (dst released first); src is left empty. */
void ms_error_move(struct ms_error *dst, struct ms_error *src);

#endif
