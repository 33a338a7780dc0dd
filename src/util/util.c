#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "migsync/strbuf.h"
#include "migsync/util.h"

static void die_oom(size_t size)
{
	fprintf(stderr, "migsync: out of memory (allocating %zu bytes)\n", size);
	abort();
}

void *xmalloc(size_t size)
{
	void *p = malloc(size ? size : 1);

	if (!p)
		die_oom(size);
	return p;
}

void *xcalloc(size_t nmemb, size_t size)
{
	void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);

	if (!p)
		die_oom(nmemb * size);
	return p;
}

void *xrealloc(void *ptr, size_t size)
{
	void *p = realloc(ptr, size ? size : 1);

	if (!p)
		die_oom(size);
	return p;
}

char *xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	char *p = xmalloc(len + 1);

	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

char *xstrfmt(const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	return strbuf_detach(&sb, NULL);
}

int strcmp_null(const char *a, const char *b)
{
	if (!a || !b)
		return (a != NULL) - (b != NULL);
	return strcmp(a, b);
}

bool starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

bool ends_with(const char *s, const char *suffix)
{
	size_t ls = strlen(s), lx = strlen(suffix);

	return ls >= lx && memcmp(s + ls - lx, suffix, lx) == 0;
}

void strvec_init(struct strvec *v)
{
	v->items = NULL;
	v->nr = 0;
	v->alloc = 0;
}

void strvec_release(struct strvec *v)
{
	for (size_t i = 0; i < v->nr; i++)
		free(v->items[i]);
	free(v->items);
	strvec_init(v);
}

void strvec_push_owned(struct strvec *v, char *s)
{
	ALLOC_GROW(v->items, v->nr + 1, v->alloc);
	v->items[v->nr++] = s;
}

char *strvec_push(struct strvec *v, const char *s)
{
	char *copy = xstrdup(s);

	strvec_push_owned(v, copy);
	return copy;
}

bool strvec_contains(const struct strvec *v, const char *s)
{
	for (size_t i = 0; i < v->nr; i++)
		if (!strcmp(v->items[i], s))
			return true;
	return false;
}

bool strvec_equal(const struct strvec *a, const struct strvec *b)
{
	if (a->nr != b->nr)
		return false;
	for (size_t i = 0; i < a->nr; i++)
		if (strcmp(a->items[i], b->items[i]))
			return false;
	return true;
}

static int cmp_str_ptr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void strvec_sort(struct strvec *v)
{
	if (v->nr > 1)
		qsort(v->items, v->nr, sizeof(*v->items), cmp_str_ptr);
}

/* Whether path names a directory that is not a symbolic link. */
static bool real_dir(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

char *path_fold_parents(const char *path)
{
	struct strbuf out = STRBUF_INIT;
	size_t *starts = NULL, nr = 0, alloc = 0;	/* where each kept part begins in out */
	bool absolute = path[0] == '/';
	const char *p = path;

	if (absolute)
		strbuf_addch(&out, '/');
	while (*p) {
		size_t len = strcspn(p, "/");

		if (len == 0 || (len == 1 && p[0] == '.')) {
			/* "//" or "/./": nothing */
		} else if (len == 2 && p[0] == '.' && p[1] == '.' && nr &&
			   strcmp(out.buf + starts[nr - 1], "..") &&
			   real_dir(out.buf)) {
			/* back out of the last part, and the slash before it */
			size_t start = starts[--nr];

			strbuf_setlen(&out, start > (absolute ? 1u : 0u) ? start - 1 : start);
		} else {
			if (out.len > (absolute ? 1u : 0u))
				strbuf_addch(&out, '/');
			ALLOC_GROW(starts, nr + 1, alloc);
			starts[nr++] = out.len;
			strbuf_add(&out, p, len);
		}
		p += len;
		while (*p == '/')
			p++;
	}
	free(starts);
	if (!out.len)
		strbuf_addch(&out, '.');
	return strbuf_detach(&out, NULL);
}
