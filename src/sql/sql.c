/*
 * The statement reader on libpg_query: pg_query_split_with_parser for
 * splitting, pg_query_parse_protobuf and the protobuf-c structs for the
 * trees. libpg_query wants a NUL-terminated string and reports RawStmt
 * locations that include what comes before a statement's first token
 * (whitespace and comments after the previous ';'); this file turns them
 * into first-token positions.
 */

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <pg_query.h>
#include <pg_query/pg_query.pb-c.h>

#include "migsync/sql.h"
#include "migsync/strbuf.h"
#include "migsync/util.h"

void sql_script_init(struct sql_script *s)
{
	s->items = NULL;
	s->nr = 0;
	s->error_line = 0;
	s->error_column = 0;
	s->parsed = NULL;
}

void sql_script_release(struct sql_script *s)
{
	free(s->items);
	if (s->parsed)
		pg_query__parse_result__free_unpacked(s->parsed, NULL);
	sql_script_init(s);
}

static bool is_cont(unsigned char c)
{
	return (c & 0xc0) == 0x80;
}

void sql_position(unsigned *line, unsigned *column, const char *text, size_t off,
		  unsigned first_line)
{
	unsigned l = first_line ? first_line : 1, c = 1;

	for (size_t i = 0; i < off; i++) {
		if (text[i] == '\n') {
			l++;
			c = 1;
		} else if (!is_cont((unsigned char)text[i])) {
			c++;
		}
	}
	*line = l;
	*column = c;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* Skip whitespace and comments from pos; block comments nest, as in PostgreSQL. */
static size_t skip_blank(const char *s, size_t pos, size_t end)
{
	while (pos < end) {
		if (is_space(s[pos])) {
			pos++;
		} else if (s[pos] == '-' && pos + 1 < end && s[pos + 1] == '-') {
			while (pos < end && s[pos] != '\n')
				pos++;
		} else if (s[pos] == '/' && pos + 1 < end && s[pos + 1] == '*') {
			unsigned depth = 1;

			for (pos += 2; pos < end && depth; pos++) {
				if (s[pos] == '/' && pos + 1 < end && s[pos + 1] == '*') {
					depth++;
					pos++;
				} else if (s[pos] == '*' && pos + 1 < end && s[pos + 1] == '/') {
					depth--;
					pos++;
				}
			}
		} else {
			break;
		}
	}
	return pos;
}

/* A statement of len bytes at location (0: to the end), if it holds a token. */
static void add_statement(struct sql_script *out, size_t *alloc, const char *buf, size_t len,
			  int location, int stmt_len, unsigned first_line,
			  const struct PgQuery__Node *tree)
{
	size_t start = location > 0 && (size_t)location <= len ? (size_t)location : 0;
	size_t end = stmt_len > 0 && start + (size_t)stmt_len <= len ? start + (size_t)stmt_len : len;
	struct sql_statement *st;

	start = skip_blank(buf, start, end);
	while (end > start && is_space(buf[end - 1]))
		end--;
	if (end == start)
		return;
	ALLOC_GROW(out->items, out->nr + 1, *alloc);
	st = &out->items[out->nr++];
	st->text = buf + start;
	st->len = end - start;
	st->offset = start;
	st->tree = tree;
	sql_position(&st->line, &st->column, buf, start, first_line);
}

/* Byte offset of 1-based character position pos in buf (len bytes). */
static size_t char_offset(const char *buf, size_t len, int pos)
{
	size_t off = 0;

	for (int chars = 1; off < len && chars < pos; chars++) {
		off++;
		while (off < len && is_cont((unsigned char)buf[off]))
			off++;
	}
	return off;
}

static int parse_error(struct sql_script *out, const char *buf, size_t len, size_t off,
		       unsigned first_line, const char *message, struct ms_error *err)
{
	sql_position(&out->error_line, &out->error_column, buf, off > len ? len : off,
		     first_line);
	ms_error_set(err, MS_ERR_PARSE, "line %u, column %u: %s", out->error_line,
		     out->error_column, message);
	ms_error_hint(err, "fix the SQL: PostgreSQL would refuse it too");
	return MS_ERR_PARSE;
}

static int pg_error(struct sql_script *out, const char *buf, size_t len, unsigned first_line,
		    const PgQueryError *e, struct ms_error *err)
{
	size_t off = e->cursorpos > 0 ? char_offset(buf, len, e->cursorpos) : 0;

	return parse_error(out, buf, len, off, first_line, e->message ? e->message : "syntax error",
			   err);
}

/*
 * Copy sql into a NUL-terminated buffer (caller frees), or refuse text
 * that holds a NUL: the parser would stop reading there.
 */
static int terminated_copy(char **copy, struct sql_script *out, const char *sql, size_t len,
			   unsigned first_line, struct ms_error *err)
{
	const char *nul = memchr(sql, '\0', len);

	*copy = NULL;
	if (nul)
		return parse_error(out, sql, len, (size_t)(nul - sql), first_line,
				   "NUL byte in SQL text", err);
	*copy = xstrndup(sql, len);
	return 0;
}

/*
 * Statements of buf (NUL-terminated, len bytes) into out: with trees from
 * pg_query_parse_protobuf, else from pg_query_split_with_parser (no tree
 * to build and free). Positions are reported against sql.
 */
static int read_statements(struct sql_script *out, const char *sql, const char *buf,
			   size_t len, unsigned first_line, bool trees, struct ms_error *err)
{
	PgQueryProtobufParseResult pr = { 0 };
	PgQuerySplitResult sr = { 0 };
	PgQuery__ParseResult *tree = NULL;
	size_t alloc = 0;
	int ret = 0;

	if (trees)
		pr = pg_query_parse_protobuf(buf);
	else
		sr = pg_query_split_with_parser(buf);
	if (pr.error || sr.error) {
		ret = pg_error(out, sql, len, first_line, trees ? pr.error : sr.error, err);
		goto done;
	}
	if (!trees) {
		for (int i = 0; i < sr.n_stmts; i++)
			add_statement(out, &alloc, sql, len, sr.stmts[i]->stmt_location,
				      sr.stmts[i]->stmt_len, first_line, NULL);
		goto done;
	}
	tree = pg_query__parse_result__unpack(NULL, pr.parse_tree.len,
					      (const uint8_t *)pr.parse_tree.data);
	if (!tree) {
		ret = parse_error(out, sql, len, 0, first_line,
				  "the parser's tree could not be read", err);
		goto done;
	}
	for (size_t i = 0; i < tree->n_stmts; i++)
		add_statement(out, &alloc, sql, len, tree->stmts[i]->stmt_location,
			      tree->stmts[i]->stmt_len, first_line, tree->stmts[i]->stmt);
	out->parsed = tree;
done:
	if (trees)
		pg_query_free_protobuf_parse_result(pr);
	else
		pg_query_free_split_result(sr);
	return ret;
}

static int read_sql(struct sql_script *out, const char *sql, size_t len, unsigned first_line,
		    bool trees, struct ms_error *err)
{
	char *buf = NULL;
	int ret;

	sql_script_release(out);
	ret = terminated_copy(&buf, out, sql, len, first_line, err);
	if (ret == 0)
		ret = read_statements(out, sql, buf, len, first_line, trees, err);
	if (ret < 0) {
		free(out->items);
		out->items = NULL;
		out->nr = 0;
	}
	free(buf);
	return ret;
}

int sql_split(struct sql_script *out, const char *sql, size_t len, unsigned first_line,
	      struct ms_error *err)
{
	return read_sql(out, sql, len, first_line, false, err);
}

int sql_parse(struct sql_script *out, const char *sql, size_t len, unsigned first_line,
	      struct ms_error *err)
{
	return read_sql(out, sql, len, first_line, true, err);
}

/*
 * The wanted statements of out, each followed by "\n;\n" (the newline
 * ends a trailing -- comment), into sb; returns how many.
 */
static size_t join_wanted(struct strbuf *sb, bool *wanted, const struct sql_script *out,
			  sql_want_fn *want, void *ctx)
{
	size_t n = 0;

	for (size_t i = 0; i < out->nr; i++) {
		const struct sql_statement *st = &out->items[i];

		wanted[i] = want(st, ctx);
		if (!wanted[i])
			continue;
		strbuf_add(sb, st->text, st->len);
		strbuf_addstr(sb, "\n;\n");
		n++;
	}
	return n;
}

int sql_parse_some(struct sql_script *out, const char *sql, size_t len, unsigned first_line,
		   sql_want_fn *want, void *ctx, struct ms_error *err)
{
	PgQueryProtobufParseResult pr = { 0 };
	PgQuery__ParseResult *tree = NULL;
	struct strbuf sb = STRBUF_INIT;
	bool *wanted = NULL;
	size_t n, k = 0;
	int ret = read_sql(out, sql, len, first_line, false, err);

	if (ret < 0 || !out->nr)
		goto done;
	wanted = xcalloc(out->nr, sizeof(*wanted));
	n = join_wanted(&sb, wanted, out, want, ctx);
	if (!n)
		goto done;
	pr = pg_query_parse_protobuf(sb.buf);
	if (!pr.error)
		tree = pg_query__parse_result__unpack(NULL, pr.parse_tree.len,
						      (const uint8_t *)pr.parse_tree.data);
	if (!tree || tree->n_stmts != n) {
		/* a statement read differently out of its text: parse it all, in place */
		if (tree)
			pg_query__parse_result__free_unpacked(tree, NULL);
		ret = read_sql(out, sql, len, first_line, true, err);
		goto done;
	}
	for (size_t i = 0; i < out->nr; i++)
		if (wanted[i])
			out->items[i].tree = tree->stmts[k++]->stmt;
	out->parsed = tree;
done:
	pg_query_free_protobuf_parse_result(pr);
	strbuf_release(&sb);
	free(wanted);
	return ret;
}

static bool is_ident_start(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_ident_char(char c)
{
	return is_ident_start(c) || (c >= '0' && c <= '9') || c == '$';
}

/*
 * An unquoted identifier at s[*pos] into t (downcased, as the parser
 * does with ASCII letters), or OTHER when the parser would read it
 * another way.
 */
static void read_word(struct sql_token *t, const char *s, size_t *pos, size_t end)
{
	size_t start = *pos, n;

	while (*pos < end && is_ident_char(s[*pos]))
		(*pos)++;
	n = *pos - start;
	/* non-ASCII, too long (truncated), or a prefix: U&"x", E'x', B'x' */
	if (n >= sizeof(t->text) ||
	    (*pos < end && ((unsigned char)s[*pos] >= 0x80 || s[*pos] == '&' || s[*pos] == '\'')))
		return;
	for (size_t i = 0; i < n; i++)
		t->text[i] = s[start + i] >= 'A' && s[start + i] <= 'Z' ?
			(char)(s[start + i] - 'A' + 'a') : s[start + i];
	t->text[n] = '\0';
	t->kind = SQL_TOKEN_WORD;
}

/* A quoted identifier at s[*pos] into t ("" is a quote), or OTHER. */
static void read_quoted(struct sql_token *t, const char *s, size_t *pos, size_t end)
{
	size_t n = 0;

	for ((*pos)++; *pos < end; (*pos)++) {
		if (s[*pos] == '"' && (*pos + 1 >= end || s[*pos + 1] != '"'))
			break;
		if (s[*pos] == '"')
			(*pos)++;
		if (n + 1 >= sizeof(t->text))
			return;
		t->text[n++] = s[*pos];
	}
	if (*pos >= end || !n)
		return;
	(*pos)++;
	t->text[n] = '\0';
	t->kind = SQL_TOKEN_QUOTED;
}

/* Whether c may go on an operator (the scanner's op_chars): "=>" is not "=". */
static bool operator_char(char c)
{
	return c && strchr("~!@#^&|`?+-*/%<>=", c);
}

size_t sql_tokens(const struct sql_statement *st, struct sql_token *tok, size_t max)
{
	const char *s = st->text;
	size_t pos = 0, n = 0;

	while (n < max) {
		struct sql_token *t = &tok[n];

		pos = skip_blank(s, pos, st->len);
		if (pos >= st->len)
			break;
		n++;
		t->kind = SQL_TOKEN_OTHER;
		t->text[0] = '\0';
		if (s[pos] == '.') {
			t->kind = SQL_TOKEN_DOT;
			pos++;
		} else if (s[pos] == '=' && (pos + 1 >= st->len || !operator_char(s[pos + 1]))) {
			t->kind = SQL_TOKEN_EQUALS;
			pos++;
		} else if (is_ident_start(s[pos])) {
			read_word(t, s, &pos, st->len);
		} else if (s[pos] == '"') {
			read_quoted(t, s, &pos, st->len);
		}
		if (t->kind == SQL_TOKEN_OTHER) {
			t->text[0] = '\0';
			break;
		}
	}
	return n;
}
