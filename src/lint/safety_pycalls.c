/*
 * The op.* calls of an Alembic revision's upgrade(), read from its text
 * without running it: the statements that start with `op.NAME(` in the
 * function's body, in source order, with their lines. The safety review
 * lays them against the statements of the revision's offline SQL to give
 * a finding the line of the call that generated it.
 *
 * A light reader of Python's lexical structure: it follows strings
 * (prefixed, triple-quoted, with escapes), comments and brackets so that
 * text inside them never starts a statement, and ends the body at the
 * first line indented no deeper than the `def`.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "migsync/util.h"
#include "safety_int.h"

struct pyreader {
	const char *s;
	size_t pos;
	unsigned line;
	int depth;		/* open brackets */
};

static bool is_word_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		c == '_' || (unsigned char)c >= 0x80;
}

/* Past a string whose opening quote is at p->pos. */
static void skip_string(struct pyreader *p)
{
	char q = p->s[p->pos];
	bool triple = p->s[p->pos + 1] == q && p->s[p->pos + 2] == q;

	p->pos += triple ? 3 : 1;
	while (p->s[p->pos]) {
		char c = p->s[p->pos];

		if (c == '\\' && p->s[p->pos + 1]) {
			if (p->s[p->pos + 1] == '\n')
				p->line++;
			p->pos += 2;
			continue;
		}
		if (c == '\n') {
			if (!triple)
				return;	/* unterminated: Python refuses it; compile_check says so */
			p->line++;
		}
		if (c == q && (!triple || (p->s[p->pos + 1] == q && p->s[p->pos + 2] == q))) {
			p->pos += triple ? 3 : 1;
			return;
		}
		p->pos++;
	}
}

/* Past the rest of a logical line (brackets, strings, comments, backslashes). */
static void skip_logical_line(struct pyreader *p)
{
	while (p->s[p->pos]) {
		char c = p->s[p->pos];

		if (c == '#') {
			while (p->s[p->pos] && p->s[p->pos] != '\n')
				p->pos++;
		} else if (c == '\'' || c == '"') {
			skip_string(p);
		} else if (is_word_char(c)) {
			/* a string prefix (r, b, f, rb...) is part of the word before the quote */
			while (is_word_char(p->s[p->pos]))
				p->pos++;
		} else if (c == '\\' && p->s[p->pos + 1] == '\n') {
			p->pos += 2;
			p->line++;
		} else if (c == '\n') {
			p->pos++;
			p->line++;
			if (p->depth <= 0) {
				p->depth = 0;
				return;
			}
		} else {
			if (c == '(' || c == '[' || c == '{')
				p->depth++;
			else if (c == ')' || c == ']' || c == '}')
				p->depth--;
			p->pos++;
		}
	}
}

/* `op.NAME(` at p->pos: the call, else NULL. */
static char *op_call(const struct pyreader *p)
{
	const char *s = p->s + p->pos, *name, *end;

	if (strncmp(s, "op.", 3) || (p->pos && is_word_char(s[-1])))
		return NULL;
	name = end = s + 3;
	while (is_word_char(*end))
		end++;
	if (end == name)
		return NULL;
	s = end;
	while (*s == ' ' || *s == '\t')
		s++;
	return *s == '(' ? xstrndup(name, (size_t)(end - name)) : NULL;
}

static void add_call(struct safety_calls *out, char *name, unsigned line, unsigned column)
{
	ALLOC_GROW(out->items, out->nr + 1, out->alloc);
	out->items[out->nr].name = name;
	out->items[out->nr].line = line;
	out->items[out->nr].column = column;
	out->nr++;
}

void safety_calls_read(struct safety_calls *out, const char *text, unsigned def_line)
{
	struct pyreader p = { text, 0, 1, 0 };
	size_t def_indent = 0;

	if (!text || !def_line)
		return;
	/* to the def line: lines before it are whole lines of their own (the reader saw them) */
	while (p.line < def_line && p.s[p.pos])
		if (p.s[p.pos++] == '\n')
			p.line++;
	while (p.s[p.pos + def_indent] == ' ' || p.s[p.pos + def_indent] == '\t')
		def_indent++;
	skip_logical_line(&p);	/* the def line itself, to its ':' and past it */
	while (p.s[p.pos]) {
		size_t indent = 0;
		char c;

		while (p.s[p.pos + indent] == ' ' || p.s[p.pos + indent] == '\t')
			indent++;
		c = p.s[p.pos + indent];
		if (c == '\n' || c == '#' || c == '\r' || !c) {
			skip_logical_line(&p);
			continue;
		}
		if (indent <= def_indent)
			break;
		p.pos += indent;
		{
			char *name = op_call(&p);

			if (name)
				add_call(out, name, p.line, (unsigned)indent + 1);
		}
		skip_logical_line(&p);
	}
}

void safety_calls_release(struct safety_calls *c)
{
	for (size_t i = 0; i < c->nr; i++)
		free(c->items[i].name);
	free(c->items);
	c->items = NULL;
	c->nr = c->alloc = 0;
}
