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
 * The reader's messages start with the place ("\"dir/x.py\", line 12: ");
 * a finding carries the place itself, so lift the line out and keep the
 * rest, with the file name as its subject.
 */
static void add_parse_error(struct diag_list *reader, const char *path,
			    const struct ms_error *perr)
{
	const char *msg = perr->message ? perr->message : "could not parse";
	const char *name = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	const char *hint = perr->hint ? perr->hint
		: "fix the file so that migsync and Alembic can read it";
	size_t plen = strlen(path);

	if (msg[0] == '"' && !strncmp(msg + 1, path, plen) && msg[plen + 1] == '"') {
		const char *p = msg + plen + 2;
		unsigned line = 0;

		if (starts_with(p, ", line ")) {
			char *end;

			p += strlen(", line ");
			line = (unsigned)strtoul(p, &end, 10);
			p = end;
		}
		if (starts_with(p, ": ")) {
			diag_add(reader, DIAG_ERROR, "MS040", path, line, NULL, hint,
				 "file \"%s\": %s", name, p + 2);
			return;
		}
	}
	diag_add(reader, DIAG_ERROR, "MS040", path, 0, NULL, hint, "%s", msg);
}

static void read_one(struct script_set *set, struct diag_list *reader,
		     const char *path, unsigned flags)
{
	struct strbuf sb = STRBUF_INIT;
	struct ms_error perr = MS_ERROR_INIT;
	const char *name = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	struct script s;
	struct stat st;
	int ret;

	script_init(&s);
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		goto done;
	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
		diag_add(reader, DIAG_ERROR, "MS040", path, 0, NULL,
			 "revision scripts must be regular files",
			 "file \"%s\": not a regular file", name);
		goto done;
	}
	if (strbuf_read_file(&sb, path, SCRIPTS_MAX_FILE_SIZE) < 0) {
		diag_add(reader, DIAG_ERROR, "MS040", path, 0, NULL,
			 errno == EFBIG ? "a revision file this large is not a revision script"
			 : "check the file and its permissions",
			 "file \"%s\": could not read: %s", name,
			 errno == EFBIG ? "larger than the 16 MiB limit" : strerror(errno));
		goto done;
	}
	if (ends_with(path, ".sql"))
		ret = script_parse_sql(&s, path, sb.buf, sb.len, flags, reader, &perr);
	else
		ret = script_parse_python(&s, path, sb.buf, sb.len, flags, reader, &perr);
	if (ret < 0) {
		add_parse_error(reader, path, &perr);
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
		ms_error_hint(err, "check migrations.scripts in inventory.yaml, or pass --scripts DIR");
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

		read_one(set, reader, path, flags);
		free(path);
	}
done:
	if (d)
		closedir(d);
	strvec_release(&names);
	return ret;
}
