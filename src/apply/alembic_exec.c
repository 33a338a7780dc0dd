/*
 * The Alembic executor's process: the project's own Alembic, driven by
 * migsync's driver (alembic_driver.py, embedded) in one interpreter,
 *
 *   PYTHON -c BOOTSTRAP N -c INI [-n SECTION] -x env=NAME upgrade|downgrade ID...
 *
 * with BOOTSTRAP reading the driver (N bytes) from stdin, then the files
 * migsync planned from, then one "next" per call. The child's
 * environment is reduced to what it needs plus its own DATABASE_URL
 * (alembic_env.c: never on a command line, never printed); stdout and
 * stderr come back through one pipe, line by line. The child leads its
 * own process group so that a cancel reaches Python and anything it
 * started; closing its stdin also ends it. With ssh.run: true the same
 * driver runs on the SSH host (ssh_exec.c).
 */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "migsync/clock.h"
#include "migsync/conn.h"
#include "migsync/executor.h"
#include "migsync/project.h"
#include "migsync/util.h"
#include "exec_int.h"

#define DEFAULT_PYTHON "/usr/bin/python3"
#define KILL_GRACE_MS 10000
#define POLL_MS 50
#define MARK "migsync-driver: "
/* Reads the driver from stdin: its length is argv[1]. */
#define BOOTSTRAP "import sys;exec(compile(sys.stdin.buffer.read(int(sys.argv[1])),'migsync-alembic-driver','exec'))"
/* The driver's exit status when the files differ. */
#define DRIVER_FILES_DIFFER 3

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

/* One run: what goes in, what came out, and whether a listener stopped it. */
struct run_state {
	const struct exec_context *c;
	struct exec_alembic_job *job;
	struct exec_input in;
	struct strbuf difference;	/* the driver's report of differing files */
	bool stop;			/* a listener asked to stop (stop_err) */
	struct ms_error stop_err;
};

static void stop_with(struct run_state *rs, int ret)
{
	if (ret < 0 && !rs->stop) {
		rs->stop = true;
		rs->in.close = true;
	}
}

/* One of the driver's own lines (after MARK). */
static void driver_line(struct run_state *rs, const char *what)
{
	struct exec_alembic_job *job = rs->job;

	if (starts_with(what, "done ")) {
		int ret = job->call_done ? job->call_done(job->calls, job->ctx, &rs->stop_err) : 0;

		job->calls++;
		if (ret < 0)
			stop_with(rs, ret);
		else
			strbuf_addstr(&rs->in.buf, "next\n");
	} else if (starts_with(what, "error ")) {
		free(job->failure);
		job->failure = xstrdup(what + 6);
	} else if (starts_with(what, "only-planned ")) {
		strbuf_addf(&rs->difference, "\n  only migsync planned from: %s", what + 13);
	} else if (starts_with(what, "only-alembic ")) {
		strbuf_addf(&rs->difference, "\n  only Alembic sees: %s", what + 13);
	} else if (starts_with(what, "changed ")) {
		/* changed PLANNED_SHA ALEMBIC_SHA PATH */
		const char *p = what + 8, *q = strchr(p, ' '), *path = q ? strchr(q + 1, ' ') : NULL;

		if (path && q - p >= 12 && path - q > 12)
			strbuf_addf(&rs->difference, "\n  changed since the plan: %s (sha256 %.12s, Alembic reads %.12s)",
				    path + 1, p, q + 1);
	}
}

/* A line of the child's output: scrubbed, then to the driver's handler or the listeners. */
static void on_line(const char *raw, void *ctx)
{
	struct run_state *rs = ctx;
	struct exec_alembic_job *job = rs->job;
	struct strbuf line = STRBUF_INIT;

	conn_redact(&line, raw, rs->c->target ? &rs->c->target->secrets : NULL);
	if (starts_with(line.buf, MARK)) {
		driver_line(rs, line.buf + strlen(MARK));
	} else {
		strbuf_addstr(&job->output, line.buf);
		strbuf_addch(&job->output, '\n');
		if (job->line && !rs->stop)
			stop_with(rs, job->line(line.buf, job->ctx, &rs->stop_err));
	}
	strbuf_release(&line);
}

static const char *python_of(const struct exec_context *c)
{
	return c->inv->migrations.python ? c->inv->migrations.python : DEFAULT_PYTHON;
}

/* Write what is pending of in to fd (non-blocking); close fd when asked and done. */
static void feed_input(struct exec_input *in, int *fd)
{
	while (*fd >= 0 && in->off < in->buf.len) {
		ssize_t n = write(*fd, in->buf.buf + in->off, in->buf.len - in->off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n < 0) {	/* the child is gone: its exit status will say why */
			in->off = in->buf.len;
			break;
		}
		in->off += (size_t)n;
	}
	if (*fd >= 0 && in->close && in->off == in->buf.len) {
		close(*fd);
		*fd = -1;
	}
}

static int run_local(struct run_state *rs, char **argv, const char *dir, struct strvec *env,
		     int *status, struct ms_error *err)
{
	const struct exec_context *c = rs->c;
	struct exec_lines lines = { STRBUF_INIT, on_line, rs, NULL };
	char **envp = xcalloc(env->nr + 1, sizeof(*envp));
	int out[2] = { -1, -1 }, in[2] = { -1, -1 };
	pid_t pid = -1;
	int64_t term_at = 0;
	bool eof = false;
	int ret = 0;

	memcpy(envp, env->items, env->nr * sizeof(*envp));
	if (pipe(out) < 0 || pipe(in) < 0 || fcntl(out[0], F_SETFD, FD_CLOEXEC) < 0 ||
	    fcntl(out[1], F_SETFD, FD_CLOEXEC) < 0 || fcntl(in[0], F_SETFD, FD_CLOEXEC) < 0 ||
	    fcntl(in[1], F_SETFD, FD_CLOEXEC) < 0 || fcntl(in[1], F_SETFL, O_NONBLOCK) < 0) {
		ret = ms_error_set(err, MS_ERR_IO, "could not create a pipe: %s", strerror(errno));
		goto done;
	}
	pid = fork();
	if (pid < 0) {
		ret = ms_error_set(err, MS_ERR_IO, "could not start \"%s\": %s", argv[0], strerror(errno));
		goto done;
	}
	if (!pid) {
		setpgid(0, 0);
		if (dup2(in[0], 0) < 0 || dup2(out[1], 1) < 0 || dup2(out[1], 2) < 0 || chdir(dir) < 0)
			_exit(126);
		signal(SIGPIPE, SIG_DFL);
		execve(argv[0], argv, envp);
		_exit(127);
	}
	setpgid(pid, pid);
	close(out[1]);
	close(in[0]);
	out[1] = in[0] = -1;
	while (!eof) {
		struct pollfd pfd[2] = { { .fd = out[0], .events = POLLIN },
					 { .fd = in[1], .events = POLLOUT } };
		char buf[4096];
		ssize_t n;

		if (((c->cancel && *c->cancel) || rs->stop) && !term_at) {
			kill(-pid, SIGTERM);
			term_at = clock_mono_ms();
		}
		if (term_at && clock_mono_ms() - term_at > KILL_GRACE_MS)
			kill(-pid, SIGKILL);
		feed_input(&rs->in, &in[1]);
		pfd[1].fd = in[1] >= 0 && rs->in.off < rs->in.buf.len ? in[1] : -1;
		if (poll(pfd, 2, POLL_MS) <= 0 || !(pfd[0].revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		n = read(out[0], buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			eof = true;
		else
			exec_lines_feed(&lines, buf, (size_t)n);
	}
	exec_lines_finish(&lines);
	while (waitpid(pid, status, 0) < 0 && errno == EINTR)
		;
	if (term_at && !rs->stop)
		ret = ms_error_set(err, MS_ERR_GENERIC, "alembic %s: cancelled", rs->job->command);
done:
	exec_lines_finish(&lines);
	for (int i = 0; i < 2; i++) {
		if (out[i] >= 0)
			close(out[i]);
		if (in[i] >= 0)
			close(in[i]);
	}
	free(envp);
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
 * The remote command: DATABASE_URL is the first line of the channel's
 * stdin, read by the shell (never on a command line, which other users of
 * the SSH host could see in ps; channel environment requests are not used
 * because sshd refuses them unless AcceptEnv names the variable). The
 * driver reads the rest; the end of stdin (a cancel) ends it.
 */
static char *remote_command(const struct exec_context *c, char **argv, const char *reads)
{
	const struct environment *env = c->target->env;
	struct strbuf sb = STRBUF_INIT;

	if (env->ssh.workdir) {
		strbuf_addstr(&sb, "cd ");
		shell_quote(&sb, env->ssh.workdir);
		strbuf_addstr(&sb, " && ");
	}
	strbuf_addf(&sb, "IFS= read -r DATABASE_URL && export DATABASE_URL && %sMIGSYNC_ENVIRONMENT=",
		    reads);
	shell_quote(&sb, env->name);
	strbuf_addstr(&sb, " && export MIGSYNC_ENVIRONMENT && exec");
	for (size_t i = 0; argv[i]; i++) {
		strbuf_addch(&sb, ' ');
		shell_quote(&sb, argv[i]);
	}
	strbuf_addstr(&sb, " 2>&1");
	return strbuf_detach(&sb, NULL);
}

/* The planned files, as the driver reads them: "COUNT\n" and "SHA256 REALPATH\n" each. */
static void add_manifest(struct strbuf *sb, const struct revgraph *g)
{
	strbuf_addf(sb, "%zu\n", g->nr);
	for (size_t i = 0; i < g->nr; i++) {
		const struct script *s = g->nodes[i].script;
		char *real = realpath(s->path, NULL);

		strbuf_addf(sb, "%s %s\n", s->sha256, real ? real : s->path);
		free(real);
	}
}

/* The ini as an absolute path (Alembic runs in its directory) and that directory. */
static void ini_paths(char **abs, char **dir, const char *ini)
{
	char *slash;

	*abs = realpath(ini, NULL);
	if (!*abs) {
		char *cwd = getcwd(NULL, 0);

		*abs = ini[0] == '/' ? xstrdup(ini) : xstrfmt("%s/%s", cwd ? cwd : ".", ini);
		free(cwd);
	}
	*dir = xstrdup(*abs);
	slash = strrchr(*dir, '/');
	if (slash && slash != *dir)
		*slash = '\0';
}

/* Why a run that exited with status failed. */
static int exit_error(struct run_state *rs, int status, bool remote, struct ms_error *err)
{
	const struct exec_context *c = rs->c;
	struct exec_alembic_job *job = rs->job;
	const char *where = remote ? " (on the ssh host)" : "";
	const char *rev = job->calls < job->revs->nr ? job->revs->items[job->calls] : "";

	if (WIFEXITED(status) && WEXITSTATUS(status) == DRIVER_FILES_DIFFER && rs->difference.len) {
		ms_error_set(err, MS_ERR_CONFIG,
			     "the revision files Alembic would run are not the ones migsync planned from%s:%s",
			     where, rs->difference.buf);
		ms_error_hint(err, "migrations.scripts must name the directories of alembic.ini's "
			      "version_locations (or be left out); a changed file needs a new plan");
		return MS_ERR_CONFIG;
	}
	if (WIFSIGNALED(status) || (remote && status < 0))
		ms_error_set(err, MS_ERR_GENERIC, "alembic %s %s%s: killed by signal %d",
			     job->command, rev, where, WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	else if (job->failure)
		ms_error_set(err, MS_ERR_GENERIC, "alembic %s %s%s: %s", job->command, rev, where,
			     job->failure);
	else
		ms_error_set(err, MS_ERR_GENERIC, "alembic %s %s%s: exit status %d", job->command,
			     rev, where, WEXITSTATUS(status));
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
		ms_error_hint(err, "check migrations.python (\"%s\")", python_of(c));
	else
		ms_error_hint(err, "run again with --verbose to see Alembic's output");
	return MS_ERR_GENERIC;
}

void exec_alembic_job_init(struct exec_alembic_job *job)
{
	*job = (struct exec_alembic_job){ 0 };
	strbuf_init(&job->output, 0);
}

void exec_alembic_job_release(struct exec_alembic_job *job)
{
	strbuf_release(&job->output);
	free(job->failure);
	job->failure = NULL;
}

int exec_alembic_run(const struct exec_context *c, struct exec_alembic_job *job,
		     struct ms_error *err)
{
	const struct environment *env = c->target ? c->target->env : NULL;
	bool remote = env && env->ssh.enabled && env->ssh.run;
	struct run_state rs = { .c = c, .job = job, .stop_err = MS_ERROR_INIT };
	struct strvec child_env = STRVEC_INIT, args = STRVEC_INIT;
	struct strbuf reads = STRBUF_INIT;
	size_t program_len = strlen(exec_alembic_driver);
	char *url = NULL, *cmd = NULL, *ini_abs = NULL, *dir = NULL, **argv = NULL;
	int status = 0, ret = 0;

	strbuf_init(&rs.in.buf, 0);
	strbuf_init(&rs.difference, 0);
	if (strcmp(job->command, "upgrade") && strcmp(job->command, "downgrade")) {
		ret = ms_error_set(err, MS_ERR_USAGE, "alembic command \"%s\": not upgrade or downgrade",
				   job->command);
		goto done;
	}
	if (!c->inv || !c->inv->migrations.alembic_ini) {
		ret = ms_error_set(err, MS_ERR_CONFIG, "executor alembic: no alembic.ini");
		ms_error_hint(err, "set migrations.alembic_ini in inventory.yaml, or put alembic.ini "
			      "in the inventory directory's parent");
		goto done;
	}
	if (!job->revs->nr)
		goto done;
	ret = exec_alembic_url(&url, c, remote, err);
	if (ret < 0)
		goto done;
	ini_paths(&ini_abs, &dir, c->inv->migrations.alembic_ini);
	if (remote) {
		strvec_push(&args, python_of(c));
	} else {
		/* the one choice of interpreter (project_python_find), before fork */
		char *python = NULL;

		ret = project_python_find(&python, c->inv->migrations.python, err);
		if (ret < 0)
			goto done;
		strvec_push_owned(&args, python);
	}
	strvec_push(&args, "-c");
	strvec_push(&args, BOOTSTRAP);
	strvec_push_owned(&args, xstrfmt("%zu", program_len));
	strvec_push(&args, "-c");
	if (remote) {
		const char *ini = c->inv->migrations.alembic_ini;

		strvec_push(&args, strrchr(ini, '/') ? strrchr(ini, '/') + 1 : ini);
	} else {
		strvec_push(&args, ini_abs);
	}
	if (c->inv->migrations.alembic_section) {	/* Alembic's -n NAME */
		strvec_push(&args, "-n");
		strvec_push(&args, c->inv->migrations.alembic_section);
	}
	strvec_push(&args, "-x");
	strvec_push_owned(&args, xstrfmt("env=%s", env ? env->name : ""));
	if (c->target && c->target->schema) {	/* the cookbook's schema-level multi-tenancy */
		strvec_push(&args, "-x");
		strvec_push_owned(&args, xstrfmt("tenant=%s", c->target->schema));
	}
	strvec_push(&args, job->command);
	for (size_t i = 0; i < job->revs->nr; i++)
		strvec_push(&args, job->revs->items[i]);
	argv = xcalloc(args.nr + 1, sizeof(*argv));
	memcpy(argv, args.items, args.nr * sizeof(*argv));

	if (remote) {
		strbuf_addf(&rs.in.buf, "%s\n", url);
		exec_alembic_remote_env(&reads, &rs.in.buf, c);
	}
	strbuf_add(&rs.in.buf, exec_alembic_driver, program_len);
	add_manifest(&rs.in.buf, job->g);
	if (remote) {
		struct exec_lines lines = { STRBUF_INIT, on_line, &rs, NULL };

		cmd = remote_command(c, argv, reads.buf);
		ret = ssh_exec_run(&c->target->ssh, cmd, &rs.in, &lines, c->cancel, &status, err);
		exec_lines_finish(&lines);
		if (ret < 0 && !rs.stop)
			goto done;
		ret = 0;
		/* as a wait status: a signal (unknown which) or the exit code */
		if (status != 0)
			status = status < 0 ? SIGTERM : (status & 0xff) << 8;
	} else {
		exec_alembic_env(&child_env, c, url);
		ret = run_local(&rs, argv, dir, &child_env, &status, err);
		if (ret < 0)
			goto done;
	}
	if (rs.stop) {
		ret = ms_error_set(err, rs.stop_err.code ? rs.stop_err.code : MS_ERR_GENERIC, "%s",
				   rs.stop_err.message ? rs.stop_err.message : "stopped");
		if (rs.stop_err.hint)
			ms_error_hint(err, "%s", rs.stop_err.hint);
	} else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		ret = exit_error(&rs, status, remote, err);
	}
done:
	if (url)
		memset(url, 0, strlen(url));
	if (rs.in.buf.len)
		memset(rs.in.buf.buf, 0, rs.in.buf.len);
	strbuf_release(&rs.in.buf);
	strbuf_release(&reads);
	strbuf_release(&rs.difference);
	ms_error_release(&rs.stop_err);
	exec_alembic_env_wipe(&child_env);
	strvec_release(&args);
	free(argv);
	free(url);
	free(cmd);
	free(ini_abs);
	free(dir);
	return ret;
}
