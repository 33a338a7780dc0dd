/*
 * Expanding a fleet: run an environment's targets.discover query on its
 * own database and collect the database names it returns.
 *
 * This is one connection, one query, so it is written plainly with
 * libpq's blocking calls: connect_timeout bounds the connection and
 * statement_timeout, set on the session, bounds the query. Messages are
 * scrubbed of every password the connection parameters carry.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "migsync/inventory.h"
#include "migsync/probe.h"
#include "migsync/status.h"
#include "migsync/strbuf.h"
#include "migsync/tunnel.h"

#define DISCOVER_DEFAULT_PORT 5432
#define DISCOVER_STATEMENT_TIMEOUT_MS 30000

/* Set err to "environment "NAME": WHAT: DETAIL", scrubbed of secrets. */
__attribute__((format(printf, 5, 6)))
static int fail(struct ms_error *err, int code, const char *name,
		const struct strvec *secrets, const char *fmt, ...)
{
	struct strbuf raw = STRBUF_INIT, clean = STRBUF_INIT;
	va_list ap;

	strbuf_addf(&raw, "environment \"%s\": ", name);
	va_start(ap, fmt);
	strbuf_vaddf(&raw, fmt, ap);
	va_end(ap);
	strbuf_trim(&raw);
	probe_redact(&clean, raw.buf, secrets);
	ms_error_set(err, code, "%s", clean.buf);
	strbuf_release(&raw);
	strbuf_release(&clean);
	return code;
}

/* libpq's message on one line: its lines joined with "; ", tabs dropped. */
static char *one_line(const char *msg)
{
	struct strbuf sb = STRBUF_INIT;

	for (const char *p = msg ? msg : ""; *p; p++) {
		if (*p == '\n') {
			if (p[1])
				strbuf_addstr(&sb, "; ");
		} else if (*p != '\t') {
			strbuf_addch(&sb, *p);
		}
	}
	strbuf_trim(&sb);
	return strbuf_detach(&sb, NULL);
}

int status_discover(struct strvec *out, const char *name,
		    const struct inventory_conninfo *ci,
		    const struct tunnel_config *ssh, const char *query,
		    struct ms_error *err)
{
	struct inventory_conninfo params = INVENTORY_CONNINFO_INIT;
	struct strvec secrets = STRVEC_INIT;
	struct tunnel *tunnel = NULL;
	PGconn *conn = NULL;
	PGresult *res = NULL;
	char *msg = NULL, *set_timeout = NULL;
	int ret = 0;

	for (size_t i = 0; i < ci->nr; i++) {
		inventory_conninfo_set(&params, ci->keywords[i], ci->values[i]);
		if (strstr(ci->keywords[i], "password"))
			strvec_push(&secrets, ci->values[i]);
	}
	if (getenv("PGPASSWORD"))
		strvec_push(&secrets, getenv("PGPASSWORD"));
	if (!inventory_conninfo_get(&params, "fallback_application_name"))
		inventory_conninfo_set(&params, "fallback_application_name",
				       PROBE_APPLICATION_NAME);

	if (ssh) {
		const char *host = inventory_conninfo_get(&params, "host");
		const char *port = inventory_conninfo_get(&params, "port");
		const char *timeout = inventory_conninfo_get(&params, "connect_timeout");
		int timeout_s = timeout ? atoi(timeout) : 0;
		char local[16];

		if (timeout_s <= 0)
			timeout_s = PROBE_DEFAULT_CONNECT_TIMEOUT_S;
		ret = probe_global_init(err);
		if (ret < 0)
			goto done;
		ret = tunnel_open(&tunnel, ssh, host ? host : "localhost",
				  port ? atoi(port) : DISCOVER_DEFAULT_PORT,
				  timeout_s * 1000, err);
		if (ret < 0) {
			ms_error_prefix(err, "environment \"%s\": discovery", name);
			goto done;
		}
		snprintf(local, sizeof(local), "%d", tunnel_local_port(tunnel));
		inventory_conninfo_set(&params, "hostaddr", "127.0.0.1");
		inventory_conninfo_set(&params, "port", local);
	}

	conn = PQconnectdbParams((const char *const *)params.keywords,
				 (const char *const *)params.values, 0);
	if (!conn || PQstatus(conn) != CONNECTION_OK) {
		msg = one_line(conn ? PQerrorMessage(conn) : "out of memory");
		ret = fail(err, MS_ERR_DB, name, &secrets,
			   "discovery: could not connect: %s", msg);
		goto done;
	}
	set_timeout = xstrfmt("SET statement_timeout = %d", DISCOVER_STATEMENT_TIMEOUT_MS);
	res = PQexec(conn, set_timeout);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		msg = one_line(PQerrorMessage(conn));
		ret = fail(err, MS_ERR_DB, name, &secrets, "discovery: %s", msg);
		goto done;
	}
	PQclear(res);
	res = PQexec(conn, query);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		msg = one_line(PQerrorMessage(conn));
		ret = fail(err, MS_ERR_DB, name, &secrets, "discovery query failed: %s", msg);
		ms_error_hint(err, "targets.discover must be a query returning one database name per row");
		goto done;
	}
	if (PQnfields(res) < 1) {
		ret = fail(err, MS_ERR_CONFIG, name, &secrets,
			   "discovery query returned no column");
		ms_error_hint(err, "targets.discover must be a query returning one database name per row");
		goto done;
	}
	for (int row = 0; row < PQntuples(res); row++) {
		const char *db = PQgetvalue(res, row, 0);

		if (!PQgetisnull(res, row, 0) && *db && !strvec_contains(out, db))
			strvec_push(out, db);
	}
	strvec_sort(out);
done:
	PQclear(res);
	if (conn)
		PQfinish(conn);
	tunnel_free(tunnel);
	inventory_conninfo_release(&params);
	strvec_release(&secrets);
	free(msg);
	free(set_timeout);
	return ret;
}
