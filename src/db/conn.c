/*
 * Opening a connection: the only place in migsync that calls libpq's
 * connect functions. The connection is made without blocking so that one
 * deadline bounds the whole wait, SSH tunnel included (libpq's own
 * connect_timeout applies per host and only to blocking connects).
 */

#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>
#include <libssh2.h>

#include "migsync/conn.h"
#include "migsync/strbuf.h"
#include "migsync/tunnel.h"
#include "migsync/util.h"

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static int global_rc;

static void global_init_once(void)
{
	global_rc = libssh2_init(0);
}

int conn_global_init(struct ms_error *err)
{
	pthread_once(&global_once, global_init_once);
	if (global_rc)
		return ms_error_set(err, MS_ERR_GENERIC,
				    "could not initialize libssh2 (error %d)", global_rc);
	return 0;
}

void conn_global_cleanup(void)
{
	if (!global_rc)
		libssh2_exit();
}

void conn_params_init(struct conn_params *p)
{
	strvec_init(&p->keys);
	strvec_init(&p->values);
}

void conn_free_secret(char *s)
{
	if (s) {
		volatile char *v = s;

		while (*v)
			*v++ = '\0';
		free(s);
	}
}

void conn_params_release(struct conn_params *p)
{
	for (size_t i = 0; i < p->values.nr; i++) {
		conn_free_secret(p->values.items[i]);
		p->values.items[i] = NULL;
	}
	p->values.nr = 0;
	strvec_release(&p->values);
	strvec_release(&p->keys);
	conn_params_init(p);
}

int conn_params_parse(struct conn_params *p, const char *conninfo)
{
	PQconninfoOption *opts;
	char *errmsg = NULL;
	int ret = -1;

	opts = PQconninfoParse(conninfo ? conninfo : "", &errmsg);
	if (!opts)
		goto done;
	for (const PQconninfoOption *o = opts; o->keyword; o++)
		if (o->val && *o->val)
			conn_params_set(p, o->keyword, o->val);
	ret = 0;
done:
	if (opts)
		PQconninfoFree(opts);
	PQfreemem(errmsg);
	return ret;
}

static ssize_t params_find(const struct conn_params *p, const char *key)
{
	for (size_t i = 0; i < p->keys.nr; i++)
		if (!strcmp(p->keys.items[i], key))
			return (ssize_t)i;
	return -1;
}

const char *conn_params_get(const struct conn_params *p, const char *key)
{
	ssize_t i = params_find(p, key);

	return i < 0 ? NULL : p->values.items[i];
}

void conn_params_set(struct conn_params *p, const char *key, const char *value)
{
	ssize_t i = params_find(p, key);

	if (i >= 0) {
		conn_free_secret(p->values.items[i]);
		p->values.items[i] = xstrdup(value);
		return;
	}
	strvec_push(&p->keys, key);
	strvec_push(&p->values, value);
}

void conn_params_unset(struct conn_params *p, const char *key)
{
	ssize_t i = params_find(p, key);
	size_t rest;

	if (i < 0)
		return;
	free(p->keys.items[i]);
	conn_free_secret(p->values.items[i]);
	rest = p->keys.nr - (size_t)i - 1;
	memmove(&p->keys.items[i], &p->keys.items[i + 1], rest * sizeof(char *));
	memmove(&p->values.items[i], &p->values.items[i + 1], rest * sizeof(char *));
	p->keys.nr--;
	p->values.nr--;
	p->keys.items[p->keys.nr] = NULL;
	p->values.items[p->values.nr] = NULL;
}

/*
 * Open the SSH tunnel towards the database host as the SSH server sees
 * it and point params at its local end, keeping host= for certificate
 * checks.
 */
static int open_tunnel(struct tunnel **out, struct conn_params *params,
		       const struct conn_options *o, struct ms_error *err)
{
	struct ms_error terr = MS_ERROR_INIT;
	const char *host = conn_params_get(params, "hostaddr");
	const char *port = conn_params_get(params, "port");
	char *end = NULL;
	long rport;
	char buf[16];
	int left, ret = 0;

	if (!host)
		host = getenv("PGHOSTADDR");
	if (!host)
		host = conn_params_get(params, "host");
	if (!host)
		host = getenv("PGHOST");
	if (!host || !*host)
		host = "localhost";
	if (!port)
		port = getenv("PGPORT");
	if (strchr(host, ',') || (port && strchr(port, ','))) {
		ret = ms_error_set(err, MS_ERR_CONFIG,
				   "ssh tunnel needs a single database host, not a list");
		ms_error_hint(err, "give one host per %s when using ssh", o->per ? o->per : "target");
		goto done;
	}
	if (host[0] == '/' || host[0] == '@') {
		ret = ms_error_set(err, MS_ERR_CONFIG,
				   "ssh tunnel cannot reach a unix-domain socket \"%s\"", host);
		ms_error_hint(err, "set host to the database's name or address as seen from the ssh server");
		goto done;
	}
	rport = port && *port ? strtol(port, &end, 10) : CONN_DEFAULT_PORT;
	if ((end && *end) || rport <= 0 || rport > 65535) {
		ret = ms_error_set(err, MS_ERR_CONFIG, "invalid port \"%s\"", port);
		goto done;
	}
	ret = conn_global_init(err);
	if (ret < 0)
		goto done;
	left = conn_remaining_ms(o->deadline);
	ret = tunnel_open(out, o->ssh, host, (int)rport, left ? left : 1, &terr);
	if (ret < 0) {
		ret = ms_error_set(err, terr.code ? terr.code : MS_ERR_IO, "%s",
				   terr.message ? terr.message : "ssh tunnel failed");
		if (terr.hint)
			ms_error_hint(err, "%s", terr.hint);
		goto done;
	}
	conn_params_set(params, "hostaddr", "127.0.0.1");
	snprintf(buf, sizeof(buf), "%d", tunnel_local_port(*out));
	conn_params_set(params, "port", buf);
done:
	ms_error_release(&terr);
	return ret;
}

/*
 * Whether a failed connection's message says the database does not
 * exist (SQLSTATE 3D000). libpq keeps no SQLSTATE of a failed connect
 * for its callers, so the server's message is read: "database "NAME"
 * does not exist", as PostgreSQL words it in English, for the dbname
 * asked for (the default: the user's name).
 */
static bool says_no_database(PGconn *conn)
{
	const char *msg = PQerrorMessage(conn), *db = PQdb(conn);
	char *want;
	bool ret;

	if (!msg || !db)
		return false;
	want = xstrfmt("database \"%s\" does not exist", db);
	ret = strstr(msg, want) != NULL;
	free(want);
	return ret;
}

/* PQconnectStartParams, then PQconnectPoll until connected or deadline. */
static enum conn_status connect_poll(PGconn **conn, const struct conn_params *params,
				     int64_t deadline)
{
	PostgresPollingStatusType st = PGRES_POLLING_WRITING;
	const char **keys = xcalloc(params->keys.nr + 1, sizeof(*keys));
	const char **values = xcalloc(params->keys.nr + 1, sizeof(*values));
	enum conn_status ret = CONN_OK;
	bool answered = false;

	for (size_t i = 0; i < params->keys.nr; i++) {
		keys[i] = params->keys.items[i];
		values[i] = params->values.items[i];
	}
	*conn = PQconnectStartParams(keys, values, 0);
	if (!*conn || PQstatus(*conn) == CONNECTION_BAD) {
		ret = CONN_INVALID;
		goto done;
	}
	while (st != PGRES_POLLING_OK) {
		ConnStatusType cs;
		int rc;

		if (st == PGRES_POLLING_FAILED) {
			ret = !answered ? CONN_UNREACHABLE :
				says_no_database(*conn) ? CONN_NO_DATABASE : CONN_REFUSED;
			goto done;
		}
		rc = conn_wait_fd(PQsocket(*conn), st == PGRES_POLLING_READING ? POLLIN : POLLOUT,
				  deadline);
		if (rc <= 0) {
			ret = rc == 0 ? CONN_TIMEOUT : CONN_POLL_ERROR;
			goto done;
		}
		st = PQconnectPoll(*conn);
		/* Past these states a server has accepted the connection. */
		cs = PQstatus(*conn);
		if (cs != CONNECTION_STARTED && cs != CONNECTION_NEEDED && cs != CONNECTION_BAD)
			answered = true;
	}
done:
	free(keys);
	free(values);
	return ret;
}

enum conn_status conn_open(struct conn *out, struct conn_params *params,
			   const struct conn_options *o, struct ms_error *err)
{
	out->pg = NULL;
	out->tunnel = NULL;
	if (o->ssh && open_tunnel(&out->tunnel, params, o, err) < 0)
		return CONN_TUNNEL_FAILED;
	return connect_poll(&out->pg, params, o->deadline);
}

void conn_close(struct conn *c)
{
	/* the connection first: its socket goes through the tunnel */
	if (c->pg)
		PQfinish(c->pg);
	tunnel_free(c->tunnel);
	c->pg = NULL;
	c->tunnel = NULL;
}
