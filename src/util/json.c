#include <inttypes.h>
#include <math.h>
#include <stdio.h>

#include "migsync/json.h"

void json_init(struct json_writer *jw, struct strbuf *out)
{
	jw->out = out;
	jw->depth = 0;
	jw->need_comma[0] = false;
	jw->after_key = false;
}

/* Emit the separator a new value needs at the current position. */
static void before_value(struct json_writer *jw)
{
	if (jw->after_key) {
		jw->after_key = false;
		return;
	}
	if (jw->need_comma[jw->depth])
		strbuf_addch(jw->out, ',');
	jw->need_comma[jw->depth] = true;
}

static void open_scope(struct json_writer *jw, int c)
{
	before_value(jw);
	strbuf_addch(jw->out, c);
	if (jw->depth + 1 < JSON_MAX_DEPTH)
		jw->depth++;
	jw->need_comma[jw->depth] = false;
}

static void close_scope(struct json_writer *jw, int c)
{
	strbuf_addch(jw->out, c);
	if (jw->depth > 0)
		jw->depth--;
}

void json_object_begin(struct json_writer *jw) { open_scope(jw, '{'); }
void json_object_end(struct json_writer *jw) { close_scope(jw, '}'); }
void json_array_begin(struct json_writer *jw) { open_scope(jw, '['); }
void json_array_end(struct json_writer *jw) { close_scope(jw, ']'); }

void json_quote(struct strbuf *sb, const char *s)
{
	strbuf_addch(sb, '"');
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"':
			strbuf_addstr(sb, "\\\"");
			break;
		case '\\':
			strbuf_addstr(sb, "\\\\");
			break;
		case '\n':
			strbuf_addstr(sb, "\\n");
			break;
		case '\r':
			strbuf_addstr(sb, "\\r");
			break;
		case '\t':
			strbuf_addstr(sb, "\\t");
			break;
		default:
			if (*p < 0x20)
				strbuf_addf(sb, "\\u%04x", *p);
			else
				strbuf_addch(sb, *p);
		}
	}
	strbuf_addch(sb, '"');
}

void json_key(struct json_writer *jw, const char *key)
{
	before_value(jw);
	json_quote(jw->out, key);
	strbuf_addch(jw->out, ':');
	jw->after_key = true;
}

void json_string(struct json_writer *jw, const char *s)
{
	if (!s) {
		json_null(jw);
		return;
	}
	before_value(jw);
	json_quote(jw->out, s);
}

void json_int(struct json_writer *jw, int64_t v)
{
	before_value(jw);
	strbuf_addf(jw->out, "%" PRId64, v);
}

void json_double(struct json_writer *jw, double v)
{
	before_value(jw);
	if (isfinite(v))
		strbuf_addf(jw->out, "%.6g", v);
	else
		strbuf_addstr(jw->out, "null");
}

void json_bool(struct json_writer *jw, bool v)
{
	before_value(jw);
	strbuf_addstr(jw->out, v ? "true" : "false");
}

void json_null(struct json_writer *jw)
{
	before_value(jw);
	strbuf_addstr(jw->out, "null");
}

void json_kv_string(struct json_writer *jw, const char *key, const char *s)
{
	json_key(jw, key);
	json_string(jw, s);
}

void json_kv_int(struct json_writer *jw, const char *key, int64_t v)
{
	json_key(jw, key);
	json_int(jw, v);
}

void json_kv_bool(struct json_writer *jw, const char *key, bool v)
{
	json_key(jw, key);
	json_bool(jw, v);
}
