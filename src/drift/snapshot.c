/*
 * Schema snapshots: the object model, its canonical order and listing,
 * the fingerprint, and the object-by-object comparison of two snapshots.
 */
#include <stdlib.h>
#include <string.h>

#include "migsync/drift.h"
#include "migsync/strbuf.h"

/* Appended to an invalid index's definition; a comment keeps it valid SQL. */
#define INVALID_MARK " /* INVALID */"

static const char *const kind_names[DRIFT_KIND_NR] = {
	[DRIFT_EXTENSION] = "extension",
	[DRIFT_SCHEMA] = "schema",
	[DRIFT_ENUM] = "enum",
	[DRIFT_DOMAIN] = "domain",
	[DRIFT_SEQUENCE] = "sequence",
	[DRIFT_TABLE] = "table",
	[DRIFT_COLUMN] = "column",
	[DRIFT_CONSTRAINT] = "constraint",
	[DRIFT_INDEX] = "index",
	[DRIFT_VIEW] = "view",
	[DRIFT_MATVIEW] = "materialized view",
	[DRIFT_FUNCTION] = "function",
	[DRIFT_TRIGGER] = "trigger",
};

const char *drift_kind_name(enum drift_kind kind)
{
	return (unsigned)kind < DRIFT_KIND_NR ? kind_names[kind] : "object";
}

const char *drift_change_name(enum drift_change change)
{
	switch (change) {
	case DRIFT_MISSING:
		return "missing";
	case DRIFT_EXTRA:
		return "extra";
	case DRIFT_CHANGED:
		return "changed";
	}
	return "changed";
}

void schema_snapshot_init(struct schema_snapshot *s)
{
	memset(s, 0, sizeof(*s));
	strvec_init(&s->version_rows);
}

void schema_snapshot_release(struct schema_snapshot *s)
{
	for (size_t i = 0; i < s->nr; i++) {
		free(s->objects[i].name);
		free(s->objects[i].definition);
		free(s->objects[i].parent);
	}
	free(s->objects);
	strvec_release(&s->version_rows);
	schema_snapshot_init(s);
}

void schema_snapshot_free(struct schema_snapshot *s)
{
	if (!s)
		return;
	schema_snapshot_release(s);
	free(s);
}

struct schema_object *schema_snapshot_add(struct schema_snapshot *s, enum drift_kind kind,
					  const char *name, const char *definition,
					  const char *parent, bool invalid)
{
	struct schema_object *o;

	ALLOC_GROW(s->objects, s->nr + 1, s->alloc);
	o = &s->objects[s->nr++];
	o->kind = kind;
	o->name = xstrdup(name);
	if (invalid)
		o->definition = xstrfmt("%s%s", definition ? definition : "", INVALID_MARK);
	else
		o->definition = xstrdup(definition ? definition : "");
	o->parent = parent ? xstrdup(parent) : NULL;
	o->invalid = invalid;
	s->fingerprint[0] = '\0';
	return o;
}

static int cmp_key(enum drift_kind ka, const char *na, enum drift_kind kb, const char *nb)
{
	if (ka != kb)
		return ka < kb ? -1 : 1;
	return strcmp(na, nb);
}

/*
 * Kind, then name; the definition only breaks ties that a catalog cannot
 * produce, so that even a hand-built snapshot sorts the same every time.
 */
static int cmp_object(const void *a, const void *b)
{
	const struct schema_object *x = a, *y = b;
	int c = cmp_key(x->kind, x->name, y->kind, y->name);

	return c ? c : strcmp(x->definition, y->definition);
}

static void add_escaped(struct strbuf *out, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '\\':
			strbuf_addstr(out, "\\\\");
			break;
		case '\t':
			strbuf_addstr(out, "\\t");
			break;
		case '\n':
			strbuf_addstr(out, "\\n");
			break;
		case '\r':
			strbuf_addstr(out, "\\r");
			break;
		default:
			strbuf_addch(out, *s);
		}
	}
}

void schema_snapshot_listing(struct strbuf *out, const struct schema_snapshot *s)
{
	for (size_t i = 0; i < s->nr; i++) {
		const struct schema_object *o = &s->objects[i];

		strbuf_addstr(out, drift_kind_name(o->kind));
		strbuf_addch(out, '\t');
		add_escaped(out, o->name);
		strbuf_addch(out, '\t');
		add_escaped(out, o->definition);
		strbuf_addch(out, '\n');
	}
}

void schema_snapshot_finish(struct schema_snapshot *s)
{
	struct strbuf listing = STRBUF_INIT;

	if (s->nr > 1)
		qsort(s->objects, s->nr, sizeof(*s->objects), cmp_object);
	strvec_sort(&s->version_rows);
	schema_snapshot_listing(&listing, s);
	sha256_hex(listing.buf, listing.len, s->fingerprint);
	strbuf_release(&listing);
}

const struct schema_object *schema_snapshot_find(const struct schema_snapshot *s,
						 enum drift_kind kind, const char *name)
{
	size_t lo = 0, hi = s->nr;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = cmp_key(s->objects[mid].kind, s->objects[mid].name, kind, name);

		if (!c)
			return &s->objects[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

void drift_diff_init(struct drift_diff *d)
{
	d->items = NULL;
	d->nr = 0;
	d->alloc = 0;
}

void drift_diff_release(struct drift_diff *d)
{
	for (size_t i = 0; i < d->nr; i++) {
		free(d->items[i].object);
		free(d->items[i].reference);
		free(d->items[i].actual);
	}
	free(d->items);
	drift_diff_init(d);
}

static void add_difference(struct drift_diff *d, const struct schema_object *ref,
			   const struct schema_object *act)
{
	const struct schema_object *o = ref ? ref : act;
	struct drift_difference *x;

	ALLOC_GROW(d->items, d->nr + 1, d->alloc);
	x = &d->items[d->nr++];
	x->kind = o->kind;
	x->object = xstrdup(o->name);
	x->change = !act ? DRIFT_MISSING : !ref ? DRIFT_EXTRA : DRIFT_CHANGED;
	x->reference = ref ? xstrdup(ref->definition) : NULL;
	x->actual = act ? xstrdup(act->definition) : NULL;
}

/*
 * Whether o hangs off a table (or materialized view) that is missing from
 * (or extra in) the other snapshot as a whole: the table's line says it
 * all.
 */
static bool parent_absent(const struct schema_object *o, const struct schema_snapshot *other)
{
	return o->parent && !schema_snapshot_find(other, DRIFT_TABLE, o->parent) &&
		!schema_snapshot_find(other, DRIFT_MATVIEW, o->parent);
}

void drift_compare(struct drift_diff *out, const struct schema_snapshot *reference,
		   const struct schema_snapshot *other)
{
	size_t i = 0, k = 0;

	/* a merge of two sorted lists */
	while (i < reference->nr || k < other->nr) {
		const struct schema_object *r = i < reference->nr ? &reference->objects[i] : NULL;
		const struct schema_object *o = k < other->nr ? &other->objects[k] : NULL;
		int c = !r ? 1 : !o ? -1 : cmp_key(r->kind, r->name, o->kind, o->name);

		if (c < 0) {
			if (!parent_absent(r, other))
				add_difference(out, r, NULL);
			i++;
		} else if (c > 0) {
			if (!parent_absent(o, reference))
				add_difference(out, NULL, o);
			k++;
		} else {
			if (strcmp(r->definition, o->definition))
				add_difference(out, r, o);
			i++;
			k++;
		}
	}
}
