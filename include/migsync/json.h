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

/*
 * Append s to sb as a quoted, escaped JSON string. Bytes that are not
 * well-formed UTF-8 are written as \ufffd (U+FFFD), so that the document
 * is valid UTF-8 whatever the files it quotes hold.
 */
void json_quote(struct strbuf *sb, const char *s);

/* "key": the time ms (since the Unix epoch) in RFC 3339, UTC, whole seconds. */
void json_kv_time(struct json_writer *jw, const char *key, int64_t ms);

/*
 * The version of migsync's JSON format. Within one version keys are only
 * ever added; renaming or removing one, or changing what it means, makes
 * a new version (docs/json/README.md).
 */
#define JSON_FORMAT_VERSION 1

/*
 * Open the document of a command: "{", then "format":
 * "migsync.COMMAND/1", "migsync": version and "generated_at": now_ms.
 * The caller writes its own keys and closes the object.
 */
void json_document_begin(struct json_writer *jw, const char *command,
			 const char *version, int64_t now_ms);

#endif
