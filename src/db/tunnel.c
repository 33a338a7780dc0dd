/*
 * SSH tunnels with libssh2. Opening is done step by step in the calling
 * thread, each step under a timeout (libssh2's blocking mode with
 * libssh2_session_set_timeout): TCP connect, handshake, host key check
 * against known_hosts (before any authentication), authentication,
 * direct-tcpip channel. Then the session switches to non-blocking mode and
 * a forwarding thread owns it until tunnel_free(): it relays between the
 * local connection libpq makes and the channel.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libssh2.h>
#include <openssl/evp.h>

#include "migsync/conn.h"
#include "migsync/pool.h"
#include "migsync/strbuf.h"
#include "migsync/tunnel.h"
#include "migsync/util.h"

/* libpq may reconnect (e.g. after a failed SSL attempt); allow a few. */
#define TUNNEL_MAX_CONNECTIONS 4
#define TUNNEL_CLOSE_TIMEOUT_MS 2000
#define TUNNEL_POLL_MS 200
#define TUNNEL_BUF 16384

struct tunnel {
	int sock;		/* TCP connection to the SSH server */
	int listen_fd;		/* 127.0.0.1:local_port */
	int local_port;
	int stop[2];		/* written to by tunnel_free() */
	LIBSSH2_SESSION *session;
	LIBSSH2_CHANNEL *channels[TUNNEL_MAX_CONNECTIONS];
	int channels_nr;
	const char *remote_host;	/* borrowed for tunnel_open() only */
	int remote_port;
	int step_timeout_ms;
	pthread_t thread;
	bool thread_started;
};

static int set_nonblocking(int fd, bool on)
{
	int flags = fcntl(fd, F_GETFL);

	if (flags < 0)
		return -1;
	flags = on ? flags | O_NONBLOCK : flags & ~O_NONBLOCK;
	return fcntl(fd, F_SETFL, flags);
}

/* Bound the next blocking libssh2 call by the step timeout and the deadline. */
static void step_timeout(struct tunnel *t, int64_t deadline)
{
	int ms = conn_remaining_ms(conn_deadline_min(deadline, conn_deadline(t->step_timeout_ms)));

	/* 0 would mean "no timeout" to libssh2. */
	libssh2_session_set_timeout(t->session, ms > 0 ? ms : 1);
}

static const char *ssh_error(struct tunnel *t, int *code)
{
	char *msg = NULL;
	int rc = libssh2_session_last_error(t->session, &msg, NULL, 0);

	if (code)
		*code = rc;
	return msg && *msg ? msg : "unknown error";
}

/* Fail a step: timeouts and network errors are MS_ERR_IO, the rest as given. */
static int step_fail(struct tunnel *t, const struct tunnel_config *cfg, int code,
		     const char *what, struct ms_error *err)
{
	int rc = 0;
	const char *msg = ssh_error(t, &rc);

	if (rc == LIBSSH2_ERROR_TIMEOUT)
		return ms_error_set(err, MS_ERR_IO, "ssh server \"%s:%d\": %s: timeout",
				    cfg->host, cfg->port, what);
	if (rc == LIBSSH2_ERROR_SOCKET_RECV || rc == LIBSSH2_ERROR_SOCKET_SEND ||
	    rc == LIBSSH2_ERROR_SOCKET_DISCONNECT || rc == LIBSSH2_ERROR_SOCKET_TIMEOUT)
		code = MS_ERR_IO;
	return ms_error_set(err, code, "ssh server \"%s:%d\": %s: %s", cfg->host, cfg->port,
			    what, msg);
}

static int tcp_connect(struct tunnel *t, const struct tunnel_config *cfg,
		       int64_t deadline, struct ms_error *err)
{
	struct addrinfo *res = NULL;
	char port[16];
	const char *host = cfg->host, *service = port;
	int rc = 0, fd = -1, last_errno = 0, ret = -1;
	bool timed_out = false;

	snprintf(port, sizeof(port), "%d", cfg->port);
	/* bounded by the tunnel's deadline, like the connect: getaddrinfo alone is not */
	if (conn_resolve_many(&res, &rc, &host, &service, 1, deadline) < 0 || rc) {
		ret = ms_error_set(err, MS_ERR_IO, "ssh server \"%s:%d\": could not resolve host name: %s",
				   cfg->host, cfg->port, rc ? conn_resolve_strerror(rc) : "out of memory");
		goto done;
	}
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		int64_t step = conn_deadline_min(deadline, conn_deadline(t->step_timeout_ms));
		int soerr = 0;
		socklen_t len = sizeof(soerr);

		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0 || set_nonblocking(fd, true) < 0) {
			last_errno = errno;
			goto next;
		}
		if (!connect(fd, ai->ai_addr, ai->ai_addrlen))
			break;
		if (errno != EINPROGRESS) {
			last_errno = errno;
			goto next;
		}
		rc = conn_wait_fd(fd, POLLOUT, step);
		if (rc == 0) {
			timed_out = true;
			goto next;
		}
		if (rc < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0) {
			last_errno = errno;
			goto next;
		}
		if (!soerr)
			break;
		last_errno = soerr;
next:
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	if (fd < 0) {
		if (timed_out && !last_errno)
			ret = ms_error_set(err, MS_ERR_IO, "ssh server \"%s:%d\": could not connect: timeout after %d ms",
					   cfg->host, cfg->port, t->step_timeout_ms);
		else
			ret = ms_error_set(err, MS_ERR_IO, "ssh server \"%s:%d\": could not connect: %s",
					   cfg->host, cfg->port, strerror(last_errno));
		ms_error_hint(err, "check the ssh host and port and that sshd is running");
		goto done;
	}
	t->sock = fd;
	ret = 0;
done:
	if (res)
		freeaddrinfo(res);
	return ret;
}

static int knownhost_key_type(int type)
{
	switch (type) {
	case LIBSSH2_HOSTKEY_TYPE_RSA:
		return LIBSSH2_KNOWNHOST_KEY_SSHRSA;
	case LIBSSH2_HOSTKEY_TYPE_DSS:
		return LIBSSH2_KNOWNHOST_KEY_SSHDSS;
	case LIBSSH2_HOSTKEY_TYPE_ECDSA_256:
		return LIBSSH2_KNOWNHOST_KEY_ECDSA_256;
	case LIBSSH2_HOSTKEY_TYPE_ECDSA_384:
		return LIBSSH2_KNOWNHOST_KEY_ECDSA_384;
	case LIBSSH2_HOSTKEY_TYPE_ECDSA_521:
		return LIBSSH2_KNOWNHOST_KEY_ECDSA_521;
	case LIBSSH2_HOSTKEY_TYPE_ED25519:
		return LIBSSH2_KNOWNHOST_KEY_ED25519;
	}
	return LIBSSH2_KNOWNHOST_KEY_UNKNOWN;
}

static const char *key_type_name(int type)
{
	switch (type) {
	case LIBSSH2_HOSTKEY_TYPE_RSA:
		return "RSA";
	case LIBSSH2_HOSTKEY_TYPE_DSS:
		return "DSA";
	case LIBSSH2_HOSTKEY_TYPE_ECDSA_256:
	case LIBSSH2_HOSTKEY_TYPE_ECDSA_384:
	case LIBSSH2_HOSTKEY_TYPE_ECDSA_521:
		return "ECDSA";
	case LIBSSH2_HOSTKEY_TYPE_ED25519:
		return "ED25519";
	}
	return "unknown";
}

/* "SHA256:<base64 without padding>", as ssh-keygen -l prints it. */
static void key_fingerprint(struct strbuf *out, LIBSSH2_SESSION *session)
{
	const unsigned char *hash = (const unsigned char *)
		libssh2_hostkey_hash(session, LIBSSH2_HOSTKEY_HASH_SHA256);
	unsigned char b64[64];
	int n;

	if (!hash) {
		strbuf_addstr(out, "(no fingerprint)");
		return;
	}
	n = EVP_EncodeBlock(b64, hash, 32);
	while (n > 0 && b64[n - 1] == '=')
		n--;
	strbuf_addstr(out, "SHA256:");
	strbuf_add(out, b64, (size_t)n);
}

/*
 * The host key check. It runs right after the key exchange, before the
 * userauth service is even requested, so a refused host never sees a
 * user name or a key.
 */
static int check_host_key(struct tunnel *t, const struct tunnel_config *cfg,
			  struct ms_error *err)
{
	LIBSSH2_KNOWNHOSTS *kh = NULL;
	struct strbuf fp = STRBUF_INIT, entry = STRBUF_INIT;
	const char *key;
	size_t len = 0;
	int type = 0, check, ret = -1;

	if (cfg->port == TUNNEL_DEFAULT_PORT)
		strbuf_addstr(&entry, cfg->host);
	else
		strbuf_addf(&entry, "[%s]:%d", cfg->host, cfg->port);

	key = libssh2_session_hostkey(t->session, &len, &type);
	if (!key) {
		ret = ms_error_set(err, MS_ERR_CONFIG, "ssh server \"%s:%d\": no host key received",
				   cfg->host, cfg->port);
		goto done;
	}
	key_fingerprint(&fp, t->session);

	if (!cfg->known_hosts || !*cfg->known_hosts) {
		ret = ms_error_set(err, MS_ERR_CONFIG,
				   "ssh server \"%s:%d\": no known_hosts file configured; refusing to connect without checking the host key (%s key %s)",
				   cfg->host, cfg->port, key_type_name(type), fp.buf);
		ms_error_hint(err, "set the known_hosts path; after verifying the fingerprint, add the key with: ssh-keyscan -p %d %s >> KNOWN_HOSTS",
			      cfg->port, cfg->host);
		goto done;
	}
	if (access(cfg->known_hosts, R_OK) < 0) {
		ret = ms_error_set(err, MS_ERR_CONFIG,
				   "ssh server \"%s:%d\": could not read known_hosts file \"%s\": %s",
				   cfg->host, cfg->port, cfg->known_hosts, strerror(errno));
		ms_error_hint(err, "after verifying the fingerprint %s, add the key with: ssh-keyscan -p %d %s >> %s",
			      fp.buf, cfg->port, cfg->host, cfg->known_hosts);
		goto done;
	}
	kh = libssh2_knownhost_init(t->session);
	if (!kh || libssh2_knownhost_readfile(kh, cfg->known_hosts, LIBSSH2_KNOWNHOST_FILE_OPENSSH) < 0) {
		ret = ms_error_set(err, MS_ERR_CONFIG,
				   "ssh server \"%s:%d\": could not parse known_hosts file \"%s\": %s",
				   cfg->host, cfg->port, cfg->known_hosts, ssh_error(t, NULL));
		ms_error_hint(err, "libssh2 stops at the first line it cannot read; keep only supported key types in this file");
		goto done;
	}
	check = libssh2_knownhost_checkp(kh, cfg->host, cfg->port, key, len,
					 LIBSSH2_KNOWNHOST_TYPE_PLAIN | LIBSSH2_KNOWNHOST_KEYENC_RAW |
					 knownhost_key_type(type), NULL);
	switch (check) {
	case LIBSSH2_KNOWNHOST_CHECK_MATCH:
		ret = 0;
		break;
	case LIBSSH2_KNOWNHOST_CHECK_MISMATCH:
		ret = ms_error_set(err, MS_ERR_CONFIG,
				   "ssh server \"%s:%d\": host key does not match known_hosts file \"%s\" (server offered %s key %s); refusing to connect",
				   cfg->host, cfg->port, cfg->known_hosts, key_type_name(type), fp.buf);
		ms_error_hint(err, "someone may be intercepting the connection; if the key was changed on purpose, verify the new fingerprint, remove the old entry with ssh-keygen -R '%s' -f %s and add the new one",
			      entry.buf, cfg->known_hosts);
		break;
	case LIBSSH2_KNOWNHOST_CHECK_NOTFOUND:
		ret = ms_error_set(err, MS_ERR_CONFIG,
				   "ssh server \"%s:%d\": host \"%s\" is not in known_hosts file \"%s\" (server offered %s key %s); refusing to connect",
				   cfg->host, cfg->port, entry.buf, cfg->known_hosts, key_type_name(type), fp.buf);
		ms_error_hint(err, "after verifying the fingerprint, add the key with: ssh-keyscan -p %d %s >> %s",
			      cfg->port, cfg->host, cfg->known_hosts);
		break;
	default:
		ret = ms_error_set(err, MS_ERR_CONFIG,
				   "ssh server \"%s:%d\": could not check the host key against \"%s\"",
				   cfg->host, cfg->port, cfg->known_hosts);
		break;
	}
done:
	if (kh)
		libssh2_knownhost_free(kh);
	strbuf_release(&fp);
	strbuf_release(&entry);
	return ret;
}

static int auth_agent(struct tunnel *t, const struct tunnel_config *cfg, const char *user,
		      int64_t deadline, struct ms_error *err)
{
	LIBSSH2_AGENT *agent = libssh2_agent_init(t->session);
	struct libssh2_agent_publickey *id = NULL, *prev = NULL;
	bool connected = false;
	int ret = -1;

	if (!agent || libssh2_agent_connect(agent)) {
		ret = ms_error_set(err, MS_ERR_CONFIG, "ssh server \"%s:%d\": could not connect to the ssh agent",
				   cfg->host, cfg->port);
		ms_error_hint(err, "start ssh-agent and add the key with ssh-add, or configure an identity file");
		goto done;
	}
	connected = true;
	step_timeout(t, deadline);
	if (libssh2_agent_list_identities(agent)) {
		ret = step_fail(t, cfg, MS_ERR_CONFIG, "could not list the agent's keys", err);
		goto done;
	}
	while (libssh2_agent_get_identity(agent, &id, prev) == 0) {
		step_timeout(t, deadline);
		if (!libssh2_agent_userauth(agent, user, id)) {
			ret = 0;
			goto done;
		}
		if (conn_remaining_ms(deadline) == 0)
			break;
		prev = id;
	}
	ret = ms_error_set(err, MS_ERR_CONFIG,
			   "ssh server \"%s:%d\": authentication as \"%s\" with the ssh agent failed: %s",
			   cfg->host, cfg->port, user, ssh_error(t, NULL));
	ms_error_hint(err, "check that one of the agent's keys is in the server's authorized_keys");
done:
	if (agent) {
		if (connected)
			libssh2_agent_disconnect(agent);
		libssh2_agent_free(agent);
	}
	return ret;
}

static int authenticate(struct tunnel *t, const struct tunnel_config *cfg,
			int64_t deadline, struct ms_error *err)
{
	const char *user = cfg->user ? cfg->user : getenv("USER");
	const char *passphrase = NULL;
	int ret = -1;

	if (!user || !*user) {
		ret = ms_error_set(err, MS_ERR_CONFIG, "ssh server \"%s:%d\": no ssh user configured",
				   cfg->host, cfg->port);
		goto done;
	}
	if (!cfg->identity_file) {
		ret = auth_agent(t, cfg, user, deadline, err);
		goto done;
	}
	if (cfg->passphrase_env) {
		passphrase = getenv(cfg->passphrase_env);
		if (!passphrase) {
			ret = ms_error_set(err, MS_ERR_CONFIG,
					   "ssh server \"%s:%d\": environment variable \"%s\" for the key's passphrase is not set",
					   cfg->host, cfg->port, cfg->passphrase_env);
			goto done;
		}
	}
	step_timeout(t, deadline);
	if (libssh2_userauth_publickey_fromfile_ex(t->session, user, (unsigned)strlen(user),
						   NULL, cfg->identity_file, passphrase)) {
		int code = 0;
		const char *msg = ssh_error(t, &code);

		if (code == LIBSSH2_ERROR_TIMEOUT) {
			ret = step_fail(t, cfg, MS_ERR_IO, "authentication", err);
			goto done;
		}
		ret = ms_error_set(err, MS_ERR_CONFIG,
				   "ssh server \"%s:%d\": authentication as \"%s\" with key file \"%s\" failed: %s",
				   cfg->host, cfg->port, user, cfg->identity_file, msg);
		ms_error_hint(err, "check that the key is in the server's authorized_keys%s%s",
			      cfg->passphrase_env ? " and that the passphrase is in $" : "",
			      cfg->passphrase_env ? cfg->passphrase_env : "");
		goto done;
	}
	ret = 0;
done:
	return ret;
}

static int open_listener(struct tunnel *t, struct ms_error *err)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int fd, ret = -1;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto fail;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = 0;
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
	    listen(fd, TUNNEL_MAX_CONNECTIONS) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) < 0 ||
	    set_nonblocking(fd, true) < 0)
		goto fail;
	t->listen_fd = fd;
	t->local_port = ntohs(sin.sin_port);
	fd = -1;
	ret = 0;
	goto done;
fail:
	ret = ms_error_set(err, MS_ERR_IO, "could not open a local listener for the ssh tunnel: %s",
			   strerror(errno));
done:
	if (fd >= 0)
		close(fd);
	return ret;
}

/* Wait for the session's socket in the direction libssh2 is blocked on. */
static int wait_session(struct tunnel *t, int64_t deadline)
{
	int dir = libssh2_session_block_directions(t->session);
	short events = 0;

	if (dir & LIBSSH2_SESSION_BLOCK_INBOUND)
		events |= POLLIN;
	if (dir & LIBSSH2_SESSION_BLOCK_OUTBOUND)
		events |= POLLOUT;
	return conn_wait_fd(t->sock, events ? events : POLLIN, deadline);
}

/* Open another channel from the forwarding thread (non-blocking session). */
static LIBSSH2_CHANNEL *reopen_channel(struct tunnel *t)
{
	int64_t deadline = conn_deadline(t->step_timeout_ms);
	LIBSSH2_CHANNEL *ch;

	while (!(ch = libssh2_channel_direct_tcpip_ex(t->session, t->remote_host, t->remote_port,
						      "127.0.0.1", t->local_port))) {
		if (libssh2_session_last_errno(t->session) != LIBSSH2_ERROR_EAGAIN ||
		    wait_session(t, deadline) <= 0)
			return NULL;
	}
	return ch;
}

/* Send all of buf to fd; fd is blocking. */
static int send_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * The forwarding loop: one local connection at a time, each on its own
 * channel (the first one opened by tunnel_open()). libssh2 may hold data
 * it has already read from the socket, so the channel is read after every
 * wake-up and the poll timeout is short.
 */
static void *tunnel_thread(void *arg)
{
	struct tunnel *t = arg;
	LIBSSH2_CHANNEL *ch = t->channels[0];
	char *up = xmalloc(TUNNEL_BUF), *down = xmalloc(TUNNEL_BUF);
	size_t up_len = 0, up_off = 0;
	int client = -1, accepted = 0;

	pool_block_sigpipe();
	for (;;) {
		struct pollfd pfd[4];
		int n = 0, i_stop, i_listen = -1, i_client = -1, dir;
		ssize_t r;

		pfd[n].fd = t->stop[0];
		pfd[n].events = POLLIN;
		i_stop = n++;
		if (client < 0 && accepted < TUNNEL_MAX_CONNECTIONS) {
			pfd[n].fd = t->listen_fd;
			pfd[n].events = POLLIN;
			i_listen = n++;
		}
		if (client >= 0 && up_len == 0) {
			pfd[n].fd = client;
			pfd[n].events = POLLIN;
			i_client = n++;
		}
		pfd[n].fd = t->sock;
		pfd[n].events = POLLIN;
		dir = libssh2_session_block_directions(t->session);
		if (dir & LIBSSH2_SESSION_BLOCK_OUTBOUND)
			pfd[n].events |= POLLOUT;
		n++;
		for (int i = 0; i < n; i++)
			pfd[i].revents = 0;
		if (poll(pfd, (nfds_t)n, TUNNEL_POLL_MS) < 0 && errno != EINTR)
			break;
		if (pfd[i_stop].revents)
			break;

		if (i_listen >= 0 && (pfd[i_listen].revents & POLLIN)) {
			int fd = accept(t->listen_fd, NULL, NULL);

			if (fd >= 0) {
				accepted++;
				if (!ch && t->channels_nr < TUNNEL_MAX_CONNECTIONS) {
					ch = reopen_channel(t);
					if (ch)
						t->channels[t->channels_nr++] = ch;
				}
				if (ch && set_nonblocking(fd, false) == 0)
					client = fd;
				else
					close(fd);
			}
		}
		if (client < 0)
			continue;

		if (i_client >= 0 && (pfd[i_client].revents & (POLLIN | POLLHUP | POLLERR))) {
			r = recv(client, up, TUNNEL_BUF, MSG_DONTWAIT);
			if (r > 0) {
				up_len = (size_t)r;
				up_off = 0;
			} else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
				goto client_gone;
			}
		}
		while (up_len) {
			r = libssh2_channel_write(ch, up + up_off, up_len);
			if (r == LIBSSH2_ERROR_EAGAIN)
				break;
			if (r < 0)
				goto client_gone;
			up_off += (size_t)r;
			up_len -= (size_t)r;
		}
		for (;;) {
			r = libssh2_channel_read(ch, down, TUNNEL_BUF);
			if (r == LIBSSH2_ERROR_EAGAIN)
				break;
			if (r < 0 || (r > 0 && send_all(client, down, (size_t)r) < 0))
				goto client_gone;
			if (r == 0)
				break;
		}
		if (libssh2_channel_eof(ch))
			goto client_gone;
		continue;
client_gone:
		/* The channel is freed by tunnel_free(); a reconnect gets a new one. */
		libssh2_channel_send_eof(ch);
		close(client);
		client = -1;
		ch = NULL;
		up_len = 0;
	}
	if (client >= 0)
		close(client);
	free(up);
	free(down);
	return NULL;
}

/*
 * The first half of every tunnel: TCP connection, handshake, host key
 * checked against known_hosts, authentication. cfg gets its defaults.
 */
static int session_open(struct tunnel *t, struct tunnel_config *cfg, int64_t deadline,
			struct ms_error *err)
{
	int ret = -1;

	t->sock = t->listen_fd = t->stop[0] = t->stop[1] = -1;
	if (!cfg->port)
		cfg->port = TUNNEL_DEFAULT_PORT;
	t->step_timeout_ms = (cfg->connect_timeout_s > 0 ? cfg->connect_timeout_s :
			      TUNNEL_DEFAULT_TIMEOUT_S) * 1000;
	if (!cfg->host || !*cfg->host) {
		ret = ms_error_set(err, MS_ERR_CONFIG, "ssh tunnel: no ssh host configured");
		goto done;
	}

	ret = tcp_connect(t, cfg, deadline, err);
	if (ret < 0)
		goto done;

	t->session = libssh2_session_init();
	if (!t->session) {
		ret = ms_error_set(err, MS_ERR_GENERIC, "ssh server \"%s:%d\": could not create a session",
				   cfg->host, cfg->port);
		goto done;
	}
	libssh2_session_set_blocking(t->session, 1);
	step_timeout(t, deadline);
	if (libssh2_session_handshake(t->session, t->sock)) {
		ret = step_fail(t, cfg, MS_ERR_IO, "ssh handshake failed", err);
		goto done;
	}

	ret = check_host_key(t, cfg, err);
	if (ret < 0)
		goto done;
	ret = authenticate(t, cfg, deadline, err);
done:
	return ret;
}

int tunnel_session_open(struct tunnel **out, const struct tunnel_config *cfg_in,
			int timeout_ms, struct ms_error *err)
{
	struct tunnel_config cfg = *cfg_in;
	struct tunnel *t = xcalloc(1, sizeof(*t));
	int ret;

	*out = NULL;
	ret = session_open(t, &cfg, conn_deadline(timeout_ms), err);
	if (!ret) {
		*out = t;
		t = NULL;
	}
	tunnel_free(t);
	return ret;
}

struct _LIBSSH2_SESSION *tunnel_session(struct tunnel *t)
{
	return t->session;
}

int tunnel_socket(const struct tunnel *t)
{
	return t->sock;
}

int tunnel_open(struct tunnel **out, const struct tunnel_config *cfg_in,
		const char *remote_host, int remote_port, int timeout_ms,
		struct ms_error *err)
{
	struct tunnel_config cfg = *cfg_in;
	int64_t deadline = conn_deadline(timeout_ms);
	struct tunnel *t = xcalloc(1, sizeof(*t));
	LIBSSH2_CHANNEL *ch;
	int ret = -1;

	*out = NULL;
	t->remote_host = remote_host;
	t->remote_port = remote_port;
	ret = session_open(t, &cfg, deadline, err);
	if (ret < 0)
		goto done;

	ret = open_listener(t, err);
	if (ret < 0)
		goto done;
	step_timeout(t, deadline);
	ch = libssh2_channel_direct_tcpip_ex(t->session, remote_host, remote_port,
					     "127.0.0.1", t->local_port);
	if (!ch) {
		int code = 0;
		const char *msg = ssh_error(t, &code);

		ret = ms_error_set(err, MS_ERR_IO,
				   "ssh server \"%s:%d\": could not open a channel to \"%s:%d\": %s",
				   cfg.host, cfg.port, remote_host, remote_port,
				   code == LIBSSH2_ERROR_TIMEOUT ? "timeout" : msg);
		ms_error_hint(err, "check that the database listens on that address as seen from the ssh server and that sshd allows TCP forwarding");
		goto done;
	}
	t->channels[t->channels_nr++] = ch;

	if (pipe(t->stop) < 0) {
		ret = ms_error_set(err, MS_ERR_IO, "ssh tunnel: could not create a pipe: %s",
				   strerror(errno));
		goto done;
	}
	libssh2_session_set_blocking(t->session, 0);
	if (pthread_create(&t->thread, NULL, tunnel_thread, t)) {
		ret = ms_error_set(err, MS_ERR_GENERIC, "ssh tunnel: could not start the forwarding thread");
		goto done;
	}
	t->thread_started = true;
	*out = t;
	t = NULL;
	ret = 0;
done:
	tunnel_free(t);
	return ret;
}

int tunnel_local_port(const struct tunnel *t)
{
	return t->local_port;
}

void tunnel_free(struct tunnel *t)
{
	if (!t)
		return;
	if (t->thread_started) {
		ssize_t w;

		do
			w = write(t->stop[1], "x", 1);
		while (w < 0 && errno == EINTR);
		pthread_join(t->thread, NULL);
	}
	if (t->session) {
		/* Close politely, but never wait long for a server that is gone. */
		libssh2_session_set_blocking(t->session, 1);
		libssh2_session_set_timeout(t->session, TUNNEL_CLOSE_TIMEOUT_MS);
		for (int i = 0; i < t->channels_nr; i++)
			libssh2_channel_free(t->channels[i]);
		if (t->sock >= 0)
			libssh2_session_disconnect(t->session, "migsync: done");
		libssh2_session_free(t->session);
	}
	if (t->sock >= 0)
		close(t->sock);
	if (t->listen_fd >= 0)
		close(t->listen_fd);
	if (t->stop[0] >= 0)
		close(t->stop[0]);
	if (t->stop[1] >= 0)
		close(t->stop[1]);
	free(t);
}
