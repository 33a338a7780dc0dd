/*
 * The Alembic executor: the project's own Alembic in a child process,
 *
 *   PYTHON -m alembic -c INI -x env=NAME upgrade|downgrade REV
 *
 * with DATABASE_URL in the child's environment only (built before fork,
 * passed with execve; never on a command line, never printed), stdin
 * from /dev/null, stdout and stderr through one pipe, streamed line by
 * line. The child leads its own process group so that a cancel reaches
 * Python and anything it started. With ssh.run: true the same command
 * runs on the SSH host (ssh_exec.c).
 */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "migsync/clock.h"
#include "migsync/executor.h"
#include "migsync/project.h"
#include "migsync/util.h"
#include "exec_int.h"

#define DEFAULT_PYTHON "/usr/bin/python3"
#define KILL_GRACE_MS 10000
#define POLL_MS 50

extern char **environ;

void exec_lines_feed(struct exec_lines *l, const char *buf, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (buf[i] != '\n') {
			strbuf_addch(&l->partial, buf[i]);
			continue;
		}
		if (l->capture) {
			strbuf_addstr(l->capture, l->partial.buf);
			strbuf_addch(l->capture, '\n');
		}
		if (l->output)
			l->output(l->partial.buf, l->output_ctx);
		strbuf_reset(&l->partial);
	}
}

void exec_lines_finish(struct exec_lines *l)
{
	if (l->partial.len)
		exec_lines_feed(l, "\n", 1);
	strbuf_release(&l->partial);
}

/* Percent-encode s for a URL part (RFC 3986 unreserved characters stay). */
static void url_encode(struct strbuf *sb, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '.' || c == '_' || c == '~')
			strbuf_addch(sb, c);
		else
			strbuf_addf(sb, "%%%02X", c);
	}
}

static const char *option(const PQconninfoOption *opts, const char *keyword)
{
	for (; opts && opts->keyword; opts++)
		if (!strcmp(opts->keyword, keyword))
			return opts->val && *opts->val ? opts->val : NULL;
	return NULL;
}

/*
 * DATABASE_URL for Alembic (SQLAlchemy with psycopg2): postgresql://
 * USER:PASSWORD@HOST:PORT/DBNAME?hostaddr=..&sslmode=..., every part
 * percent-encoded. Query parameters go through SQLAlchemy to psycopg2 and
 * libpq. A socket directory host goes into the query (?host=/dir).
 */
static char *database_url(const PQconninfoOption *opts)
{
	static const char *const extra[] = {
		"hostaddr", "sslmode", "sslrootcert", "sslcert", "sslkey", "sslcrl",
		"application_name", "options", "connect_timeout", "target_session_attrs",
		"service", "passfile",
	};
	struct strbuf sb = STRBUF_INIT;
	const char *host = option(opts, "host"), *port = option(opts, "port");
	const char *user = option(opts, "user"), *password = option(opts, "password");
	const char *dbname = option(opts, "dbname");
	bool socket_dir = host && host[0] == '/';
	char sep = '?';

	strbuf_addstr(&sb, "postgresql://");
	if (user) {
		url_encode(&sb, user);
		if (password) {
			strbuf_addch(&sb, ':');
			url_encode(&sb, password);
		}
		strbuf_addch(&sb, '@');
	}
	if (host && !socket_dir)
		url_encode(&sb, host);
	if (port && !socket_dir) {
		strbuf_addch(&sb, ':');
		url_encode(&sb, port);
	}
	strbuf_addch(&sb, '/');
	if (dbname)
		url_encode(&sb, dbname);
	if (socket_dir) {
		strbuf_addf(&sb, "%chost=", sep);
		url_encode(&sb, host);
		sep = '&';
		if (port) {
			strbuf_addf(&sb, "%cport=", sep);
			url_encode(&sb, port);
		}
	}
	for (size_t i = 0; i < ARRAY_SIZE(extra); i++) {
		const char *v = option(opts, extra[i]);

		if (!v)
			continue;
		strbuf_addf(&sb, "%c%s=", sep, extra[i]);
		url_encode(&sb, v);
		sep = '&';
	}
	return strbuf_detach(&sb, NULL);
}

/*
 * The URL for a run. Locally from the live connection (PQconninfo on
 * c->conn: what libpq really used, so through an SSH tunnel it is
 * hostaddr=127.0.0.1 and the tunnel's local port, with host= the real
 * name for TLS checks; the caller keeps the tunnel open during the run).
 * Remotely, and without a connection, from the target's conninfo: the
 * database as the SSH host sees it.
 */
static int make_url(char **out, const struct exec_context *c, bool remote,
		    struct ms_error *err)
{
	PQconninfoOption *opts = NULL;
	char *errmsg = NULL;
	int ret = 0;

	*out = NULL;
	if (!remote && c->conn)
		opts = PQconninfo(c->conn);
	else if (c->target && c->target->conninfo)
		opts = PQconninfoParse(c->target->conninfo, &errmsg);
	if (!opts) {
		/* errmsg may quote the conninfo: never show it */
		ret = ms_error_set(err, MS_ERR_CONFIG, "no connection parameters for DATABASE_URL");
		goto done;
	}
	*out = database_url(opts);
done:
	if (opts) {
		/* wipe the password before freeing */
		for (PQconninfoOption *o = opts; o->keyword; o++)
			if (o->val && !strcmp(o->keyword, "password"))
				memset(o->val, 0, strlen(o->val));
		PQconninfoFree(opts);
	}
	PQfreemem(errmsg);
	return ret;
}

/* An environment for execve: ours with DATABASE_URL set (only pointers copied). */
static char **child_env(const char *assignment)
{
	size_t n = 0, k = 0;
	char **envp;

	while (environ[n])
		n++;
	envp = xcalloc(n + 2, sizeof(*envp));
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "DATABASE_URL=", 13))
			envp[k++] = environ[i];
	envp[k++] = (char *)assignment;
	envp[k] = NULL;
	return envp;
}

static const char *env_name(const struct exec_context *c)
{
	return c->target && c->target->env ? c->target->env->name : "";
}

static int run_local(const struct exec_context *c, const char *command, const char *rev,
		     const char *url, struct exec_lines *lines, int *status, struct ms_error *err)
{
	const char *ini = c->inv->migrations.alembic_ini;
	char *python = NULL;
	char *assignment = xstrfmt("DATABASE_URL=%s", url);
	char *xenv = xstrfmt("env=%s", env_name(c));
	char *ini_abs = NULL, *dir = NULL, *slash;
	char **envp = child_env(assignment);
	/* -x belongs before the subcommand in Alembic's argument parser */
	char *argv[] = { python, "-m", "alembic", "-c", NULL, "-x", xenv, (char *)command,
			 (char *)rev, NULL };
	int fds[2] = { -1, -1 };
	pid_t pid = -1;
	int64_t term_at = 0;
	bool eof = false;
	int ret = 0;

	/* the one choice of interpreter (project_python_find), before fork */
	ret = project_python_find(&python, c->inv->migrations.python, err);
	if (ret < 0)
		goto done;
	argv[0] = python;
	ini_abs = ini[0] == '/' ? xstrdup(ini) : NULL;
	if (!ini_abs) {
		char *cwd = getcwd(NULL, 0);

		ini_abs = xstrfmt("%s/%s", cwd ? cwd : ".", ini);
		free(cwd);
	}
	argv[4] = ini_abs;
	/* Alembic resolves script_location from the working directory: the ini's. */
	dir = xstrdup(ini_abs);
	slash = strrchr(dir, '/');
	if (slash && slash != dir)
		*slash = '\0';
	if (pipe(fds) < 0 || fcntl(fds[0], F_SETFD, FD_CLOEXEC) < 0 ||
	    fcntl(fds[1], F_SETFD, FD_CLOEXEC) < 0) {
		ret = ms_error_set(err, MS_ERR_IO, "could not create a pipe: %s", strerror(errno));
		goto done;
	}
	pid = fork();
	if (pid < 0) {
		ret = ms_error_set(err, MS_ERR_IO, "could not start \"%s\": %s", python, strerror(errno));
		goto done;
	}
	if (!pid) {
		int null = open("/dev/null", O_RDONLY);

		setpgid(0, 0);
		if (null < 0 || dup2(null, 0) < 0 || dup2(fds[1], 1) < 0 || dup2(fds[1], 2) < 0 ||
		    chdir(dir) < 0)
			_exit(126);
		signal(SIGPIPE, SIG_DFL);
		execve(python, argv, envp);
		_exit(127);
	}
	setpgid(pid, pid);
	close(fds[1]);
	fds[1] = -1;
	while (!eof) {
		struct pollfd pfd = { .fd = fds[0], .events = POLLIN };
		char buf[4096];
		ssize_t n;

		if (c->cancel && *c->cancel && !term_at) {
			kill(-pid, SIGTERM);
			term_at = clock_mono_ms();
		}
		if (term_at && clock_mono_ms() - term_at > KILL_GRACE_MS)
			kill(-pid, SIGKILL);
		if (poll(&pfd, 1, POLL_MS) <= 0)
			continue;
		n = read(fds[0], buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			eof = true;
		else
			exec_lines_feed(lines, buf, (size_t)n);
	}
	while (waitpid(pid, status, 0) < 0 && errno == EINTR)
		;
	if (term_at)
		ret = ms_error_set(err, MS_ERR_GENERIC, "alembic %s %s: cancelled", command, rev);
done:
	if (fds[0] >= 0)
		close(fds[0]);
	if (fds[1] >= 0)
		close(fds[1]);
	memset(assignment, 0, strlen(assignment));
	free(assignment);
	free(envp);
	free(python);
	free(xenv);
	free(ini_abs);
	free(dir);
	return ret;
}

/* Single-quote s for a POSIX shell. */
static void shell_quote(struct strbuf *sb, const char *s)
{
	strbuf_addch(sb, '\'');
	for (; *s; s++) {
		if (*s == '\'')
			strbuf_addstr(sb, "'\\''");
		else
			strbuf_addch(sb, *s);
	}
	strbuf_addch(sb, '\'');
}

/*
 * The remote command. DATABASE_URL is read from the channel's stdin (its
 * first line), never from the command line, which other users of the
 * SSH host could see in ps; channel environment requests are not used
 * because sshd refuses them unless AcceptEnv names the variable. Alembic
 * runs in the background with stdin from /dev/null while the shell
 * waits for it; a watcher kills it when migsync closes stdin (cancel).
 */
static char *remote_command(const struct exec_context *c, const char *command, const char *rev)
{
	const struct environment *env = c->target->env;
	const char *ini = c->inv->migrations.alembic_ini;
	const char *base = strrchr(ini, '/') ? strrchr(ini, '/') + 1 : ini;
	struct strbuf sb = STRBUF_INIT;
	char *xenv = xstrfmt("env=%s", env->name);

	if (env->ssh.workdir) {
		strbuf_addstr(&sb, "cd ");
		shell_quote(&sb, env->ssh.workdir);
		strbuf_addstr(&sb, " && ");
	}
	/*
	 * A background job's stdin is /dev/null in a non-interactive shell:
	 * the watcher reads the channel's stdin through fd 3.
	 */
	strbuf_addstr(&sb, "IFS= read -r DATABASE_URL && export DATABASE_URL && exec 3<&0 && { ");
	shell_quote(&sb, c->inv->migrations.python ? c->inv->migrations.python : DEFAULT_PYTHON);
	strbuf_addstr(&sb, " -m alembic -c ");
	shell_quote(&sb, base);
	strbuf_addstr(&sb, " -x ");
	shell_quote(&sb, xenv);
	strbuf_addf(&sb, " %s ", command);
	shell_quote(&sb, rev);
	strbuf_addstr(&sb, " </dev/null 2>&1 & p=$!; (read -r _ <&3; kill -TERM $p 2>/dev/null) & w=$!; "
		      "wait $p; s=$?; kill $w 2>/dev/null; exit $s; }");
	free(xenv);
	return strbuf_detach(&sb, NULL);
}

int exec_alembic_run(const struct exec_context *c, const char *command,
		     const char *target_rev, struct strbuf *output, struct ms_error *err)
{
	struct exec_lines lines = { STRBUF_INIT, c->output, c->output_ctx, output };
	const struct environment *env = c->target ? c->target->env : NULL;
	bool remote = env && env->ssh.enabled && env->ssh.run;
	char *url = NULL, *cmd = NULL, *input = NULL, *last = NULL;
	int status = 0, ret;

	if (strcmp(command, "upgrade") && strcmp(command, "downgrade")) {
		ret = ms_error_set(err, MS_ERR_USAGE, "alembic command \"%s\": not upgrade or downgrade",
				   command);
		goto done;
	}
	if (!c->inv || !c->inv->migrations.alembic_ini) {
		ret = ms_error_set(err, MS_ERR_CONFIG, "executor alembic: no migrations.alembic_ini");
		ms_error_hint(err, "set migrations.alembic_ini in inventory.yaml");
		goto done;
	}
	ret = make_url(&url, c, remote, err);
	if (ret < 0)
		goto done;
	if (remote) {
		cmd = remote_command(c, command, target_rev);
		input = xstrfmt("%s\n", url);
		ret = ssh_exec_run(&c->target->ssh, cmd, input, &lines, c->cancel, &status, err);
		if (ret < 0)
			goto done;
		if (status != 0)
			status = status < 0 ? 1 << 8 : (status & 0xff) << 8;
	} else {
		ret = run_local(c, command, target_rev, url, &lines, &status, err);
		if (ret < 0)
			goto done;
	}
	exec_lines_finish(&lines);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		goto done;
	if (output && output->len) {
		char *end = output->buf + output->len - 1;

		while (end > output->buf && end[-1] != '\n')
			end--;
		last = xstrndup(end, strcspn(end, "\n"));
	}
	if (WIFSIGNALED(status))
		ret = ms_error_set(err, MS_ERR_GENERIC, "alembic %s %s%s: killed by signal %d",
				   command, target_rev, remote ? " (on the ssh host)" : "",
				   WTERMSIG(status));
	else
		ret = ms_error_set(err, MS_ERR_GENERIC, "alembic %s %s%s: exit status %d%s%s",
				   command, target_rev, remote ? " (on the ssh host)" : "",
				   WEXITSTATUS(status), last ? ": " : "", last ? last : "");
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
		ms_error_hint(err, "check migrations.python (\"%s\")",
			      c->inv->migrations.python ? c->inv->migrations.python : DEFAULT_PYTHON);
	else
		ms_error_hint(err, "Alembic's output above says what failed");
done:
	exec_lines_finish(&lines);
	if (url)
		memset(url, 0, strlen(url));
	if (input)
		memset(input, 0, strlen(input));
	free(url);
	free(input);
	free(cmd);
	free(last);
	return ret;
}
