/*
 * Opening a connection: the only place in migsync that calls libpq's
 * connect functions. The connection is made without blocking so that one
 * deadline bounds the whole wait, SSH tunnel included (libpq's own
 * connect_timeout applies per host and only to blocking connects).
 */

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
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
	conn_resolve_cleanup();
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

/* At most this many addresses of one name are tried (libpq tries them in order). */
#define RESOLVE_MAX_ADDRS 8

/* Append s to v split at commas (empty pieces kept, as libpq keeps them). */
static void split_list(struct strvec *v, const char *s)
{
	const char *p = s;

	for (;;) {
		const char *comma = strchr(p, ',');

		strvec_push_owned(v, comma ? xstrndup(p, (size_t)(comma - p)) : xstrdup(p));
		if (!comma)
			break;
		p = comma + 1;
	}
}

static char *join_list(const struct strvec *v)
{
	struct strbuf sb = STRBUF_INIT;

	for (size_t i = 0; i < v->nr; i++)
		strbuf_addf(&sb, "%s%s", i ? "," : "", v->items[i]);
	return strbuf_detach(&sb, NULL);
}

/* Whether host is a name to look up: not empty, not a socket directory, not an address. */
static bool is_host_name(const char *host)
{
	unsigned char buf[sizeof(struct in6_addr)];

	return *host && host[0] != '/' && host[0] != '@' &&
		inet_pton(AF_INET, host, buf) != 1 && inet_pton(AF_INET6, host, buf) != 1;
}

/*
 * Resolve the host names libpq would resolve, within the deadline, and
 * hand libpq the addresses (hostaddr=, each name repeated in host= once
 * per address, so that libpq tries them all and still checks
 * certificates and .pgpass against the name): libpq's own lookup is a
 * blocking getaddrinfo that no connect_timeout bounds. Nothing is done
 * when hostaddr (or PGHOSTADDR) is set or there is no name. A name that
 * does not resolve is left out when another host of the list remains;
 * when none remains, err says why (MS_ERR_IO: the caller may wait and
 * try again, a name that does not exist yet is normal for a database
 * starting beside its application).
 */
static int resolve_hosts(struct conn_params *params, int64_t deadline, struct ms_error *err)
{
	const char *host = conn_params_get(params, "host");
	const char *port = conn_params_get(params, "port");
	struct strvec hosts = STRVEC_INIT, ports = STRVEC_INIT, names = STRVEC_INIT;
	struct strvec new_hosts = STRVEC_INIT, new_addrs = STRVEC_INIT, new_ports = STRVEC_INIT;
	struct addrinfo **res = NULL;
	int *rc = NULL, first_rc = 0;
	const char *first_failed = NULL;
	int ret = 0;

	if (conn_params_get(params, "hostaddr") || (getenv("PGHOSTADDR") && *getenv("PGHOSTADDR")))
		goto done;
	if (!host)
		host = getenv("PGHOST");
	if (!port)
		port = getenv("PGPORT");
	if (!host || !*host)
		goto done;
	split_list(&hosts, host);
	if (port && *port)
		split_list(&ports, port);
	if (ports.nr > 1 && ports.nr != hosts.nr)
		goto done;	/* libpq says what is wrong with the lists */
	for (size_t i = 0; i < hosts.nr; i++)
		if (is_host_name(hosts.items[i]) && !strvec_contains(&names, hosts.items[i]))
			strvec_push(&names, hosts.items[i]);
	if (!names.nr)
		goto done;

	res = xcalloc(names.nr, sizeof(*res));
	rc = xcalloc(names.nr, sizeof(*rc));
	if (conn_resolve_many(res, rc, (const char *const *)names.items, NULL, names.nr,
			      deadline) < 0) {
		ret = ms_error_set(err, MS_ERR_GENERIC, "could not resolve host names: out of memory");
		goto done;
	}
	for (size_t i = 0; i < hosts.nr; i++) {
		const char *h = hosts.items[i];
		const char *p = ports.nr > 1 ? ports.items[i] : NULL;
		size_t n = 0, added = 0;

		if (!is_host_name(h)) {
			strvec_push(&new_hosts, h);
			strvec_push(&new_addrs, "");
			strvec_push(&new_ports, p ? p : "");
			continue;
		}
		while (strcmp(names.items[n], h))
			n++;
		if (rc[n]) {
			if (!first_failed) {
				first_failed = h;
				first_rc = rc[n];
			}
			continue;
		}
		for (const struct addrinfo *ai = res[n]; ai && added < RESOLVE_MAX_ADDRS; ai = ai->ai_next) {
			char text[INET6_ADDRSTRLEN];
			const void *addr = ai->ai_family == AF_INET6 ?
				(const void *)&((const struct sockaddr_in6 *)ai->ai_addr)->sin6_addr :
				(const void *)&((const struct sockaddr_in *)ai->ai_addr)->sin_addr;

			if ((ai->ai_family != AF_INET && ai->ai_family != AF_INET6) ||
			    !inet_ntop(ai->ai_family, addr, text, sizeof(text)) ||
			    strvec_contains(&new_addrs, text))
				continue;
			strvec_push(&new_hosts, h);
			strvec_push(&new_addrs, text);
			strvec_push(&new_ports, p ? p : "");
			added++;
		}
	}
	if (!new_hosts.nr) {
		ret = ms_error_set(err, MS_ERR_IO, "could not resolve host name \"%s\": %s",
				   first_failed ? first_failed : host, conn_resolve_strerror(first_rc));
		ms_error_hint(err, first_rc == CONN_RESOLVE_TIMED_OUT ?
			      "check the name servers (resolv.conf) from here; connect_timeout bounds the lookup" :
			      "check the host name (database.host); a name that does not exist yet is waited for by hook --wait");
		goto done;
	}
	{
		char *h = join_list(&new_hosts), *a = join_list(&new_addrs);

		conn_params_set(params, "host", h);
		conn_params_set(params, "hostaddr", a);
		if (ports.nr > 1) {
			char *pl = join_list(&new_ports);

			conn_params_set(params, "port", pl);
			free(pl);
		}
		free(h);
		free(a);
	}
done:
	for (size_t i = 0; res && i < names.nr; i++)
		if (res[i])
			freeaddrinfo(res[i]);
	free(res);
	free(rc);
	strvec_release(&hosts);
	strvec_release(&ports);
	strvec_release(&names);
	strvec_release(&new_hosts);
	strvec_release(&new_addrs);
	strvec_release(&new_ports);
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
	if (!o->ssh && resolve_hosts(params, o->deadline, err) < 0)
		return CONN_NO_HOST;
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
