#ifndef MIGSYNC_CONN_H
#define MIGSYNC_CONN_H

/*
 * The one way migsync opens a connection to PostgreSQL (src/db/conn.c):
 * libpq parameters, an optional SSH tunnel in front of the server, and a
 * non-blocking connect bounded by one deadline, tunnel included. The
 * probes of status and db_connect() (apply, drift, discovery, ...) both
 * come through here; they differ only in the parameters they set and in
 * how they word a failure.
 *
 * Also the pieces every network step shares: deadlines on the monotonic
 * clock (milliseconds), waiting for a socket within one, and scrubbing
 * secrets from messages.
 */

#include <stdbool.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "migsync/error.h"
#include "migsync/strbuf.h"
#include "migsync/tunnel.h"
#include "migsync/util.h"

#define CONN_APPLICATION_NAME "migsync"
#define CONN_DEFAULT_PORT 5432

/* The deadline timeout_ms from now; timeout_ms <= 0 means "now". */
int64_t conn_deadline(int timeout_ms);
/* Milliseconds left until deadline, clamped to [0, INT_MAX], for poll(). */
int conn_remaining_ms(int64_t deadline);
/* The earlier of two deadlines. */
int64_t conn_deadline_min(int64_t a, int64_t b);
/*
 * Wait until fd is ready for events (POLLIN, POLLOUT) or deadline passes.
 * Returns 1 when ready, 0 on timeout, -1 on error (errno set). EINTR is
 * retried.
 */
int conn_wait_fd(int fd, short events, int64_t deadline);

struct addrinfo;
#define CONN_RESOLVE_TIMED_OUT (-10000)	/* not a getaddrinfo error code */
/*
 * Resolve hosts[0..nr) (with ports[i] as the service; ports or an entry
 * may be NULL) for a TCP connection, all at once and without blocking
 * past deadline: glibc's getaddrinfo_a on its own resolver threads, then
 * gai_suspend until the deadline, then gai_cancel. out[i] receives the
 * addresses (freeaddrinfo) when rc[i] is 0; otherwise rc[i] is the
 * getaddrinfo error (EAI_NONAME: no such name, EAI_AGAIN: the name server
 * failed) or CONN_RESOLVE_TIMED_OUT when there was no answer by the deadline. A
 * lookup that glibc cannot cancel any more is left to finish on its
 * resolver thread (which glibc reuses and retires) and freed by a later
 * call or conn_resolve_cleanup. Returns 0, or -1 when out of memory.
 */
int conn_resolve_many(struct addrinfo **out, int *rc, const char *const *hosts,
		      const char *const *ports, size_t nr, int64_t deadline);
/* rc of conn_resolve_many in words. */
const char *conn_resolve_strerror(int rc);
/* Free the lookups given up earlier that have finished (conn_global_cleanup does it too). */
void conn_resolve_cleanup(void);

/*
 * Process-wide set-up of the libraries connections use (libssh2_init).
 * Idempotent and thread-safe, but call it before starting threads of your
 * own that use tunnels. Returns 0 or MS_ERR_GENERIC.
 */
int conn_global_init(struct ms_error *err);
/* Undo conn_global_init() at exit, once no connection is open. */
void conn_global_cleanup(void);

/* Overwrite s (a password, a conninfo) with zeros, then free it. NULL is a no-op. */
void conn_free_secret(char *s);

/* libpq keyword/value parameters, as PQconnectStartParams takes them. */
struct conn_params {
	struct strvec keys;
	struct strvec values;	/* values[i] belongs to keys[i]; may hold a password */
};

void conn_params_init(struct conn_params *p);
/* Free the contents, wiping the values. */
void conn_params_release(struct conn_params *p);
/*
 * Append the non-empty parameters of conninfo (keyword=value or URI) to
 * p. Returns 0, or -1 when libpq cannot parse it: libpq's message is not
 * kept, as it can quote a piece of the string.
 */
int conn_params_parse(struct conn_params *p, const char *conninfo);
/* The value of key, or NULL. */
const char *conn_params_get(const struct conn_params *p, const char *key);
/* Set key to value, replacing an earlier value. */
void conn_params_set(struct conn_params *p, const char *key, const char *value);
/* Remove key if present. */
void conn_params_unset(struct conn_params *p, const char *key);

enum conn_status {
	CONN_OK,		/* connected, in blocking mode */
	CONN_TUNNEL_FAILED,	/* err set: MS_ERR_CONFIG (bad host or port, host key, authentication) or MS_ERR_IO (unreachable) */
	CONN_INVALID,		/* libpq would not start (bad parameters; pg NULL: out of memory) */
	CONN_REFUSED,		/* a server answered, then it failed (authentication, ...) */
	CONN_NO_DATABASE,	/* a server answered: the database does not exist (3D000) */
	CONN_UNREACHABLE,	/* it failed before any server answered */
	CONN_NO_HOST,		/* err set (MS_ERR_IO): no host name resolved, or none in time */
	CONN_TIMEOUT,		/* deadline passed */
	CONN_POLL_ERROR,	/* poll() failed; errno says why */
};

/* The hint of every message about a database that does not exist (CONN_NO_DATABASE); status.h's STATUS_MISSING_HINT says the same. */
#define DB_MISSING_HINT \
	"create the database (CREATE DATABASE, or createdb), or fix database.dbname in the inventory"

/* An open connection and the tunnel its socket goes through (NULL: none). */
struct conn {
	PGconn *pg;
	struct tunnel *tunnel;
};

#define CONN_INIT { NULL, NULL }

struct conn_options {
	const struct tunnel_config *ssh;	/* NULL: connect directly */
	int64_t deadline;			/* bounds the tunnel and the connection */
	const char *per;			/* the unit hints name: "target", "environment" */
};

/*
 * Connect with params (through a tunnel with o->ssh: params is then
 * pointed at the tunnel's local end, keeping host= so that certificates
 * are checked against the real name), never blocking past o->deadline:
 * PQconnectStartParams, then PQconnectPoll as the socket gets ready
 * (libpq's connect_timeout applies per host and only to blocking
 * connects). out->pg is set whenever libpq started (its PQerrorMessage
 * says why it failed); out belongs to the caller, who closes it with
 * conn_close() in every case. Messages set on err are not prefixed nor
 * scrubbed: the caller names the target and scrubs its secrets.
 */
enum conn_status conn_open(struct conn *out, struct conn_params *params,
			   const struct conn_options *o, struct ms_error *err);

/* Close the connection, then its tunnel; both may be NULL. out is reset. */
void conn_close(struct conn *c);

/*
 * Append msg to out with secrets removed: the values of keywords ending in
 * "password" or "passphrase" (password=..., sslpassword '...',
 * PGPASSWORD=...) become "***", and so does the password of URL userinfo
 * (postgresql://user:***@host). Each string in secrets (may be NULL) of 4
 * or more characters is also replaced wherever it appears.
 */
void conn_redact(struct strbuf *out, const char *msg, const struct strvec *secrets);

/*
 * Append key=value to a libpq keyword/value connection string, quoting
 * value as libpq requires; for callers that build a conninfo from parts.
 */
void conn_conninfo_add(struct strbuf *conninfo, const char *key, const char *value);

#endif
