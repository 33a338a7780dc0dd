/*
 * PEP 263: a Python source file may declare its encoding in a comment on
 * line 1 or 2 (`# -*- coding: latin-1 -*-`, `# vim: set fileencoding=
 * cp1252 :`). Python decodes the file from it before reading anything, so
 * the reader does the same, with iconv, and then reads UTF-8 as usual.
 * The file's SHA-256 stays that of its bytes. Errors follow Python's:
 * an unknown encoding, one that is not ASCII-compatible, a byte the
 * encoding has no character for, or a declaration other than UTF-8 after
 * a UTF-8 byte order mark.
 */
#include <ctype.h>
#include <errno.h>
#include <iconv.h>
#include <string.h>

#include "migsync/strbuf.h"
#include "scripts_int.h"

/* Longest encoding name kept (Python reads `[-\w.]+`; longer names are unknown). */
#define CODING_NAME_MAX 64

static const char *line_end(const char *p, const char *end)
{
	const char *nl = memchr(p, '\n', (size_t)(end - p));

	return nl ? nl : end;
}

/*
 * Python's cookie pattern on one line: `^[ \t\f]*#.*?coding[:=][ \t]*
 * ([-\w.]+)`. Copies the name into name (lowercased later) and returns
 * true when the line has one.
 */
static bool coding_cookie(char *name, const char *p, const char *end)
{
	const char *q;
	size_t n;

	while (p < end && (*p == ' ' || *p == '\t' || *p == '\f'))
		p++;
	if (p == end || *p != '#')
		return false;
	for (q = p; q + 6 < end; q++) {
		const char *v = q + 6;

		if (memcmp(q, "coding", 6) || (*v != ':' && *v != '='))
			continue;
		for (v++; v < end && (*v == ' ' || *v == '\t'); v++)
			;
		for (n = 0; v < end && n < CODING_NAME_MAX &&
		     (isalnum((unsigned char)*v) || *v == '-' || *v == '_' || *v == '.'); v++)
			name[n++] = *v;
		if (n == 0)
			continue;
		name[n] = '\0';
		return true;
	}
	return false;
}

/* Python's `^[ \t\f]*(?:[#\r\n]|$)`: a line that may precede the cookie line. */
static bool blank_or_comment(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\f'))
		p++;
	return p == end || *p == '#' || *p == '\r';
}

/*
 * The name Python uses (its tokenizer's get_normal_name): lowercase, `_`
 * as `-`, and the UTF-8 and Latin-1 spellings folded into one each.
 */
static void normal_name(char *name)
{
	static const char *const latin1[] = { "latin-1", "iso-8859-1", "iso-latin-1" };

	for (char *c = name; *c; c++)
		*c = *c == '_' ? '-' : (char)tolower((unsigned char)*c);
	if (!strcmp(name, "utf-8") || starts_with(name, "utf-8-")) {
		strcpy(name, "utf-8");
		return;
	}
	for (size_t i = 0; i < ARRAY_SIZE(latin1); i++) {
		size_t n = strlen(latin1[i]);

		if (!strncmp(name, latin1[i], n) && (name[n] == '\0' || name[n] == '-')) {
			strcpy(name, "iso-8859-1");
			return;
		}
	}
}

static unsigned line_of(const char *buf, const char *at)
{
	unsigned line = 1;

	for (const char *p = buf; (p = memchr(p, '\n', (size_t)(at - p))) != NULL; p++)
		line++;
	return line;
}

/*
 * Convert all of in to UTF-8 appended to out. Returns 0, or -1 with *bad
 * at the first byte the encoding cannot read.
 */
static int convert(struct strbuf *out, iconv_t cd, const char *in, size_t len, const char **bad)
{
	char *src = (char *)in;
	size_t left = len;

	while (left) {
		char *dst;
		size_t room, r;

		strbuf_grow(out, left * 2 + 16);
		dst = out->buf + out->len;
		room = out->alloc - out->len - 1;
		r = iconv(cd, &src, &left, &dst, &room);
		strbuf_setlen(out, (size_t)(dst - out->buf));
		if (r == (size_t)-1 && errno != E2BIG) {
			*bad = src;
			return -1;
		}
	}
	return 0;
}

/* Does cd read ASCII as ASCII, as Python needs of a declared encoding? */
static bool ascii_compatible(iconv_t cd)
{
	static const char probe[] = "# coding\n\"\"\"x = 'A9_'\"\"\"\t;";
	struct strbuf sb = STRBUF_INIT;
	const char *bad = NULL;
	bool ok = convert(&sb, cd, probe, sizeof(probe) - 1, &bad) == 0 &&
		  sb.len == sizeof(probe) - 1 && !memcmp(sb.buf, probe, sb.len);

	strbuf_release(&sb);
	return ok;
}

int py_source_utf8(struct strbuf *out, const char **text, size_t *text_len,
		   const char *path, const char *buf, size_t len, struct ms_error *err)
{
	size_t bom = scripts_bom_len(buf, len);
	const char *p = buf + bom, *end = buf + len, *eol = line_end(p, end);
	char name[CODING_NAME_MAX + 1], written[CODING_NAME_MAX + 1];
	iconv_t cd = (iconv_t)-1;
	const char *bad = NULL;
	unsigned line = 1;
	int ret = 0;

	*text = buf;
	*text_len = len;
	if (!coding_cookie(name, p, eol)) {
		if (!blank_or_comment(p, eol) || eol == end ||
		    !coding_cookie(name, eol + 1, line_end(eol + 1, end)))
			goto done;
		line = 2;
	}
	strcpy(written, name);
	normal_name(name);
	if (!strcmp(name, "utf-8") || !strcmp(name, "utf8"))
		goto done;
	if (bom) {
		ret = scripts_error_at(err, MS_ERR_PARSE, path, line,
				       "coding line declares \"%s\" after a UTF-8 byte order mark",
				       written);
		ms_error_hint(err, "Python refuses this file too: remove the byte order mark or the coding line");
		goto done;
	}
	cd = iconv_open("UTF-8", name);
	if (cd == (iconv_t)-1)
		cd = iconv_open("UTF-8", written);
	if (cd == (iconv_t)-1) {
		ret = scripts_error_at(err, MS_ERR_PARSE, path, line,
				       "unknown encoding \"%s\" in the coding line", written);
		ms_error_hint(err, "Python refuses this file too: declare an encoding it knows, such as utf-8, latin-1 or cp1252");
		goto done;
	}
	if (!ascii_compatible(cd)) {
		ret = scripts_error_at(err, MS_ERR_PARSE, path, line,
				       "encoding \"%s\" in the coding line is not ASCII-compatible",
				       written);
		ms_error_hint(err, "Python cannot read source in it; save the file as UTF-8 and remove the coding line");
		goto done;
	}
	strbuf_reset(out);
	iconv(cd, NULL, NULL, NULL, NULL);
	if (convert(out, cd, buf, len, &bad)) {
		ret = scripts_error_at(err, MS_ERR_PARSE, path, line_of(buf, bad),
				       "byte 0x%02x is not valid %s, the encoding the coding line declares",
				       (unsigned char)*bad, written);
		ms_error_hint(err, "Python refuses this file too: fix the byte, or declare the encoding the file is written in");
		goto done;
	}
	*text = out->buf;
	*text_len = out->len;
done:
	if (cd != (iconv_t)-1)
		iconv_close(cd);
	return ret;
}
