/*
 * From an environment to libpq connection parameters, and the redacted
 * forms of both that are safe to show.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libpq-fe.h>

#include "migsync/inventory.h"
#include "migsync/strbuf.h"

/* Overwrite a string that may hold a secret before freeing it. */
static void free_wiped(char *s)
{
	if (s) {
		volatile char *v = s;

		while (*v)
			*v++ = '\0';
		free(s);
	}
}

void inventory_conninfo_set(struct inventory_conninfo *ci, const char *keyword,
			    const char *value)
{
	for (size_t i = 0; i < ci->nr; i++) {
		if (!strcmp(ci->keywords[i], keyword)) {
			free_wiped(ci->values[i]);
			ci->values[i] = xstrdup(value);
			return;
		}
	}
	/* one more slot for the NULL terminator */
	if (ci->nr + 2 > ci->alloc) {
		ci->alloc = ci->alloc < 16 ? 16 : ci->alloc * 2;
		ci->keywords = xrealloc(ci->keywords, ci->alloc * sizeof(*ci->keywords));
		ci->values = xrealloc(ci->values, ci->alloc * sizeof(*ci->values));
	}
	ci->keywords[ci->nr] = xstrdup(keyword);
	ci->values[ci->nr] = xstrdup(value);
	ci->nr++;
	ci->keywords[ci->nr] = NULL;
	ci->values[ci->nr] = NULL;
}

const char *inventory_conninfo_get(const struct inventory_conninfo *ci, const char *keyword)
{
	for (size_t i = 0; i < ci->nr; i++)
		if (!strcmp(ci->keywords[i], keyword))
			return ci->values[i];
	return NULL;
}

void inventory_conninfo_release(struct inventory_conninfo *ci)
{
	for (size_t i = 0; i < ci->nr; i++) {
		free(ci->keywords[i]);
		free_wiped(ci->values[i]);
	}
	free(ci->keywords);
	free(ci->values);
	ci->keywords = NULL;
	ci->values = NULL;
	ci->nr = 0;
	ci->alloc = 0;
}

/*
 * Everything but the password. The URL was checked by inventory_load, so
 * a parse failure here only happens for hand-built environments; the
 * message then never repeats libpq's text, which may quote the URL.
 */
static int build_params(struct inventory_conninfo *out, const struct environment *env,
			const char *dbname, struct ms_error *err)
{
	const struct inventory_database *db = &env->database;
	int ret = 0;

	if (db->url) {
		char *errmsg = NULL;
		PQconninfoOption *opts = PQconninfoParse(db->url, &errmsg);

		if (!opts) {
			PQfreemem(errmsg);
			ret = ms_error_set(err, MS_ERR_CONFIG,
					   "environment \"%s\": database.url is not a valid connection string",
					   env->name);
			goto done;
		}
		for (PQconninfoOption *o = opts; o->keyword; o++)
			if (o->val && *o->val)
				inventory_conninfo_set(out, o->keyword, o->val);
		PQconninfoFree(opts);
	}
	if (db->host)
		inventory_conninfo_set(out, "host", db->host);
	if (db->port) {
		char buf[16];

		snprintf(buf, sizeof(buf), "%d", db->port);
		inventory_conninfo_set(out, "port", buf);
	}
	if (dbname)
		inventory_conninfo_set(out, "dbname", dbname);
	else if (db->dbname)
		inventory_conninfo_set(out, "dbname", db->dbname);
	if (db->user)
		inventory_conninfo_set(out, "user", db->user);
	if (db->service)
		inventory_conninfo_set(out, "service", db->service);
	if (db->sslmode)
		inventory_conninfo_set(out, "sslmode", db->sslmode);
	if (db->connect_timeout > 0) {
		char buf[32];

		snprintf(buf, sizeof(buf), "%lld", (long long)db->connect_timeout);
		inventory_conninfo_set(out, "connect_timeout", buf);
	}
	if (db->application_name)
		inventory_conninfo_set(out, "application_name", db->application_name);
	else
		inventory_conninfo_set(out, "fallback_application_name", "migsync");
	if (db->statement_timeout > 0) {
		const char *old = inventory_conninfo_get(out, "options");
		char *opt = xstrfmt("%s%s-c statement_timeout=%lld",
				    old ? old : "", old ? " " : "",
				    (long long)db->statement_timeout * 1000);

		inventory_conninfo_set(out, "options", opt);
		free(opt);
	}
done:
	return ret;
}

int inventory_conninfo(struct inventory_conninfo *out, const struct environment *env,
		       const char *dbname, struct ms_error *err)
{
	int ret = build_params(out, env, dbname, err);

	if (ret)
		goto done;
	if (env->database.password_env) {
		const char *pw = getenv(env->database.password_env);

		if (!pw) {
			ret = ms_error_set(err, MS_ERR_CONFIG,
					   "environment \"%s\": variable \"%s\" (database.password_env) is not set",
					   env->name, env->database.password_env);
			ms_error_hint(err, "export %s, or remove password_env to use .pgpass or a service file",
				      env->database.password_env);
			goto done;
		}
		inventory_conninfo_set(out, "password", pw);
	}
done:
	if (ret)
		inventory_conninfo_release(out);
	return ret;
}

/* Append the query part of a URL with every password=... value hidden. */
static void redact_query(struct strbuf *sb, const char *q)
{
	while (*q) {
		size_t len = strcspn(q, "&#");

		if (len >= 9 && !strncasecmp(q, "password=", 9))
			strbuf_addstr(sb, "password=***");
		else if (len >= 8 && !strncasecmp(q, "password", 8) && (len == 8 || q[8] == '='))
			strbuf_addstr(sb, "password=***");
		else
			strbuf_add(sb, q, len);
		q += len;
		if (*q)
			strbuf_addch(sb, *q++);
	}
}

static void redact_uri(struct strbuf *sb, const char *url, size_t scheme_len)
{
	const char *rest = url + scheme_len;
	const char *qend = rest + strcspn(rest, "?");
	const char *at = NULL, *colon;

	/* the last "@" before the query: a stray "@" in a password then hides more, not less */
	for (const char *p = rest; p < qend; p++)
		if (*p == '@')
			at = p;
	strbuf_add(sb, url, scheme_len);
	if (at && (colon = memchr(rest, ':', (size_t)(at - rest))) != NULL) {
		strbuf_add(sb, rest, (size_t)(colon - rest) + 1);
		strbuf_addstr(sb, "***");
		strbuf_add(sb, at, (size_t)(qend - at));
	} else {
		strbuf_add(sb, rest, (size_t)(qend - rest));
	}
	if (*qend) {
		strbuf_addch(sb, '?');
		redact_query(sb, qend + 1);
	}
}

static bool contains_password_word(const char *s)
{
	for (; *s; s++)
		if (!strncasecmp(s, "password", 8))
			return true;
	return false;
}

/* "key=value key='quoted value'" with password's value hidden. */
static void redact_keywords(struct strbuf *sb, const char *s)
{
	const char *p = s;

	while (*p) {
		const char *key, *key_end, *val;

		if (isspace((unsigned char)*p)) {
			strbuf_addch(sb, *p++);
			continue;
		}
		key = p;
		while (*p && *p != '=' && !isspace((unsigned char)*p))
			p++;
		key_end = p;
		while (isspace((unsigned char)*p))
			p++;
		if (*p != '=')
			goto malformed;
		p++;
		while (isspace((unsigned char)*p))
			p++;
		val = p;
		if (*p == '\'') {
			p++;
			while (*p && *p != '\'') {
				if (*p == '\\' && p[1])
					p++;
				p++;
			}
			if (*p != '\'')
				goto malformed;
			p++;
		} else {
			while (*p && !isspace((unsigned char)*p)) {
				if (*p == '\\' && p[1])
					p++;
				p++;
			}
		}
		strbuf_add(sb, key, (size_t)(key_end - key));
		strbuf_addch(sb, '=');
		if ((size_t)(key_end - key) == 8 && !strncasecmp(key, "password", 8))
			strbuf_addstr(sb, "***");
		else
			strbuf_add(sb, val, (size_t)(p - val));
		continue;
malformed:
		/* libpq would refuse it anyway; show the rest only if it cannot hide a password */
		if (contains_password_word(key))
			strbuf_addstr(sb, "***");
		else
			strbuf_addstr(sb, key);
		return;
	}
}

char *inventory_redact_url(const char *url)
{
	struct strbuf sb = STRBUF_INIT;

	if (!url)
		return NULL;
	if (!strncasecmp(url, "postgresql://", 13))
		redact_uri(&sb, url, 13);
	else if (!strncasecmp(url, "postgres://", 11))
		redact_uri(&sb, url, 11);
	else
		redact_keywords(&sb, url);
	return strbuf_detach(&sb, NULL);
}

char *inventory_describe_target(const struct environment *env, const char *dbname)
{
	struct inventory_conninfo ci = INVENTORY_CONNINFO_INIT;
	struct strbuf sb = STRBUF_INIT;
	const char *host, *port, *user, *db, *service;

	if (build_params(&ci, env, dbname, NULL) < 0) {
		strbuf_addf(&sb, "%s (unparseable database.url)", env->name);
		goto done;
	}
	host = inventory_conninfo_get(&ci, "host");
	if (!host)
		host = inventory_conninfo_get(&ci, "hostaddr");
	port = inventory_conninfo_get(&ci, "port");
	user = inventory_conninfo_get(&ci, "user");
	db = inventory_conninfo_get(&ci, "dbname");
	service = inventory_conninfo_get(&ci, "service");
	if (user)
		strbuf_addf(&sb, "%s@", user);
	if (host)
		strbuf_addstr(&sb, host);
	else if (service)
		strbuf_addf(&sb, "service=%s", service);
	else
		strbuf_addstr(&sb, "localhost");
	if (port)
		strbuf_addf(&sb, ":%s", port);
	if (db)
		strbuf_addf(&sb, "/%s", db);
done:
	inventory_conninfo_release(&ci);
	return strbuf_detach(&sb, NULL);
}
