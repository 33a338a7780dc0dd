/*
 * The versions directory: which files are revisions, reading them in a
 * stable order, and the lifecycle of struct script.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "migsync/scripts.h"
#include "migsync/strbuf.h"
#include "scripts_int.h"

void script_init(struct script *s)
{
	memset(s, 0, sizeof(*s));
	strvec_init(&s->down_revisions);
	strvec_init(&s->branch_labels);
	strvec_init(&s->depends_on);
	s->transactional = true;
}

void script_release(struct script *s)
{
	free(s->path);
	free(s->filename);
	free(s->revision);
	strvec_release(&s->down_revisions);
	strvec_release(&s->branch_labels);
	strvec_release(&s->depends_on);
	free(s->message);
	free(s->doc);
	free(s->up_sql);
	free(s->down_sql);
	script_init(s);
}

void script_set_init(struct script_set *set)
{
	set->items = NULL;
	set->nr = 0;
	set->alloc = 0;
}

void script_set_release(struct script_set *set)
{
	for (size_t i = 0; i < set->nr; i++)
		script_release(&set->items[i]);
	free(set->items);
	script_set_init(set);
}

int scripts_error_at(struct ms_error *err, int code, const char *path,
		     unsigned line, const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT;
	va_list ap;

	if (line)
		strbuf_addf(&sb, "\"%s\", line %u: ", path, line);
	else
		strbuf_addf(&sb, "\"%s\": ", path);
	va_start(ap, fmt);
	strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	code = ms_error_set(err, code, "%s", sb.buf);
	strbuf_release(&sb);
	return code;
}

static unsigned count_lines(const char *buf, const char *upto)
{
	unsigned line = 1;
	const char *p = buf;

	while ((p = memchr(p, '\n', (size_t)(upto - p))) != NULL) {
		line++;
		p++;
	}
	return line;
}

int scripts_check_text(const char *path, const char *buf, size_t len,
		       struct ms_error *err)
{
	const char *p = buf, *end = buf + len, *nul;
	unsigned line = 1;
	int ret = 0;

	if (len > SCRIPTS_MAX_FILE_SIZE) {
		ret = scripts_error_at(err, MS_ERR_PARSE, path, 0,
				       "file is larger than %u MiB",
				       SCRIPTS_MAX_FILE_SIZE / (1024 * 1024));
		ms_error_hint(err, "a revision file this large is not a revision script; move it out of the versions directory");
		goto done;
	}
	nul = memchr(buf, '\0', len);
	if (nul) {
		ret = scripts_error_at(err, MS_ERR_PARSE, path,
				       count_lines(buf, nul),
				       "binary file (NUL byte)");
		ms_error_hint(err, "revision scripts are text; move binary files out of the versions directory");
		goto done;
	}
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl ? nl : end;

		if ((size_t)(eol - p) > SCRIPTS_MAX_LINE) {
			ret = scripts_error_at(err, MS_ERR_PARSE, path, line,
					       "line is longer than %u MiB",
					       SCRIPTS_MAX_LINE / (1024 * 1024));
			ms_error_hint(err, "is this a generated or data file? revision scripts have short lines");
			goto done;
		}
		if (!nl)
			break;
		p = nl + 1;
		line++;
	}
done:
	return ret;
}

size_t scripts_bom_len(const char *buf, size_t len)
{
	if (len >= 3 && !memcmp(buf, "\xef\xbb\xbf", 3))
		return 3;
	return 0;
}

/*
 * Alembic 1.8 (not sourceless) loads names matching
 * `(?!\.\#|__init__)(.*\.py)$`; `.` does not match a newline. migsync adds
 * its native `.sql` revisions under the same rule.
 */
bool scripts_is_revision_file(const char *filename)
{
	if (starts_with(filename, "__init__") || starts_with(filename, ".#"))
		return false;
	if (strchr(filename, '\n'))
		return false;
	return ends_with(filename, ".py") || ends_with(filename, ".sql");
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * Read the file at path into buf (reused between files). Returns 0, 1 when
 * path turned out to be a directory (skipped), or a negative code.
 */
static int read_one(struct strbuf *buf, const char *path, struct ms_error *err)
{
	int fd = -1, ret = 0;
	struct stat st;

	strbuf_reset(buf);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		struct stat lst;

		ret = scripts_error_at(err, MS_ERR_IO, path, 0,
				       "could not open: %s", strerror(e));
		if (e == ENOENT && !lstat(path, &lst) && S_ISLNK(lst.st_mode))
			ms_error_hint(err, "it is a dangling symbolic link; remove it or restore its target");
		else if (e == EACCES)
			ms_error_hint(err, "check the file's permissions");
		goto done;
	}
	if (fstat(fd, &st)) {
		ret = scripts_error_at(err, MS_ERR_IO, path, 0,
				       "could not stat: %s", strerror(errno));
		goto done;
	}
	if (S_ISDIR(st.st_mode)) {
		ret = 1;
		goto done;
	}
	if (!S_ISREG(st.st_mode)) {
		ret = scripts_error_at(err, MS_ERR_IO, path, 0, "not a regular file");
		ms_error_hint(err, "revision scripts must be regular files");
		goto done;
	}
	if ((unsigned long long)st.st_size > SCRIPTS_MAX_FILE_SIZE)
		goto too_large;
	strbuf_grow(buf, (size_t)st.st_size + 1);
	for (;;) {
		ssize_t n;

		if (buf->alloc - buf->len < 2)
			strbuf_grow(buf, 4096);
		n = read(fd, buf->buf + buf->len, buf->alloc - buf->len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = scripts_error_at(err, MS_ERR_IO, path, 0,
					       "could not read: %s", strerror(errno));
			goto done;
		}
		if (n == 0)
			break;
		strbuf_setlen(buf, buf->len + (size_t)n);
		if (buf->len > SCRIPTS_MAX_FILE_SIZE)
			goto too_large;
	}
	goto done;
too_large:
	ret = scripts_error_at(err, MS_ERR_PARSE, path, 0,
			       "file is larger than %u MiB",
			       SCRIPTS_MAX_FILE_SIZE / (1024 * 1024));
	ms_error_hint(err, "a revision file this large is not a revision script; move it out of the versions directory");
done:
	if (fd >= 0)
		close(fd);
	return ret;
}

int scripts_read_dir(struct script_set *set, const char *dir, unsigned flags,
		     struct diag_list *warnings, struct ms_error *err)
{
	struct strvec names = STRVEC_INIT;
	struct strbuf buf = STRBUF_INIT, path = STRBUF_INIT;
	struct stat st;
	struct dirent *de;
	DIR *d = NULL;
	int ret = 0;

	if (stat(dir, &st)) {
		int e = errno;

		ret = scripts_error_at(err, MS_ERR_IO, dir, 0,
				       "could not read versions directory: %s",
				       strerror(e));
		if (e == ENOENT)
			ms_error_hint(err, "check migrations.scripts in inventory.yaml, or pass --scripts DIR");
		goto done;
	}
	if (!S_ISDIR(st.st_mode)) {
		ret = scripts_error_at(err, MS_ERR_IO, dir, 0, "not a directory");
		ms_error_hint(err, "pass the versions directory that holds the revision files, not a file");
		goto done;
	}
	d = opendir(dir);
	if (!d) {
		ret = scripts_error_at(err, MS_ERR_IO, dir, 0,
				       "could not open directory: %s", strerror(errno));
		goto done;
	}
	while ((errno = 0, de = readdir(d)) != NULL) {
		if (de->d_type == DT_DIR)
			continue;
		if (scripts_is_revision_file(de->d_name))
			strvec_push(&names, de->d_name);
	}
	if (errno) {
		ret = scripts_error_at(err, MS_ERR_IO, dir, 0,
				       "could not read directory: %s", strerror(errno));
		goto done;
	}
	if (names.nr > 1)
		qsort(names.items, names.nr, sizeof(*names.items), cmp_names);

	for (size_t i = 0; i < names.nr; i++) {
		struct script *s;
		int r;

		strbuf_reset(&path);
		strbuf_addf(&path, "%s/%s", dir, names.items[i]);
		r = read_one(&buf, path.buf, err);
		if (r < 0) {
			ret = r;
			goto done;
		}
		if (r > 0)
			continue;
		ALLOC_GROW(set->items, set->nr + 1, set->alloc);
		s = &set->items[set->nr];
		if (ends_with(names.items[i], ".sql"))
			r = script_parse_sql(s, path.buf, buf.buf, buf.len,
					     flags, warnings, err);
		else
			r = script_parse_python(s, path.buf, buf.buf, buf.len,
						flags, warnings, err);
		if (r < 0) {
			ret = r;
			goto done;
		}
		set->nr++;
	}
done:
	if (d)
		closedir(d);
	strvec_release(&names);
	strbuf_release(&buf);
	strbuf_release(&path);
	return ret;
}

