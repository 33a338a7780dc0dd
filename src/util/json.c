#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <time.h>

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

/*
 * The length of the well-formed UTF-8 sequence at p (RFC 3629: no
 * overlong forms, no surrogates, nothing past U+10FFFF), or 0 when the
 * bytes there are not one.
 */
static size_t utf8_sequence(const unsigned char *p)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t n;

	if (*p < 0x80)
		return 1;
	if (*p >= 0xc2 && *p <= 0xdf)
		n = 2;
	else if (*p >= 0xe0 && *p <= 0xef)
		n = 3;
	else if (*p >= 0xf0 && *p <= 0xf4)
		n = 4;
	else
		return 0;
	if (*p == 0xe0)
		lo = 0xa0;
	else if (*p == 0xed)
		hi = 0x9f;
	else if (*p == 0xf0)
		lo = 0x90;
	else if (*p == 0xf4)
		hi = 0x8f;
	if (p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return n;
}

void json_quote(struct strbuf *sb, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	strbuf_addch(sb, '"');
	while (*p) {
		size_t n = utf8_sequence(p);

		if (n == 0) {
			/*
			 * Revision ids and messages come from files anyone can
			 * write: a byte that is not UTF-8 becomes U+FFFD, so that
			 * every document stays valid UTF-8 (RFC 8259, section 8.1).
			 */
			strbuf_addstr(sb, "\\ufffd");
			p++;
			continue;
		}
		if (n > 1) {
			strbuf_add(sb, p, n);
			p += n;
			continue;
		}
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
		p++;
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

void json_kv_time(struct json_writer *jw, const char *key, int64_t ms)
{
	time_t t = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
	struct tm tm;
	char buf[64];

	json_key(jw, key);
	if (!gmtime_r(&t, &tm) || !strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm)) {
		json_null(jw);
		return;
	}
	json_string(jw, buf);
}

void json_document_begin(struct json_writer *jw, const char *command,
			 const char *version, int64_t now_ms)
{
	struct strbuf format = STRBUF_INIT;

	strbuf_addf(&format, "migsync.%s/%d", command, JSON_FORMAT_VERSION);
	json_object_begin(jw);
	json_kv_string(jw, "format", format.buf);
	json_kv_string(jw, "migsync", version);
	json_kv_time(jw, "generated_at", now_ms);
	strbuf_release(&format);
}
