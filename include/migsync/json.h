#ifndef MIGSYNC_JSON_H
#define MIGSYNC_JSON_H

/*
 * A small streaming JSON writer into a strbuf. It tracks nesting so that
 * commas are placed automatically; output is compact (one line).
 *
 *   struct json_writer jw;
 *   json_init(&jw, &sb);
 *   json_object_begin(&jw);
 *   json_key(&jw, "heads"); json_array_begin(&jw); ... json_array_end(&jw);
 *   json_object_end(&jw);
 */

#include <stdbool.h>
#include <stdint.h>

#include "migsync/strbuf.h"

#define JSON_MAX_DEPTH 64

struct json_writer {
	struct strbuf *out;
	int depth;
	bool need_comma[JSON_MAX_DEPTH];
	bool after_key;
};

void json_init(struct json_writer *jw, struct strbuf *out);
void json_object_begin(struct json_writer *jw);
void json_object_end(struct json_writer *jw);
void json_array_begin(struct json_writer *jw);
void json_array_end(struct json_writer *jw);
void json_key(struct json_writer *jw, const char *key);
/* A NULL string is written as null. */
void json_string(struct json_writer *jw, const char *s);
void json_int(struct json_writer *jw, int64_t v);
void json_double(struct json_writer *jw, double v);
void json_bool(struct json_writer *jw, bool v);
void json_null(struct json_writer *jw);

/* Shorthands for "key": value inside an object. */
void json_kv_string(struct json_writer *jw, const char *key, const char *s);
void json_kv_int(struct json_writer *jw, const char *key, int64_t v);
void json_kv_bool(struct json_writer *jw, const char *key, bool v);

/* Append s to sb as a quoted, escaped JSON string. */
void json_quote(struct strbuf *sb, const char *s);

#endif
