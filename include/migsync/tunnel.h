#ifndef MIGSYNC_TUNNEL_H
#define MIGSYNC_TUNNEL_H

/*
 * SSH tunnels (libssh2) for probes and, later, executors.
 *
 * tunnel_open() connects to the SSH server, checks its host key strictly
 * against a known_hosts file (an unknown host or a changed key stops the
 * connection before any authentication is attempted), authenticates with a
 * key file or the agent, opens a direct-tcpip channel to the database and
 * puts a listener on 127.0.0.1 with an ephemeral port in front of it. A
 * forwarding thread relays bytes until tunnel_free(). libpq then connects
 * with hostaddr=127.0.0.1 port=tunnel_local_port(), keeping host= as the
 * real name so that sslmode=verify-full still checks it.
 *
 * Every step is bounded by a timeout. conn_global_init() must have run.
 */

#include <stdint.h>

#include "migsync/error.h"

#define TUNNEL_DEFAULT_PORT 22
#define TUNNEL_DEFAULT_TIMEOUT_S 10

/* Borrowed strings; they must outlive tunnel_open(). */
struct tunnel_config {
	const char *host;		/* SSH server, as written in known_hosts */
	int port;			/* 0: 22 */
	const char *user;
	const char *identity_file;	/* private key; NULL: the agent ($SSH_AUTH_SOCK) */
	const char *passphrase_env;	/* name of the variable holding the key's passphrase, or NULL */
	const char *known_hosts;	/* required: there is no trust on first use */
	int connect_timeout_s;		/* bound of each step; 0: 10 */
};

struct tunnel;

/*
 * Open a tunnel to remote_host:remote_port as seen from the SSH server,
 * within timeout_ms overall (each step is also bounded by the config's
 * connect_timeout_s). *out is set on success and owned by the caller.
 * Returns 0, MS_ERR_IO when the SSH server or the database behind it could
 * not be reached in time, MS_ERR_CONFIG when the connection was refused for
 * trust reasons (host key, known_hosts, authentication). Messages name the
 * SSH host (and the known_hosts file) but never a passphrase; a hint says
 * what to do next.
 */
int tunnel_open(struct tunnel **out, const struct tunnel_config *cfg,
		const char *remote_host, int remote_port, int timeout_ms,
		struct ms_error *err);

/* The local port libpq should connect to. */
int tunnel_local_port(const struct tunnel *t);

/*
 * Only the SSH session, checked and authenticated exactly as for a tunnel
 * (same errors), without forwarding: for running commands on the SSH
 * host (the Alembic executor with ssh.run). The session is blocking with
 * the step timeout set; the caller may change both. Release with
 * tunnel_free().
 */
int tunnel_session_open(struct tunnel **out, const struct tunnel_config *cfg,
			int timeout_ms, struct ms_error *err);

/* The libssh2 session and its TCP socket (for polling) of such a tunnel. */
struct _LIBSSH2_SESSION;
struct _LIBSSH2_SESSION *tunnel_session(struct tunnel *t);
int tunnel_socket(const struct tunnel *t);

/* Stop forwarding, close the channel, session and sockets. NULL is a no-op. */
void tunnel_free(struct tunnel *t);

#endif
