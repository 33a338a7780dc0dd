/*
 * Running one command on an SSH host (libssh2 exec channel) for the
 * Alembic executor with ssh.run: true. The session is opened by the
 * tunnel code (tunnel_session_open): same strict known_hosts check before
 * authentication, same authentication, same messages.
 *
 * What in holds is written to the channel's stdin as it comes (the
 * output handler may add to it); stdin is closed (EOF) when in->close is
 * set and all was written, or on a cancel: that is how a cancel reaches
 * the remote command (libssh2 1.10 cannot send signals). stdout and
 * stderr are both streamed.
 */

#include <errno.h>
#include <poll.h>
#include <string.h>

#include <libssh2.h>

#include "migsync/conn.h"
#include "migsync/tunnel.h"
#include "migsync/util.h"
#include "exec_int.h"

#define SSH_EXEC_POLL_MS 50
#define SSH_EXEC_TIMEOUT_MS 30000

static int wait_socket(LIBSSH2_SESSION *s, int sock)
{
	int dir = libssh2_session_block_directions(s);
	struct pollfd pfd = { .fd = sock, .events = 0 };

	if (dir & LIBSSH2_SESSION_BLOCK_INBOUND)
		pfd.events |= POLLIN;
	if (dir & LIBSSH2_SESSION_BLOCK_OUTBOUND)
		pfd.events |= POLLOUT;
	if (!pfd.events)
		pfd.events = POLLIN;
	return poll(&pfd, 1, SSH_EXEC_POLL_MS);
}

static int ssh_fail(struct ms_error *err, const struct tunnel_config *cfg,
		    LIBSSH2_SESSION *s, const char *what)
{
	char *msg = NULL;

	libssh2_session_last_error(s, &msg, NULL, 0);
	return ms_error_set(err, MS_ERR_IO, "ssh server \"%s:%d\": %s: %s", cfg->host,
			    cfg->port ? cfg->port : TUNNEL_DEFAULT_PORT, what,
			    msg && *msg ? msg : "unknown error");
}

int ssh_exec_run(const struct tunnel_config *cfg, const char *command,
		 struct exec_input *in, struct exec_lines *lines,
		 volatile sig_atomic_t *cancel, int *exit_status, struct ms_error *err)
{
	struct tunnel *t = NULL;
	LIBSSH2_SESSION *s;
	LIBSSH2_CHANNEL *ch = NULL;
	bool eof_sent = false;
	int sock, rc, ret;

	*exit_status = -1;
	ret = conn_global_init(err);
	if (ret < 0)
		goto done;
	ret = tunnel_session_open(&t, cfg, SSH_EXEC_TIMEOUT_MS, err);
	if (ret < 0)
		goto done;
	s = tunnel_session(t);
	sock = tunnel_socket(t);
	ch = libssh2_channel_open_session(s);
	if (!ch) {
		ret = ssh_fail(err, cfg, s, "could not open a session channel");
		goto done;
	}
	if (libssh2_channel_handle_extended_data2(ch, LIBSSH2_CHANNEL_EXTENDED_DATA_MERGE) ||
	    libssh2_channel_exec(ch, command)) {
		ret = ssh_fail(err, cfg, s, "could not run the command");
		goto done;
	}
	libssh2_session_set_blocking(s, 0);
	for (;;) {
		char buf[4096];
		ssize_t n;
		bool progress = false;

		if (!eof_sent && in->off < in->buf.len) {
			n = libssh2_channel_write(ch, in->buf.buf + in->off, in->buf.len - in->off);
			if (n > 0) {
				in->off += (size_t)n;
				progress = true;
			} else if (n != LIBSSH2_ERROR_EAGAIN) {
				ret = ssh_fail(err, cfg, s, "could not write to the command");
				goto done;
			}
		}
		if (!eof_sent && ((cancel && *cancel) || (in->close && in->off == in->buf.len))) {
			rc = libssh2_channel_send_eof(ch);
			if (rc != LIBSSH2_ERROR_EAGAIN)
				eof_sent = true;
		}
		n = libssh2_channel_read(ch, buf, sizeof(buf));
		if (n > 0) {
			exec_lines_feed(lines, buf, (size_t)n);
			progress = true;
		} else if (n == 0 && libssh2_channel_eof(ch)) {
			break;
		} else if (n < 0 && n != LIBSSH2_ERROR_EAGAIN) {
			ret = ssh_fail(err, cfg, s, "lost the command's output");
			goto done;
		}
		if (!progress && wait_socket(s, sock) < 0 && errno != EINTR) {
			ret = ms_error_set(err, MS_ERR_IO, "ssh server \"%s\": poll: %s", cfg->host,
					   strerror(errno));
			goto done;
		}
	}
	while ((rc = libssh2_channel_close(ch)) == LIBSSH2_ERROR_EAGAIN)
		wait_socket(s, sock);
	while ((rc = libssh2_channel_wait_closed(ch)) == LIBSSH2_ERROR_EAGAIN)
		wait_socket(s, sock);
	{
		char *signame = NULL;

		libssh2_channel_get_exit_signal(ch, &signame, NULL, NULL, NULL, NULL, NULL);
		*exit_status = signame ? -1 : libssh2_channel_get_exit_status(ch);
		libssh2_free(s, signame);
	}
	if (cancel && *cancel)
		ret = ms_error_set(err, MS_ERR_GENERIC, "command on ssh server \"%s\": cancelled",
				   cfg->host);
done:
	if (ch) {
		libssh2_session_set_blocking(tunnel_session(t), 1);
		libssh2_channel_free(ch);
	}
	tunnel_free(t);
	return ret;
}
