#ifndef MIGSYNC_INVENTORY_COMPOSE_H
#define MIGSYNC_INVENTORY_COMPOSE_H

/* Internal to src/inventory: a YAML document from events, depth-capped. */

#include <stddef.h>

#include <yaml.h>

#define COMPOSE_MAX_DEPTH 64
#define COMPOSE_MAX_DEPTH_TEXT "64"

struct compose_error {
	char *message;		/* owned; NULL when composing succeeded */
	unsigned line, column;	/* 1-based */
};

/*
 * Compose the first YAML document of buf (len bytes) into doc. On success
 * doc is initialized (without a root node when the input holds no
 * document) and the caller deletes it. On failure doc is left deleted and
 * e says what and where.
 */
int compose_document(yaml_document_t *doc, const char *buf, size_t len, struct compose_error *e);

#endif
