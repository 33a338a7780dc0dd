#ifndef MIGSYNC_STRBUF_H
#define MIGSYNC_STRBUF_H

/*
 * A growable, always NUL-terminated byte buffer, after git's strbuf.
 * An initialized strbuf never has buf == NULL: it points at a shared empty
 * string until the first addition, so callers may print sb.buf at any time.
 * Allocation failure aborts the process (as git's xmalloc does): migsync
 * cannot do anything useful without memory.
 */

#include <stdarg.h>
#include <stddef.h>

struct strbuf {
	size_t alloc;
	size_t len;
	char *buf;
};

extern char strbuf_slopbuf[];
#define STRBUF_INIT { 0, 0, strbuf_slopbuf }

void strbuf_init(struct strbuf *sb, size_t hint);
/* Free contents; the strbuf is left initialized and empty. */
void strbuf_release(struct strbuf *sb);
/* Return the buffer (caller frees it) and reset sb to empty. */
char *strbuf_detach(struct strbuf *sb, size_t *len);
void strbuf_grow(struct strbuf *sb, size_t extra);
void strbuf_setlen(struct strbuf *sb, size_t len);
#define strbuf_reset(sb) strbuf_setlen((sb), 0)

void strbuf_add(struct strbuf *sb, const void *data, size_t len);
void strbuf_addstr(struct strbuf *sb, const char *s);
void strbuf_addch(struct strbuf *sb, int c);
void strbuf_addchars(struct strbuf *sb, int c, size_t n);
void strbuf_addf(struct strbuf *sb, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void strbuf_vaddf(struct strbuf *sb, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
void strbuf_trim(struct strbuf *sb);

/*
 * Read the whole file at path into sb (appending). Returns 0, or -1 with
 * errno set. Refuses files larger than max_size bytes (errno = EFBIG) when
 * max_size is not 0, and anything but a regular file (errno = EINVAL),
 * opened without blocking so that a FIFO cannot hang the caller.
 */
int strbuf_read_file(struct strbuf *sb, const char *path, size_t max_size);

#endif
