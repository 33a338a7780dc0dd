/*
 * Reading a versions directory for lint: scripts_read_dir in its
 * keep-going mode, so that every broken file becomes an MS040 finding
 * and the other files are still checked.
 */
#include <stdlib.h>
#include <string.h>

#include "migsync/lint.h"

int lint_read_dir(struct script_set *set, struct diag_list *reader,
		  const char *dir, unsigned flags, const struct strvec *import_path,
		  struct ms_error *err)
{
	size_t len = strlen(dir);
	char *clean;
	int ret;

	/* "versions/" names its files "versions/x.py", as before */
	while (len > 1 && dir[len - 1] == '/')
		len--;
	clean = xstrndup(dir, len);
	ret = scripts_read_dir_in(set, clean, flags | SCRIPTS_KEEP_GOING, import_path, reader, err);
	free(clean);
	return ret;
}
