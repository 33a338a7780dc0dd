/*
 * Statement splitting after psql's lexer (src/fe_utils/psqlscan.l): only
 * what decides where a statement ends is recognized (quotes, comments,
 * parentheses, BEGIN ... END of SQL-standard function bodies); everything
 * else passes through untouched for the server to parse. Every read is
 * bounded by len, so any input is safe.
 */

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "migsync/sqlsplit.h"
#include "migsync/util.h"

struct splitter {
	const char *s;
	size_t len;
	size_t pos;

	/* Line counting is lazy and monotonic: line is the line of counted. */
	size_t counted;
	unsigned line;

	/* The statement being read. */
	bool started;
	size_t start;
	unsigned start_line;
	size_t last;		/* end of its last token */
	int paren_depth;
	int begin_depth;
	unsigned ident_count;
	char idents[4];		/* first letters of create/or/replace/function/procedure */

	struct sql_statement *items;
	size_t nr;
	size_t alloc;
};

static bool is_ident_start(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80;
}

static bool is_ident_cont(unsigned char c)
{
	return is_ident_start(c) || (c >= '0' && c <= '9') || c == '$';
}

static bool is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static unsigned line_at(struct splitter *sp, size_t pos)
{
	for (; sp->counted < pos; sp->counted++)
		if (sp->s[sp->counted] == '\n')
			sp->line++;
	return sp->line;
}

/* The current token starts at pos: a statement starts here if none has. */
static void token(struct splitter *sp, size_t pos)
{
	if (sp->started)
		return;
	sp->started = true;
	sp->start = pos;
	sp->start_line = line_at(sp, pos);
}

static void end_statement(struct splitter *sp)
{
	struct sql_statement *st;

	if (sp->started) {
		ALLOC_GROW(sp->items, sp->nr + 1, sp->alloc);
		st = &sp->items[sp->nr++];
		st->text = sp->s + sp->start;
		st->len = sp->last - sp->start;
		st->line = sp->start_line;
	}
	sp->started = false;
	sp->paren_depth = 0;
	sp->begin_depth = 0;
	sp->ident_count = 0;
	memset(sp->idents, 0, sizeof(sp->idents));
}

static int unterminated(struct splitter *sp, size_t at, const char *what,
			struct ms_error *err)
{
	int ret = ms_error_set(err, MS_ERR_PARSE, "line %u: unterminated %s",
			       line_at(sp, at), what);

	ms_error_hint(err, "close it before the end of the section");
	return ret;
}

/*
 * psql's heuristic for CREATE [OR REPLACE] FUNCTION|PROCEDURE ... BEGIN
 * ATOMIC ... END: inside such a statement, BEGIN (and CASE within it)
 * opens a block that END closes, and ';' inside a block does not end the
 * statement.
 */
static void identifier(struct splitter *sp, const char *w, size_t n)
{
	static const char *const marks[] = { "create", "function", "procedure", "or", "replace" };
	const char *id = sp->idents;

	for (size_t i = 0; i < ARRAY_SIZE(marks); i++) {
		if (strlen(marks[i]) == n && !strncasecmp(w, marks[i], n)) {
			if (sp->ident_count < sizeof(sp->idents))
				sp->idents[sp->ident_count] = marks[i][0];
			break;
		}
	}
	sp->ident_count++;
	if (id[0] != 'c' || sp->paren_depth)
		return;
	if (!(id[1] == 'f' || id[1] == 'p' ||
	      (id[1] == 'o' && id[2] == 'r' && (id[3] == 'f' || id[3] == 'p'))))
		return;
	if (n == 5 && !strncasecmp(w, "begin", 5))
		sp->begin_depth++;
	else if (n == 4 && !strncasecmp(w, "case", 4) && sp->begin_depth >= 1)
		sp->begin_depth++;
	else if (n == 3 && !strncasecmp(w, "end", 3) && sp->begin_depth > 0)
		sp->begin_depth--;
}

/* A quoted string or identifier opened at sp->pos; escapes: E'' backslashes. */
static int quoted(struct splitter *sp, char q, bool escapes, struct ms_error *err)
{
	size_t open = sp->pos;
	size_t i = sp->pos + 1;

	while (i < sp->len) {
		char c = sp->s[i];

		if (escapes && c == '\\') {
			i += 2;
			continue;
		}
		if (c == q) {
			if (i + 1 < sp->len && sp->s[i + 1] == q) {
				i += 2;
				continue;
			}
			sp->pos = i + 1;
			return 0;
		}
		i++;
	}
	return unterminated(sp, open, q == '"' ? "quoted identifier" : "quoted string", err);
}

/* Length of a dollar-quote delimiter ($$ or $tag$) at i, or 0. */
static size_t dollar_delim(const struct splitter *sp, size_t i)
{
	size_t j = i + 1;

	if (j < sp->len && sp->s[j] != '$') {
		if (!is_ident_start((unsigned char)sp->s[j]))
			return 0;
		while (j < sp->len && is_ident_cont((unsigned char)sp->s[j]) && sp->s[j] != '$')
			j++;
	}
	if (j >= sp->len || sp->s[j] != '$')
		return 0;
	return j + 1 - i;
}

static int dollar_quoted(struct splitter *sp, size_t dlen, struct ms_error *err)
{
	const char *delim = sp->s + sp->pos;
	size_t open = sp->pos;

	for (size_t i = sp->pos + dlen; i + dlen <= sp->len; i++) {
		if (sp->s[i] == '$' && !memcmp(sp->s + i, delim, dlen)) {
			sp->pos = i + dlen;
			return 0;
		}
	}
	return unterminated(sp, open, "dollar-quoted string", err);
}

/* A block comment opened at sp->pos; they nest. */
static int block_comment(struct splitter *sp, struct ms_error *err)
{
	size_t open = sp->pos;
	size_t i = sp->pos + 2;
	unsigned depth = 1;

	while (i + 1 < sp->len) {
		if (sp->s[i] == '/' && sp->s[i + 1] == '*') {
			depth++;
			i += 2;
		} else if (sp->s[i] == '*' && sp->s[i + 1] == '/') {
			i += 2;
			if (!--depth) {
				sp->pos = i;
				return 0;
			}
		} else {
			i++;
		}
	}
	return unterminated(sp, open, "/* comment", err);
}

int sql_split(struct sql_statement **out, size_t *nr, const char *sql, size_t len,
	      unsigned first_line, struct ms_error *err)
{
	struct splitter sp;
	int ret = 0;

	memset(&sp, 0, sizeof(sp));
	sp.s = sql;
	sp.len = len;
	sp.line = first_line ? first_line : 1;
	*out = NULL;
	*nr = 0;

	while (sp.pos < sp.len) {
		size_t at = sp.pos;
		unsigned char c = (unsigned char)sql[at];
		unsigned char next = at + 1 < len ? (unsigned char)sql[at + 1] : 0;
		bool after_word = at > 0 && is_ident_cont((unsigned char)sql[at - 1]);

		if (is_space(c)) {
			sp.pos++;
			continue;
		}
		if (c == '-' && next == '-') {
			const char *nl = memchr(sql + at, '\n', len - at);

			sp.pos = nl ? (size_t)(nl - sql) : len;
			continue;
		}
		if (c == '/' && next == '*') {
			ret = block_comment(&sp, err);
			if (ret < 0)
				goto done;
			continue;
		}
		if (c == ';') {
			sp.pos++;
			if (sp.paren_depth || sp.begin_depth) {
				sp.last = sp.pos;
				continue;
			}
			end_statement(&sp);
			continue;
		}
		token(&sp, at);
		if (c == '\'') {
			ret = quoted(&sp, '\'', false, err);
		} else if (c == '"') {
			ret = quoted(&sp, '"', false, err);
		} else if (c == '$' && !after_word && dollar_delim(&sp, at)) {
			ret = dollar_quoted(&sp, dollar_delim(&sp, at), err);
		} else if (is_ident_cont(c) && !after_word) {
			size_t end = at + 1;

			while (end < len && is_ident_cont((unsigned char)sql[end]))
				end++;
			sp.pos = end;
			if (is_ident_start(c)) {
				if (end - at == 1 && (c == 'e' || c == 'E') &&
				    end < len && sql[end] == '\'') {
					sp.pos = end;
					ret = quoted(&sp, '\'', true, err);
				} else {
					identifier(&sp, sql + at, end - at);
				}
			}
		} else {
			if (c == '(')
				sp.paren_depth++;
			else if (c == ')' && sp.paren_depth > 0)
				sp.paren_depth--;
			sp.pos++;
		}
		if (ret < 0)
			goto done;
		sp.last = sp.pos;
	}
	end_statement(&sp);
	*out = sp.items;
	*nr = sp.nr;
	sp.items = NULL;
done:
	free(sp.items);
	return ret;
}
