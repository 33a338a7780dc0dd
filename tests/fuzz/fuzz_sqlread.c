/*
 * libFuzzer target: the statement reader (sql_split(), sql_parse(),
 * sql_parse_some() and sql_tokens()) on arbitrary bytes. Beyond "no crash": both agree (the same statements,
 * or both refuse); on success the statements lie inside the input, in
 * order, without overlap, each non-empty, with a parse tree, and starting
 * at a line no earlier than the one before; on failure there are none and
 * the message and error_line name a position. sql_parse_some, asked for
 * every other statement, gives those a tree of the same kind as
 * sql_parse's (each parsed out of its context) and the others none.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <pg_query/pg_query.pb-c.h>

#include "migsync/sql.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool every_other(const struct sql_statement *st, void *ctx)
{
	size_t *n = ctx;
	struct sql_token tok[4];

	if (sql_tokens(st, tok, 4) > 4)
		abort();
	return (*n)++ % 2 == 0;
}

/* sql_parse_some against sql_parse's statements. */
static void check_some(const char *buf, size_t size, const struct sql_script *parsed)
{
	struct sql_script some;
	struct ms_error err = MS_ERROR_INIT;
	size_t n = 0;

	sql_script_init(&some);
	if (sql_parse_some(&some, buf, size, 1, every_other, &n, &err) || some.nr != parsed->nr)
		abort();
	for (size_t i = 0; i < some.nr; i++) {
		const struct PgQuery__Node *t = some.items[i].tree;

		if (some.items[i].text != parsed->items[i].text ||
		    (i % 2 == 0 && (!t || t->node_case != parsed->items[i].tree->node_case)) ||
		    (i % 2 == 1 && t))
			abort();
	}
	sql_script_release(&some);
	ms_error_release(&err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sql_script split, parsed;
	struct ms_error err = MS_ERROR_INIT, perr = MS_ERROR_INIT;
	/* a copy of exactly size bytes, so that reading past the end is caught */
	char *buf = malloc(size ? size : 1);
	const char *prev_end;
	unsigned prev_line = 1;
	int ret, pret;

	if (!buf)
		return 0;
	if (size)
		memcpy(buf, data, size);
	sql_script_init(&split);
	sql_script_init(&parsed);
	ret = sql_split(&split, buf, size, 1, &err);
	pret = sql_parse(&parsed, buf, size, 1, &perr);
	if ((ret == 0) != (pret == 0))
		abort();
	if (ret) {
		if (split.items || split.nr || !err.message || strncmp(err.message, "line ", 5) ||
		    !split.error_line || !split.error_column || parsed.error_line != split.error_line)
			abort();
	} else {
		if (split.nr != parsed.nr)
			abort();
		prev_end = buf;
		for (size_t i = 0; i < split.nr; i++) {
			const struct sql_statement *st = &split.items[i];

			if (!st->len || st->text < prev_end || st->text + st->len > buf + size ||
			    st->line < prev_line || st->text != buf + st->offset ||
			    parsed.items[i].text != st->text || parsed.items[i].len != st->len ||
			    !parsed.items[i].tree)
				abort();
			prev_end = st->text + st->len;
			prev_line = st->line;
		}
		check_some(buf, size, &parsed);
	}
	sql_script_release(&split);
	sql_script_release(&parsed);
	ms_error_release(&err);
	ms_error_release(&perr);
	free(buf);
	return 0;
}
