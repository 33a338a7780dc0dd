/*
 * The Python interpreter that runs the project's Alembic: the one place
 * that chooses it, for the Alembic executor, offline SQL and `inventory`.
 * Nothing here runs unless a command needs Alembic itself: reading
 * revisions, status and plans never start Python.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "migsync/clock.h"
#include "migsync/project.h"
#include "migsync/util.h"

/* How long an interpreter may take to import alembic before it is given up on. */
#define PROBE_DEADLINE_MS 15000
#define PROBE_OUTPUT_MAX 4096

static const char probe_code[] =
	"import sys, alembic; sys.stdout.write(getattr(alembic, '__version__', '?'))";

static bool is_executable(const char *path)
{
	return access(path, X_OK) == 0;
}

/* name as execvp would find it: with a "/", as given; else on $PATH (NULL: none). */
static char *on_path(const char *name)
{
	const char *path = getenv("PATH");

	if (strchr(name, '/'))
		return is_executable(name) ? xstrdup(name) : NULL;
	while (path && *path) {
		const char *end = strchr(path, ':');
		size_t len = end ? (size_t)(end - path) : strlen(path);
		char *cand = xstrfmt("%.*s/%s", (int)len, len ? path : ".", name);

		if (is_executable(cand))
			return cand;
		free(cand);
		path = end ? end + 1 : NULL;
	}
	return NULL;
}

/*
 * Run python -c probe_code with stdin and stderr on /dev/null; out gets
 * what it printed (the Alembic version). Returns 0 when it exited 0
 * within the deadline; a child that overruns it is killed.
 */
static int probe(struct strbuf *out, const char *python)
{
	char *argv[] = { (char *)python, "-c", (char *)probe_code, NULL };
	int fds[2] = { -1, -1 }, status = 0, ret = -1;
	int64_t deadline = clock_mono_ms() + PROBE_DEADLINE_MS;
	bool eof = false, killed = false;
	pid_t pid;

	if (pipe(fds) < 0)
		return -1;
	fcntl(fds[0], F_SETFD, FD_CLOEXEC);
	pid = fork();
	if (pid < 0)
		goto done;
	if (!pid) {
		int null = open("/dev/null", O_RDWR);

		if (null < 0 || dup2(null, 0) < 0 || dup2(fds[1], 1) < 0 || dup2(null, 2) < 0)
			_exit(126);
		signal(SIGPIPE, SIG_DFL);
		execv(python, argv);
		_exit(127);
	}
	close(fds[1]);
	fds[1] = -1;
	while (!eof) {
		struct pollfd pfd = { .fd = fds[0], .events = POLLIN };
		int64_t left = deadline - clock_mono_ms();
		char buf[512];
		ssize_t n;

		if (left <= 0) {
			kill(pid, SIGKILL);
			killed = true;
			break;
		}
		if (poll(&pfd, 1, (int)(left > 100 ? 100 : left)) <= 0)
			continue;
		n = read(fds[0], buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			eof = true;
		else if (out->len < PROBE_OUTPUT_MAX)
			strbuf_add(out, buf, (size_t)n);
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!killed && WIFEXITED(status) && WEXITSTATUS(status) == 0)
		ret = 0;
done:
	if (fds[0] >= 0)
		close(fds[0]);
	if (fds[1] >= 0)
		close(fds[1]);
	return ret;
}

/* Every python3 on $PATH, each real file once, in $PATH order. */
static void path_candidates(struct strvec *out)
{
	struct strvec seen = STRVEC_INIT;
	const char *path = getenv("PATH");

	while (path && *path) {
		const char *end = strchr(path, ':');
		size_t len = end ? (size_t)(end - path) : strlen(path);
		char *cand = xstrfmt("%.*s/python3", (int)len, len ? path : ".");
		char *real = is_executable(cand) ? realpath(cand, NULL) : NULL;

		/* a version manager's shim is a script: it stays itself */
		if (real && !strvec_contains(&seen, real)) {
			strvec_push(&seen, real);
			strvec_push(out, cand);
		}
		free(real);
		free(cand);
		path = end ? end + 1 : NULL;
	}
	strvec_release(&seen);
}

int project_python_find(char **out, const char *configured, struct ms_error *err)
{
	const char *venv = getenv("VIRTUAL_ENV");
	struct strvec cands = STRVEC_INIT;
	struct strbuf tried = STRBUF_INIT, version = STRBUF_INIT;
	int ret = 0;

	*out = NULL;
	if (configured && *configured) {
		*out = on_path(configured);
		if (!*out) {
			ret = ms_error_set(err, MS_ERR_CONFIG,
					   "migrations.python \"%s\": no such executable", configured);
			ms_error_hint(err, "name the project's interpreter, e.g. python: .venv/bin/python");
		}
		goto done;
	}
	if (venv && *venv) {
		char *python = xstrfmt("%s/bin/python", venv);

		if (is_executable(python)) {
			*out = python;
			goto done;
		}
		free(python);
	}
	path_candidates(&cands);
	for (size_t i = 0; i < cands.nr && !*out; i++) {
		strbuf_reset(&version);
		if (probe(&version, cands.items[i]) == 0)
			*out = xstrdup(cands.items[i]);
		else
			strbuf_addf(&tried, "%s%s", tried.len ? ", " : "", cands.items[i]);
	}
	if (!*out) {
		ret = ms_error_set(err, MS_ERR_CONFIG,
				   "no Python interpreter that can import alembic (tried: %s)",
				   tried.len ? tried.buf : "no python3 on PATH");
		ms_error_hint(err, "set migrations.python to the project's interpreter (e.g. .venv/bin/python), "
			      "activate its virtualenv, or install Alembic for python3");
	}
done:
	strvec_release(&cands);
	strbuf_release(&tried);
	strbuf_release(&version);
	return ret;
}

int project_alembic_version(char **out, const char *python, struct ms_error *err)
{
	struct strbuf sb = STRBUF_INIT;
	int ret = 0;

	*out = NULL;
	if (probe(&sb, python) < 0) {
		ret = ms_error_set(err, MS_ERR_CONFIG, "\"%s\" cannot import alembic", python);
		ms_error_hint(err, "install Alembic for this interpreter, or set migrations.python");
	} else {
		strbuf_trim(&sb);
		*out = strbuf_detach(&sb, NULL);
	}
	strbuf_release(&sb);
	return ret;
}
