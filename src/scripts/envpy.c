/*
 * Reading an Alembic env.py as text, never running it: the literal
 * version_table= and version_table_schema= arguments of its
 * context.configure(...) calls, which decide where Alembic keeps the
 * version rows.
 */
#include <stdlib.h>
#include <string.h>

#include "migsync/scripts.h"
#include "migsync/strbuf.h"

void env_py_facts_init(struct env_py_facts *f)
{
	memset(f, 0, sizeof(*f));
}

void env_py_facts_release(struct env_py_facts *f)
{
	free(f->version_table);
	free(f->version_table_schema);
	env_py_facts_init(f);
}

static bool is_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_';
}

/*
 * Skip the string literal at p (its prefix letters already passed) and
 * return what follows it; body and body_len: its contents between the
 * quotes, escapes left as they are.
 */
static const char *skip_string(const char *p, const char *end, unsigned *line,
			       const char **body, size_t *body_len)
{
	char q = *p;
	bool triple = p + 2 < end && p[1] == q && p[2] == q;
	const char *s = p + (triple ? 3 : 1);

	*body = s;
	for (p = s; p < end; p++) {
		if (*p == '\\' && p + 1 < end) {
			if (p[1] == '\n')
				(*line)++;
			p++;
			continue;
		}
		if (*p == '\n') {
			(*line)++;
			if (!triple)
				break;
			continue;
		}
		if (*p != q)
			continue;
		if (!triple) {
			*body_len = (size_t)(p - s);
			return p + 1;
		}
		if (p + 2 < end && p[1] == q && p[2] == q) {
			*body_len = (size_t)(p - s);
			return p + 3;
		}
	}
	*body_len = (size_t)(p - s);
	return p;
}

static bool is_quote(char c)
{
	return c == '"' || c == '\'';
}

/* Keep the first literal found; one with escapes is not compared. */
static void take(char **dst, unsigned *dst_line, const char *body, size_t len, unsigned line)
{
	if (*dst || memchr(body, '\\', len))
		return;
	*dst = xstrndup(body, len);
	*dst_line = line;
}

void env_py_scan(struct env_py_facts *out, const char *text, size_t len)
{
	const char *p = text, *end = text + len;
	unsigned line = 1, depth = 0;
	int in_configure = 0;	/* the bracket depth inside configure( ... ), 0: outside */
	enum { NONE, NAME_TABLE, NAME_SCHEMA } pending = NONE;
	bool after_eq = false, after_dot_configure = false;

	while (p < end) {
		char c = *p;

		if (c == '\n') {
			line++;
			p++;
			continue;
		}
		if (c == ' ' || c == '\t' || c == '\r' || c == '\\') {
			p++;
			continue;
		}
		if (c == '#') {
			while (p < end && *p != '\n')
				p++;
			continue;
		}
		if (is_quote(c)) {
			const char *body;
			size_t blen = 0;
			unsigned at = line;

			p = skip_string(p, end, &line, &body, &blen);
			if (in_configure && depth == (unsigned)in_configure && after_eq) {
				if (pending == NAME_TABLE)
					take(&out->version_table, &out->version_table_line, body, blen, at);
				else if (pending == NAME_SCHEMA)
					take(&out->version_table_schema,
					     &out->version_table_schema_line, body, blen, at);
			}
			pending = NONE;
			after_eq = false;
			continue;
		}
		if (is_name_char(c)) {
			const char *s = p;
			size_t n;

			while (p < end && is_name_char(*p))
				p++;
			n = (size_t)(p - s);
			/* a prefixed string: rb"...", f'...': not a plain literal */
			if (p < end && is_quote(*p) && n <= 2) {
				const char *body;
				size_t blen = 0;

				p = skip_string(p, end, &line, &body, &blen);
				pending = NONE;
				after_eq = false;
				continue;
			}
			after_dot_configure = s > text && s[-1] == '.' && n == 9 &&
					      !memcmp(s, "configure", 9);
			if (in_configure && depth == (unsigned)in_configure && !after_eq) {
				if (n == 13 && !memcmp(s, "version_table", 13))
					pending = NAME_TABLE;
				else if (n == 20 && !memcmp(s, "version_table_schema", 20))
					pending = NAME_SCHEMA;
				else
					pending = NONE;
			} else {
				pending = NONE;
				after_eq = false;
			}
			continue;
		}
		if (c == '(' || c == '[' || c == '{') {
			depth++;
			if (c == '(' && after_dot_configure && !in_configure)
				in_configure = (int)depth;
		} else if (c == ')' || c == ']' || c == '}') {
			if (in_configure && depth == (unsigned)in_configure)
				in_configure = 0;
			if (depth)
				depth--;
		}
		after_eq = c == '=' && pending != NONE && !(p + 1 < end && p[1] == '=');
		if (!after_eq)
			pending = NONE;
		after_dot_configure = false;
		p++;
	}
}
