#ifndef MIGSYNC_SQL_H
#define MIGSYNC_SQL_H

/*
 * The statement reader: SQL text split into statements and parsed by
 * PostgreSQL's own parser (libpg_query, the PostgreSQL 15 grammar), so
 * that what migsync sends, reviews and reports is what the server will
 * read. Strings, quoted identifiers, dollar quotes, nested comments and
 * SQL-standard function bodies (BEGIN ATOMIC ... END) are the parser's
 * business, not ours.
 *
 * Positions: a statement starts at its first token (leading whitespace
 * and comments are skipped) and ends before its ';' with trailing
 * whitespace dropped. Lines count from first_line (the file line of the
 * text's first line: 1 for a whole file, script->up_line for an up
 * section; 0 counts as 1); columns are 1-based, in characters (UTF-8).
 *
 * Text that does not parse is MS_ERR_PARSE with err reading
 * `line L, column C: syntax error at or near "SELEC"` (the parser's
 * message) and the position in error_line / error_column; text holding a
 * NUL byte is refused the same way.
 */

#include <stdbool.h>
#include <stddef.h>

#include "migsync/error.h"

/* libpg_query's protobuf-c parse tree (pg_query/pg_query.pb-c.h). */
struct PgQuery__Node;
struct PgQuery__ParseResult;

struct sql_statement {
	const char *text;	/* points into the input; not NUL-terminated */
	size_t len;
	size_t offset;		/* of text in the input, in bytes */
	unsigned line;		/* of the statement's first token */
	unsigned column;
	const struct PgQuery__Node *tree;	/* sql_parse (some: sql_parse_some); else NULL */
};

struct sql_script {
	struct sql_statement *items;
	size_t nr;
	unsigned error_line;	/* of a syntax error; 0 when there is none */
	unsigned error_column;
	struct PgQuery__ParseResult *parsed;	/* owns every items[i].tree */
};

void sql_script_init(struct sql_script *s);
void sql_script_release(struct sql_script *s);

/*
 * Split sql (len bytes; need not be NUL-terminated) into out (released
 * first) with libpg_query's parser-based splitter. Statements that are
 * only whitespace and comments are dropped. Returns 0 or MS_ERR_PARSE.
 */
int sql_split(struct sql_script *out, const char *sql, size_t len, unsigned first_line,
	      struct ms_error *err);

/*
 * The same, and each statement's parse tree (items[i].tree) for the
 * safety rules. Returns 0 or MS_ERR_PARSE.
 */
int sql_parse(struct sql_script *out, const char *sql, size_t len, unsigned first_line,
	      struct ms_error *err);

/*
 * The same as sql_parse, with trees only for the statements want()
 * accepts (the others' tree stays NULL): the split's parse already found
 * every syntax error, and building a tree costs more than the parse
 * itself (libpg_query hands it over through protobuf). The wanted
 * statements are parsed together, once. want() is called once for each
 * statement, in order. Returns 0 or MS_ERR_PARSE.
 */
typedef bool sql_want_fn(const struct sql_statement *st, void *ctx);
int sql_parse_some(struct sql_script *out, const char *sql, size_t len, unsigned first_line,
		   sql_want_fn *want, void *ctx, struct ms_error *err);

/*
 * A statement's leading tokens, read without the parser, for telling
 * what a statement is: words (unquoted identifiers and keywords,
 * downcased), quoted identifiers (unquoted), '.', '=' (the operator
 * alone: SET name = value), and the first token of any other kind, where
 * reading stops. An identifier the parser would
 * read differently from this reader (non-ASCII unquoted, 64 bytes or
 * more: truncated by PostgreSQL; U&"..." or a string prefix) is OTHER.
 */
enum sql_token_kind { SQL_TOKEN_WORD, SQL_TOKEN_QUOTED, SQL_TOKEN_DOT, SQL_TOKEN_OTHER,
		      SQL_TOKEN_EQUALS };

struct sql_token {
	enum sql_token_kind kind;
	char text[64];		/* WORD and QUOTED; "" otherwise */
};

/* Up to max leading tokens of st into tok; returns how many. */
size_t sql_tokens(const struct sql_statement *st, struct sql_token *tok, size_t max);

/*
 * The line and column (1-based, characters) of byte offset off in text,
 * counting lines from first_line.
 */
void sql_position(unsigned *line, unsigned *column, const char *text, size_t off,
		  unsigned first_line);

#endif
