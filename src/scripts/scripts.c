/*
 * The versions directory: which files are revisions, reading them in a
 * stable order, and the lifecycle of struct script.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
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

/* Is p inside the allocation that holds the script's strings? */
static bool in_strings(const struct script *s, const char *p)
{
	return s->strings_end && p && (uintptr_t)p >= (uintptr_t)s->path &&
	       (uintptr_t)p < (uintptr_t)s->strings_end;
}

static void free_str(const struct script *s, char *p)
{
	if (!in_strings(s, p))
		free(p);
}

static void release_list(const struct script *s, struct strvec *v)
{
	for (size_t i = 0; i < v->nr; i++)
		free_str(s, v->items[i]);
	free(v->items);
	strvec_init(v);
}

void script_release(struct script *s)
{
	free_str(s, s->filename);
	free_str(s, s->revision);
	release_list(s, &s->down_revisions);
	release_list(s, &s->branch_labels);
	release_list(s, &s->depends_on);
	free_str(s, s->message);
	free_str(s, s->doc);
	free(s->up_sql);
	free(s->down_sql);
	free(s->path);		/* last: it may hold the strings above */
	script_init(s);
}

static size_t str_size(const char *p)
{
	return p ? strlen(p) + 1 : 0;
}

static char *pool_put(char **pool, char *str)
{
	char *copy = *pool;
	size_t n = strlen(str) + 1;

	memcpy(copy, str, n);
	*pool += n;
	free(str);
	return copy;
}

static void pool_list(char **pool, struct strvec *v)
{
	if (!v->nr) {
		strvec_release(v);
		return;
	}
	for (size_t i = 0; i < v->nr; i++)
		v->items[i] = pool_put(pool, v->items[i]);
	/* exact size: the strvec growth policy keeps 16 slots */
	v->items = xrealloc(v->items, v->nr * sizeof(*v->items));
	v->alloc = v->nr;
}

/*
 * A read directory holds thousands of scripts: one allocation for their
 * small strings instead of a dozen saves both malloc's per-block overhead
 * and the slack of the lists (strvec keeps at least 16 slots).
 */
void scripts_compact(struct script *s)
{
	size_t total = 0, name_off;
	char *p;

	if (s->strings_end || !s->path)
		return;
	total += str_size(s->path) + str_size(s->revision) +
		 str_size(s->message) + str_size(s->doc);
	for (size_t i = 0; i < s->down_revisions.nr; i++)
		total += str_size(s->down_revisions.items[i]);
	for (size_t i = 0; i < s->branch_labels.nr; i++)
		total += str_size(s->branch_labels.items[i]);
	for (size_t i = 0; i < s->depends_on.nr; i++)
		total += str_size(s->depends_on.items[i]);
	name_off = s->filename && ends_with(s->path, s->filename) ?
		   strlen(s->path) - strlen(s->filename) : (size_t)-1;
	if (name_off == (size_t)-1)
		total += str_size(s->filename);

	p = xmalloc(total);
	s->path = pool_put(&p, s->path);
	if (name_off != (size_t)-1) {
		free(s->filename);
		s->filename = s->path + name_off;
	} else if (s->filename) {
		s->filename = pool_put(&p, s->filename);
	}
	if (s->revision)
		s->revision = pool_put(&p, s->revision);
	if (s->message)
		s->message = pool_put(&p, s->message);
	if (s->doc)
		s->doc = pool_put(&p, s->doc);
	pool_list(&p, &s->down_revisions);
	pool_list(&p, &s->branch_labels);
	pool_list(&p, &s->depends_on);
	s->strings_end = p;
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
	return strcmp(*(const char *const *)a, *(const char *const *)b);
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
	/* O_NONBLOCK: a FIFO in the directory must not hang the reader */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
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

/*
 * The reader's messages start with the place ("\"dir/x.py\", line 12: ");
 * a diagnostic carries the place itself, so lift the line out and keep
 * the rest, with the file name as its subject.
 */
static void add_read_error(struct diag_list *list, const char *path,
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
			diag_add(list, DIAG_ERROR, "MS040", path, line, NULL, hint,
				 "file \"%s\": %s", name, p + 2);
			return;
		}
	}
	diag_add(list, DIAG_ERROR, "MS040", path, 0, NULL, hint, "%s", msg);
}

/* Read and parse one file into *s. Returns 0, 1 (a directory: skipped) or a negative code. */
static int read_script(struct script *s, struct strbuf *buf, const char *path,
		       const char *name, unsigned flags, const struct strvec *import_path,
		       struct diag_list *warnings, struct ms_error *err)
{
	int r = read_one(buf, path, err);

	if (r)
		return r;
	if (ends_with(name, ".sql"))
		return script_parse_sql(s, path, buf->buf, buf->len, flags, warnings, err);
	return script_parse_python_in(s, path, buf->buf, buf->len, flags, import_path, warnings, err);
}

/* Does dir/name exist? */
static bool exists_in(const char *dir, const char *name)
{
	char *path = xstrfmt("%s/%s", dir, name);
	bool ret = access(path, F_OK) == 0;

	free(path);
	return ret;
}

/* name's part before its first ".", as Alembic's fname.split(".")[0] */
static bool stem_in(const struct strvec *stems, const char *name)
{
	char *stem = xstrndup(name, strcspn(name, "."));
	bool ret = strvec_contains(stems, stem);

	free(stem);
	return ret;
}

/*
 * Would Alembic 1.8 with sourceless = true load name (a .pyc or .pyo)
 * from dir? Not when the .py is there (it prefers the source), nor a
 * .pyo next to its .pyc.
 */
static bool loads_compiled(const char *dir, const char *name)
{
	size_t n = strlen(name);
	char *py;
	bool ret;

	if (starts_with(name, "__init__") || starts_with(name, ".#") ||
	    (!ends_with(name, ".pyc") && !ends_with(name, ".pyo")))
		return false;
	py = xstrndup(name, n - 1);
	ret = !exists_in(dir, py);
	if (ret && name[n - 1] == 'o') {
		char *pyc = xstrfmt("%sc", py);

		ret = !exists_in(dir, pyc);
		free(pyc);
	}
	free(py);
	return ret;
}

/*
 * With sourceless = true Alembic also loads compiled revisions: a .pyc
 * or .pyo in dir without its .py, and a file of dir/__pycache__ whose
 * name's stem no file of dir has. migsync reads sources only, so each
 * such file is an error: the graph would miss a revision Alembic sees.
 */
static int check_compiled(const char *dir, unsigned flags, struct diag_list *warnings,
			  struct ms_error *err)
{
	struct strvec stems = STRVEC_INIT, found = STRVEC_INIT;
	char *cache = xstrfmt("%s/__pycache__", dir);
	DIR *d = opendir(dir);
	struct dirent *de;
	int ret = 0;

	while (d && (de = readdir(d)) != NULL) {
		strvec_push_owned(&stems, xstrndup(de->d_name, strcspn(de->d_name, ".")));
		if (loads_compiled(dir, de->d_name))
			strvec_push_owned(&found, xstrfmt("%s/%s", dir, de->d_name));
	}
	if (d)
		closedir(d);
	d = opendir(cache);
	while (d && (de = readdir(d)) != NULL)
		if (!stem_in(&stems, de->d_name) && loads_compiled(cache, de->d_name))
			strvec_push_owned(&found, xstrfmt("%s/%s", cache, de->d_name));
	if (d)
		closedir(d);
	strvec_sort(&found);
	for (size_t i = 0; ret == 0 && i < found.nr; i++) {
		const char *path = found.items[i];
		const char *hint = "keep the revision's .py next to it: Alembic then reads the source too";

		if (flags & SCRIPTS_KEEP_GOING) {
			diag_add(warnings, DIAG_ERROR, "MS040", path, 0, NULL, hint,
				 "file \"%s\": a compiled revision without its source (sourceless = true): "
				 "Alembic loads it, migsync reads revision sources only",
				 strrchr(path, '/') + 1);
			continue;
		}
		ret = scripts_error_at(err, MS_ERR_PARSE, path, 0,
				       "a compiled revision without its source (sourceless = true): "
				       "Alembic loads it, migsync reads revision sources only");
		ms_error_hint(err, "%s", hint);
	}
	free(cache);
	strvec_release(&stems);
	strvec_release(&found);
	return ret;
}

int scripts_read_dir(struct script_set *set, const char *dir, unsigned flags,
		     struct diag_list *warnings, struct ms_error *err)
{
	return scripts_read_dir_in(set, dir, flags, NULL, warnings, err);
}

int scripts_read_dir_in(struct script_set *set, const char *dir, unsigned flags,
			const struct strvec *import_path, struct diag_list *warnings,
			struct ms_error *err)
{
	struct strbuf text = STRBUF_INIT, buf = STRBUF_INIT, path = STRBUF_INIT;
	const char **names = NULL;
	size_t names_nr = 0;
	struct stat st;
	struct dirent *de;
	DIR *d = NULL;
	int ret = 0;

	if (stat(dir, &st)) {
		/* no hint: the caller knows where dir came from, and says so (project_open) */
		ret = scripts_error_at(err, MS_ERR_IO, dir, 0,
				       "could not read versions directory: %s",
				       strerror(errno));
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
	/* the names go into one buffer, NUL-separated: no allocation per name */
	while ((errno = 0, de = readdir(d)) != NULL) {
		if (de->d_type == DT_DIR)
			continue;
		if (scripts_is_revision_file(de->d_name)) {
			strbuf_add(&text, de->d_name, strlen(de->d_name) + 1);
			names_nr++;
		}
	}
	if (errno) {
		ret = scripts_error_at(err, MS_ERR_IO, dir, 0,
				       "could not read directory: %s", strerror(errno));
		goto done;
	}
	names = xmalloc((names_nr ? names_nr : 1) * sizeof(*names));
	for (size_t i = 0, off = 0; i < names_nr; i++) {
		names[i] = text.buf + off;
		off += strlen(names[i]) + 1;
	}
	if (names_nr > 1)
		qsort(names, names_nr, sizeof(*names), cmp_names);

	/* exact size: growing by doubling would leave up to half unused */
	if (set->alloc < set->nr + names_nr) {
		set->alloc = set->nr + names_nr;
		set->items = xrealloc(set->items, (set->alloc ? set->alloc : 1) * sizeof(*set->items));
	}
	for (size_t i = 0; i < names_nr; i++) {
		struct ms_error ferr = MS_ERROR_INIT;
		int r;

		strbuf_reset(&path);
		strbuf_addf(&path, "%s/%s", dir, names[i]);
		r = read_script(&set->items[set->nr], &buf, path.buf, names[i], flags,
				import_path, warnings, (flags & SCRIPTS_KEEP_GOING) ? &ferr : err);
		if (r < 0 && (flags & SCRIPTS_KEEP_GOING)) {
			add_read_error(warnings, path.buf, &ferr);
			r = 1;
		}
		ms_error_release(&ferr);
		if (r < 0) {
			ret = r;
			goto done;
		}
		if (r == 0)
			set->nr++;
	}
	if (flags & SCRIPTS_SOURCELESS)
		ret = check_compiled(dir, flags, warnings, err);
done:
	if (d)
		closedir(d);
	free(names);
	strbuf_release(&text);
	strbuf_release(&buf);
	strbuf_release(&path);
	return ret;
}
