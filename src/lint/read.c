/*
 * Reading a versions directory for lint. scripts_read_dir stops at the
 * first file it cannot parse, which is right for commands that need the
 * whole graph, but lint should report every broken file and still check
 * the others: so this walks the directory itself, with the same file
 * selection and order, and turns each failure into an MS040 finding.
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "migsync/lint.h"
#include "migsync/strbuf.h"

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * The line a reader message names ("..., line 12: ..."), or 0. The
 * reader puts the place into its message; lifting it out lets the
 * finding sort with the others of the file.
 */
static unsigned line_of_message(const char *msg)
{
	const char *p = msg;

	while (p && (p = strstr(p, "line ")) != NULL) {
		p += strlen("line ");
		if (*p >= '0' && *p <= '9')
			return (unsigned)strtoul(p, NULL, 10);
	}
	return 0;
}

static void read_one(struct script_set *set, struct diag_list *reader,
		     const char *path, unsigned flags)
{
	struct strbuf sb = STRBUF_INIT;
	struct ms_error perr = MS_ERROR_INIT;
	struct script s;
	int ret;

	script_init(&s);
	if (strbuf_read_file(&sb, path, SCRIPTS_MAX_FILE_SIZE) < 0) {
		diag_add(reader, DIAG_ERROR, "MS040", path, 0, NULL,
			 "check the file's permissions and size", "\"%s\": could not read: %s",
			 path, errno == EFBIG ? "file too large" : strerror(errno));
		goto done;
	}
	if (ends_with(path, ".sql"))
		ret = script_parse_sql(&s, path, sb.buf, sb.len, flags, reader, &perr);
	else
		ret = script_parse_python(&s, path, sb.buf, sb.len, flags, reader, &perr);
	if (ret < 0) {
		diag_add(reader, DIAG_ERROR, "MS040", path, line_of_message(perr.message), NULL,
			 perr.hint ? perr.hint : "fix the file so that migsync and Alembic can read it",
			 "%s", perr.message ? perr.message : "could not parse");
		goto done;
	}
	ALLOC_GROW(set->items, set->nr + 1, set->alloc);
	set->items[set->nr++] = s;
	script_init(&s);
done:
	script_release(&s);
	ms_error_release(&perr);
	strbuf_release(&sb);
}

int lint_read_dir(struct script_set *set, struct diag_list *reader,
		  const char *dir, unsigned flags, struct ms_error *err)
{
	DIR *d = opendir(dir);
	struct strvec names = STRVEC_INIT;
	struct dirent *de;
	int ret = 0;

	if (!d) {
		ret = ms_error_set(err, MS_ERR_IO, "directory \"%s\": could not open: %s",
				   dir, strerror(errno));
		goto done;
	}
	while ((de = readdir(d)) != NULL)
		if (scripts_is_revision_file(de->d_name))
			strvec_push(&names, de->d_name);
	if (names.nr > 1)
		qsort(names.items, names.nr, sizeof(*names.items), cmp_str);

	for (size_t i = 0; i < names.nr; i++) {
		char *path = xstrfmt("%s%s%s", dir, ends_with(dir, "/") ? "" : "/",
				     names.items[i]);
		struct stat st;

		if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
			read_one(set, reader, path, flags);
		free(path);
	}
done:
	if (d)
		closedir(d);
	strvec_release(&names);
	return ret;
}
