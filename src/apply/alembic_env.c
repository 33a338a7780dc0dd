/*
 * What the Alembic child is given: DATABASE_URL for its own database,
 * and an environment reduced to what Python and the project need, plus
 * the variables migrations.pass_env names. The inventory's other
 * environments have their passwords in this process's environment
 * (password_env, ${VAR}); none of them reaches env.py unless listed.
 */

#include <stdlib.h>
#include <string.h>

#include "migsync/util.h"
#include "exec_int.h"

extern char **environ;

/* Percent-encode s for a URL part (RFC 3986 unreserved characters stay). */
static void url_encode(struct strbuf *sb, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '.' || c == '_' || c == '~')
			strbuf_addch(sb, c);
		else
			strbuf_addf(sb, "%%%02X", c);
	}
}

static const char *option(const PQconninfoOption *opts, const char *keyword)
{
	for (; opts && opts->keyword; opts++)
		if (!strcmp(opts->keyword, keyword))
			return opts->val && *opts->val ? opts->val : NULL;
	return NULL;
}

/*
 * DATABASE_URL for Alembic (SQLAlchemy with psycopg2): postgresql://
 * USER:PASSWORD@HOST:PORT/DBNAME?hostaddr=..&sslmode=..., every part
 * percent-encoded. Query parameters go through SQLAlchemy to psycopg2 and
 * libpq. A socket directory host goes into the query (?host=/dir).
 */
static char *database_url(const PQconninfoOption *opts)
{
	static const char *const extra[] = {
		"hostaddr", "sslmode", "sslrootcert", "sslcert", "sslkey", "sslcrl",
		"application_name", "options", "connect_timeout", "target_session_attrs",
		"service", "passfile",
	};
	struct strbuf sb = STRBUF_INIT;
	const char *host = option(opts, "host"), *port = option(opts, "port");
	const char *user = option(opts, "user"), *password = option(opts, "password");
	const char *dbname = option(opts, "dbname");
	bool socket_dir = host && host[0] == '/';
	char sep = '?';

	strbuf_addstr(&sb, "postgresql://");
	if (user) {
		url_encode(&sb, user);
		if (password) {
			strbuf_addch(&sb, ':');
			url_encode(&sb, password);
		}
		strbuf_addch(&sb, '@');
	}
	if (host && !socket_dir)
		url_encode(&sb, host);
	if (port && !socket_dir) {
		strbuf_addch(&sb, ':');
		url_encode(&sb, port);
	}
	strbuf_addch(&sb, '/');
	if (dbname)
		url_encode(&sb, dbname);
	if (socket_dir) {
		strbuf_addf(&sb, "%chost=", sep);
		url_encode(&sb, host);
		sep = '&';
		if (port) {
			strbuf_addf(&sb, "%cport=", sep);
			url_encode(&sb, port);
		}
	}
	for (size_t i = 0; i < ARRAY_SIZE(extra); i++) {
		const char *v = option(opts, extra[i]);

		if (!v)
			continue;
		strbuf_addf(&sb, "%c%s=", sep, extra[i]);
		url_encode(&sb, v);
		sep = '&';
	}
	return strbuf_detach(&sb, NULL);
}

int exec_alembic_url(char **out, const struct exec_context *c, bool remote,
		     struct ms_error *err)
{
	PQconninfoOption *opts = NULL;
	char *errmsg = NULL;
	int ret = 0;

	*out = NULL;
	if (!remote && c->conn)
		opts = PQconninfo(c->conn);
	else if (c->target && c->target->conninfo)
		opts = PQconninfoParse(c->target->conninfo, &errmsg);
	if (!opts) {
		/* errmsg may quote the conninfo: never show it */
		ret = ms_error_set(err, MS_ERR_CONFIG, "no connection parameters for DATABASE_URL");
		goto done;
	}
	*out = database_url(opts);
done:
	if (opts) {
		/* wipe the password before freeing */
		for (PQconninfoOption *o = opts; o->keyword; o++)
			if (o->val && !strcmp(o->keyword, "password"))
				memset(o->val, 0, strlen(o->val));
		PQconninfoFree(opts);
	}
	PQfreemem(errmsg);
	return ret;
}

/* Variables Python, locales and TLS need; none of them names a database. */
static bool passed_on(const char *assignment)
{
	static const char *const names[] = {
		"PATH", "HOME", "USER", "LOGNAME", "SHELL", "LANG", "LANGUAGE", "TZ", "TMPDIR",
		"TERM", "VIRTUAL_ENV", "CONDA_PREFIX", "SSL_CERT_FILE", "SSL_CERT_DIR",
	};
	static const char *const prefixes[] = { "LC_", "PYTHON" };
	size_t len = strcspn(assignment, "=");

	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (strlen(names[i]) == len && !strncmp(assignment, names[i], len))
			return true;
	for (size_t i = 0; i < ARRAY_SIZE(prefixes); i++)
		if (starts_with(assignment, prefixes[i]))
			return true;
	return false;
}

/* Is assignment NAME=... for one of names? */
static bool named(const char *assignment, const struct strvec *names)
{
	size_t len = strcspn(assignment, "=");

	for (size_t i = 0; names && i < names->nr; i++)
		if (strlen(names->items[i]) == len && !strncmp(assignment, names->items[i], len))
			return true;
	return false;
}

void exec_alembic_env(struct strvec *env, const struct exec_context *c, const char *url)
{
	const struct environment *e = c->target ? c->target->env : NULL;
	const char *own = e && e->database.password_env ? e->database.password_env : NULL;
	const struct strvec *pass = c->inv ? &c->inv->migrations.pass_env : NULL;
	size_t own_len = own ? strlen(own) : 0;

	for (char **p = environ; *p; p++)
		if (passed_on(*p) || named(*p, pass) ||
		    (own && !strncmp(*p, own, own_len) && (*p)[own_len] == '='))
			strvec_push(env, *p);
	strvec_push_owned(env, xstrfmt("DATABASE_URL=%s", url));
	if (e)
		strvec_push_owned(env, xstrfmt("MIGSYNC_ENVIRONMENT=%s", e->name));
}

void exec_alembic_env_wipe(struct strvec *env)
{
	for (size_t i = 0; i < env->nr; i++)
		memset(env->items[i], 0, strlen(env->items[i]));
	strvec_release(env);
}

void exec_alembic_remote_env(struct strbuf *reads, struct strbuf *in, const struct exec_context *c)
{
	const struct strvec *pass = c->inv ? &c->inv->migrations.pass_env : NULL;

	for (size_t i = 0; pass && i < pass->nr; i++) {
		const char *v = getenv(pass->items[i]);

		if (!v || strchr(v, '\n'))
			continue;
		/* names are [A-Za-z_][A-Za-z0-9_]* (inventory load): safe as shell words */
		strbuf_addf(reads, "IFS= read -r %s && export %s && ", pass->items[i], pass->items[i]);
		strbuf_addf(in, "%s\n", v);
	}
}
