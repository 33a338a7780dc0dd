#ifndef MIGSYNC_UTIL_H
#define MIGSYNC_UTIL_H

/*
 * Small allocation helpers. Allocation failure is not recoverable in
 * migsync: these abort with a message instead of returning NULL.
 */

#include <stdbool.h>
#include <stddef.h>

void *xmalloc(size_t size);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *ptr, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xstrfmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Grow array x (with alloc slots) so that it holds at least nr elements. */
#define ALLOC_GROW(x, nr, alloc) \
	do { \
		if ((nr) > (alloc)) { \
			(alloc) = (alloc) < 16 ? 16 : (alloc); \
			while ((alloc) < (nr)) \
				(alloc) *= 2; \
			(x) = xrealloc((x), (alloc) * sizeof(*(x))); \
		} \
	} while (0)

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* A NULL-safe strcmp ordering NULL first. */
int strcmp_null(const char *a, const char *b);
bool starts_with(const char *s, const char *prefix);
bool ends_with(const char *s, const char *suffix);

/*
 * path with "dir/.." pairs taken out where dir is a directory and not a
 * symbolic link (so that the result names the same file), "." parts and
 * doubled slashes dropped: "environments/../migrations/versions" is
 * "migrations/versions". Parts that do not exist stay as written. The
 * result is the caller's (free()); "." when nothing is left.
 */
char *path_fold_parents(const char *path);

/* A growable list of owned strings. */
struct strvec {
	char **items;
	size_t nr;
	size_t alloc;
};
#define STRVEC_INIT { NULL, 0, 0 }
void strvec_init(struct strvec *v);
void strvec_release(struct strvec *v);
/* Append a copy of s; returns the copy. */
char *strvec_push(struct strvec *v, const char *s);
/* Append s itself; v takes ownership. */
void strvec_push_owned(struct strvec *v, char *s);
bool strvec_contains(const struct strvec *v, const char *s);
/* The same items in the same order. */
bool strvec_equal(const struct strvec *a, const struct strvec *b);
void strvec_sort(struct strvec *v);

#endif
