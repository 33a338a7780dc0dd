#ifndef MIGSYNC_EXEC_INT_H
#define MIGSYNC_EXEC_INT_H

/* Internals shared by the files of src/apply. */

#include <stdbool.h>
#include <stdint.h>
#include <signal.h>

#include "migsync/error.h"
#include "migsync/strbuf.h"
#include "migsync/tunnel.h"

/* Feeds bytes to a line callback, one complete line at a time. */
struct exec_lines {
	struct strbuf partial;
	void (*output)(const char *line, void *ctx);
	void *output_ctx;
	struct strbuf *capture;		/* everything, may be NULL */
};

void exec_lines_feed(struct exec_lines *l, const char *buf, size_t len);
/* Flush an unterminated last line and release. */
void exec_lines_finish(struct exec_lines *l);

/*
 * Run command on the SSH server of cfg (session opened and checked as
 * for a tunnel: strict known_hosts, then key or agent), with the
 * variables of env_names/env_values passed in the channel's environment
 * where the server accepts them (sshd's AcceptEnv) and otherwise through
 * the command's stdin: see ssh_exec.c. Output (stdout and stderr) goes to
 * lines. *cancel (may be NULL) stops the command. *exit_status is the
 * remote exit status (-1 when it died of a signal or is unknown).
 */
int ssh_exec_run(const struct tunnel_config *cfg, const char *command,
		 const char *stdin_data, struct exec_lines *lines,
		 volatile sig_atomic_t *cancel, int *exit_status, struct ms_error *err);

#endif
