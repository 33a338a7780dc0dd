#ifndef MIGSYNC_SQLSPLIT_H
#define MIGSYNC_SQLSPLIT_H

/*
 * Splitting a native SQL revision's section into statements, as psql
 * would: a ';' ends a statement only outside single-quoted strings
 * (including E'' escapes and standard_conforming_strings), double-quoted
 * identifiers, dollar-quoted bodies ($$ and $tag$), nested block comments
 * and line comments. Statements that are only whitespace and comments are
 * dropped.
 *
 * Like psql, a ';' inside parentheses does not end a statement, nor one
 * inside the BEGIN ... END body of CREATE [OR REPLACE] FUNCTION|PROCEDURE
 * (SQL-standard bodies, PostgreSQL 14+; psql's own heuristic). A last
 * statement without ';' is a statement. Strings are read with
 * standard_conforming_strings on (PostgreSQL's default): a backslash is
 * an escape only in E'' strings. A '$' starts a dollar quote only when
 * it is not part of an identifier and is followed by an optional tag
 * (a letter or '_', then letters, digits or '_') and another '$': `$1` is
 * a parameter, `a$b$` an identifier.
 */

#include <stddef.h>

#include "migsync/error.h"

struct sql_statement {
	const char *text;	/* points into the input; not NUL-terminated */
	size_t len;		/* up to the end of its last token: no ;, trailing space or comment */
	unsigned line;		/* line of the statement's first token (see first_line) */
};

/*
 * Split sql (len bytes; it need not be NUL-terminated and may hold NUL
 * bytes). *out (an array of *nr statements) is allocated and owned by the
 * caller (free()); it is NULL when there are none. first_line is the line
 * number of sql's first line (1 for a whole file, script->up_line for an
 * up section; 0 counts as 1). An unterminated string, identifier, dollar
 * quote or block comment is MS_ERR_PARSE, err reading
 * `line N: unterminated quoted string` with N the line where it starts;
 * *out is NULL and *nr 0 then.
 */
int sql_split(struct sql_statement **out, size_t *nr, const char *sql, size_t len,
	      unsigned first_line, struct ms_error *err);

#endif
