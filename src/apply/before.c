/* The environment's before_apply command, run once before a stage. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "migsync/apply.h"

int apply_before_hook(const struct environment *env, const struct inventory *inv,
		      struct ms_error *err)
{
	pid_t pid;
	int status = 0;

	if (!env->before_apply || !*env->before_apply)
		return 0;
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0)
		return ms_error_set(err, MS_ERR_GENERIC,
				    "environment \"%s\": could not run before_apply: %s",
				    env->name, strerror(errno));
	if (pid == 0) {
		if (inv && inv->dir && chdir(inv->dir) < 0)
			_exit(126);
		setenv("MIGSYNC_ENVIRONMENT", env->name, 1);
		dup2(STDERR_FILENO, STDOUT_FILENO);
		execl("/bin/sh", "sh", "-c", env->before_apply, (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			return ms_error_set(err, MS_ERR_GENERIC,
					    "environment \"%s\": before_apply: %s",
					    env->name, strerror(errno));
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFEXITED(status))
		ms_error_set(err, MS_ERR_GENERIC,
			     "environment \"%s\": before_apply exited with status %d",
			     env->name, WEXITSTATUS(status));
	else
		ms_error_set(err, MS_ERR_GENERIC,
			     "environment \"%s\": before_apply was killed by signal %d",
			     env->name, WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	ms_error_hint(err, "the stage was not started; fix the command (%s) and run again",
		      env->before_apply);
	return MS_ERR_GENERIC;
}
