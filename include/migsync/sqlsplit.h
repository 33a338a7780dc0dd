#ifndef MIGSYNC_SQLSPLIT_H
#define MIGSYNC_SQLSPLIT_H

/*
 * Splitting a native SQL revision's section into statements, as psql
 * would: a ';' ends a statement only outside single-quoted strings
 * (including E'' escapes and standard_conforming_strings), double-quoted
 * identifiers, dollar-quoted bodies ($$ and $tag$), nested block comments
 * and line comments. Statements that are only whitespace and comments are
 * dropped.
 */

#include <stddef.h>

#include "migsync/error.h"

struct sql_statement {
	const char *text;	/* points into the input; not NUL-terminated */
	size_t len;		/* without the terminating ';' */
	unsigned line;		/* 1-based line of the statement's first token */
};

/*
 * Split sql (len bytes). *out (an array of *nr statements) is allocated
 * and owned by the caller (free()). An unterminated string, identifier,
 * dollar quote or block comment is MS_ERR_PARSE naming its line
 * (first_line is added to line numbers, for sections that start deeper
 * in a file).
 */
int sql_split(struct sql_statement **out, size_t *nr, const char *sql, size_t len,
	      unsigned first_line, struct ms_error *err);

#endif
