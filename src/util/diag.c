#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "migsync/diag.h"
#include "migsync/strbuf.h"
#include "migsync/util.h"

void diag_list_init(struct diag_list *list)
{
	list->items = NULL;
	list->nr = 0;
	list->alloc = 0;
}

void diag_list_release(struct diag_list *list)
{
	for (size_t i = 0; i < list->nr; i++) {
		struct diag *d = &list->items[i];

		free(d->code);
		free(d->file);
		free(d->revision);
		free(d->message);
		free(d->hint);
		free(d->rule);
		free(d->statement);
	}
	free(list->items);
	diag_list_init(list);
}

struct diag *diag_add(struct diag_list *list, enum diag_severity severity,
		      const char *code, const char *file, unsigned line,
		      const char *revision, const char *hint,
		      const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT;
	struct diag *d;
	va_list ap;

	va_start(ap, fmt);
	strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);

	ALLOC_GROW(list->items, list->nr + 1, list->alloc);
	d = &list->items[list->nr++];
	d->severity = severity;
	d->code = xstrdup(code ? code : "");
	d->file = file ? xstrdup(file) : NULL;
	d->line = line;
	d->column = 0;
	d->revision = revision ? xstrdup(revision) : NULL;
	d->message = strbuf_detach(&sb, NULL);
	d->hint = hint ? xstrdup(hint) : NULL;
	d->rule = NULL;
	d->statement = NULL;
	d->down = false;
	return d;
}

static int cmp_diag(const void *va, const void *vb)
{
	const struct diag *a = va, *b = vb;
	int c = strcmp_null(a->file, b->file);

	if (c)
		return c;
	if (a->line != b->line)
		return a->line < b->line ? -1 : 1;
	c = strcmp(a->code, b->code);
	if (c)
		return c;
	return strcmp(a->message, b->message);
}

void diag_list_sort(struct diag_list *list)
{
	if (list->nr > 1)
		qsort(list->items, list->nr, sizeof(*list->items), cmp_diag);
}

size_t diag_list_count(const struct diag_list *list, enum diag_severity severity)
{
	size_t n = 0;

	for (size_t i = 0; i < list->nr; i++)
		n += list->items[i].severity == severity;
	return n;
}

const char *diag_severity_name(enum diag_severity severity)
{
	switch (severity) {
	case DIAG_ERROR:
		return "error";
	case DIAG_WARNING:
		return "warning";
	case DIAG_INFO:
		return "info";
	}
	return "unknown";
}
