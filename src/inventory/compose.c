/*
 * Composing a YAML document from the parser's events, with a nesting cap
 * applied while parsing.
 *
 * libyaml's own yaml_parser_load builds the same document, but only after
 * the scanner has seen the whole nesting, and the scanner's cost grows
 * with the square of the depth: 100,000 nested "[" take seconds, 500,000
 * do not finish. An inventory is a few levels deep, so stopping at
 * COMPOSE_MAX_DEPTH while the events arrive bounds the work by the file
 * size. Nodes keep their start and end marks, so every problem found
 * later still has its line and column.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "compose.h"
#include "migsync/strbuf.h"
#include "migsync/util.h"

struct frame {
	int id;		/* the open sequence or mapping */
	int key;	/* a mapping's key waiting for its value, or 0 */
};

struct anchor {
	char *name;
	int id;
};

struct composer {
	yaml_document_t *doc;
	struct frame stack[COMPOSE_MAX_DEPTH];
	size_t depth;
	struct anchor *anchors;
	size_t anchors_nr, anchors_alloc;
};

static void set_marks(yaml_document_t *doc, int id, const yaml_event_t *ev)
{
	yaml_node_t *n = yaml_document_get_node(doc, id);

	n->start_mark = ev->start_mark;
	n->end_mark = ev->end_mark;
}

static void remember_anchor(struct composer *c, const yaml_char_t *name, int id)
{
	if (!name)
		return;
	ALLOC_GROW(c->anchors, c->anchors_nr + 1, c->anchors_alloc);
	c->anchors[c->anchors_nr].name = xstrdup((const char *)name);
	c->anchors[c->anchors_nr].id = id;
	c->anchors_nr++;
}

static int find_anchor(const struct composer *c, const yaml_char_t *name)
{
	/* the latest definition wins, as YAML redefines anchors */
	for (size_t i = c->anchors_nr; i > 0; i--)
		if (!strcmp(c->anchors[i - 1].name, (const char *)name))
			return c->anchors[i - 1].id;
	return 0;
}

/* A "!" tag is YAML's non-specific tag: the default, as libyaml's loader does. */
static yaml_char_t *plain_tag(yaml_char_t *tag)
{
	return tag && !strcmp((const char *)tag, "!") ? NULL : tag;
}

/* Hang node id under the innermost open collection; the root has none. */
static int attach(struct composer *c, int id)
{
	struct frame *f;
	yaml_node_t *parent;

	if (!c->depth)
		return 1;
	f = &c->stack[c->depth - 1];
	parent = yaml_document_get_node(c->doc, f->id);
	if (parent->type == YAML_SEQUENCE_NODE)
		return yaml_document_append_sequence_item(c->doc, f->id, id);
	if (!f->key) {
		f->key = id;
		return 1;
	}
	if (!yaml_document_append_mapping_pair(c->doc, f->id, f->key, id))
		return 0;
	f->key = 0;
	return 1;
}

__attribute__((format(printf, 3, 4)))
static void fail(struct compose_error *e, const yaml_mark_t *m, const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	e->line = (unsigned)m->line + 1;
	e->column = (unsigned)m->column + 1;
	e->message = strbuf_detach(&sb, NULL);
}

/*
 * libyaml's reader errors (bad UTF-8, control characters such as a NUL
 * byte) carry a byte offset but no line: count it out of the input.
 */
static void reader_failure(const yaml_parser_t *p, const char *buf, size_t len,
			   struct compose_error *e)
{
	size_t end = p->problem_offset < len ? p->problem_offset : len;

	e->line = 1;
	e->column = 1;
	for (size_t i = 0; i < end; i++) {
		if (buf[i] == '\n') {
			e->line++;
			e->column = 1;
		} else if (((unsigned char)buf[i] & 0xC0) != 0x80) {
			e->column++;
		}
	}
	if (p->problem_value == 0 && end < len && buf[end] == '\0')
		e->message = xstrdup("a NUL byte: the file is not text; remove the byte or save the file again as UTF-8");
	else if (p->problem_value != -1)
		e->message = xstrfmt("invalid YAML: %s (#%X)", p->problem, (unsigned)p->problem_value);
	else
		e->message = xstrfmt("invalid YAML: %s", p->problem);
}

static void parser_failure(const yaml_parser_t *p, const char *buf, size_t len,
			   struct compose_error *e)
{
	if (p->error == YAML_READER_ERROR) {
		reader_failure(p, buf, len, e);
		return;
	}
	e->line = (unsigned)p->problem_mark.line + 1;
	e->column = (unsigned)p->problem_mark.column + 1;
	e->message = xstrfmt("invalid YAML: %s%s%s", p->problem ? p->problem : "syntax error",
			     p->context ? " " : "", p->context ? p->context : "");
}

static int open_collection(struct composer *c, const yaml_event_t *ev, int id,
			   const yaml_char_t *anchor, struct compose_error *e)
{
	if (!id || !attach(c, id)) {
		fail(e, &ev->start_mark, "out of memory while reading YAML");
		return -1;
	}
	set_marks(c->doc, id, ev);
	remember_anchor(c, anchor, id);
	if (c->depth == COMPOSE_MAX_DEPTH) {
		fail(e, &ev->start_mark,
		     "nested more than " COMPOSE_MAX_DEPTH_TEXT " levels deep; an inventory needs a few");
		return -1;
	}
	c->stack[c->depth].id = id;
	c->stack[c->depth].key = 0;
	c->depth++;
	return 0;
}

static int close_collection(struct composer *c, const yaml_event_t *ev)
{
	yaml_node_t *n = yaml_document_get_node(c->doc, c->stack[--c->depth].id);

	n->end_mark = ev->end_mark;
	return 0;
}

/* One event into the document; 1 when the document is complete. */
static int take(struct composer *c, const yaml_event_t *ev, struct compose_error *e)
{
	int id;

	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		id = yaml_document_add_scalar(c->doc, plain_tag(ev->data.scalar.tag), ev->data.scalar.value,
					      (int)ev->data.scalar.length, ev->data.scalar.style);
		if (!id || !attach(c, id)) {
			fail(e, &ev->start_mark, "out of memory while reading YAML");
			return -1;
		}
		set_marks(c->doc, id, ev);
		remember_anchor(c, ev->data.scalar.anchor, id);
		return 0;
	case YAML_ALIAS_EVENT:
		id = find_anchor(c, ev->data.alias.anchor);
		if (!id) {
			fail(e, &ev->start_mark, "invalid YAML: alias *%s names no anchor defined before it",
			     (const char *)ev->data.alias.anchor);
			return -1;
		}
		if (!attach(c, id)) {
			fail(e, &ev->start_mark, "out of memory while reading YAML");
			return -1;
		}
		return 0;
	case YAML_SEQUENCE_START_EVENT:
		id = yaml_document_add_sequence(c->doc, ev->data.sequence_start.tag,
						ev->data.sequence_start.style);
		return open_collection(c, ev, id, ev->data.sequence_start.anchor, e);
	case YAML_MAPPING_START_EVENT:
		id = yaml_document_add_mapping(c->doc, ev->data.mapping_start.tag,
					       ev->data.mapping_start.style);
		return open_collection(c, ev, id, ev->data.mapping_start.anchor, e);
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		return close_collection(c, ev);
	case YAML_DOCUMENT_END_EVENT:
	case YAML_STREAM_END_EVENT:
		return 1;
	default:
		return 0;
	}
}

int compose_document(yaml_document_t *doc, const char *buf, size_t len, struct compose_error *e)
{
	struct composer c = { .doc = doc };
	yaml_parser_t parser;
	int ret = 0;

	e->message = NULL;
	e->line = e->column = 0;
	if (!yaml_document_initialize(doc, NULL, NULL, NULL, 1, 1)) {
		e->message = xstrdup("out of memory while reading YAML");
		return -1;
	}
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
	while (!ret) {
		yaml_event_t ev;

		if (!yaml_parser_parse(&parser, &ev)) {
			parser_failure(&parser, buf, len, e);
			ret = -1;
			break;
		}
		ret = take(&c, &ev, e);
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&parser);
	for (size_t i = 0; i < c.anchors_nr; i++)
		free(c.anchors[i].name);
	free(c.anchors);
	if (ret < 0) {
		yaml_document_delete(doc);
		return -1;
	}
	return 0;
}
