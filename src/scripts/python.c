/*
 * Reading an Alembic revision script without executing it.
 *
 * One pass over the file with a small Python tokenizer that knows strings
 * (all prefixes and quote forms, escapes, triple quotes across lines),
 * comments, bracket nesting and backslash continuations, so that text
 * inside strings and comments never looks like code. Logical lines are
 * split into statements; only statements starting at column 0 count as
 * module level. From those we take the assignments to revision,
 * down_revision, branch_labels and depends_on (through a streaming literal
 * parser: nothing is buffered but the decoded strings), the module
 * docstring, and the bodies of upgrade() and downgrade() for lint.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "migsync/scripts.h"
#include "migsync/sha256.h"
#include "migsync/strbuf.h"
#include "scripts_int.h"

enum tok_type {
	TOK_EOF,
	TOK_NEWLINE,	/* end of a logical line */
	TOK_NAME,
	TOK_NUMBER,
	TOK_STRING,
	TOK_OP,
};

enum {
	STR_RAW = 1 << 0,
	STR_BYTES = 1 << 1,
	STR_FORMAT = 1 << 2,
};

struct tok {
	enum tok_type type;
	const char *start;	/* the token's text (names, ops) */
	size_t len;
	unsigned line;
	bool first;		/* first token of its logical line */
	unsigned indent;	/* column of its logical line's first token */
	unsigned str_flags;
	const char *body;	/* string contents between the quotes */
	size_t body_len;
};

struct lexer {
	const char *p, *end;
	const char *line_start;
	unsigned line;
	unsigned depth;		/* open brackets */
	bool line_has_tokens;
	unsigned indent;
	const char *path;
	/*
	 * Set by the parser: the rest of the current statement does not
	 * matter (skip_stmt, cleared once skipped), or indented lines do not
	 * (skip_indented: outside upgrade()/downgrade(), or past the first
	 * statement that makes their body non-empty). Skipped text is only
	 * scanned for strings, comments, brackets and line ends.
	 */
	bool skip_stmt;
	bool skip_indented;
};

static size_t newline_len(const char *p, const char *end)
{
	if (*p == '\n')
		return 1;
	if (*p == '\r')
		return (p + 1 < end && p[1] == '\n') ? 2 : 1;
	return 0;
}

static bool is_name_start(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80;
}

static bool is_name_char(unsigned char c)
{
	return is_name_start(c) || (c >= '0' && c <= '9');
}

/* Flags for a valid string prefix (r, u, b, f and their pairs), or -1. */
static int string_prefix(const char *s, size_t len)
{
	unsigned flags = 0;
	bool seen_u = false;

	if (len > 2)
		return -1;
	for (size_t i = 0; i < len; i++) {
		unsigned f;

		switch (s[i]) {
		case 'r': case 'R': f = STR_RAW; break;
		case 'b': case 'B': f = STR_BYTES; break;
		case 'f': case 'F': f = STR_FORMAT; break;
		case 'u': case 'U':
			if (len != 1)
				return -1;
			seen_u = true;
			f = 0;
			break;
		default:
			return -1;
		}
		if (flags & f)
			return -1;
		flags |= f;
	}
	if ((flags & STR_BYTES) && (flags & STR_FORMAT))
		return -1;
	(void)seen_u;
	return (int)flags;
}

/* Characters that end a run of plain string contents, per quote character. */
static const unsigned char str_stop_dq[256] = {
	['"'] = 1, ['\\'] = 1, ['\n'] = 1, ['\r'] = 1,
};
static const unsigned char str_stop_sq[256] = {
	['\''] = 1, ['\\'] = 1, ['\n'] = 1, ['\r'] = 1,
};

/* Lex a string literal whose opening quote is at lx->p. */
static int lex_string(struct lexer *lx, struct tok *t, struct ms_error *err)
{
	const char *p = lx->p, *end = lx->end;
	char q = *p;
	bool triple = p + 2 < end && p[1] == q && p[2] == q;
	const unsigned char *stop = q == '"' ? str_stop_dq : str_stop_sq;
	unsigned start_line = lx->line;
	int ret = 0;

	p += triple ? 3 : 1;
	t->body = p;
	for (;;) {
		size_t nl;

		while (p < end && !stop[(unsigned char)*p])
			p++;
		if (p >= end) {
			ret = scripts_error_at(err, MS_ERR_PARSE, lx->path, start_line,
					       triple ? "unterminated triple-quoted string"
						      : "unterminated string");
			ms_error_hint(err, "the file is not valid Python; does `python -m py_compile` accept it?");
			goto done;
		}
		if (*p == '\\') {
			p++;
			if (p < end && (nl = newline_len(p, end)) != 0) {
				p += nl;
				lx->line++;
				lx->line_start = p;
			} else if (p < end) {
				p++;
			}
			continue;
		}
		nl = newline_len(p, end);
		if (nl) {
			if (!triple) {
				ret = scripts_error_at(err, MS_ERR_PARSE, lx->path, start_line,
						       "unterminated string");
				ms_error_hint(err, "the file is not valid Python; does `python -m py_compile` accept it?");
				goto done;
			}
			p += nl;
			lx->line++;
			lx->line_start = p;
			continue;
		}
		if (*p == q) {
			if (!triple) {
				t->body_len = (size_t)(p - t->body);
				p++;
				break;
			}
			if (p + 2 < end && p[1] == q && p[2] == q) {
				t->body_len = (size_t)(p - t->body);
				p += 3;
				break;
			}
		}
		p++;
	}
	t->type = TOK_STRING;
	t->len = (size_t)(p - t->start);
	lx->p = p;
done:
	return ret;
}

static size_t op_len(const char *p, const char *end)
{
	static const char *const three[] = { "**=", "//=", ">>=", "<<=", "..." };
	static const char *const two[] = {
		"==", "!=", "<=", ">=", "->", ":=", "+=", "-=", "*=", "/=",
		"%=", "&=", "|=", "^=", "@=", "**", "//", "<<", ">>",
	};
	size_t left = (size_t)(end - p);

	for (size_t i = 0; left >= 3 && i < ARRAY_SIZE(three); i++)
		if (!memcmp(p, three[i], 3))
			return 3;
	for (size_t i = 0; left >= 2 && i < ARRAY_SIZE(two); i++)
		if (!memcmp(p, two[i], 2))
			return 2;
	return 1;
}

/* Characters that matter while skipping: line ends, strings, comments, brackets. */
static const unsigned char skip_stop[256] = {
	['\n'] = 1, ['\r'] = 1, ['"'] = 1, ['\''] = 1, ['#'] = 1, ['\\'] = 1,
	['('] = 1, [')'] = 1, ['['] = 1, [']'] = 1, ['{'] = 1, ['}'] = 1, [';'] = 1,
};

/*
 * Skip to the end of the current logical line, leaving lx->p at the
 * newline (or, with at_semicolon, at a ";" outside brackets; or at the
 * end), tracking what
 * lex_next would track: the line count, strings (with their errors) and
 * bracket depth.
 */
static int lex_skip_stmt(struct lexer *lx, bool at_semicolon, struct ms_error *err)
{
	const char *p = lx->p, *end = lx->end;
	int ret = 0;

	for (;;) {
		size_t nl;

		while (p < end && !skip_stop[(unsigned char)*p])
			p++;
		if (p >= end)
			break;
		switch (*p) {
		case '\n':
		case '\r':
			if (!lx->depth)
				goto done;
			p += newline_len(p, end);
			lx->line++;
			lx->line_start = p;
			break;
		case '#':
			while (p < end && *p != '\n' && *p != '\r')
				p++;
			break;
		case '\\':
			p++;
			if (p < end && (nl = newline_len(p, end)) != 0) {
				p += nl;
				lx->line++;
				lx->line_start = p;
			}
			break;
		case '"':
		case '\'': {
			struct tok t;

			memset(&t, 0, sizeof(t));
			t.start = p;
			lx->p = p;
			ret = lex_string(lx, &t, err);
			if (ret)
				goto done;
			p = lx->p;
			break;
		}
		case ';':
			if (!lx->depth && at_semicolon)
				goto done;
			p++;
			break;
		case '(': case '[': case '{':
			lx->depth++;
			p++;
			break;
		default:	/* a closing bracket */
			if (lx->depth)
				lx->depth--;
			p++;
			break;
		}
	}
done:
	lx->p = p;
	return ret;
}

/*
 * At the start of a line: skip the lines that are indented, blank or
 * only a comment (with what they continue onto), stopping at the first
 * line that starts at column 0.
 */
static int lex_skip_indented(struct lexer *lx, struct ms_error *err)
{
	int ret = 0;

	while (lx->p < lx->end) {
		char c = *lx->p;

		if (c != ' ' && c != '\t' && c != '\f' && c != '#' && c != '\n' && c != '\r')
			break;
		ret = lex_skip_stmt(lx, false, err);
		if (ret)
			break;
		if (lx->p < lx->end) {
			lx->p += newline_len(lx->p, lx->end);
			lx->line++;
			lx->line_start = lx->p;
		}
	}
	return ret;
}

/*
 * The next token. Blank lines and comments produce nothing; the end of a
 * logical line (outside brackets) produces TOK_NEWLINE.
 */
static int lex_next(struct lexer *lx, struct tok *t, struct ms_error *err)
{
	const char *end = lx->end;
	int ret = 0;

	memset(t, 0, sizeof(*t));
	if (lx->skip_stmt) {
		lx->skip_stmt = false;
		ret = lex_skip_stmt(lx, true, err);
		if (ret)
			goto done;
	}
	for (;;) {
		const char *p = lx->p;
		unsigned char c;
		size_t nl;

		if (lx->skip_indented && !lx->depth && !lx->line_has_tokens &&
		    p == lx->line_start && p < end) {
			ret = lex_skip_indented(lx, err);
			if (ret)
				goto done;
			p = lx->p;
		}
		if (p >= end) {
			t->line = lx->line;
			if (lx->line_has_tokens) {
				lx->line_has_tokens = false;
				t->type = TOK_NEWLINE;
			} else {
				t->type = TOK_EOF;
			}
			goto done;
		}
		c = (unsigned char)*p;
		nl = newline_len(p, end);
		if (nl) {
			t->line = lx->line;
			lx->p = p + nl;
			lx->line++;
			lx->line_start = lx->p;
			if (!lx->depth && lx->line_has_tokens) {
				lx->line_has_tokens = false;
				t->type = TOK_NEWLINE;
				goto done;
			}
			continue;
		}
		if (c == ' ' || c == '\t' || c == '\f') {
			lx->p++;
			continue;
		}
		if (c == '#') {
			while (p < end && *p != '\n' && *p != '\r')
				p++;
			lx->p = p;
			continue;
		}
		if (c == '\\' && p + 1 < end && (nl = newline_len(p + 1, end)) != 0) {
			lx->p = p + 1 + nl;
			lx->line++;
			lx->line_start = lx->p;
			continue;
		}

		/* A token starts here. */
		if (!lx->line_has_tokens) {
			lx->line_has_tokens = true;
			lx->indent = (unsigned)(p - lx->line_start);
			t->first = true;
		}
		t->indent = lx->indent;
		t->line = lx->line;
		t->start = p;
		if (is_name_start(c)) {
			const char *q = p;
			int flags;

			while (q < end && is_name_char((unsigned char)*q))
				q++;
			if (q < end && (*q == '"' || *q == '\'') &&
			    (flags = string_prefix(p, (size_t)(q - p))) >= 0) {
				t->str_flags = (unsigned)flags;
				lx->p = q;
				ret = lex_string(lx, t, err);
				goto done;
			}
			t->type = TOK_NAME;
			t->len = (size_t)(q - p);
			lx->p = q;
			goto done;
		}
		if (c == '"' || c == '\'') {
			ret = lex_string(lx, t, err);
			goto done;
		}
		if ((c >= '0' && c <= '9') ||
		    (c == '.' && p + 1 < end && p[1] >= '0' && p[1] <= '9')) {
			const char *q = p;

			while (q < end && (is_name_char((unsigned char)*q) || *q == '.'))
				q++;
			t->type = TOK_NUMBER;
			t->len = (size_t)(q - p);
			lx->p = q;
			goto done;
		}
		if (c == '(' || c == '[' || c == '{')
			lx->depth++;
		else if ((c == ')' || c == ']' || c == '}') && lx->depth)
			lx->depth--;
		t->type = TOK_OP;
		t->len = op_len(p, end);
		lx->p = p + t->len;
		goto done;
	}
done:
	return ret;
}

static bool tok_is(const struct tok *t, enum tok_type type, const char *text)
{
	size_t n = strlen(text);

	return t->type == type && t->len == n && !memcmp(t->start, text, n);
}

static void add_utf8(struct strbuf *sb, uint32_t cp)
{
	if (cp < 0x80) {
		strbuf_addch(sb, (int)cp);
	} else if (cp < 0x800) {
		strbuf_addch(sb, (int)(0xc0 | (cp >> 6)));
		strbuf_addch(sb, (int)(0x80 | (cp & 0x3f)));
	} else if (cp < 0x10000) {
		strbuf_addch(sb, (int)(0xe0 | (cp >> 12)));
		strbuf_addch(sb, (int)(0x80 | ((cp >> 6) & 0x3f)));
		strbuf_addch(sb, (int)(0x80 | (cp & 0x3f)));
	} else {
		strbuf_addch(sb, (int)(0xf0 | (cp >> 18)));
		strbuf_addch(sb, (int)(0x80 | ((cp >> 12) & 0x3f)));
		strbuf_addch(sb, (int)(0x80 | ((cp >> 6) & 0x3f)));
		strbuf_addch(sb, (int)(0x80 | (cp & 0x3f)));
	}
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Parse exactly n hex digits at p; -1 if they are not there. */
static long hexn(const char *p, const char *end, size_t n)
{
	long v = 0;

	if ((size_t)(end - p) < n)
		return -1;
	for (size_t i = 0; i < n; i++) {
		int h = hexval(p[i]);

		if (h < 0)
			return -1;
		v = v * 16 + h;
	}
	return v;
}

/*
 * Append the value of string token t to sb as Python would see it: source
 * newlines become "\n", escapes are decoded unless the string is raw.
 * An escape Python rejects is kept as written, and so is \N{NAME}: Python
 * prints the named character, but its name table (unicodedata, ~1 MB)
 * is not worth carrying for a docstring escape seen in practice almost
 * never. This is a known, deliberate difference from Alembic.
 */
static void decode_string(struct strbuf *sb, const struct tok *t)
{
	const char *p = t->body, *end = t->body + t->body_len;
	bool raw = t->str_flags & STR_RAW, bytes = t->str_flags & STR_BYTES;

	while (p < end) {
		const char *run = p;
		size_t nl;

		while (p < end && *p != '\\' && *p != '\r')
			p++;
		strbuf_add(sb, run, (size_t)(p - run));
		if (p >= end)
			break;
		if (*p == '\r') {
			strbuf_addch(sb, '\n');
			p += newline_len(p, end);
			continue;
		}
		/* a backslash; the lexer made sure something follows it */
		if (p + 1 >= end) {
			strbuf_addch(sb, '\\');
			p++;
			continue;
		}
		nl = newline_len(p + 1, end);
		if (raw) {
			strbuf_addch(sb, '\\');
			if (nl) {
				strbuf_addch(sb, '\n');
				p += 1 + nl;
			} else {
				strbuf_addch(sb, p[1]);
				p += 2;
			}
			continue;
		}
		if (nl) {
			p += 1 + nl;
			continue;
		}
		p++;
		switch (*p) {
		case '\\': case '\'': case '"':
			strbuf_addch(sb, *p++);
			continue;
		case 'a': strbuf_addch(sb, '\a'); p++; continue;
		case 'b': strbuf_addch(sb, '\b'); p++; continue;
		case 'f': strbuf_addch(sb, '\f'); p++; continue;
		case 'n': strbuf_addch(sb, '\n'); p++; continue;
		case 'r': strbuf_addch(sb, '\r'); p++; continue;
		case 't': strbuf_addch(sb, '\t'); p++; continue;
		case 'v': strbuf_addch(sb, '\v'); p++; continue;
		default:
			break;
		}
		if (*p >= '0' && *p <= '7') {
			unsigned v = 0;

			for (int i = 0; i < 3 && p < end && *p >= '0' && *p <= '7'; i++)
				v = v * 8 + (unsigned)(*p++ - '0');
			if (bytes)
				strbuf_addch(sb, (int)(v & 0xff));
			else
				add_utf8(sb, v);
			continue;
		}
		if (*p == 'x' || (!bytes && (*p == 'u' || *p == 'U'))) {
			size_t n = *p == 'x' ? 2 : *p == 'u' ? 4 : 8;
			long v = hexn(p + 1, end, n);

			if (v >= 0 && v <= 0x10ffff) {
				if (bytes)
					strbuf_addch(sb, (int)v);
				else
					add_utf8(sb, (uint32_t)v);
				p += 1 + n;
				continue;
			}
		}
		strbuf_addch(sb, '\\');
	}
}

/* Python's str.isspace() for the code point starting at s (len bytes). */
static size_t py_space_at(const unsigned char *s, size_t len)
{
	uint32_t cp;
	size_t n;

	if (!len)
		return 0;
	if (s[0] < 0x80) {
		cp = s[0];
		n = 1;
	} else if ((s[0] & 0xe0) == 0xc0 && len >= 2 && (s[1] & 0xc0) == 0x80) {
		cp = ((uint32_t)(s[0] & 0x1f) << 6) | (s[1] & 0x3f);
		n = 2;
	} else if ((s[0] & 0xf0) == 0xe0 && len >= 3 &&
		   (s[1] & 0xc0) == 0x80 && (s[2] & 0xc0) == 0x80) {
		cp = ((uint32_t)(s[0] & 0x0f) << 12) | ((uint32_t)(s[1] & 0x3f) << 6) | (s[2] & 0x3f);
		n = 3;
	} else {
		return 0;
	}
	if ((cp >= 0x09 && cp <= 0x0d) || (cp >= 0x1c && cp <= 0x20) ||
	    cp == 0x85 || cp == 0xa0 || cp == 0x1680 ||
	    (cp >= 0x2000 && cp <= 0x200a) || cp == 0x2028 || cp == 0x2029 ||
	    cp == 0x202f || cp == 0x205f || cp == 0x3000)
		return n;
	return 0;
}

/*
 * Alembic: longdoc = module.__doc__.strip(); doc = re.split("\n\n",
 * longdoc)[0]. Sets s->doc and s->message from the raw docstring.
 */
static void set_docstring(struct script *s, const char *raw, size_t len)
{
	const unsigned char *b = (const unsigned char *)raw;
	size_t start = 0, stop = len, n;
	const char *para;

	while (start < stop && (n = py_space_at(b + start, stop - start)) != 0)
		start += n;
	while (stop > start) {
		size_t k = stop - 1;

		while (k > start && (b[k] & 0xc0) == 0x80 && stop - k < 3)
			k--;
		n = py_space_at(b + k, stop - k);
		if (!n || k + n != stop)
			break;
		stop = k;
	}
	free(s->doc);
	free(s->message);
	s->doc = xstrndup(raw + start, stop - start);
	para = strstr(s->doc, "\n\n");
	s->message = para ? xstrndup(s->doc, (size_t)(para - s->doc)) : xstrdup(s->doc);
}

/* A streaming parser for `string | None | (strings) | [strings] | s, s`. */
enum vstate {
	V_START,
	V_STR_TOP,	/* after string(s) outside brackets */
	V_TOP_COMMA,	/* after a comma outside brackets */
	V_IN_START,	/* just after the opening bracket */
	V_IN_STR,
	V_IN_COMMA,
	V_END,		/* after None or the closing bracket */
	V_BAD,
};

/*
 * Items may also be names (NAME or NAME.NAME...): they are kept as
 * PY_NAME_MARK followed by the dotted name, and resolved to module-level
 * string constants when the assignment is committed.
 */
struct value {
	enum vstate st;
	bool is_none;
	bool is_seq;		/* tuple or list (even of one) */
	bool cur_name;		/* cur is a name, not a string */
	bool want_name;		/* a "." after a name: the next token must be a name */
	char close;
	struct strbuf cur;
	struct strvec items;
};

static void value_start(struct value *v)
{
	v->st = V_START;
	v->is_none = false;
	v->is_seq = false;
	v->cur_name = false;
	v->want_name = false;
	v->close = 0;
	strbuf_reset(&v->cur);
	strvec_release(&v->items);
}

static void value_push(struct value *v)
{
	strvec_push(&v->items, v->cur.buf);
	strbuf_reset(&v->cur);
	v->cur_name = false;
}

static bool is_plain_name(const struct tok *t)
{
	return t->type == TOK_NAME && !tok_is(t, TOK_NAME, "None") &&
	       !tok_is(t, TOK_NAME, "True") && !tok_is(t, TOK_NAME, "False");
}

/*
 * The dotted-name part of value_feed: true when t was taken (a name
 * starting an item, or continuing one after "."), with the state moved on.
 */
static bool value_name(struct value *v, const struct tok *t)
{
	bool top = v->st == V_START || v->st == V_TOP_COMMA || v->st == V_STR_TOP;

	if ((v->st == V_START || v->st == V_TOP_COMMA || v->st == V_IN_START ||
	     v->st == V_IN_COMMA) && is_plain_name(t)) {
		strbuf_addch(&v->cur, PY_NAME_MARK);
		strbuf_add(&v->cur, t->start, t->len);
		v->cur_name = true;
		v->st = top ? V_STR_TOP : V_IN_STR;
		return true;
	}
	if ((v->st != V_STR_TOP && v->st != V_IN_STR) || !v->cur_name)
		return false;
	if (!v->want_name && tok_is(t, TOK_OP, ".")) {
		v->want_name = true;
		return true;
	}
	if (v->want_name) {
		if (!is_plain_name(t)) {
			v->st = V_BAD;
			return true;
		}
		strbuf_addch(&v->cur, '.');
		strbuf_add(&v->cur, t->start, t->len);
		v->want_name = false;
		return true;
	}
	/* a string after a name, or a name after a name: no literal */
	if (t->type == TOK_STRING || t->type == TOK_NAME) {
		v->st = V_BAD;
		return true;
	}
	return false;
}

static void value_feed(struct value *v, const struct tok *t)
{
	bool str = t->type == TOK_STRING && !(t->str_flags & STR_FORMAT);
	bool close = t->type == TOK_OP && t->len == 1 && v->close && *t->start == v->close;
	bool comma = tok_is(t, TOK_OP, ",");

	if (value_name(v, t))
		return;
	/* a decoded string that looks like a name is not one */
	if (str && t->body_len && t->body[0] == PY_NAME_MARK) {
		v->st = V_BAD;
		return;
	}
	switch (v->st) {
	case V_START:
		if (str) {
			decode_string(&v->cur, t);
			v->st = V_STR_TOP;
		} else if (tok_is(t, TOK_NAME, "None")) {
			v->is_none = true;
			v->st = V_END;
		} else if (tok_is(t, TOK_OP, "(") || tok_is(t, TOK_OP, "[")) {
			v->close = *t->start == '(' ? ')' : ']';
			v->is_seq = *t->start == '[';
			v->st = V_IN_START;
		} else {
			v->st = V_BAD;
		}
		break;
	case V_STR_TOP:
	case V_IN_STR:
		if (str) {
			decode_string(&v->cur, t);
		} else if (comma) {
			value_push(v);
			v->is_seq = true;
			v->st = v->st == V_STR_TOP ? V_TOP_COMMA : V_IN_COMMA;
		} else if (close && v->st == V_IN_STR) {
			value_push(v);
			v->st = V_END;
		} else {
			v->st = V_BAD;
		}
		break;
	case V_TOP_COMMA:
	case V_IN_COMMA:
		if (str) {
			decode_string(&v->cur, t);
			v->st = v->st == V_TOP_COMMA ? V_STR_TOP : V_IN_STR;
		} else if (close && v->st == V_IN_COMMA) {
			v->st = V_END;
		} else {
			v->st = V_BAD;
		}
		break;
	case V_IN_START:
		if (str) {
			decode_string(&v->cur, t);
			v->st = V_IN_STR;
		} else if (close) {
			v->is_seq = true;
			v->st = V_END;
		} else {
			v->st = V_BAD;
		}
		break;
	case V_END:
	case V_BAD:
		v->st = V_BAD;
		break;
	}
}

/* Finish the value; false when it was not a literal we understand. */
static bool value_finish(struct value *v)
{
	if (v->want_name)
		v->st = V_BAD;
	if (v->st == V_STR_TOP)
		value_push(v);
	return v->st == V_STR_TOP || v->st == V_TOP_COMMA || v->st == V_END;
}

enum target {
	TGT_REVISION,
	TGT_DOWN_REVISION,
	TGT_BRANCH_LABELS,
	TGT_DEPENDS_ON,
	TGT_NR,
};

static const char *const target_names[TGT_NR] = {
	"revision", "down_revision", "branch_labels", "depends_on",
};

enum stmt_kind {
	ST_OTHER,
	ST_ASSIGN_NAME,		/* `target` seen */
	ST_ASSIGN_ANNOT,	/* `target :` seen, waiting for `=` */
	ST_ASSIGN_VALUE,	/* `target [: ann] =` seen */
	ST_DEF,			/* `def` seen */
	ST_DEF_NAME,		/* `def upgrade|downgrade` seen */
	ST_DEF_HEADER,		/* `def name(` seen, waiting for `:` */
	ST_BODY,		/* a statement inside upgrade()/downgrade() */
	ST_DOC,			/* the first statement, strings so far */
	ST_CONST_NAME,		/* another module-level name: maybe a constant */
	ST_CONST_ANNOT,
	ST_CONST_VALUE,
	ST_IMPORT,		/* `import ...` or `from ... import ...` */
};

enum func { FN_NONE, FN_UPGRADE, FN_DOWNGRADE };

struct pyparse {
	struct script *s;
	const char *path;
	struct diag_list *warnings;
	struct ms_error *err;

	enum stmt_kind kind;
	size_t stmt_toks;	/* tokens seen in the current statement */
	unsigned nstmts;	/* statements finished so far */
	bool module_level;	/* the current logical line starts at column 0 */
	unsigned stmt_line;
	enum target target;
	struct value val;
	struct strbuf doc;

	enum func func;		/* whose body we are in */
	enum func def_func;	/* which def the header belongs to */
	unsigned def_line;
	bool func_empty;
	size_t body_toks;	/* tokens of the current body statement */
	bool body_ok;		/* so far it is pass, ... or only strings */
	bool body_strings;	/* so far it is only strings */

	unsigned bad_line[TGT_NR];	/* non-literal labels/depends_on, for warnings */
	char *bad_name[TGT_NR];		/* the name that did not resolve, if that was why */

	/* module-level constants and imports, for names in labels and depends_on */
	struct py_scope scope;
	struct strbuf const_name;
	struct strbuf import;		/* the import statement's tokens, space-separated */
	const struct strvec *import_path;
	bool module_only;		/* py_scan_module: no revision needed */
};

static void finish_func(struct pyparse *pp)
{
	if (pp->func == FN_UPGRADE)
		pp->s->upgrade_empty = pp->func_empty;
	else if (pp->func == FN_DOWNGRADE)
		pp->s->downgrade_empty = pp->func_empty;
	pp->func = FN_NONE;
}

static void set_list(struct strvec *dst, struct strvec *src)
{
	strvec_release(dst);
	*dst = *src;
	strvec_init(src);
}

/*
 * Replace the names among items by the module-level string constants
 * they refer to (this file's, or an imported module's; a constant tuple
 * gives all its strings). False, with *bad the first name that does not
 * resolve, when one does not.
 */
static bool resolve_names(struct pyparse *pp, struct strvec *items, char **bad)
{
	struct strvec out = STRVEC_INIT;
	bool ok = true;

	for (size_t i = 0; ok && i < items->nr; i++) {
		if (items->items[i][0] != PY_NAME_MARK) {
			strvec_push(&out, items->items[i]);
			continue;
		}
		ok = py_resolve(&out, &pp->scope, items->items[i] + 1, pp->path, pp->import_path, 0);
		if (!ok)
			*bad = xstrdup(items->items[i] + 1);
	}
	if (ok) {
		strvec_release(items);
		*items = out;
	} else {
		strvec_release(&out);
	}
	return ok;
}

/* A module-level NAME = "string" (or a tuple of strings): a constant. */
static void commit_constant(struct pyparse *pp)
{
	struct value *v = &pp->val;
	struct strbuf joined = STRBUF_INIT;

	if (!value_finish(v) || v->is_none)
		return;
	for (size_t i = 0; i < v->items.nr; i++) {
		if (v->items.items[i][0] == PY_NAME_MARK)
			goto done;
		if (i)
			strbuf_addch(&joined, PY_CONST_SEP);
		strbuf_addstr(&joined, v->items.items[i]);
	}
	py_scope_set(&pp->scope, pp->const_name.buf, joined.buf);
done:
	strbuf_release(&joined);
}

static int commit_assignment(struct pyparse *pp)
{
	struct script *s = pp->s;
	struct value *v = &pp->val;
	bool ok = value_finish(v);
	unsigned line = pp->stmt_line;
	int ret = 0;

	switch (pp->target) {
	case TGT_REVISION:
		s->revision_line = line;
		if (!ok || v->is_none || v->is_seq || v->items.nr != 1 ||
		    v->items.items[0][0] == PY_NAME_MARK) {
			ret = scripts_error_at(pp->err, MS_ERR_PARSE, pp->path, line,
					       "revision is not a string literal");
			ms_error_hint(pp->err, "write the id as a plain string, e.g. revision = \"3f2a9c1d0b7e\"");
			goto done;
		}
		if (!*v->items.items[0]) {
			ret = scripts_error_at(pp->err, MS_ERR_PARSE, pp->path, line,
					       "revision is empty");
			goto done;
		}
		if (strpbrk(v->items.items[0], "@-+")) {
			ret = scripts_error_at(pp->err, MS_ERR_PARSE, pp->path, line,
					       "revision \"%s\": Alembic refuses the characters @, - and + "
					       "in a revision id", v->items.items[0]);
			ms_error_hint(pp->err, "use letters, digits and _, as 'alembic revision' generates them");
			goto done;
		}
		free(s->revision);
		s->revision = v->items.items[0];
		v->items.items[0] = NULL;
		strvec_release(&v->items);
		break;
	case TGT_DOWN_REVISION:
		s->down_revision_line = line;
		if (!ok) {
			ret = scripts_error_at(pp->err, MS_ERR_PARSE, pp->path, line,
					       "down_revision is not a literal");
			ms_error_hint(pp->err, "write a string, None, or a tuple of strings, e.g. down_revision = (\"ab12\", \"cd34\")");
			goto done;
		}
		for (size_t i = 0; i < v->items.nr; i++) {
			if (v->items.items[i][0] == PY_NAME_MARK) {
				ret = scripts_error_at(pp->err, MS_ERR_PARSE, pp->path, line,
						       "down_revision is not a literal");
				ms_error_hint(pp->err, "write a string, None, or a tuple of strings, e.g. down_revision = (\"ab12\", \"cd34\")");
				goto done;
			}
			if (!*v->items.items[i]) {
				ret = scripts_error_at(pp->err, MS_ERR_PARSE, pp->path, line,
						       "down_revision names an empty revision");
				ms_error_hint(pp->err, "use down_revision = None for a base revision");
				goto done;
			}
		}
		set_list(&s->down_revisions, &v->items);
		break;
	case TGT_BRANCH_LABELS:
	case TGT_DEPENDS_ON:
		if (pp->target == TGT_BRANCH_LABELS)
			s->branch_labels_line = line;
		else
			s->depends_on_line = line;
		free(pp->bad_name[pp->target]);
		pp->bad_name[pp->target] = NULL;
		if (ok)
			ok = resolve_names(pp, &v->items, &pp->bad_name[pp->target]);
		if (!ok) {
			pp->bad_line[pp->target] = line;
			strvec_release(pp->target == TGT_BRANCH_LABELS ?
				       &s->branch_labels : &s->depends_on);
			break;
		}
		pp->bad_line[pp->target] = 0;
		set_list(pp->target == TGT_BRANCH_LABELS ? &s->branch_labels : &s->depends_on,
			 &v->items);
		break;
	case TGT_NR:
		break;
	}
done:
	return ret;
}

static int end_statement(struct pyparse *pp)
{
	int ret = 0;

	switch (pp->kind) {
	case ST_ASSIGN_VALUE:
		if (!pp->module_only)
			ret = commit_assignment(pp);
		break;
	case ST_CONST_VALUE:
		commit_constant(pp);
		break;
	case ST_IMPORT:
		py_scope_import(&pp->scope, pp->import.buf);
		break;
	case ST_DOC:
		if (!pp->nstmts)
			set_docstring(pp->s, pp->doc.buf, pp->doc.len);
		break;
	case ST_BODY:
		if (pp->body_toks && !pp->body_ok)
			pp->func_empty = false;
		break;
	default:
		break;
	}
	if (pp->stmt_toks)
		pp->nstmts++;
	pp->kind = ST_OTHER;
	pp->stmt_toks = 0;
	pp->body_toks = 0;
	return ret;
}

static bool is_plain_string(const struct tok *t)
{
	return t->type == TOK_STRING && !(t->str_flags & STR_FORMAT);
}

/* Is the body still only pass, ..., docstrings (and comments)? */
static void body_token(struct pyparse *pp, const struct tok *t)
{
	if (!pp->body_toks++) {
		pp->body_strings = is_plain_string(t);
		pp->body_ok = pp->body_strings || tok_is(t, TOK_NAME, "pass") ||
			      tok_is(t, TOK_OP, "...");
	} else if (!pp->body_strings || !is_plain_string(t)) {
		pp->body_ok = false;
	}
	if (!pp->body_ok)
		pp->func_empty = false;
}

static void begin_statement(struct pyparse *pp, const struct tok *t)
{
	pp->stmt_line = t->line;
	pp->kind = ST_OTHER;
	if (!pp->module_level) {
		if (pp->func != FN_NONE) {
			pp->kind = ST_BODY;
			body_token(pp, t);
		}
		return;
	}
	if (t->type == TOK_NAME) {
		for (int i = 0; i < TGT_NR; i++) {
			if (tok_is(t, TOK_NAME, target_names[i])) {
				pp->kind = ST_ASSIGN_NAME;
				pp->target = (enum target)i;
				return;
			}
		}
		if (tok_is(t, TOK_NAME, "def")) {
			pp->kind = ST_DEF;
		} else if (tok_is(t, TOK_NAME, "import") || tok_is(t, TOK_NAME, "from")) {
			pp->kind = ST_IMPORT;
			strbuf_reset(&pp->import);
			strbuf_add(&pp->import, t->start, t->len);
		} else if (is_plain_name(t)) {
			pp->kind = ST_CONST_NAME;
			strbuf_reset(&pp->const_name);
			strbuf_add(&pp->const_name, t->start, t->len);
		}
	} else if (t->type == TOK_STRING && !pp->nstmts &&
		   !(t->str_flags & (STR_FORMAT | STR_BYTES))) {
		pp->kind = ST_DOC;
		strbuf_reset(&pp->doc);
		decode_string(&pp->doc, t);
	}
}

static void continue_statement(struct pyparse *pp, const struct tok *t, unsigned depth)
{
	switch (pp->kind) {
	case ST_ASSIGN_NAME:
		if (tok_is(t, TOK_OP, "=")) {
			pp->kind = ST_ASSIGN_VALUE;
			value_start(&pp->val);
		} else if (tok_is(t, TOK_OP, ":")) {
			pp->kind = ST_ASSIGN_ANNOT;
		} else {
			pp->kind = ST_OTHER;
		}
		break;
	case ST_ASSIGN_ANNOT:
		if (!depth && tok_is(t, TOK_OP, "=")) {
			pp->kind = ST_ASSIGN_VALUE;
			value_start(&pp->val);
		}
		break;
	case ST_ASSIGN_VALUE:
	case ST_CONST_VALUE:
		value_feed(&pp->val, t);
		break;
	case ST_CONST_NAME:
		if (tok_is(t, TOK_OP, "=")) {
			pp->kind = ST_CONST_VALUE;
			value_start(&pp->val);
		} else {
			pp->kind = tok_is(t, TOK_OP, ":") ? ST_CONST_ANNOT : ST_OTHER;
		}
		break;
	case ST_CONST_ANNOT:
		if (!depth && tok_is(t, TOK_OP, "=")) {
			pp->kind = ST_CONST_VALUE;
			value_start(&pp->val);
		}
		break;
	case ST_IMPORT:
		if (t->type == TOK_NAME || (t->type == TOK_OP && (tok_is(t, TOK_OP, ".") ||
		    tok_is(t, TOK_OP, ",") || tok_is(t, TOK_OP, "...")))) {
			strbuf_addch(&pp->import, ' ');
			strbuf_add(&pp->import, t->start, t->len);
		}
		break;
	case ST_DEF:
		pp->kind = ST_OTHER;
		if (tok_is(t, TOK_NAME, "upgrade")) {
			pp->kind = ST_DEF_NAME;
			pp->def_func = FN_UPGRADE;
		} else if (tok_is(t, TOK_NAME, "downgrade")) {
			pp->kind = ST_DEF_NAME;
			pp->def_func = FN_DOWNGRADE;
		}
		break;
	case ST_DEF_NAME:
		if (tok_is(t, TOK_OP, "(")) {
			pp->kind = ST_DEF_HEADER;
			if (pp->def_func == FN_UPGRADE) {
				pp->s->has_upgrade = true;
				pp->s->upgrade_line = pp->stmt_line;
			} else {
				pp->s->has_downgrade = true;
				pp->s->downgrade_line = pp->stmt_line;
			}
		} else {
			pp->kind = ST_OTHER;
		}
		break;
	case ST_DEF_HEADER:
		if (!depth && tok_is(t, TOK_OP, ":")) {
			/* the body starts; `def f(): pass` keeps it on this line */
			pp->func = pp->def_func;
			pp->func_empty = true;
			pp->kind = ST_BODY;
			pp->body_toks = 0;
		}
		break;
	case ST_BODY:
		body_token(pp, t);
		break;
	case ST_DOC:
		if (t->type == TOK_STRING && !(t->str_flags & (STR_FORMAT | STR_BYTES)))
			decode_string(&pp->doc, t);
		else
			pp->kind = ST_OTHER;
		break;
	case ST_OTHER:
		break;
	}
}

/*
 * Nothing later in the statement can change what we take from it: an
 * uninteresting statement, a function body already known not to be
 * empty, a value already known not to be a literal.
 */
static bool stmt_settled(const struct pyparse *pp)
{
	switch (pp->kind) {
	case ST_OTHER:
		return true;
	case ST_BODY:
		return pp->body_toks && !pp->body_ok;
	case ST_ASSIGN_VALUE:
	case ST_CONST_VALUE:
		return pp->val.st == V_BAD;
	default:
		return false;
	}
}

static void emit_warnings(struct pyparse *pp)
{
	static const char *const hints[TGT_NR] = {
		NULL, NULL,
		"write the labels as string literals, e.g. branch_labels = (\"expand\",)",
		"write the revision ids as string literals, e.g. depends_on = (\"ab12\",)",
	};

	if (!pp->warnings)
		return;
	for (int i = TGT_BRANCH_LABELS; i < TGT_NR; i++) {
		if (!pp->bad_line[i])
			continue;
		if (pp->bad_name[i])
			diag_add(pp->warnings, DIAG_WARNING, "MS030", pp->path, pp->bad_line[i],
				 pp->s->revision,
				 "migsync reads module-level string constants of this file and of "
				 "modules it imports, found on prepend_sys_path or above the versions "
				 "directory; write the value as a literal otherwise",
				 "%s: \"%s\" is no string constant migsync can find; it is left out",
				 target_names[i], pp->bad_name[i]);
		else
			diag_add(pp->warnings, DIAG_WARNING, "MS030", pp->path, pp->bad_line[i],
				 pp->s->revision, hints[i],
				 "%s is not a literal; it is left out", target_names[i]);
	}
}

static void pyparse_init(struct pyparse *pp, struct script *s, const char *path,
			 const struct strvec *import_path, struct diag_list *warnings,
			 struct ms_error *err)
{
	memset(pp, 0, sizeof(*pp));
	pp->s = s;
	pp->path = path;
	pp->warnings = warnings;
	pp->err = err;
	pp->import_path = import_path;
	strbuf_init(&pp->val.cur, 0);
	strvec_init(&pp->val.items);
	strbuf_init(&pp->doc, 0);
	strbuf_init(&pp->const_name, 0);
	strbuf_init(&pp->import, 0);
	py_scope_init(&pp->scope);
}

static void pyparse_release(struct pyparse *pp)
{
	strbuf_release(&pp->val.cur);
	strvec_release(&pp->val.items);
	strbuf_release(&pp->doc);
	strbuf_release(&pp->const_name);
	strbuf_release(&pp->import);
	py_scope_release(&pp->scope);
	for (int i = 0; i < TGT_NR; i++)
		free(pp->bad_name[i]);
}

/* The statements of buf (after its BOM), fed to pp. */
static int parse_statements(struct pyparse *pp, const char *buf, size_t len)
{
	size_t bom = scripts_bom_len(buf, len);
	struct lexer lx;
	int ret = 0;

	memset(&lx, 0, sizeof(lx));
	lx.p = buf + bom;
	lx.line_start = lx.p;
	lx.end = buf + len;
	lx.line = 1;
	lx.path = pp->path;
	for (;;) {
		struct tok t;

		ret = lex_next(&lx, &t, pp->err);
		if (ret || t.type == TOK_EOF)
			break;
		if (t.type == TOK_NEWLINE ||
		    (!lx.depth && tok_is(&t, TOK_OP, ";"))) {
			ret = end_statement(pp);
			if (ret)
				break;
		} else {
			if (t.first) {
				pp->module_level = t.indent == 0;
				if (pp->module_level && pp->func != FN_NONE)
					finish_func(pp);
			}
			pp->stmt_toks++;
			if (pp->stmt_toks == 1)
				begin_statement(pp, &t);
			else
				continue_statement(pp, &t, lx.depth);
			lx.skip_stmt = stmt_settled(pp);
		}
		lx.skip_indented = pp->nstmts && (pp->func == FN_NONE || !pp->func_empty);
	}
	if (ret == 0)
		finish_func(pp);
	return ret;
}

int py_scan_module(struct py_scope *out, const char *path, const char *buf, size_t len)
{
	struct ms_error err = MS_ERROR_INIT;
	struct strbuf utf8 = STRBUF_INIT;
	const char *text = NULL;
	size_t text_len = 0;
	struct script dummy;
	struct pyparse pp;
	int ret;

	script_init(&dummy);
	pyparse_init(&pp, &dummy, path, NULL, NULL, &err);
	pp.module_only = true;
	ret = scripts_check_text(path, buf, len, &err);
	if (ret == 0)
		ret = py_source_utf8(&utf8, &text, &text_len, path, buf, len, &err);
	if (ret == 0)
		ret = parse_statements(&pp, text, text_len);
	if (ret == 0) {
		py_scope_release(out);
		*out = pp.scope;
		py_scope_init(&pp.scope);
	}
	pyparse_release(&pp);
	script_release(&dummy);
	strbuf_release(&utf8);
	ms_error_release(&err);
	return ret;
}

int script_parse_python(struct script *out, const char *path,
			const char *buf, size_t len, unsigned flags,
			struct diag_list *warnings, struct ms_error *err)
{
	return script_parse_python_in(out, path, buf, len, flags, NULL, warnings, err);
}

int script_parse_python_in(struct script *out, const char *path,
			   const char *buf, size_t len, unsigned flags,
			   const struct strvec *import_path,
			   struct diag_list *warnings, struct ms_error *err)
{
	struct strbuf utf8 = STRBUF_INIT;
	const char *text = NULL, *slash;
	size_t text_len = 0;
	struct pyparse pp;
	int ret;

	script_init(out);
	pyparse_init(&pp, out, path, import_path, warnings, err);

	out->kind = SCRIPT_PYTHON;
	out->path = xstrdup(path);
	slash = strrchr(path, '/');
	out->filename = xstrdup(slash ? slash + 1 : path);

	ret = scripts_check_text(path, buf, len, err);
	if (ret)
		goto done;
	if (flags & SCRIPTS_SHA256)
		sha256_hex(buf, len, out->sha256);
	ret = py_source_utf8(&utf8, &text, &text_len, path, buf, len, err);
	if (ret)
		goto done;
	ret = parse_statements(&pp, text, text_len);
	if (ret)
		goto done;

	if (!out->revision) {
		ret = scripts_error_at(err, MS_ERR_PARSE, path, 0,
				       "no module-level revision assignment");
		ms_error_hint(err, "add `revision = \"<id>\"` at column 0, as `alembic revision` writes it");
		goto done;
	}
	if (!out->down_revision_line) {
		ret = scripts_error_at(err, MS_ERR_PARSE, path, 0,
				       "no module-level down_revision assignment");
		ms_error_hint(err, "add `down_revision = None` for a base revision, or the parent's id");
		goto done;
	}
	emit_warnings(&pp);
	scripts_compact(out);
done:
	pyparse_release(&pp);
	strbuf_release(&utf8);
	if (ret)
		script_release(out);
	return ret;
}
