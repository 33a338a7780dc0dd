#include <stdarg.h>
#include <stdlib.h>

#include "migsync/error.h"
#include "migsync/strbuf.h"
#include "migsync/util.h"

void ms_error_init(struct ms_error *err)
{
	err->code = 0;
	err->message = NULL;
	err->hint = NULL;
}

void ms_error_release(struct ms_error *err)
{
	if (!err)
		return;
	free(err->message);
	free(err->hint);
	ms_error_init(err);
}

int ms_error_vset(struct ms_error *err, int code, const char *fmt, va_list ap)
{
	struct strbuf sb = STRBUF_INIT;

	if (!err)
		return code;
	strbuf_vaddf(&sb, fmt, ap);
	free(err->message);
	free(err->hint);
	err->hint = NULL;
	err->message = strbuf_detach(&sb, NULL);
	err->code = code;
	return code;
}

int ms_error_set(struct ms_error *err, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	code = ms_error_vset(err, code, fmt, ap);
	va_end(ap);
	return code;
}

void ms_error_hint(struct ms_error *err, const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT;
	va_list ap;

	if (!err)
		return;
	va_start(ap, fmt);
	strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	free(err->hint);
	err->hint = strbuf_detach(&sb, NULL);
}

void ms_error_prefix(struct ms_error *err, const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT;
	va_list ap;

	if (!err)
		return;
	va_start(ap, fmt);
	strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	strbuf_addstr(&sb, ": ");
	strbuf_addstr(&sb, err->message ? err->message : "unknown error");
	free(err->message);
	err->message = strbuf_detach(&sb, NULL);
}

char *ms_error_subject(const char *environment, const char *database)
{
	if (database)
		return xstrfmt("environment \"%s\" (%s)", environment, database);
	return xstrfmt("environment \"%s\"", environment);
}

void ms_error_move(struct ms_error *dst, struct ms_error *src)
{
	ms_error_release(dst);
	*dst = *src;
	ms_error_init(src);
}
