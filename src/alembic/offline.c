/*
 * Alembic without a database: offline SQL per revision and compile
 * checks of revision files, each in one child process of the project's
 * Python (see include/migsync/alembic.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "migsync/alembic.h"
#include "migsync/clock.h"
#include "migsync/strbuf.h"

extern char **environ;

const char *alembic_python(const char *configured)
{
	return configured && *configured ? configured : ALEMBIC_DEFAULT_PYTHON;
}

void alembic_offline_init(struct alembic_offline *o)
{
	o->preamble = NULL;
	o->epilogue = NULL;
	o->steps = NULL;
	o->nr = 0;
	o->alloc = 0;
}

void alembic_offline_release(struct alembic_offline *o)
{
	for (size_t i = 0; i < o->nr; i++) {
		free(o->steps[i].from);
		free(o->steps[i].revision);
		free(o->steps[i].sql);
	}
	free(o->steps);
	free(o->preamble);
	free(o->epilogue);
	alembic_offline_init(o);
}

const struct alembic_offline_step *alembic_offline_find(const struct alembic_offline *o,
							const char *revision)
{
	for (size_t i = 0; i < o->nr; i++)
		if (!strcmp(o->steps[i].revision, revision))
			return &o->steps[i];
	return NULL;
}

/*
 * Split text at marker comments ("-- Running upgrade A -> B"); a step's
 * revision is B, or A for a downgrade ("-- Running downgrade B -> A").
 */
static void split_steps(struct alembic_offline *out, const char *text, const char *marker,
			bool down)
{
	struct strbuf cur = STRBUF_INIT;
	struct alembic_offline_step *step = NULL;
	const char *p = text;

	alembic_offline_release(out);
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		const char *arrow;

		if (len > strlen(marker) && !strncmp(p, marker, strlen(marker)) &&
		    (arrow = strstr(p, " -> ")) && arrow < p + len) {
			const char *from = p + strlen(marker), *rev = arrow + 4, *end = p + len;

			if (step)
				step->sql = strbuf_detach(&cur, NULL);
			else
				out->preamble = strbuf_detach(&cur, NULL);
			while (end > rev && (end[-1] == ' ' || end[-1] == '\r'))
				end--;
			while (from < arrow && *from == ' ')
				from++;
			ALLOC_GROW(out->steps, out->nr + 1, out->alloc);
			step = &out->steps[out->nr++];
			step->from = xstrndup(from, (size_t)(arrow - from));
			step->revision = xstrndup(rev, (size_t)(end - rev));
			if (down) {
				char *t = step->from;

				step->from = step->revision;
				step->revision = t;
			}
			step->sql = NULL;
		} else {
			strbuf_add(&cur, p, len);
			strbuf_addch(&cur, '\n');
		}
		p += len + (nl ? 1 : 0);
	}
	if (step)
		step->sql = strbuf_detach(&cur, NULL);
	else
		out->preamble = strbuf_detach(&cur, NULL);
	strbuf_release(&cur);
}

void alembic_offline_split(struct alembic_offline *out, const char *text)
{
	split_steps(out, text, "-- Running upgrade ", false);
}

/* The caller's environment, plus DATABASE_URL=postgresql:// when unset. */
static char **child_env(void)
{
	size_t n = 0, k = 0;
	bool has_url = false;
	char **envp;

	while (environ[n]) {
		has_url |= !strncmp(environ[n], "DATABASE_URL=", 13);
		n++;
	}
	envp = xcalloc(n + 2, sizeof(*envp));
	for (size_t i = 0; i < n; i++)
		envp[k++] = environ[i];
	if (!has_url)
		envp[k++] = (char *)"DATABASE_URL=postgresql://";
	envp[k] = NULL;
	return envp;
}

/* Read what is ready on fd into sb; false at end of file. */
static bool drain(int fd, struct strbuf *sb)
{
	char buf[8192];
	ssize_t n = read(fd, buf, sizeof(buf));

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return true;
	if (n <= 0)
		return false;
	strbuf_add(sb, buf, (size_t)n);
	return true;
}

/* Python's last non-empty line of output, for a message; caller frees. */
static char *last_line(const struct strbuf *sb)
{
	const char *end = sb->buf + sb->len, *start;

	while (end > sb->buf && (end[-1] == '\n' || end[-1] == '\r' || end[-1] == ' '))
		end--;
	start = end;
	while (start > sb->buf && start[-1] != '\n')
		start--;
	return end > start ? xstrndup(start, (size_t)(end - start)) : xstrdup("no output");
}

/*
 * Run argv (argv[0] looked up in $PATH) in dir (NULL: here) with stdout
 * into out and stderr into errout; killed with its process group at the
 * deadline. what names the command in messages.
 */
static int run_python(struct strbuf *out, struct strbuf *errout, char *const argv[],
		      const char *dir, const char *what, struct ms_error *err)
{
	int ofd[2] = { -1, -1 }, efd[2] = { -1, -1 };
	char **envp = child_env();
	int64_t deadline = clock_mono_ms() + ALEMBIC_DEADLINE_MS;
	bool open_out = true, open_err = true, late = false;
	pid_t pid = -1;
	int status = 0, ret = 0;

	if (pipe(ofd) < 0 || pipe(efd) < 0) {
		ret = ms_error_set(err, MS_ERR_IO, "could not create a pipe: %s", strerror(errno));
		goto done;
	}
	pid = fork();
	if (pid < 0) {
		ret = ms_error_set(err, MS_ERR_IO, "could not start \"%s\": %s", argv[0],
				   strerror(errno));
		goto done;
	}
	if (!pid) {
		int null = open("/dev/null", O_RDONLY);

		setpgid(0, 0);
		if (null < 0 || dup2(null, 0) < 0 || dup2(ofd[1], 1) < 0 || dup2(efd[1], 2) < 0 ||
		    (dir && chdir(dir) < 0))
			_exit(126);
		close(ofd[0]);
		close(efd[0]);
		signal(SIGPIPE, SIG_DFL);
		environ = envp;
		execvp(argv[0], argv);
		_exit(127);
	}
	setpgid(pid, pid);
	close(ofd[1]);
	close(efd[1]);
	ofd[1] = efd[1] = -1;
	while (open_out || open_err) {
		struct pollfd pfd[2] = { { .fd = open_out ? ofd[0] : -1, .events = POLLIN },
					 { .fd = open_err ? efd[0] : -1, .events = POLLIN } };
		int64_t left = deadline - clock_mono_ms();

		if (left <= 0) {
			late = true;
			kill(-pid, SIGKILL);
			break;
		}
		if (poll(pfd, 2, left > 1000 ? 1000 : (int)left) <= 0)
			continue;
		if (pfd[0].revents)
			open_out = drain(ofd[0], out);
		if (pfd[1].revents)
			open_err = drain(efd[0], errout);
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (late) {
		ret = ms_error_set(err, MS_ERR_GENERIC, "%s: no answer within %d s", what,
				   ALEMBIC_DEADLINE_MS / 1000);
	} else if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		char *line = last_line(errout->len ? errout : out);

		if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
			ret = ms_error_set(err, MS_ERR_GENERIC, "%s: could not run \"%s\"", what,
					   argv[0]);
		else
			ret = ms_error_set(err, MS_ERR_GENERIC, "%s: exit status %d: %s", what,
					   WIFEXITED(status) ? WEXITSTATUS(status) : -1, line);
		free(line);
	}
done:
	for (int i = 0; i < 2; i++) {
		if (ofd[i] >= 0)
			close(ofd[i]);
		if (efd[i] >= 0)
			close(efd[i]);
	}
	free(envp);
	return ret;
}

/* The ini as an absolute path (Alembic runs in its directory); caller frees. */
static char *absolute(const char *path)
{
	char *cwd, *ret;

	if (path[0] == '/')
		return xstrdup(path);
	cwd = getcwd(NULL, 0);
	ret = xstrfmt("%s/%s", cwd ? cwd : ".", path);
	free(cwd);
	return ret;
}

static int offline(struct alembic_offline *out, const char *python, const char *ini,
		   const char *command, const char *range, struct ms_error *err)
{
	struct strbuf sql = STRBUF_INIT, errout = STRBUF_INIT;
	char *ini_abs = absolute(ini), *dir = xstrdup(ini_abs), *slash = strrchr(dir, '/');
	char *what = xstrfmt("alembic %s %s --sql", command, range);
	char *argv[] = { (char *)alembic_python(python), "-m", "alembic", "-c", ini_abs,
			 (char *)command, (char *)range, "--sql", NULL };
	int ret;

	if (slash && slash != dir)
		*slash = '\0';
	alembic_offline_release(out);
	ret = run_python(&sql, &errout, argv, dir, what, err);
	if (ret < 0)
		ms_error_hint(err, "env.py must be able to run offline (context.is_offline_mode()); "
			      "check migrations.python (\"%s\") and that it can import alembic",
			      alembic_python(python));
	else
		split_steps(out, sql.buf ? sql.buf : "", !strcmp(command, "upgrade") ?
			    "-- Running upgrade " : "-- Running downgrade ",
			    !!strcmp(command, "upgrade"));
	strbuf_release(&sql);
	strbuf_release(&errout);
	free(ini_abs);
	free(dir);
	free(what);
	return ret;
}

int alembic_offline_sql(struct alembic_offline *out, const char *python, const char *ini,
			const char *range, struct ms_error *err)
{
	return offline(out, python, ini, "upgrade", range, err);
}

int alembic_offline_down_sql(struct alembic_offline *out, const char *python, const char *ini,
			     const char *range, struct ms_error *err)
{
	return offline(out, python, ini, "downgrade", range, err);
}

void alembic_compile_errors_free(struct alembic_compile_error *list, size_t nr)
{
	for (size_t i = 0; i < nr; i++) {
		free(list[i].path);
		free(list[i].message);
	}
	free(list);
}

/*
 * compile() only: the module is parsed and compiled, never run. Prints
 * "index TAB line TAB column TAB message" for each file that does not.
 */
static const char compile_script[] =
	"import sys\n"
	"for i, p in enumerate(sys.argv[1:]):\n"
	"    try:\n"
	"        with open(p, 'rb') as f:\n"
	"            compile(f.read(), p, 'exec', dont_inherit=True)\n"
	"    except SyntaxError as e:\n"
	"        m = ' '.join(str(e.msg).split())\n"
	"        print('%d\\t%d\\t%d\\t%s' % (i, e.lineno or 0, e.offset or 0, m))\n"
	"    except (ValueError, OSError) as e:\n"
	"        print('%d\\t0\\t0\\t%s' % (i, ' '.join(str(e).split())))\n";

int alembic_compile_check(struct alembic_compile_error **out, size_t *nr, const char *python,
			  const struct strvec *paths, struct ms_error *err)
{
	struct strbuf res = STRBUF_INIT, errout = STRBUF_INIT;
	char **argv = xcalloc(paths->nr + 4, sizeof(*argv));
	size_t alloc = 0;
	const char *p;
	int ret;

	*out = NULL;
	*nr = 0;
	argv[0] = (char *)alembic_python(python);
	argv[1] = "-c";
	argv[2] = (char *)compile_script;
	for (size_t i = 0; i < paths->nr; i++)
		argv[3 + i] = paths->items[i];
	ret = run_python(&res, &errout, argv, NULL, "python3 compile()", err);
	for (p = res.buf; ret == 0 && p && *p;) {
		const char *nl = strchr(p, '\n');
		char *fields[4] = { NULL }, *line = xstrndup(p, nl ? (size_t)(nl - p) : strlen(p));
		char *save = NULL, *tok = line;
		size_t idx;
		int f = 0;

		for (; f < 4 && (fields[f] = f < 3 ? strtok_r(tok, "\t", &save) : save); f++)
			tok = NULL;
		idx = fields[0] ? strtoul(fields[0], NULL, 10) : paths->nr;
		if (f == 4 && idx < paths->nr) {
			struct alembic_compile_error *e;

			ALLOC_GROW(*out, *nr + 1, alloc);
			e = &(*out)[(*nr)++];
			e->path = xstrdup(paths->items[idx]);
			e->line = (unsigned)strtoul(fields[1], NULL, 10);
			e->column = (unsigned)strtoul(fields[2], NULL, 10);
			e->message = xstrdup(fields[3]);
		}
		free(line);
		p = nl ? nl + 1 : NULL;
	}
	strbuf_release(&res);
	strbuf_release(&errout);
	free(argv);
	return ret;
}
