/*
 * Loading and validating an inventory directory (see inventory.h for the
 * format). Every problem is collected, with its file, line and column, so
 * that the user can fix them all in one go; nothing is loaded unless the
 * whole inventory is valid.
 *
 * Defaults are merged by applying the defaults' YAML nodes to each
 * environment before the environment's own: they are validated (and
 * reported) once, then re-applied quietly for every environment, so a
 * merged value remembers where it was written.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libpq-fe.h>
#include <yaml.h>

#include "compose.h"
#include "migsync/inventory.h"
#include "migsync/strbuf.h"

#define DEFAULT_CONNECT_TIMEOUT 5
#define DEFAULT_LOCK_WAIT 300
#define DEFAULT_SSH_TIMEOUT 10
#define MAX_FILE_SIZE (1024 * 1024)

struct loader {
	struct diag_list list;	/* problems of this load, sorted and handed over at the end */
	const char *file;	/* file being read, for positions and problems */
	yaml_document_t *doc;	/* document of that file */
	bool quiet;		/* re-applying defaults: problems were reported once */
	size_t errors;
	struct strvec *secrets;	/* the inventory's: values of secret-looking ${VAR} */
};

/* ---- problems ---- */

__attribute__((format(printf, 7, 0)))
static void vproblem_at(struct loader *ld, enum diag_severity sev, const char *code,
			unsigned line, unsigned column, const char *hint,
			const char *fmt, va_list ap)
{
	struct strbuf sb = STRBUF_INIT;
	struct diag *d;

	if (ld->quiet)
		return;
	strbuf_vaddf(&sb, fmt, ap);
	d = diag_add(&ld->list, sev, code, ld->file, line, NULL, hint, "%s", sb.buf);
	d->column = column;
	if (sev == DIAG_ERROR)
		ld->errors++;
	strbuf_release(&sb);
}

__attribute__((format(printf, 6, 7)))
static void problem_at(struct loader *ld, const char *code, unsigned line, unsigned column,
		       const char *hint, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vproblem_at(ld, DIAG_ERROR, code, line, column, hint, fmt, ap);
	va_end(ap);
}

/* A problem at node n (the file's start when n is NULL). */
__attribute__((format(printf, 5, 6)))
static void problem(struct loader *ld, const char *code, const yaml_node_t *n,
		    const char *hint, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vproblem_at(ld, DIAG_ERROR, code,
		    n ? (unsigned)n->start_mark.line + 1 : 1,
		    n ? (unsigned)n->start_mark.column + 1 : 1, hint, fmt, ap);
	va_end(ap);
}

__attribute__((format(printf, 5, 6)))
static void warning(struct loader *ld, const char *code, const yaml_node_t *n,
		    const char *hint, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vproblem_at(ld, DIAG_WARNING, code,
		    n ? (unsigned)n->start_mark.line + 1 : 1,
		    n ? (unsigned)n->start_mark.column + 1 : 1, hint, fmt, ap);
	va_end(ap);
}

static struct inventory_pos pos_of(const struct loader *ld, const yaml_node_t *n)
{
	struct inventory_pos pos = { ld->file, 1, 1 };

	if (n) {
		pos.line = (unsigned)n->start_mark.line + 1;
		pos.column = (unsigned)n->start_mark.column + 1;
	}
	return pos;
}

/* "prefix.key", or key alone; caller frees. */
static char *key_path(const char *prefix, const char *key)
{
	return prefix ? xstrfmt("%s.%s", prefix, key) : xstrdup(key);
}

static const char *node_kind(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_MAPPING_NODE:
		return "a mapping";
	case YAML_SEQUENCE_NODE:
		return "a list";
	default:
		return "a scalar";
	}
}

static const char *scalar(const yaml_node_t *n)
{
	return (const char *)n->data.scalar.value;
}

static bool is_null(const yaml_node_t *n)
{
	const char *s;

	if (!n || n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	s = scalar(n);
	return !*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") || !strcmp(s, "NULL");
}

/* The closest candidate to word, when it is close enough to be a typo. */
static const char *closest(const char *word, const char *const *candidates, size_t nr)
{
	const char *best = NULL;
	unsigned best_d = 0;
	size_t len = strlen(word);
	unsigned limit = len <= 3 ? 1 : len <= 6 ? 2 : 3;

	for (size_t i = 0; i < nr; i++) {
		unsigned d = inventory_levenshtein(word, candidates[i]);

		if (d <= limit && (!best || d < best_d)) {
			best = candidates[i];
			best_d = d;
		}
	}
	return best;
}

/* ---- scalars ---- */

/* The interpolated text of scalar n, or NULL after reporting why not. */
static char *read_string(struct loader *ld, const yaml_node_t *n, const char *prefix,
			 const char *key)
{
	struct ms_error e = MS_ERROR_INIT;
	char *out = NULL, *path = key_path(prefix, key);
	size_t off = 0;

	if (n->type != YAML_SCALAR_NODE) {
		problem(ld, INV_E_TYPE, n, NULL, "\"%s\": expected a string, got %s",
			path, node_kind(n));
		goto done;
	}
	if (inventory_interpolate_secrets(&out, scalar(n), &off, ld->secrets, &e) < 0) {
		unsigned line = (unsigned)n->start_mark.line + 1;
		unsigned col = (unsigned)n->start_mark.column + 1;

		/* exact for the usual one-line scalars */
		if (!memchr(scalar(n), '\n', off))
			col += (unsigned)off +
			       (n->data.scalar.style == YAML_SINGLE_QUOTED_SCALAR_STYLE ||
				n->data.scalar.style == YAML_DOUBLE_QUOTED_SCALAR_STYLE);
		problem_at(ld, INV_E_VARIABLE, line, col, e.hint, "\"%s\": %s", path, e.message);
	}
done:
	ms_error_release(&e);
	free(path);
	return out;
}

static void set_string(char **dst, char *value)
{
	if (value) {
		free(*dst);
		*dst = value;
	}
}

static bool parse_int(const char *s, int64_t min, int64_t max, int64_t *out)
{
	char *end;
	long long v;

	if (!*s || isspace((unsigned char)*s))
		return false;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return false;
	*out = v;
	return true;
}

static bool read_int(struct loader *ld, const yaml_node_t *n, const char *prefix,
		     const char *key, int64_t min, int64_t max, int64_t *out)
{
	char *s = read_string(ld, n, prefix, key);
	bool ok = false;

	if (!s)
		goto done;
	ok = parse_int(s, min, max, out);
	if (!ok) {
		char *path = key_path(prefix, key);

		problem(ld, INV_E_TYPE, n, NULL,
			"\"%s\": expected an integer from %lld to %lld, got \"%s\"",
			path, (long long)min, (long long)max, s);
		free(path);
	}
done:
	free(s);
	return ok;
}

static bool read_bool(struct loader *ld, const yaml_node_t *n, const char *prefix,
		      const char *key, bool *out)
{
	static const char *const yes[] = { "true", "yes", "on" };
	static const char *const no[] = { "false", "no", "off" };
	char *s = read_string(ld, n, prefix, key);
	bool ok = false;

	if (!s)
		goto done;
	for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
		if (!strcasecmp(s, yes[i])) {
			*out = true;
			ok = true;
		} else if (!strcasecmp(s, no[i])) {
			*out = false;
			ok = true;
		}
	}
	if (!ok) {
		char *path = key_path(prefix, key);

		problem(ld, INV_E_TYPE, n, NULL, "\"%s\": expected true or false, got \"%s\"",
			path, s);
		free(path);
	}
done:
	free(s);
	return ok;
}

static bool read_duration(struct loader *ld, const yaml_node_t *n, const char *prefix,
			  const char *key, int64_t *out)
{
	char *s = read_string(ld, n, prefix, key);
	bool ok = false;

	if (!s)
		goto done;
	ok = inventory_parse_duration(s, out) == 0;
	if (!ok) {
		char *path = key_path(prefix, key);

		problem(ld, INV_E_DURATION, n,
			"write a number of seconds, or units d, h, m, s in that order: 30s, 5m, 1h30m, 2d",
			"\"%s\": \"%s\" is not a duration", path, s);
		free(path);
	}
done:
	free(s);
	return ok;
}

/*
 * A list of strings (or, when allow_scalar, a single string) replacing
 * *out. An item listed twice is reported and kept once. When nodes is not
 * NULL it receives each kept item's node (caller frees the array).
 */
static bool read_string_list(struct loader *ld, const yaml_node_t *n, const char *prefix,
			     const char *key, bool allow_scalar, struct strvec *out,
			     yaml_node_t ***nodes)
{
	struct strvec v = STRVEC_INIT;
	yaml_node_t **kept = NULL;
	bool ok = true;

	if (n->type == YAML_SEQUENCE_NODE)
		kept = xcalloc((size_t)(n->data.sequence.items.top - n->data.sequence.items.start) + 1,
			       sizeof(*kept));

	if (n->type == YAML_SCALAR_NODE && allow_scalar) {
		char *s = read_string(ld, n, prefix, key);

		if (s)
			strvec_push_owned(&v, s);
		else
			ok = false;
	} else if (n->type == YAML_SEQUENCE_NODE) {
		for (yaml_node_item_t *i = n->data.sequence.items.start;
		     i < n->data.sequence.items.top; i++) {
			yaml_node_t *item = yaml_document_get_node(ld->doc, *i);
			char *s = read_string(ld, item, prefix, key);

			if (!s) {
				ok = false;
				continue;
			}
			if (strvec_contains(&v, s)) {
				char *path = key_path(prefix, key);

				problem(ld, INV_E_DUPLICATE, item, NULL,
					"\"%s\": \"%s\" is listed twice", path, s);
				free(path);
				free(s);
				continue;
			}
			kept[v.nr] = item;
			strvec_push_owned(&v, s);
		}
	} else {
		char *path = key_path(prefix, key);

		problem(ld, INV_E_TYPE, n, NULL, "\"%s\": expected %s, got %s", path,
			allow_scalar ? "a string or a list of strings" : "a list of strings",
			node_kind(n));
		free(path);
		ok = false;
	}
	if (ok) {
		strvec_release(out);
		*out = v;
	} else {
		strvec_release(&v);
	}
	if (ok && nodes)
		*nodes = kept;
	else
		free(kept);
	return ok;
}

static bool is_env_var_name(const char *s)
{
	if (!isalpha((unsigned char)*s) && *s != '_')
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_')
			return false;
	return true;
}

static char *read_var_name(struct loader *ld, const yaml_node_t *n, const char *prefix,
			   const char *key)
{
	char *s = read_string(ld, n, prefix, key);

	if (s && !is_env_var_name(s)) {
		char *path = key_path(prefix, key);

		problem(ld, INV_E_VALUE, n, "give the name of the variable, not its value",
			"\"%s\": expected an environment variable name", path);
		free(path);
		free(s);
		s = NULL;
	}
	return s;
}

static char *expand_tilde(char *path)
{
	const char *home = getenv("HOME");
	char *out;

	if (!path || strncmp(path, "~/", 2) != 0 || !home || !*home)
		return path;
	out = xstrfmt("%s%s", home, path + 1);
	free(path);
	return out;
}

/*
 * path relative to dir (the inventory directory), ~ expanded, and
 * "environments/../versions" said as "versions" (path_fold_parents)
 */
static char *resolve_path(const char *dir, char *path)
{
	char *joined, *out;

	path = expand_tilde(path);
	if (!path || path[0] == '/')
		return path;
	joined = xstrfmt("%s/%s", dir, path);
	out = path_fold_parents(joined);
	free(joined);
	free(path);
	return out;
}

/* ---- mappings ---- */

/*
 * Check that map is a mapping whose keys are all among keys[], with no
 * key twice, and find each key's value (NULL when absent or null) and
 * key node. Unknown keys get a "did you mean" hint.
 */
static bool walk_mapping(struct loader *ld, const yaml_node_t *map, const char *section,
			 const char *const *keys, size_t nkeys,
			 yaml_node_t **vals, yaml_node_t **knodes)
{
	for (size_t i = 0; i < nkeys; i++) {
		vals[i] = NULL;
		knodes[i] = NULL;
	}
	if (map->type != YAML_MAPPING_NODE) {
		if (section)
			problem(ld, INV_E_TYPE, map, NULL, "\"%s\": expected a mapping, got %s",
				section, node_kind(map));
		else
			problem(ld, INV_E_TYPE, map, NULL, "expected a mapping at the top of the file, got %s",
				node_kind(map));
		return false;
	}
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start;
	     p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(ld->doc, p->key);
		yaml_node_t *v = yaml_document_get_node(ld->doc, p->value);
		const char *name;
		size_t i;

		if (k->type != YAML_SCALAR_NODE) {
			problem(ld, INV_E_TYPE, k, NULL, "\"%s\": keys must be strings, got %s",
				section ? section : "top level", node_kind(k));
			continue;
		}
		name = scalar(k);
		for (i = 0; i < nkeys; i++)
			if (!strcmp(name, keys[i]))
				break;
		if (i == nkeys) {
			char *path = key_path(section, name);
			const char *near = closest(name, keys, nkeys);
			char *hint = NULL;

			if (!strcasecmp(name, "password") || !strcasecmp(name, "passphrase"))
				hint = xstrfmt("secrets never go into the inventory: name a variable with %s_env, or use .pgpass or a service file",
					       name);
			else if (near)
				hint = xstrfmt("did you mean \"%s\"?", near);
			problem(ld, INV_E_UNKNOWN, k, hint, "\"%s\": unknown key", path);
			free(hint);
			free(path);
			continue;
		}
		if (knodes[i]) {
			char *path = key_path(section, name);
			char *hint = xstrfmt("the first one is at line %u",
					     (unsigned)knodes[i]->start_mark.line + 1);

			problem(ld, INV_E_DUPLICATE, k, hint, "\"%s\": duplicate key", path);
			free(hint);
			free(path);
			continue;
		}
		knodes[i] = k;
		vals[i] = is_null(v) ? NULL : v;
	}
	return true;
}

/* ---- database ---- */

enum {
	DB_URL, DB_HOST, DB_PORT, DB_DBNAME, DB_USER, DB_SERVICE, DB_PASSWORD_ENV,
	DB_SSLMODE, DB_APPLICATION_NAME, DB_CONNECT_TIMEOUT, DB_STATEMENT_TIMEOUT,
	DB_LOCK_WAIT, DB_VERSION_TABLE, DB_VERSION_TABLE_SCHEMA, DB_NKEYS
};

static const char *const db_keys[DB_NKEYS] = {
	"url", "host", "port", "dbname", "user", "service", "password_env",
	"sslmode", "application_name", "connect_timeout", "statement_timeout",
	"lock_wait", "version_table", "version_table_schema",
};

static const char *const sslmodes[] = {
	"disable", "allow", "prefer", "require", "verify-ca", "verify-full",
};

static void check_url(struct loader *ld, const yaml_node_t *n, const char *path, const char *url)
{
	char *errmsg = NULL, *redacted = inventory_redact_url(url);
	PQconninfoOption *opts = PQconninfoParse(url, &errmsg);
	bool has_password = strcmp(redacted, url) != 0;

	if (!opts) {
		char *msg = errmsg ? xstrdup(errmsg) : xstrdup("invalid connection string");
		size_t len = strlen(msg);

		while (len && (msg[len - 1] == '\n' || msg[len - 1] == ' '))
			msg[--len] = '\0';
		/* libpq's message may quote the string; it then must not carry a password */
		if (has_password)
			problem(ld, INV_E_URL, n,
				"write postgresql://user@host:port/dbname, or host, port, dbname and user keys",
				"\"%s\": libpq cannot parse the connection string", path);
		else
			problem(ld, INV_E_URL, n,
				"write postgresql://user@host:port/dbname, or host, port, dbname and user keys",
				"\"%s\": libpq cannot parse the connection string: %s", path, msg);
		free(msg);
	} else {
		/* libpq checks ports only when connecting; a typo is better caught now */
		for (PQconninfoOption *o = opts; o->keyword; o++) {
			if (!strcmp(o->keyword, "port") && o->val &&
			    (!*o->val || strspn(o->val, "0123456789,") != strlen(o->val)))
				problem(ld, INV_E_URL, n, "a port is a number from 1 to 65535",
					"\"%s\": invalid port \"%s\"", path, o->val);
		}
		PQconninfoFree(opts);
	}
	/* written into the file itself, not brought in by ${VAR} */
	if (has_password && !strstr(scalar(n), "${"))
		warning(ld, INV_W_SECRET, n,
			"put the password in a variable named by password_env, .pgpass or a service file",
			"\"%s\": the connection string carries a password", path);
	PQfreemem(errmsg);
	free(redacted);
}

static void parse_database(struct loader *ld, const yaml_node_t *map, const yaml_node_t *key,
			   const char *section, struct inventory_database *db)
{
	yaml_node_t *v[DB_NKEYS], *k[DB_NKEYS];
	int64_t num;

	if (!walk_mapping(ld, map, section, db_keys, DB_NKEYS, v, k))
		return;
	db->pos = pos_of(ld, key);
	if (v[DB_URL]) {
		char *url = read_string(ld, v[DB_URL], section, "url");

		if (url) {
			char *path = key_path(section, "url");

			check_url(ld, v[DB_URL], path, url);
			free(path);
			set_string(&db->url, url);
			db->url_pos = pos_of(ld, v[DB_URL]);
		}
	}
	if (v[DB_HOST])
		set_string(&db->host, read_string(ld, v[DB_HOST], section, "host"));
	if (v[DB_PORT] && read_int(ld, v[DB_PORT], section, "port", 1, 65535, &num))
		db->port = (int)num;
	if (v[DB_DBNAME])
		set_string(&db->dbname, read_string(ld, v[DB_DBNAME], section, "dbname"));
	if (v[DB_USER])
		set_string(&db->user, read_string(ld, v[DB_USER], section, "user"));
	if (v[DB_SERVICE])
		set_string(&db->service, read_string(ld, v[DB_SERVICE], section, "service"));
	if (v[DB_PASSWORD_ENV])
		set_string(&db->password_env,
			   read_var_name(ld, v[DB_PASSWORD_ENV], section, "password_env"));
	if (v[DB_SSLMODE]) {
		char *s = read_string(ld, v[DB_SSLMODE], section, "sslmode");
		size_t i;

		for (i = 0; s && i < ARRAY_SIZE(sslmodes); i++)
			if (!strcmp(s, sslmodes[i]))
				break;
		if (s && i == ARRAY_SIZE(sslmodes)) {
			const char *near = closest(s, sslmodes, ARRAY_SIZE(sslmodes));
			char *hint = near ? xstrfmt("did you mean \"%s\"?", near) :
				xstrdup("use disable, allow, prefer, require, verify-ca or verify-full");
			char *path = key_path(section, "sslmode");

			problem(ld, INV_E_VALUE, v[DB_SSLMODE], hint,
				"\"%s\": unknown mode \"%s\"", path, s);
			free(path);
			free(hint);
			free(s);
			s = NULL;
		}
		set_string(&db->sslmode, s);
	}
	if (v[DB_APPLICATION_NAME])
		set_string(&db->application_name,
			   read_string(ld, v[DB_APPLICATION_NAME], section, "application_name"));
	if (v[DB_CONNECT_TIMEOUT])
		read_duration(ld, v[DB_CONNECT_TIMEOUT], section, "connect_timeout", &db->connect_timeout);
	if (v[DB_STATEMENT_TIMEOUT])
		read_duration(ld, v[DB_STATEMENT_TIMEOUT], section, "statement_timeout",
			      &db->statement_timeout);
	if (v[DB_LOCK_WAIT])
		read_duration(ld, v[DB_LOCK_WAIT], section, "lock_wait", &db->lock_wait);
	if (v[DB_VERSION_TABLE])
		set_string(&db->version_table,
			   read_string(ld, v[DB_VERSION_TABLE], section, "version_table"));
	if (v[DB_VERSION_TABLE_SCHEMA])
		set_string(&db->version_table_schema,
			   read_string(ld, v[DB_VERSION_TABLE_SCHEMA], section, "version_table_schema"));
}

/* ---- ssh ---- */

enum {
	SSH_HOST, SSH_PORT, SSH_USER, SSH_IDENTITY, SSH_AGENT, SSH_PASSPHRASE_ENV,
	SSH_KNOWN_HOSTS, SSH_CONNECT_TIMEOUT, SSH_RUN, SSH_WORKDIR, SSH_NKEYS
};

static const char *const ssh_keys[SSH_NKEYS] = {
	"host", "port", "user", "identity", "agent", "passphrase_env",
	"known_hosts", "connect_timeout", "run", "workdir",
};

static void parse_ssh(struct loader *ld, const yaml_node_t *map, const yaml_node_t *key,
		      const char *section, struct inventory_ssh *ssh)
{
	yaml_node_t *v[SSH_NKEYS], *k[SSH_NKEYS];
	int64_t num;

	if (!walk_mapping(ld, map, section, ssh_keys, SSH_NKEYS, v, k))
		return;
	ssh->pos = pos_of(ld, key);
	if (v[SSH_HOST])
		set_string(&ssh->host, read_string(ld, v[SSH_HOST], section, "host"));
	if (v[SSH_PORT] && read_int(ld, v[SSH_PORT], section, "port", 1, 65535, &num))
		ssh->port = (int)num;
	if (v[SSH_USER])
		set_string(&ssh->user, read_string(ld, v[SSH_USER], section, "user"));
	if (v[SSH_IDENTITY])
		set_string(&ssh->identity,
			   expand_tilde(read_string(ld, v[SSH_IDENTITY], section, "identity")));
	if (v[SSH_AGENT])
		read_bool(ld, v[SSH_AGENT], section, "agent", &ssh->agent);
	if (v[SSH_PASSPHRASE_ENV])
		set_string(&ssh->passphrase_env,
			   read_var_name(ld, v[SSH_PASSPHRASE_ENV], section, "passphrase_env"));
	if (v[SSH_KNOWN_HOSTS])
		set_string(&ssh->known_hosts,
			   expand_tilde(read_string(ld, v[SSH_KNOWN_HOSTS], section, "known_hosts")));
	if (v[SSH_CONNECT_TIMEOUT])
		read_duration(ld, v[SSH_CONNECT_TIMEOUT], section, "connect_timeout",
			      &ssh->connect_timeout);
	if (v[SSH_RUN])
		read_bool(ld, v[SSH_RUN], section, "run", &ssh->run);
	if (v[SSH_WORKDIR])
		set_string(&ssh->workdir, read_string(ld, v[SSH_WORKDIR], section, "workdir"));
}

/* ---- gate ---- */

enum { GATE_APPROVALS, GATE_APPROVERS, GATE_SOAK, GATE_RISKY_APPROVALS, GATE_NKEYS };

static const char *const gate_keys[GATE_NKEYS] = {
	"approvals", "approvers", "soak", "risky_approvals",
};

static void parse_gate(struct loader *ld, const yaml_node_t *map, const yaml_node_t *key,
		       const char *section, struct inventory_gate *gate)
{
	yaml_node_t *v[GATE_NKEYS], *k[GATE_NKEYS];
	int64_t num;

	if (!walk_mapping(ld, map, section, gate_keys, GATE_NKEYS, v, k))
		return;
	gate->pos = pos_of(ld, key);
	if (v[GATE_APPROVALS] &&
	    read_int(ld, v[GATE_APPROVALS], section, "approvals", 0, 1000, &num))
		gate->approvals = (int)num;
	if (v[GATE_APPROVERS])
		read_string_list(ld, v[GATE_APPROVERS], section, "approvers", false, &gate->approvers, NULL);
	if (v[GATE_SOAK])
		read_duration(ld, v[GATE_SOAK], section, "soak", &gate->soak);
	if (v[GATE_RISKY_APPROVALS] &&
	    read_int(ld, v[GATE_RISKY_APPROVALS], section, "risky_approvals", 0, 1000, &num))
		gate->risky_approvals = (int)num;
}

/* ---- targets ---- */

enum {
	TARGETS_DATABASES, TARGETS_DISCOVER, TARGETS_SCHEMAS, TARGETS_DISCOVER_SCHEMAS,
	TARGETS_NKEYS
};

static const char *const targets_keys[TARGETS_NKEYS] = {
	"databases", "discover", "schemas", "discover_schemas",
};

static void parse_targets(struct loader *ld, const yaml_node_t *map, const yaml_node_t *key,
			  struct inventory_targets *t)
{
	yaml_node_t *v[TARGETS_NKEYS], *k[TARGETS_NKEYS];
	yaml_node_t **items = NULL;

	if (!walk_mapping(ld, map, "targets", targets_keys, TARGETS_NKEYS, v, k))
		return;
	t->pos = pos_of(ld, key);
	if (v[TARGETS_DATABASES])
		read_string_list(ld, v[TARGETS_DATABASES], "targets", "databases", false, &t->databases, NULL);
	if (v[TARGETS_DISCOVER])
		set_string(&t->discover, read_string(ld, v[TARGETS_DISCOVER], "targets", "discover"));
	if (v[TARGETS_SCHEMAS] &&
	    read_string_list(ld, v[TARGETS_SCHEMAS], "targets", "schemas", false, &t->schemas, &items))
		for (size_t i = 0; i < t->schemas.nr; i++)
			if (!*t->schemas.items[i])
				problem(ld, INV_E_VALUE, items[i], "name each tenant schema",
					"\"targets.schemas\": an empty schema name");
	free(items);
	if (v[TARGETS_DISCOVER_SCHEMAS])
		set_string(&t->discover_schemas, read_string(ld, v[TARGETS_DISCOVER_SCHEMAS], "targets",
							      "discover_schemas"));
	if (v[TARGETS_DATABASES] && v[TARGETS_DISCOVER])
		problem(ld, INV_E_VALUE, k[TARGETS_DISCOVER], "keep one of the two",
			"\"targets\": databases and discover exclude each other");
	if (v[TARGETS_SCHEMAS] && v[TARGETS_DISCOVER_SCHEMAS])
		problem(ld, INV_E_VALUE, k[TARGETS_DISCOVER_SCHEMAS], "keep one of the two",
			"\"targets\": schemas and discover_schemas exclude each other");
}

/* ---- fleet ---- */

enum { FLEET_CANARY, FLEET_BATCH, FLEET_PARALLEL, FLEET_MAX_FAILURES, FLEET_NKEYS };

static const char *const fleet_keys[FLEET_NKEYS] = { "canary", "batch", "parallel", "max_failures" };

/* A count (min..1000000) or a percentage ("25%", 1..100). */
static void read_amount(struct loader *ld, const yaml_node_t *n, const char *key, int64_t min,
			struct inventory_amount *out)
{
	char *s = read_string(ld, n, "fleet", key);
	size_t len = s ? strlen(s) : 0;
	int64_t v;

	if (!s)
		return;
	if (len > 1 && s[len - 1] == '%') {
		s[len - 1] = '\0';
		if (parse_int(s, 1, 100, &v)) {
			out->value = v;
			out->percent = true;
		} else {
			problem(ld, INV_E_TYPE, n, "write a count (e.g. 5) or a percentage from 1% to 100%",
				"\"fleet.%s\": \"%s%%\" is not a percentage", key, s);
		}
	} else if (parse_int(s, min, 1000000, &v)) {
		out->value = v;
		out->percent = false;
	} else {
		problem(ld, INV_E_TYPE, n, "write a count (e.g. 5) or a percentage from 1% to 100%",
			"\"fleet.%s\": expected a count from %lld or a percentage, got \"%s\"", key,
			(long long)min, s);
	}
	free(s);
}

static void parse_fleet(struct loader *ld, const yaml_node_t *map, const yaml_node_t *key,
			struct inventory_fleet *f)
{
	yaml_node_t *v[FLEET_NKEYS], *k[FLEET_NKEYS];
	int64_t num;

	if (!walk_mapping(ld, map, "fleet", fleet_keys, FLEET_NKEYS, v, k))
		return;
	f->pos = pos_of(ld, key);
	if (v[FLEET_CANARY])
		read_amount(ld, v[FLEET_CANARY], "canary", 0, &f->canary);
	if (v[FLEET_BATCH])
		read_amount(ld, v[FLEET_BATCH], "batch", 1, &f->batch);
	if (v[FLEET_PARALLEL] && read_int(ld, v[FLEET_PARALLEL], "fleet", "parallel", 1, 256, &num))
		f->parallel = (int)num;
	if (v[FLEET_MAX_FAILURES] &&
	    read_int(ld, v[FLEET_MAX_FAILURES], "fleet", "max_failures", 0, 1000000, &num))
		f->max_failures = (int)num;
}

void inventory_set_shard(struct inventory *inv, const struct inventory_shard *shard)
{
	for (size_t i = 0; i < inv->nr; i++)
		inv->envs[i].shard = *shard;
}

size_t inventory_amount_of(const struct inventory_amount *a, size_t nr)
{
	if (!a->percent)
		return (size_t)a->value;
	return (size_t)(((uint64_t)nr * (uint64_t)a->value + 99) / 100);
}

/* ---- environments ---- */

static void environment_init(struct environment *env)
{
	memset(env, 0, sizeof(*env));
	env->database.connect_timeout = DEFAULT_CONNECT_TIMEOUT;
	env->database.lock_wait = DEFAULT_LOCK_WAIT;
	env->database.version_table = xstrdup("alembic_version");
	env->fleet.batch.value = 1;
	env->fleet.parallel = 1;
	env->ssh.port = 22;
	env->ssh.connect_timeout = DEFAULT_SSH_TIMEOUT;
	env->ssh.known_hosts = expand_tilde(xstrdup("~/.ssh/known_hosts"));
	strvec_init(&env->gate.approvers);
	strvec_init(&env->targets.databases);
	strvec_init(&env->targets.schemas);
}

static void environment_release(struct environment *env)
{
	struct inventory_database *db = &env->database;
	struct inventory_ssh *ssh = &env->ssh;

	free(env->name);
	free(env->file);
	free(env->before_apply);
	free(db->url);
	free(db->host);
	free(db->dbname);
	free(db->user);
	free(db->service);
	free(db->password_env);
	free(db->sslmode);
	free(db->application_name);
	free(db->version_table);
	free(db->version_table_schema);
	free(ssh->host);
	free(ssh->user);
	free(ssh->identity);
	free(ssh->passphrase_env);
	free(ssh->known_hosts);
	free(ssh->workdir);
	strvec_release(&env->gate.approvers);
	strvec_release(&env->targets.databases);
	free(env->targets.discover);
	strvec_release(&env->targets.schemas);
	free(env->targets.discover_schemas);
}

enum { DEF_DATABASE, DEF_SSH, DEF_GATE, DEF_NKEYS };

static const char *const defaults_keys[DEF_NKEYS] = { "database", "ssh", "gate" };

/* The defaults section of inventory.yaml: nodes kept for merging. */
struct defaults {
	yaml_document_t *doc;
	yaml_node_t *v[DEF_NKEYS];
	yaml_node_t *k[DEF_NKEYS];
};

/* Apply the defaults to env; problems are reported on the first call only. */
static void apply_defaults(struct loader *ld, const struct defaults *def, const char *inv_file,
			   struct environment *env, bool report)
{
	const char *file = ld->file;
	yaml_document_t *doc = ld->doc;
	bool quiet = ld->quiet;

	ld->file = inv_file;
	ld->doc = def->doc;
	ld->quiet = !report;
	if (def->v[DEF_DATABASE])
		parse_database(ld, def->v[DEF_DATABASE], def->k[DEF_DATABASE],
			       "defaults.database", &env->database);
	if (def->v[DEF_SSH])
		parse_ssh(ld, def->v[DEF_SSH], def->k[DEF_SSH], "defaults.ssh", &env->ssh);
	if (def->v[DEF_GATE])
		parse_gate(ld, def->v[DEF_GATE], def->k[DEF_GATE], "defaults.gate", &env->gate);
	ld->file = file;
	ld->doc = doc;
	ld->quiet = quiet;
}

enum {
	ENV_NAME, ENV_DATABASE, ENV_SSH, ENV_GATE, ENV_TARGETS, ENV_BEFORE_APPLY, ENV_FLEET,
	ENV_NKEYS
};

static const char *const env_keys[ENV_NKEYS] = {
	"name", "database", "ssh", "gate", "targets", "before_apply", "fleet",
};

/*
 * Environment names go into hints that print a command to run, and into
 * file names and ledger rows: ASCII letters, digits, ".", "_" and "-",
 * starting with a letter or digit, so that no name reads as an option or
 * needs quoting in a shell.
 */
#define ENV_NAME_ALNUM "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
#define ENV_NAME_HINT "use ASCII letters, digits, \".\", \"_\" and \"-\", starting with a letter or digit"

static bool is_env_name(const char *s)
{
	return *s && strchr(ENV_NAME_ALNUM, *s) && !s[strspn(s, ENV_NAME_ALNUM "._-")];
}

/*
 * Read a YAML file into doc. A syntax error is reported as a problem at
 * its position; an unreadable file is an error in err. The file must be a
 * regular file: a FIFO or device would block every command.
 */
static int load_yaml(struct loader *ld, yaml_document_t *doc, bool *loaded,
		     const char *path, struct ms_error *err)
{
	struct strbuf sb = STRBUF_INIT;
	struct compose_error ce;
	int ret = 0;

	*loaded = false;
	if (strbuf_read_file(&sb, path, MAX_FILE_SIZE) < 0) {
		if (errno == EFBIG)
			ret = ms_error_set(err, MS_ERR_IO, "\"%s\": file too large (an inventory file may hold at most %d MiB)",
					   path, MAX_FILE_SIZE / (1024 * 1024));
		else if (errno == EINVAL)
			ret = ms_error_set(err, MS_ERR_IO, "\"%s\": not a regular file (a FIFO, socket or device); inventory files must be regular files",
					   path);
		else
			ret = ms_error_set(err, MS_ERR_IO, "\"%s\": could not read: %s", path, strerror(errno));
		goto done;
	}
	if (compose_document(doc, sb.buf, sb.len, &ce) < 0) {
		problem_at(ld, INV_E_SYNTAX, ce.line, ce.column, NULL, "%s", ce.message);
		free(ce.message);
	} else {
		*loaded = true;
	}
done:
	strbuf_release(&sb);
	return ret;
}

static char *file_stem(const char *filename)
{
	const char *dot = strrchr(filename, '.');

	return xstrndup(filename, dot ? (size_t)(dot - filename) : strlen(filename));
}

/* Read one environment file into env (initialized); problems go to ld. */
static int parse_environment(struct loader *ld, const struct defaults *def, const char *inv_file,
			     const char *path, const char *filename, struct environment *env,
			     struct ms_error *err)
{
	yaml_document_t doc;
	yaml_node_t *root = NULL, *v[ENV_NKEYS], *k[ENV_NKEYS];
	struct inventory_database *db = &env->database;
	bool loaded = false;
	int ret;

	env->file = xstrdup(path);
	env->name = file_stem(filename);
	ld->file = env->file;
	env->pos = pos_of(ld, NULL);
	apply_defaults(ld, def, inv_file, env, false);
	ret = load_yaml(ld, &doc, &loaded, path, err);
	if (ret || !loaded)
		goto done;
	ld->doc = &doc;
	root = yaml_document_get_root_node(&doc);
	if (!root || is_null(root)) {
		problem(ld, INV_E_MISSING, NULL, "an environment file needs at least a database: section",
			"the file is empty");
		goto done;
	}
	if (!walk_mapping(ld, root, NULL, env_keys, ENV_NKEYS, v, k))
		goto done;
	if (v[ENV_NAME]) {
		char *name = read_string(ld, v[ENV_NAME], NULL, "name");

		if (name && !is_env_name(name)) {
			problem(ld, INV_E_VALUE, v[ENV_NAME], ENV_NAME_HINT,
				"\"name\": \"%s\" is not a valid environment name", name);
			free(name);
			name = NULL;
		}
		if (name) {
			set_string(&env->name, name);
			env->pos = pos_of(ld, v[ENV_NAME]);
		}
	} else if (!is_env_name(env->name)) {
		problem(ld, INV_E_VALUE, NULL, ENV_NAME_HINT " (rename the file, or set name:)",
			"\"%s\" is not a valid environment name (from the file name)", env->name);
	}
	if (v[ENV_DATABASE])
		parse_database(ld, v[ENV_DATABASE], k[ENV_DATABASE], "database", db);
	if (v[ENV_SSH])
		parse_ssh(ld, v[ENV_SSH], k[ENV_SSH], "ssh", &env->ssh);
	if (v[ENV_GATE])
		parse_gate(ld, v[ENV_GATE], k[ENV_GATE], "gate", &env->gate);
	if (v[ENV_TARGETS])
		parse_targets(ld, v[ENV_TARGETS], k[ENV_TARGETS], &env->targets);
	if (v[ENV_FLEET])
		parse_fleet(ld, v[ENV_FLEET], k[ENV_FLEET], &env->fleet);
	if (v[ENV_BEFORE_APPLY])
		set_string(&env->before_apply,
			   read_string(ld, v[ENV_BEFORE_APPLY], NULL, "before_apply"));

	/* checks on the merged result */
	if (!db->url && !db->host && !db->service) {
		if (!k[ENV_DATABASE] && !def->v[DEF_DATABASE])
			problem(ld, INV_E_MISSING, root, "add database: { url: postgresql://user@host:port/dbname }",
				"missing required key \"database\"");
		else if (!v[ENV_DATABASE] || v[ENV_DATABASE]->type == YAML_MAPPING_NODE)
			problem(ld, INV_E_MISSING, k[ENV_DATABASE] ? k[ENV_DATABASE] : root,
				"say where the database is with url, host or service",
				"\"database\": missing required key \"url\", \"host\" or \"service\"");
	}
	if (v[ENV_SSH] && v[ENV_SSH]->type == YAML_MAPPING_NODE && !env->ssh.host)
		problem(ld, INV_E_MISSING, k[ENV_SSH], "name the bastion with host, or remove the ssh: section",
			"\"ssh\": missing required key \"host\"");
	if ((env->targets.schemas.nr || env->targets.discover_schemas) && db->version_table_schema)
		problem(ld, INV_E_VALUE, k[ENV_TARGETS], "remove version_table_schema: each tenant's version table is in its own schema",
			"\"targets\": tenant schemas and database.version_table_schema exclude each other");
	env->ssh.enabled = env->ssh.host != NULL;
	if (env->ssh.run && !env->ssh.enabled)
		problem(ld, INV_E_VALUE, k[ENV_SSH] ? k[ENV_SSH] : root, NULL,
			"\"ssh.run\": needs an ssh host");
	if (env->gate.approvers.nr && (size_t)env->gate.approvals > env->gate.approvers.nr) {
		char *hint = xstrfmt("list at least %d approvers, or lower approvals", env->gate.approvals);

		problem(ld, INV_E_VALUE, k[ENV_GATE] ? k[ENV_GATE] : root, hint,
			"\"gate\": %d approvals needed but only %zu approver%s listed",
			env->gate.approvals, env->gate.approvers.nr,
			env->gate.approvers.nr == 1 ? "" : "s");
		free(hint);
	}
done:
	if (loaded)
		yaml_document_delete(&doc);
	ld->doc = NULL;
	return ret;
}

/* ---- inventory.yaml ---- */

enum { INV_PROJECT, INV_MIGRATIONS, INV_ROLLOUT, INV_DEFAULTS, INV_NKEYS };

static const char *const inv_keys[INV_NKEYS] = { "project", "migrations", "rollout", "defaults" };

enum { MIG_SCRIPTS, MIG_EXECUTOR, MIG_ALEMBIC_INI, MIG_ALEMBIC_SECTION, MIG_PYTHON,
       MIG_PASS_ENV, MIG_NKEYS };

static const char *const mig_keys[MIG_NKEYS] = {
	"scripts", "executor", "alembic_ini", "alembic_section", "python", "pass_env",
};

/*
 * migrations.pass_env: names of variables the Alembic child is given
 * besides its allowlist. Only names: the values are read when Alembic
 * runs. A variable not set now is a warning (it may be set where apply
 * runs); the two migsync sets itself cannot be listed.
 */
static void parse_pass_env(struct loader *ld, struct strvec *out, const yaml_node_t *n)
{
	static const char *const own[] = { "DATABASE_URL", "MIGSYNC_ENVIRONMENT" };
	struct strvec names = STRVEC_INIT;
	yaml_node_t **nodes = NULL;

	if (!read_string_list(ld, n, "migrations", "pass_env", false, &names, &nodes))
		return;
	for (size_t i = 0; i < names.nr; i++) {
		const char *name = names.items[i];
		bool reserved = false;

		for (size_t k = 0; k < ARRAY_SIZE(own); k++)
			reserved |= !strcmp(name, own[k]);
		if (!is_env_var_name(name))
			problem(ld, INV_E_VALUE, nodes[i], "give the name of the variable, not its value",
				"\"migrations.pass_env\": \"%s\" is not an environment variable name", name);
		else if (reserved)
			problem(ld, INV_E_VALUE, nodes[i], "remove it: migsync sets it for each environment",
				"\"migrations.pass_env\": %s is set by migsync", name);
		else if (!getenv(name))
			warning(ld, INV_E_VARIABLE, nodes[i], "export it where migsync runs Alembic",
				"\"migrations.pass_env\": %s is not set; Alembic will not get it", name);
		if (is_env_var_name(name) && !reserved)
			strvec_push(out, name);
	}
	strvec_release(&names);
	free(nodes);
}

/*
 * Every key is optional: the scripts and the executor can come from
 * alembic.ini and the revisions (project_open). An unknown executor is
 * only a warning here, so that commands that only read still run; the
 * commands that execute refuse it (project_executor_ready).
 */
static void parse_migrations(struct loader *ld, struct inventory *inv, const yaml_node_t *map)
{
	static const char *const executors[] = { "sql", "alembic" };
	struct inventory_migrations *m = &inv->migrations;
	yaml_node_t *v[MIG_NKEYS], *k[MIG_NKEYS];

	if (!walk_mapping(ld, map, "migrations", mig_keys, MIG_NKEYS, v, k))
		return;
	if (v[MIG_SCRIPTS] &&
	    read_string_list(ld, v[MIG_SCRIPTS], "migrations", "scripts", true, &m->scripts, NULL)) {
		for (size_t i = 0; i < m->scripts.nr; i++)
			m->scripts.items[i] = resolve_path(inv->dir, m->scripts.items[i]);
		m->scripts_pos = pos_of(ld, v[MIG_SCRIPTS]);
	}
	if (v[MIG_EXECUTOR]) {
		char *s = read_string(ld, v[MIG_EXECUTOR], "migrations", "executor");

		if (s && !strcmp(s, "sql")) {
			m->executor = EXECUTOR_SQL;
			m->executor_given = true;
		} else if (s && !strcmp(s, "alembic")) {
			m->executor = EXECUTOR_ALEMBIC;
			m->executor_given = true;
		} else if (s) {
			const char *near = closest(s, executors, ARRAY_SIZE(executors));
			char *hint = near ? xstrfmt("did you mean \"%s\"?", near) : xstrdup("use sql or alembic");

			warning(ld, INV_E_VALUE, v[MIG_EXECUTOR], hint,
				"\"migrations.executor\": unknown executor \"%s\"; commands that "
				"apply migrations refuse to run", s);
			set_string(&m->executor_invalid, xstrdup(s));
			free(hint);
		}
		free(s);
	}
	if (v[MIG_ALEMBIC_INI])
		set_string(&m->alembic_ini,
			   resolve_path(inv->dir, read_string(ld, v[MIG_ALEMBIC_INI], "migrations", "alembic_ini")));
	if (v[MIG_ALEMBIC_SECTION])
		set_string(&m->alembic_section,
			   read_string(ld, v[MIG_ALEMBIC_SECTION], "migrations", "alembic_section"));
	if (v[MIG_PYTHON])
		set_string(&m->python, read_string(ld, v[MIG_PYTHON], "migrations", "python"));
	if (v[MIG_PASS_ENV])
		parse_pass_env(ld, &m->pass_env, v[MIG_PASS_ENV]);
}

/* The environment files of dir, sorted by name. */
static int list_env_files(struct strvec *out, const char *dir, struct ms_error *err)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	if (!d)
		return ms_error_set(err, MS_ERR_IO, "inventory \"%s\": could not open: %s",
				    dir, strerror(errno));
	while ((de = readdir(d)) != NULL) {
		const char *n = de->d_name;

		if (n[0] == '.' || !strcmp(n, "inventory.yaml") || !strcmp(n, "inventory.yml"))
			continue;
		if (ends_with(n, ".yaml") || ends_with(n, ".yml"))
			strvec_push(out, n);
	}
	closedir(d);
	strvec_sort(out);
	return 0;
}

static int cmp_problem(const void *va, const void *vb)
{
	const struct diag *a = va, *b = vb;
	int c = strcmp_null(a->file, b->file);

	if (c)
		return c;
	if (a->line != b->line)
		return a->line < b->line ? -1 : 1;
	if (a->column != b->column)
		return a->column < b->column ? -1 : 1;
	return strcmp(a->message, b->message);
}

static void sort_problems(struct diag_list *list)
{
	if (list->nr > 1)
		qsort(list->items, list->nr, sizeof(*list->items), cmp_problem);
}

/* Append from's problems, in file order, to to (may be NULL); from is emptied. */
static void hand_over(struct diag_list *to, struct diag_list *from)
{
	sort_problems(from);
	for (size_t i = 0; to && i < from->nr; i++) {
		const struct diag *s = &from->items[i];
		struct diag *d = diag_add(to, s->severity, s->code, s->file, s->line, NULL,
					  s->hint, "%s", s->message);

		d->column = s->column;
	}
	diag_list_release(from);
}

void inventory_free(struct inventory *inv)
{
	if (!inv)
		return;
	for (size_t i = 0; i < inv->nr; i++)
		environment_release(&inv->envs[i]);
	free(inv->envs);
	free(inv->dir);
	free(inv->file);
	free(inv->project);
	strvec_release(&inv->migrations.scripts);
	strvec_release(&inv->migrations.pass_env);
	free(inv->migrations.alembic_ini);
	free(inv->migrations.alembic_section);
	free(inv->migrations.executor_invalid);
	free(inv->migrations.python);
	strvec_release(&inv->secrets);
	free(inv);
}

int inventory_load(struct inventory **out, const char *dir,
		   struct diag_list *problems, struct ms_error *err)
{
	struct inventory *inv = xcalloc(1, sizeof(*inv));
	struct loader ld = { DIAG_LIST_INIT, NULL, NULL, false, 0, &inv->secrets };
	struct strvec files = STRVEC_INIT;
	struct strvec rollout = STRVEC_INIT;
	struct environment *found = NULL;
	size_t found_nr = 0;
	yaml_node_t **rollout_nodes = NULL;
	yaml_document_t doc;
	yaml_node_t *root, *v[INV_NKEYS], *k[INV_NKEYS];
	struct defaults def;
	bool loaded = false, root_ok = false;
	int ret = 0;

	*out = NULL;
	memset(&def, 0, sizeof(def));
	memset(v, 0, sizeof(v));
	memset(k, 0, sizeof(k));
	inv->dir = xstrdup(dir);
	inv->file = xstrfmt("%s/inventory.yaml", dir);
	strvec_init(&inv->migrations.scripts);
	strvec_init(&inv->migrations.pass_env);
	ld.file = inv->file;

	ret = list_env_files(&files, dir, err);
	if (ret)
		goto done;
	ret = load_yaml(&ld, &doc, &loaded, inv->file, err);
	if (ret) {
		ms_error_hint(err, "an inventory directory holds inventory.yaml and one file per environment");
		goto done;
	}
	if (loaded) {
		ld.doc = &doc;
		def.doc = &doc;
		root = yaml_document_get_root_node(&doc);
		if (!root || is_null(root))
			problem(&ld, INV_E_MISSING, NULL, "give at least project, migrations and rollout",
				"the file is empty");
		else
			root_ok = walk_mapping(&ld, root, NULL, inv_keys, INV_NKEYS, v, k);
	}
	if (root_ok) {
		if (!v[INV_PROJECT])
			problem(&ld, INV_E_MISSING, root, "add project: NAME", "missing required key \"project\"");
		else
			inv->project = read_string(&ld, v[INV_PROJECT], NULL, "project");
		if (v[INV_MIGRATIONS])
			parse_migrations(&ld, inv, v[INV_MIGRATIONS]);
		if (!v[INV_ROLLOUT]) {
			problem(&ld, INV_E_MISSING, root, "add rollout: [dev, staging, prod], the promotion order",
				"missing required key \"rollout\"");
		} else {
			read_string_list(&ld, v[INV_ROLLOUT], NULL, "rollout", false, &rollout,
					 &rollout_nodes);
			if (rollout_nodes && !rollout.nr)
				problem(&ld, INV_E_VALUE, v[INV_ROLLOUT], "list the environments in promotion order",
					"\"rollout\": empty");
		}
		if (v[INV_DEFAULTS] && walk_mapping(&ld, v[INV_DEFAULTS], "defaults", defaults_keys,
						    DEF_NKEYS, def.v, def.k)) {
			struct environment scratch;

			/* report the defaults' problems once, against inventory.yaml */
			environment_init(&scratch);
			apply_defaults(&ld, &def, inv->file, &scratch, true);
			environment_release(&scratch);
		}
	}

	found = xcalloc(files.nr + 1, sizeof(*found));
	for (size_t i = 0; i < files.nr; i++) {
		struct environment *env = &found[found_nr];
		char *path = xstrfmt("%s/%s", dir, files.items[i]);

		environment_init(env);
		ret = parse_environment(&ld, &def, inv->file, path, files.items[i], env, err);
		free(path);
		found_nr++;
		if (ret)
			goto done;
		for (size_t j = 0; j + 1 < found_nr; j++) {
			if (!strcmp(found[j].name, env->name)) {
				char *hint = xstrfmt("\"%s\" already defines it; give each environment its own name",
						     found[j].file);

				ld.file = env->file;
				problem_at(&ld, INV_E_DUPLICATE, env->pos.line, env->pos.column, hint,
					   "duplicate environment name \"%s\"", env->name);
				free(hint);
				break;
			}
		}
	}

	/* rollout and files must name the same environments */
	if (rollout_nodes) {
		ld.file = inv->file;
		for (size_t i = 0; i < rollout.nr; i++) {
			size_t j;

			for (j = 0; j < found_nr; j++)
				if (!strcmp(found[j].name, rollout.items[i]))
					break;
			if (j == found_nr) {
				char *hint = xstrfmt("create %s/%s.yaml, or remove \"%s\" from rollout",
						     dir, rollout.items[i], rollout.items[i]);

				problem(&ld, INV_E_ROLLOUT, rollout_nodes[i], hint,
					"\"rollout\": environment \"%s\" has no file", rollout.items[i]);
				free(hint);
			}
		}
		for (size_t j = 0; j < found_nr; j++) {
			if (!strvec_contains(&rollout, found[j].name)) {
				ld.file = found[j].file;
				problem_at(&ld, INV_E_ROLLOUT, found[j].pos.line, found[j].pos.column,
					   "add it to rollout in inventory.yaml, or remove the file",
					   "environment \"%s\" is not in rollout", found[j].name);
			}
		}
	}

	if (ld.errors) {
		ret = MS_ERR_CONFIG;
		goto done;
	}
	inv->envs = xcalloc(rollout.nr + 1, sizeof(*inv->envs));
	for (size_t i = 0; i < rollout.nr; i++) {
		for (size_t j = 0; j < found_nr; j++) {
			if (found[j].name && !strcmp(found[j].name, rollout.items[i])) {
				inv->envs[inv->nr] = found[j];
				inv->envs[inv->nr].stage = inv->nr;
				inv->nr++;
				/* moved: forget it here */
				memset(&found[j], 0, sizeof(found[j]));
				break;
			}
		}
	}
	*out = inv;
	inv = NULL;
done:
	if (ld.errors && !ret)
		ret = MS_ERR_CONFIG;
	if (ret == MS_ERR_CONFIG) {
		const struct diag *first = NULL;

		sort_problems(&ld.list);
		for (size_t i = 0; i < ld.list.nr && !first; i++)
			if (ld.list.items[i].severity == DIAG_ERROR)
				first = &ld.list.items[i];
		if (first) {
			ms_error_set(err, MS_ERR_CONFIG, "%s:%u:%u: %s%s", first->file, first->line,
				     first->column, first->message,
				     ld.errors > 1 ? " (and more problems)" : "");
			if (first->hint)
				ms_error_hint(err, "%s", first->hint);
		}
	}
	hand_over(problems, &ld.list);
	for (size_t i = 0; i < found_nr; i++)
		environment_release(&found[i]);
	free(found);
	free(rollout_nodes);
	strvec_release(&rollout);
	strvec_release(&files);
	if (loaded)
		yaml_document_delete(&doc);
	inventory_free(inv);
	return ret;
}

const struct environment *inventory_find(const struct inventory *inv, const char *name)
{
	for (size_t i = 0; i < inv->nr; i++)
		if (!strcmp(inv->envs[i].name, name))
			return &inv->envs[i];
	return NULL;
}

const char *inventory_executor_name(enum inventory_executor executor)
{
	switch (executor) {
	case EXECUTOR_SQL:
		return "sql";
	case EXECUTOR_ALEMBIC:
		return "alembic";
	}
	return "unknown";
}

int inventory_for_url(struct inventory **out, const char *project, const char *env_name,
		      const char *url, struct ms_error *err)
{
	struct inventory *inv;
	struct environment *env;
	char *errmsg = NULL;
	PQconninfoOption *opts = PQconninfoParse(url, &errmsg);

	*out = NULL;
	if (!opts) {
		/* libpq's message may quote the URL, password and all: not shown */
		PQfreemem(errmsg);
		ms_error_set(err, MS_ERR_CONFIG, "the database URL: libpq cannot parse it");
		ms_error_hint(err, "write postgresql://user@host:port/dbname (or key=value pairs)");
		return MS_ERR_CONFIG;
	}
	inv = xcalloc(1, sizeof(*inv));
	inv->dir = xstrdup(".");
	inv->file = xstrdup("--url");
	inv->project = xstrdup(project);
	strvec_init(&inv->migrations.scripts);
	strvec_init(&inv->migrations.pass_env);
	strvec_init(&inv->secrets);
	for (PQconninfoOption *o = opts; o->keyword; o++)
		if (!strcmp(o->keyword, "password") && o->val && *o->val)
			strvec_push(&inv->secrets, o->val);
	PQconninfoFree(opts);
	inv->envs = xcalloc(1, sizeof(*inv->envs));
	inv->nr = 1;
	env = &inv->envs[0];
	environment_init(env);
	env->name = xstrdup(env_name);
	env->file = xstrdup("--url");
	env->database.url = xstrdup(url);
	*out = inv;
	return 0;
}
