/*
 * Database targets: from an inventory environment to the databases it
 * stands for, and from a target to a libpq connection (through an SSH
 * tunnel when the environment has one). Every command that talks to a
 * database goes through here, so that connection parameters, secrets
 * and timeouts are handled in one place.
 *
 * The connection is made without blocking so that connect_timeout bounds
 * the whole wait (libpq's own connect_timeout applies per host and only
 * to blocking connects); the connection handed back is in blocking mode.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "migsync/inventory.h"
#include "migsync/probe.h"
#include "migsync/strbuf.h"
#include "migsync/target.h"
#include "migsync/tunnel.h"

#define DB_DEFAULT_PORT 5432
#define DB_DEFAULT_CONNECT_TIMEOUT_S 10
#define DB_DISCOVER_STATEMENT_TIMEOUT_S 30
#define DB_APPLICATION_NAME "migsync"
#define DB_DISCOVER_HINT "targets.discover must be a query returning one database name per row"

static void free_wiped(char *s)
{
	if (s) {
		volatile char *v = s;

		while (*v)
			*v++ = '\0';
		free(s);
	}
}

void db_target_init(struct db_target *t)
{
	memset(t, 0, sizeof(*t));
	strvec_init(&t->secrets);
}

void db_target_release(struct db_target *t)
{
	if (!t)
		return;
	free(t->dbname);
	free(t->label);
	free(t->describe);
	free_wiped(t->conninfo);
	for (size_t i = 0; i < t->secrets.nr; i++) {
		free_wiped(t->secrets.items[i]);
		t->secrets.items[i] = NULL;
	}
	t->secrets.nr = 0;
	strvec_release(&t->secrets);
	db_target_init(t);
}

void db_targets_free(struct db_target *targets, size_t nr)
{
	for (size_t i = 0; targets && i < nr; i++)
		db_target_release(&targets[i]);
	free(targets);
}

static void add_secret(struct db_target *t, const char *s)
{
	if (s && *s && !strvec_contains(&t->secrets, s))
		strvec_push(&t->secrets, s);
}

static int clamp_int(int64_t v)
{
	return v > INT_MAX ? INT_MAX : v < 0 ? 0 : (int)v;
}

static void ssh_config(struct db_target *t, const struct environment *env)
{
	memset(&t->ssh, 0, sizeof(t->ssh));
	t->has_ssh = env->ssh.enabled;
	if (!env->ssh.enabled)
		return;
	t->ssh.host = env->ssh.host;
	t->ssh.port = env->ssh.port;
	t->ssh.user = env->ssh.user;
	t->ssh.identity_file = env->ssh.agent ? NULL : env->ssh.identity;
	t->ssh.passphrase_env = env->ssh.passphrase_env;
	t->ssh.known_hosts = env->ssh.known_hosts;
	t->ssh.connect_timeout_s = clamp_int(env->ssh.connect_timeout);
}

int db_target_for(struct db_target *out, const struct environment *env,
		  const char *dbname, struct ms_error *err)
{
	struct inventory_conninfo ci = INVENTORY_CONNINFO_INIT;
	struct strbuf conninfo = STRBUF_INIT;
	const char *db;
	int ret;

	db_target_init(out);
	out->env = env;
	ret = inventory_conninfo(&ci, env, dbname, err);
	if (ret < 0)
		goto done;

	for (size_t i = 0; i < ci.nr; i++) {
		if (strstr(ci.keywords[i], "password"))
			add_secret(out, ci.values[i]);
		probe_conninfo_add(&conninfo, ci.keywords[i], ci.values[i]);
	}
	add_secret(out, getenv("PGPASSWORD"));
	if (env->ssh.enabled && env->ssh.passphrase_env)
		add_secret(out, getenv(env->ssh.passphrase_env));

	/* what libpq would pick when nothing names the database */
	db = dbname;
	if (!db)
		db = inventory_conninfo_get(&ci, "dbname");
	if (!db && !inventory_conninfo_get(&ci, "service"))
		db = getenv("PGDATABASE");
	if (!db && !inventory_conninfo_get(&ci, "service"))
		db = inventory_conninfo_get(&ci, "user");
	if (!db && !inventory_conninfo_get(&ci, "service"))
		db = getenv("PGUSER");
	out->dbname = xstrdup(db ? db : "");
	out->member = dbname != NULL;
	out->label = dbname ? xstrfmt("%s/%s", env->name, dbname) : xstrdup(env->name);
	out->describe = inventory_describe_target(env, dbname);
	out->conninfo = strbuf_detach(&conninfo, NULL);
	ssh_config(out, env);
done:
	inventory_conninfo_release(&ci);
	if (conninfo.buf)
		memset(conninfo.buf, 0, conninfo.len);
	strbuf_release(&conninfo);
	return ret;
}

int db_target_error(struct ms_error *err, int code, const struct db_target *t,
		    const char *fmt, ...)
{
	struct strbuf raw = STRBUF_INIT, clean = STRBUF_INIT;
	va_list ap;

	if (t->member)
		strbuf_addf(&raw, "environment \"%s\", database \"%s\": ", t->env->name, t->dbname);
	else
		strbuf_addf(&raw, "environment \"%s\": ", t->env->name);
	va_start(ap, fmt);
	strbuf_vaddf(&raw, fmt, ap);
	va_end(ap);
	strbuf_trim(&raw);
	probe_redact(&clean, raw.buf, &t->secrets);
	ms_error_set(err, code, "%s", clean.buf);
	strbuf_release(&raw);
	strbuf_release(&clean);
	return code;
}

/* Set a hint on err, scrubbed of t's secrets. */
static void target_hint(struct ms_error *err, const struct db_target *t, const char *hint)
{
	struct strbuf clean = STRBUF_INIT;

	if (hint && *hint) {
		probe_redact(&clean, hint, &t->secrets);
		ms_error_hint(err, "%s", clean.buf);
	}
	strbuf_release(&clean);
}

char *db_message_one_line(const char *msg)
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
	/* libpq separates severity and text with two spaces ("FATAL:  ...") */
	for (char *s = strstr(sb.buf, ":  "); s; s = strstr(s, ":  "))
		memmove(s + 1, s + 2, strlen(s + 2) + 1);
	strbuf_setlen(&sb, strlen(sb.buf));
	return strbuf_detach(&sb, NULL);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The connection parameters of t, parsed, with empty values left out. */
static int parse_params(struct inventory_conninfo *out, const struct db_target *t,
			const char *what, struct ms_error *err)
{
	PQconninfoOption *opts;
	char *errmsg = NULL;
	int ret = 0;

	opts = PQconninfoParse(t->conninfo ? t->conninfo : "", &errmsg);
	if (!opts) {
		/* libpq's message may quote the string: never shown */
		ret = db_target_error(err, MS_ERR_CONFIG, t, "%sinvalid connection parameters", what);
		goto done;
	}
	for (const PQconninfoOption *o = opts; o->keyword; o++)
		if (o->val && *o->val)
			inventory_conninfo_set(out, o->keyword, o->val);
done:
	if (opts)
		PQconninfoFree(opts);
	PQfreemem(errmsg);
	return ret;
}

/*
 * Open the tunnel towards the database host as the SSH server sees it
 * and point libpq at its local end, keeping host= for certificate checks.
 */
static int open_tunnel(struct tunnel **tunnel, struct inventory_conninfo *params,
		       const struct db_target *t, const char *what, int64_t deadline,
		       struct ms_error *err)
{
	struct ms_error terr = MS_ERROR_INIT;
	const char *host = inventory_conninfo_get(params, "hostaddr");
	const char *port = inventory_conninfo_get(params, "port");
	char *end = NULL;
	long rport;
	char buf[16];
	int left, ret = 0;

	if (!host)
		host = getenv("PGHOSTADDR");
	if (!host)
		host = inventory_conninfo_get(params, "host");
	if (!host)
		host = getenv("PGHOST");
	if (!host || !*host)
		host = "localhost";
	if (!port)
		port = getenv("PGPORT");
	if (strchr(host, ',') || (port && strchr(port, ','))) {
		ret = db_target_error(err, MS_ERR_CONFIG, t,
				      "%sssh tunnel needs a single database host, not a list", what);
		ms_error_hint(err, "give one host per environment when using ssh");
		goto done;
	}
	if (host[0] == '/' || host[0] == '@') {
		ret = db_target_error(err, MS_ERR_CONFIG, t,
				      "%sssh tunnel cannot reach a unix-domain socket \"%s\"", what, host);
		ms_error_hint(err, "set host to the database's name or address as seen from the ssh server");
		goto done;
	}
	rport = port && *port ? strtol(port, &end, 10) : DB_DEFAULT_PORT;
	if ((end && *end) || rport <= 0 || rport > 65535) {
		ret = db_target_error(err, MS_ERR_CONFIG, t, "%sinvalid port \"%s\"", what, port);
		goto done;
	}
	ret = probe_global_init(err);
	if (ret < 0)
		goto done;
	left = clamp_int(deadline - now_ms());
	ret = tunnel_open(tunnel, &t->ssh, host, (int)rport, left ? left : 1, &terr);
	if (ret < 0) {
		ret = db_target_error(err, terr.code ? terr.code : MS_ERR_IO, t, "%s%s", what,
				      terr.message ? terr.message : "ssh tunnel failed");
		target_hint(err, t, terr.hint);
		goto done;
	}
	inventory_conninfo_set(params, "hostaddr", "127.0.0.1");
	snprintf(buf, sizeof(buf), "%d", tunnel_local_port(*tunnel));
	inventory_conninfo_set(params, "port", buf);
done:
	ms_error_release(&terr);
	return ret;
}

static int connect_failed(struct ms_error *err, int code, const struct db_target *t,
			  const char *what, PGconn *conn)
{
	char *msg = db_message_one_line(conn ? PQerrorMessage(conn) : "out of memory");

	db_target_error(err, code, t, "%scould not connect: %s", what,
			*msg ? msg : "unknown error");
	if (code == MS_ERR_IO)
		ms_error_hint(err, "check that the server is up and reachable from here");
	free(msg);
	return code;
}

/*
 * db_connect with a prefix for messages ("discovery: " or ""). The
 * connection is polled until connect_timeout: a server that never
 * answers cannot hold the caller longer.
 */
static int connect_target(PGconn **out, struct tunnel **tunnel_out, const struct db_target *t,
			  const char *what, struct ms_error *err)
{
	const struct inventory_database *db = &t->env->database;
	int timeout_s = db->connect_timeout > 0 ? clamp_int(db->connect_timeout) :
		DB_DEFAULT_CONNECT_TIMEOUT_S;
	int64_t deadline = now_ms() + (int64_t)timeout_s * 1000;
	struct inventory_conninfo params = INVENTORY_CONNINFO_INIT;
	struct tunnel *tunnel = NULL;
	PGconn *conn = NULL;
	PGresult *res = NULL;
	int ret;

	*out = NULL;
	*tunnel_out = NULL;
	ret = parse_params(&params, t, what, err);
	if (ret < 0)
		goto done;
	if (!db->application_name) {
		inventory_conninfo_set(&params, "application_name", DB_APPLICATION_NAME);
	}
	if (t->has_ssh) {
		ret = open_tunnel(&tunnel, &params, t, what, deadline, err);
		if (ret < 0)
			goto done;
	}

	switch (probe_connect(&conn, (const char *const *)params.keywords,
			      (const char *const *)params.values, deadline)) {
	case PROBE_CONNECTED:
		break;
	case PROBE_CONNECT_INVALID:
	case PROBE_CONNECT_REFUSED:
		ret = connect_failed(err, MS_ERR_DB, t, what, conn);
		goto done;
	case PROBE_CONNECT_UNREACHABLE:
		ret = connect_failed(err, MS_ERR_IO, t, what, conn);
		goto done;
	case PROBE_CONNECT_TIMEOUT:
		ret = db_target_error(err, MS_ERR_IO, t,
				      "%scould not connect: timeout after %d s", what, timeout_s);
		ms_error_hint(err, "check that the server is up and reachable; database.connect_timeout bounds the wait");
		goto done;
	case PROBE_CONNECT_POLL_ERROR:
		ret = db_target_error(err, MS_ERR_IO, t, "%scould not connect: poll failed: %s",
				      what, strerror(errno));
		goto done;
	}

	/* a migration may run long: the inventory's statement_timeout is for probes */
	if (db->statement_timeout > 0) {
		res = PQexec(conn, "SET statement_timeout = 0");
		if (PQresultStatus(res) != PGRES_COMMAND_OK) {
			ret = connect_failed(err, MS_ERR_DB, t, what, conn);
			goto done;
		}
	}
	*out = conn;
	*tunnel_out = tunnel;
	conn = NULL;
	tunnel = NULL;
	ret = 0;
done:
	PQclear(res);
	if (conn)
		PQfinish(conn);
	tunnel_free(tunnel);
	inventory_conninfo_release(&params);
	return ret;
}

/*
 * A migration can run long. If migsync dies meanwhile (SIGKILL, a lost
 * container), the server would otherwise keep running the statement and
 * hold the session's advisory lock until it ends; since PostgreSQL 14 it
 * can notice the closed client socket and cancel. Best effort: a server
 * that refuses the setting just keeps the old behaviour.
 */
#define DB_CLIENT_CHECK_SQL "SET client_connection_check_interval = '1s'"

int db_connect(PGconn **conn, struct tunnel **tunnel, const struct db_target *t,
	       struct ms_error *err)
{
	int ret = connect_target(conn, tunnel, t, "", err);

	if (ret == 0 && PQserverVersion(*conn) >= 140000)
		PQclear(PQexec(*conn, DB_CLIENT_CHECK_SQL));
	return ret;
}

void db_disconnect(PGconn *conn, struct tunnel *tunnel)
{
	/* the connection first: its socket goes through the tunnel */
	if (conn)
		PQfinish(conn);
	tunnel_free(tunnel);
}

/* A failed query's message: the server's primary message, else libpq's. */
static char *result_message(PGconn *conn, const PGresult *res)
{
	const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;

	if (primary)
		return xstrdup(primary);
	return db_message_one_line(PQerrorMessage(conn));
}

/*
 * Run the discovery query on the environment's own database and append
 * what it returns to out, sorted and distinct.
 */
static int discover(struct strvec *out, const struct db_target *t, struct ms_error *err)
{
	const char *what = "discovery: ";
	int64_t timeout_s = t->env->database.statement_timeout > 0 ?
		t->env->database.statement_timeout : DB_DISCOVER_STATEMENT_TIMEOUT_S;
	struct tunnel *tunnel = NULL;
	PGconn *conn = NULL;
	PGresult *res = NULL;
	char *msg = NULL, *set_timeout = NULL;
	int ret;

	ret = connect_target(&conn, &tunnel, t, what, err);
	if (ret < 0)
		goto done;
	set_timeout = xstrfmt("SET statement_timeout = %lld", (long long)timeout_s * 1000);
	res = PQexec(conn, set_timeout);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		msg = result_message(conn, res);
		ret = db_target_error(err, MS_ERR_DB, t, "%s%s", what, msg);
		goto done;
	}
	PQclear(res);
	res = PQexec(conn, t->env->targets.discover);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		msg = result_message(conn, res);
		ret = db_target_error(err, MS_ERR_DB, t, "discovery query failed: %s", msg);
		ms_error_hint(err, DB_DISCOVER_HINT);
		goto done;
	}
	if (PQnfields(res) < 1) {
		ret = db_target_error(err, MS_ERR_CONFIG, t, "discovery query returned no column");
		ms_error_hint(err, DB_DISCOVER_HINT);
		goto done;
	}
	for (int row = 0; row < PQntuples(res); row++) {
		const char *name = PQgetvalue(res, row, 0);

		if (!PQgetisnull(res, row, 0) && *name && !strvec_contains(out, name))
			strvec_push(out, name);
	}
	strvec_sort(out);
done:
	PQclear(res);
	db_disconnect(conn, tunnel);
	free(msg);
	free(set_timeout);
	return ret;
}

int db_targets_expand(struct db_target **out, size_t *nr,
		      const struct environment *env, struct ms_error *err)
{
	struct strvec found = STRVEC_INIT;
	const struct strvec *names = &env->targets.databases;
	struct db_target *targets = NULL;
	size_t count = 0, want;
	int ret = 0;

	*out = NULL;
	*nr = 0;
	if (env->targets.discover) {
		struct db_target own;

		ret = db_target_for(&own, env, NULL, err);
		if (ret == 0)
			ret = discover(&found, &own, err);
		db_target_release(&own);
		if (ret < 0)
			goto done;
		names = &found;
	}
	want = env->targets.discover || names->nr ? names->nr : 1;
	targets = xcalloc(want ? want : 1, sizeof(*targets));
	for (; count < want; count++) {
		ret = db_target_for(&targets[count],  env,
				    env->targets.discover || names->nr ? names->items[count] : NULL,
				    err);
		if (ret < 0) {
			count++;
			goto done;
		}
	}
	*out = targets;
	*nr = count;
	targets = NULL;
done:
	db_targets_free(targets, count);
	strvec_release(&found);
	return ret;
}

int db_identity(char **out, PGconn *conn, const struct db_target *t,
		struct ms_error *err)
{
	static const char oid_sql[] =
		"SELECT d.oid::text,"
		" pg_catalog.has_function_privilege('pg_catalog.pg_control_system()', 'EXECUTE')"
		" FROM pg_catalog.pg_database d WHERE d.datname = pg_catalog.current_database()";
	static const char sysid_sql[] =
		"SELECT system_identifier::text FROM pg_catalog.pg_control_system()";
	struct strbuf sb = STRBUF_INIT;
	PGresult *res = NULL;
	char *msg = NULL;
	int ret = 0;

	*out = NULL;
	res = PQexec(conn, oid_sql);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		msg = result_message(conn, res);
		ret = db_target_error(err, MS_ERR_DB, t, "could not read the database's identity: %s",
				      msg);
		goto done;
	}
	strbuf_addf(&sb, "%s oid=%s", t->describe, PQgetvalue(res, 0, 0));
	if (!strcmp(PQgetvalue(res, 0, 1), "t")) {
		PQclear(res);
		res = PQexec(conn, sysid_sql);
		if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
			strbuf_addf(&sb, " sysid=%s", PQgetvalue(res, 0, 0));
	}
	*out = strbuf_detach(&sb, NULL);
done:
	PQclear(res);
	strbuf_release(&sb);
	free(msg);
	return ret;
}
