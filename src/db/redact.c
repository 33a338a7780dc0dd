/*
 * Keeping secrets out of messages. libpq does not echo passwords, but
 * messages migsync builds can contain connection strings, URLs or
 * environment assignments, and a password may also be a database or user
 * name by mistake: every message about a connection goes through here.
 */

#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "migsync/conn.h"
#include "migsync/strbuf.h"

#define REDACTED "***"
#define SECRET_MIN_LEN 4

static bool is_word_char(char c)
{
	return isalnum((unsigned char)c) || c == '_';
}

static bool is_secret_key(const char *key, size_t len)
{
	static const char *const suffixes[] = { "password", "passwd", "passphrase" };

	for (size_t i = 0; i < ARRAY_SIZE(suffixes); i++) {
		size_t sl = strlen(suffixes[i]);

		if (len >= sl && !strncasecmp(key + len - sl, suffixes[i], sl))
			return true;
	}
	return false;
}

/* End of a libpq-style value starting at s: quoted (with \ escapes) or up to white space. */
static const char *value_end(const char *s)
{
	char quote = *s;

	if (quote == '\'' || quote == '"') {
		s++;
		while (*s && *s != quote) {
			if (*s == '\\' && s[1])
				s++;
			s++;
		}
		return *s ? s + 1 : s;
	}
	while (*s && !isspace((unsigned char)*s) && *s != ',' && *s != ';' && *s != ')')
		s++;
	return s;
}

/*
 * If s starts a "scheme://" URL, return the end of its authority and set
 * *colon to the ':' that starts the userinfo password (NULL if none) and
 * *at to the '@' ending the userinfo.
 */
static const char *url_userinfo(const char *s, const char **colon, const char **at)
{
	const char *p = s, *auth, *end;

	*colon = *at = NULL;
	while (isalnum((unsigned char)*p) || *p == '+' || *p == '-' || *p == '.')
		p++;
	if (p == s || strncmp(p, "://", 3))
		return NULL;
	auth = p + 3;
	end = auth;
	while (*end && !strchr("/?#\"' \t\r\n", *end))
		end++;
	for (const char *q = auth; q < end; q++)
		if (*q == '@')
			*at = q;
	if (!*at)
		return end;
	*colon = memchr(auth, ':', (size_t)(*at - auth));
	return end;
}

static void redact_syntax(struct strbuf *out, const char *msg)
{
	const char *p = msg;

	while (*p) {
		const char *w = p, *colon, *at, *end;

		if (!is_word_char(*p) || (p > msg && is_word_char(p[-1]))) {
			strbuf_addch(out, *p++);
			continue;
		}
		end = url_userinfo(p, &colon, &at);
		if (end) {
			if (colon) {
				strbuf_add(out, p, (size_t)(colon + 1 - p));
				strbuf_addstr(out, REDACTED);
				strbuf_add(out, at, (size_t)(end - at));
			} else {
				strbuf_add(out, p, (size_t)(end - p));
			}
			p = end;
			continue;
		}
		while (is_word_char(*p))
			p++;
		strbuf_add(out, w, (size_t)(p - w));
		if (is_secret_key(w, (size_t)(p - w))) {
			const char *q = p;

			while (*q == ' ' || *q == '\t')
				q++;
			if (*q != '=')
				continue;
			q++;
			while (*q == ' ' || *q == '\t')
				q++;
			strbuf_addch(out, '=');
			strbuf_addstr(out, REDACTED);
			p = value_end(q);
		}
	}
}

static void replace_all(struct strbuf *sb, const char *secret)
{
	struct strbuf tmp = STRBUF_INIT;
	size_t len = strlen(secret);
	const char *p = sb->buf, *hit;

	if (len < SECRET_MIN_LEN || !strstr(sb->buf, secret))
		return;
	while ((hit = strstr(p, secret))) {
		strbuf_add(&tmp, p, (size_t)(hit - p));
		strbuf_addstr(&tmp, REDACTED);
		p = hit + len;
	}
	strbuf_addstr(&tmp, p);
	strbuf_reset(sb);
	strbuf_add(sb, tmp.buf, tmp.len);
	strbuf_release(&tmp);
}

void conn_redact(struct strbuf *out, const char *msg, const struct strvec *secrets)
{
	struct strbuf sb = STRBUF_INIT;

	if (!msg)
		return;
	redact_syntax(&sb, msg);
	for (size_t i = 0; secrets && i < secrets->nr; i++)
		replace_all(&sb, secrets->items[i]);
	strbuf_add(out, sb.buf, sb.len);
	strbuf_release(&sb);
}

void conn_conninfo_add(struct strbuf *conninfo, const char *key, const char *value)
{
	if (conninfo->len)
		strbuf_addch(conninfo, ' ');
	strbuf_addstr(conninfo, key);
	strbuf_addstr(conninfo, "='");
	for (const char *p = value; *p; p++) {
		if (*p == '\'' || *p == '\\')
			strbuf_addch(conninfo, '\\');
		strbuf_addch(conninfo, *p);
	}
	strbuf_addch(conninfo, '\'');
}
