/*
 * Reading the JSON of the shards of one `migsync check` back into the
 * values one unsharded check judges (see migsync/report.h). The
 * documents are parsed with Jansson: it gives the line and column of a
 * syntax error, and its values are compared with json_equal where every
 * shard must say the same.
 */
#include <errno.h>
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "migsync/report.h"

/* One shard's document. */
struct doc {
	const char *file;
	json_t *root;
	unsigned index;
	unsigned count;
	json_t *schemas;	/* fingerprint -> objects (a map of our own) */
};

/* The first problem of a document's shape, kept while reading goes on. */
struct rd {
	const char *file;
	struct ms_error *err;
	int ret;
};

static void shape_error(struct rd *r, const char *ctx, const char *key, const char *expected)
{
	if (r->ret < 0)
		return;
	r->ret = ms_error_set(r->err, MS_ERR_PARSE, "%s: %s\"%s\" is not %s, as migsync check writes it",
			      r->file, ctx, key, expected);
	ms_error_hint(r->err, "merge the unchanged output of migsync check --format json --shard K/N");
}

/*
 * obj's key when it has the type (JSON_TRUE for a boolean), NULL when it
 * is null; anything else (missing too) is a shape error.
 */
static json_t *get(struct rd *r, json_t *obj, const char *key, int type, const char *ctx)
{
	json_t *v = json_object_get(obj, key);
	static const char *const names[] = {
		[JSON_OBJECT] = "an object", [JSON_ARRAY] = "an array", [JSON_STRING] = "a string",
		[JSON_INTEGER] = "an integer", [JSON_TRUE] = "true or false",
	};

	if (v && json_is_null(v))
		return NULL;
	if (v && (json_typeof(v) == (json_type)type ||
		  (type == JSON_TRUE && json_is_boolean(v))))
		return v;
	shape_error(r, ctx, key, names[type]);
	return NULL;
}

static char *get_str(struct rd *r, json_t *obj, const char *key, const char *ctx)
{
	json_t *v = get(r, obj, key, JSON_STRING, ctx);

	return v ? xstrdup(json_string_value(v)) : NULL;
}

static long get_int(struct rd *r, json_t *obj, const char *key, long none, const char *ctx)
{
	json_t *v = get(r, obj, key, JSON_INTEGER, ctx);

	return v ? (long)json_integer_value(v) : none;
}

static void get_strvec(struct rd *r, struct strvec *out, json_t *obj, const char *key,
		       const char *ctx)
{
	json_t *v = get(r, obj, key, JSON_ARRAY, ctx), *item;
	size_t i;

	json_array_foreach(v, i, item) {
		if (!json_is_string(item)) {
			shape_error(r, ctx, key, "an array of strings");
			return;
		}
		strvec_push(out, json_string_value(item));
	}
}

void report_merge_init(struct report_merge *m)
{
	const struct status_goal goal = STATUS_GOAL_INIT;

	*m = (struct report_merge){ 0 };
	script_set_init(&m->scripts);
	m->goal = goal;
	status_report_init(&m->status);
	drift_report_init(&m->drift);
	lint_report_init(&m->lint);
}

static void target_release(struct report_target *t)
{
	free(t->address);
	free(t->dbname);
	free(t->schema);
	free(t->ledger_error);
	checksum_mismatches_free(t->mismatches, t->mismatches_nr);
}

void report_merge_release(struct report_merge *m)
{
	for (size_t e = 0; m->envs && e < m->envs_nr; e++) {
		for (size_t t = 0; t < m->envs[e].targets_nr; t++)
			target_release(&m->envs[e].targets[t]);
		free(m->envs[e].targets);
	}
	free(m->envs);
	free(m->drift_target_env);
	free(m->drift_target_db);
	lint_report_release(&m->lint);
	drift_report_release(&m->drift);
	status_report_release(&m->status);
	status_goal_release(&m->goal);
	revgraph_free(m->g);
	script_set_release(&m->scripts);
	free(m->graph_error);
	free(m->version);
	free(m->project);
	report_merge_init(m);
}

/* A shard's index, count and schemas (by fingerprint), once it is known to be a shard's. */
static void read_shard(struct rd *r, struct doc *d)
{
	json_t *shard = get(r, d->root, "shard", JSON_OBJECT, "");
	json_t *schemas = get(r, d->root, "schemas", JSON_ARRAY, ""), *s;
	size_t i;

	d->index = (unsigned)get_int(r, shard, "index", 0, "shard: ");
	d->count = (unsigned)get_int(r, shard, "count", 0, "shard: ");
	if (r->ret == 0 && (d->count < 1 || d->index >= d->count))
		shape_error(r, "", "shard", "an index below its count");
	json_array_foreach(schemas, i, s) {
		json_t *fp = json_object_get(s, "fingerprint");

		if (!json_is_string(fp) || !json_is_array(json_object_get(s, "objects"))) {
			shape_error(r, "schemas: ", "objects", "a fingerprint and its objects");
			break;
		}
		json_object_set(d->schemas, json_string_value(fp), json_object_get(s, "objects"));
	}
}

/* Read one file: a check document of a shard, or an error saying why not. */
static int doc_load(struct doc *d, const char *file, struct ms_error *err)
{
	json_error_t je;
	struct stat st;
	const char *format, *message;
	json_t *error;
	struct rd r = { file, err, 0 };

	d->file = file;
	d->schemas = json_object();
	if (stat(file, &st) == 0 && S_ISDIR(st.st_mode)) {
		r.ret = ms_error_set(err, MS_ERR_IO, "%s: could not read: a directory", file);
		goto done;
	}
	errno = 0;
	d->root = json_load_file(file, JSON_REJECT_DUPLICATES, &je);
	if (!d->root && je.line < 0) {
		/* Jansson's text repeats the file name: errno says the rest */
		r.ret = ms_error_set(err, MS_ERR_IO, "%s: could not read: %s", file,
				     errno ? strerror(errno) : je.text);
		goto done;
	}
	if (!d->root) {
		r.ret = ms_error_set(err, MS_ERR_PARSE, "%s:%d:%d: not JSON: %s", file, je.line,
				     je.column, je.text);
		ms_error_hint(err, "merge the --format json output of migsync check --shard K/N");
		goto done;
	}
	format = json_string_value(json_object_get(d->root, "format"));
	error = json_object_get(d->root, "error");
	message = json_string_value(json_object_get(error, "message"));
	if (format && !strcmp(format, "migsync.status/1")) {
		r.ret = ms_error_set(err, MS_ERR_PARSE, "%s: a document of migsync status; report "
				     "merge reads those of migsync check", file);
		ms_error_hint(err, "run each shard as migsync check --shard K/N --format json");
	} else if (!json_is_object(d->root) || !format || strcmp(format, "migsync.check/1")) {
		r.ret = ms_error_set(err, MS_ERR_PARSE, "%s: not a document of migsync check (format %s)",
				     file, format ? format : "missing");
		ms_error_hint(err, "merge the --format json output of migsync check --shard K/N");
	} else if (json_is_object(error)) {
		r.ret = ms_error_set(err, MS_ERR_CONFIG, "%s: this shard's check could not run: %s", file,
				     message ? message : "no message");
		ms_error_hint(err, "rerun the job of this shard, then merge again");
	} else if (!json_is_object(json_object_get(d->root, "shard")) ||
		   !json_object_get(d->root, "graph")) {
		r.ret = ms_error_set(err, MS_ERR_PARSE, "%s: not a shard's document (written %s)", file,
				     json_object_get(d->root, "shard") ? "without --shard" :
				     "by a migsync without report merge");
		ms_error_hint(err, "run each shard as migsync check --shard K/N --format json");
	}
	if (r.ret < 0)
		goto done;
	read_shard(&r, d);
done:
	return r.ret;
}

static void doc_release(struct doc *d)
{
	json_decref(d->root);
	json_decref(d->schemas);
}

static int cmp_doc(const void *a, const void *b)
{
	const struct doc *x = a, *y = b;

	return x->index < y->index ? -1 : x->index > y->index;
}

/*
 * The shards must be one run's: one count, each index once, none
 * missing. docs are sorted by index here.
 */
static int check_partition(struct doc *docs, size_t nr, struct ms_error *err)
{
	struct strbuf missing = STRBUF_INIT, rerun = STRBUF_INIT;
	size_t missing_nr = 0;
	int ret = 0;

	for (size_t i = 1; i < nr; i++)
		if (docs[i].count != docs[0].count) {
			ret = ms_error_set(err, MS_ERR_CONFIG, "%s: shard %u of %u, but %s is a shard of %u",
					   docs[i].file, docs[i].index, docs[i].count, docs[0].file,
					   docs[0].count);
			ms_error_hint(err, "merge the files of one run, all written with the same --shard K/N count");
			goto done;
		}
	qsort(docs, nr, sizeof(*docs), cmp_doc);
	for (size_t i = 1; i < nr; i++)
		if (docs[i].index == docs[i - 1].index) {
			ret = ms_error_set(err, MS_ERR_CONFIG, "%s: shard %u of %u again (also %s)",
					   docs[i].file, docs[i].index, docs[i].count, docs[i - 1].file);
			ms_error_hint(err, "give each shard's file once");
			goto done;
		}
	for (unsigned k = 0, i = 0; k < docs[0].count; k++) {
		if (i < nr && docs[i].index == k) {
			i++;
			continue;
		}
		strbuf_addf(&missing, "%s%u", missing_nr ? ", " : "", k);
		strbuf_addf(&rerun, "%s--shard %u/%u", missing_nr ? ", " : "", k, docs[0].count);
		missing_nr++;
	}
	if (missing_nr) {
		ret = ms_error_set(err, MS_ERR_CONFIG, "shard%s %s of %u %s missing: %zu of %u files given",
				   missing_nr == 1 ? "" : "s", missing.buf, docs[0].count,
				   missing_nr == 1 ? "is" : "are", nr, docs[0].count);
		ms_error_hint(err, "rerun the job%s of the missing shard%s (migsync check %s "
			      "--format json) and merge all %u files", missing_nr == 1 ? "" : "s",
			      missing_nr == 1 ? "" : "s", rerun.buf, docs[0].count);
	}
done:
	strbuf_release(&missing);
	strbuf_release(&rerun);
	return ret;
}

/* The environments as every shard lists them: name, fleet, gate (for comparing). */
static json_t *env_outline(json_t *root)
{
	json_t *out = json_array(), *env;
	size_t i;

	json_array_foreach(json_object_get(root, "environments"), i, env)
		json_array_append_new(out, json_pack("{sOsOsO}",
			"environment", json_object_get(env, "environment"),
			"fleet", json_object_get(env, "fleet"),
			"gate", json_object_get(env, "gate")));
	return out;
}

/* v's "file" as its base name, when v is an object that has one. */
static void file_basename(json_t *v)
{
	const char *file = json_string_value(json_object_get(v, "file"));
	const char *slash = file ? strrchr(file, '/') : NULL;

	/* json_stringn: json_string is the name of migsync's own writer (util/json.c) */
	if (slash)
		json_object_set_new(v, "file", json_stringn(slash + 1, strlen(slash + 1)));
}

/*
 * Whether a and b (a finding, or a list of them or of revisions) are
 * equal but for the directories of their files: runners of one run may
 * check the same commit out in different directories.
 */
static bool equal_but_dirs(json_t *a, json_t *b)
{
	json_t *x = json_deep_copy(a), *y = json_deep_copy(b), *v;
	size_t i;
	bool same;

	file_basename(x);
	file_basename(y);
	json_array_foreach(x, i, v)
		file_basename(v);
	json_array_foreach(y, i, v)
		file_basename(v);
	same = (!a && !b) || json_equal(x, y);
	json_decref(x);
	json_decref(y);
	return same;
}

/* The lint findings every shard has alike: all but the safety findings. */
static json_t *lint_common(json_t *root)
{
	json_t *lint = json_object_get(root, "lint"), *out = json_array(), *f;
	size_t i;

	json_array_foreach(json_object_get(lint, "findings"), i, f)
		if (!json_is_string(json_object_get(f, "rule")))
			json_array_append(out, f);
	json_array_append(out, json_object_get(lint, "revisions"));
	return out;
}

/*
 * What every shard reads alike must be equal in all: the same migsync,
 * project, revisions, target and environments (the directory the
 * revision files were read from aside).
 */
static int check_same_run(const struct doc *docs, size_t nr, struct ms_error *err)
{
	static const char *const keys[] = {
		"migsync", "project", "target", "graph_error", "fail_on_pending", "graph",
	};
	static const char *const what[] = {
		"written by another migsync version", "of another project",
		"checked against another target", "read another revision graph",
		"run with another --fail-on-pending", "read other revision files",
	};
	int ret = 0;

	for (size_t i = 1; ret == 0 && i < nr; i++) {
		json_t *a, *b;

		for (size_t k = 0; ret == 0 && k < sizeof(keys) / sizeof(*keys); k++)
			if (!equal_but_dirs(json_object_get(docs[0].root, keys[k]),
					    json_object_get(docs[i].root, keys[k]))) {
				ret = ms_error_set(err, MS_ERR_CONFIG, "%s: \"%s\" differs from %s's: "
						   "the shard was %s", docs[i].file, keys[k], docs[0].file,
						   what[k]);
				ms_error_hint(err, "run every shard of one run from the same commit, "
					      "inventory and migsync, then merge their files");
			}
		a = env_outline(docs[0].root);
		b = env_outline(docs[i].root);
		if (ret == 0 && !json_equal(a, b)) {
			ret = ms_error_set(err, MS_ERR_CONFIG, "%s: its environments differ from %s's",
					   docs[i].file, docs[0].file);
			ms_error_hint(err, "run every shard with the same inventory and -e options");
		}
		json_decref(a);
		json_decref(b);
		a = lint_common(docs[0].root);
		b = lint_common(docs[i].root);
		if (ret == 0 && !equal_but_dirs(a, b)) {
			ret = ms_error_set(err, MS_ERR_CONFIG, "%s: its lint differs from %s's: the "
					   "shards read different revision files", docs[i].file, docs[0].file);
			ms_error_hint(err, "run every shard of one run from the same commit");
		}
		json_decref(a);
		json_decref(b);
	}
	return ret;
}

/* The revision graph from a shard's "graph" (every shard's is the same). */
static int build_graph(struct report_merge *m, const struct doc *d, struct ms_error *err)
{
	struct rd r = { d->file, err, 0 };
	json_t *revs = get(&r, d->root, "graph", JSON_ARRAY, ""), *v;
	size_t i;
	int ret;

	json_array_foreach(revs, i, v) {
		struct script *s;
		char *kind = get_str(&r, v, "kind", "graph: ");
		const char *slash;

		ALLOC_GROW(m->scripts.items, m->scripts.nr + 1, m->scripts.alloc);
		s = &m->scripts.items[m->scripts.nr++];
		script_init(s);
		s->kind = kind && !strcmp(kind, "sql") ? SCRIPT_SQL : SCRIPT_PYTHON;
		s->revision = get_str(&r, v, "revision", "graph: ");
		s->path = get_str(&r, v, "file", "graph: ");
		slash = s->path ? strrchr(s->path, '/') : NULL;
		s->filename = xstrdup(slash ? slash + 1 : s->path ? s->path : "");
		s->message = get_str(&r, v, "message", "graph: ");
		s->doc = get_str(&r, v, "doc", "graph: ");
		get_strvec(&r, &s->down_revisions, v, "down_revisions", "graph: ");
		get_strvec(&r, &s->depends_on, v, "depends_on", "graph: ");
		get_strvec(&r, &s->branch_labels, v, "branch_labels", "graph: ");
		free(kind);
		if (r.ret == 0 && !s->revision)
			shape_error(&r, "graph: ", "revision", "a string");
		if (r.ret < 0)
			return r.ret;
	}
	if (r.ret < 0)
		return r.ret;
	ret = revgraph_build(&m->g, &m->scripts, NULL, err);
	if (ret == 0)
		ret = status_goal_init(&m->goal, m->g, NULL, err);
	return ret;
}

/* A database as one shard read it, before the shards are put together. */
struct found {
	struct report_target t;
	struct status_result res;
	json_t *drift;		/* its entry in the shard's drift list (borrowed) */
	const struct doc *d;
};

/* Order: position, else the name (discovery sorts by name); then the schema. */
static int cmp_found(const void *a, const void *b)
{
	const struct found *x = a, *y = b;
	int c;

	if (x->t.position >= 0 && y->t.position >= 0 && x->t.position != y->t.position)
		return x->t.position < y->t.position ? -1 : 1;
	if ((c = strcmp(x->t.dbname ? x->t.dbname : "", y->t.dbname ? y->t.dbname : "")))
		return c;
	return strcmp(x->t.schema ? x->t.schema : "", y->t.schema ? y->t.schema : "");
}

static enum status_state state_of(struct rd *r, json_t *v, const char *ctx)
{
	const char *name = json_string_value(json_object_get(v, "state"));

	for (int s = STATUS_CURRENT; name && s <= STATUS_UNREACHABLE; s++)
		if (!strcmp(name, status_state_name((enum status_state)s)))
			return (enum status_state)s;
	shape_error(r, ctx, "state", "a state");
	return STATUS_UNREACHABLE;
}

/*
 * The checksum mismatches of t: those at *cursor in env's list that name
 * its address (check writes them database by database, in target order).
 */
static void mismatches_of(struct rd *r, struct report_target *t, json_t *list, size_t *cursor)
{
	json_t *v;

	while ((v = json_array_get(list, *cursor)) && t->address &&
	       json_is_string(json_object_get(v, "database")) &&
	       !strcmp(json_string_value(json_object_get(v, "database")), t->address)) {
		struct checksum_mismatch *c;

		t->mismatches = xrealloc(t->mismatches, (t->mismatches_nr + 1) * sizeof(*c));
		c = &t->mismatches[t->mismatches_nr++];
		*c = (struct checksum_mismatch){ 0 };
		c->revision = get_str(r, v, "revision", "checksum_mismatches: ");
		c->file = get_str(r, v, "file", "checksum_mismatches: ");
		c->applied_sha256 = get_str(r, v, "applied_sha256", "checksum_mismatches: ");
		c->file_sha256 = get_str(r, v, "file_sha256", "checksum_mismatches: ");
		(*cursor)++;
	}
}

/*
 * Read the databases environment e of d lists into *found, each with its
 * drift entry (none when drift_read is false).
 */
static void read_targets(struct rd *r, struct found **found, size_t *nr, size_t *alloc,
			 const struct doc *d, json_t *env, bool drift_read)
{
	json_t *targets = get(r, env, "targets", JSON_ARRAY, "environment: ");
	json_t *drift = get(r, env, "drift", JSON_ARRAY, "environment: "), *v;
	json_t *mismatches = get(r, env, "checksum_mismatches", JSON_ARRAY, "environment: ");
	size_t i, cursor = 0;

	/* no drift at all when the graph could not be built (check then reads no schema) */
	if (r->ret == 0 && (drift_read || json_array_size(drift)) && json_array_size(targets) &&
	    json_array_size(drift) != json_array_size(targets))
		shape_error(r, "environment: ", "drift", "one entry per database");
	json_array_foreach(targets, i, v) {
		struct found *f;

		if (r->ret < 0)
			return;
		ALLOC_GROW(*found, *nr + 1, *alloc);
		f = &(*found)[(*nr)++];
		*f = (struct found){ 0 };
		status_result_init(&f->res);
		f->d = d;
		f->drift = json_array_get(drift, i);
		f->t.file = d->file;
		f->t.address = get_str(r, v, "database", "targets: ");
		f->t.dbname = get_str(r, v, "dbname", "targets: ");
		f->t.schema = get_str(r, v, "schema", "targets: ");
		f->t.position = get_int(r, v, "position", -1, "targets: ");
		f->t.ledger_error = get_str(r, v, "ledger_error", "targets: ");
		f->res.state = state_of(r, v, "targets: ");
		get_strvec(r, &f->res.heads, v, "heads", "targets: ");
		get_strvec(r, &f->res.pending, v, "pending", "targets: ");
		f->res.error = get_str(r, v, "error", "targets: ");
		f->res.note = get_str(r, v, "note", "targets: ");
		mismatches_of(r, &f->t, mismatches, &cursor);
	}
	if (cursor < json_array_size(mismatches))
		shape_error(r, "environment: ", "checksum_mismatches",
			    "a list of its databases' mismatches, in their order");
}

/* Two shards holding one database: the shards do not partition the targets. */
static int check_overlap(const struct found *found, size_t nr, const char *env, bool fleet,
			 struct ms_error *err)
{
	for (size_t i = 1; i < nr; i++) {
		const struct found *a = &found[i - 1], *b = &found[i];
		char *who;

		if (cmp_found(a, b) || strcmp(a->t.address ? a->t.address : "",
					      b->t.address ? b->t.address : ""))
			continue;
		who = ms_error_subject(env, fleet ? b->t.dbname : NULL);
		ms_error_set(err, MS_ERR_CONFIG, "%s: in two shards: %s (shard %u) and %s (shard %u)",
			     who, a->d->file, a->d->index, b->d->file, b->d->index);
		ms_error_hint(err, "the shards overlap: run every shard with the same inventory and "
			      "--shard count, then merge their files");
		free(who);
		return MS_ERR_CONFIG;
	}
	return 0;
}

/* The snapshot a drift entry stands for, from its shard's schemas; NULL when none was read. */
static struct schema_snapshot *snapshot_of(struct rd *r, const struct doc *d, json_t *entry)
{
	const char *fp = json_string_value(json_object_get(entry, "fingerprint"));
	json_t *objects = fp ? json_object_get(d->schemas, fp) : NULL, *o;
	struct schema_snapshot *s;
	size_t i;

	if (!fp)
		return NULL;
	if (!objects) {
		shape_error(r, "drift: ", "fingerprint", "one of the shard's schemas");
		return NULL;
	}
	s = xmalloc(sizeof(*s));
	schema_snapshot_init(s);
	json_array_foreach(objects, i, o) {
		const char *kind = json_string_value(json_object_get(o, "kind"));
		const char *name = json_string_value(json_object_get(o, "name"));
		const char *def = json_string_value(json_object_get(o, "definition"));
		int k = 0;

		while (kind && k < DRIFT_KIND_NR && strcmp(kind, drift_kind_name((enum drift_kind)k)))
			k++;
		if (!kind || k == DRIFT_KIND_NR || !name || !def) {
			shape_error(r, "schemas: ", "objects", "a list of kinds, names and definitions");
			break;
		}
		/* the definition of an invalid index carries its mark already */
		schema_snapshot_add(s, (enum drift_kind)k, name, def,
				    json_string_value(json_object_get(o, "parent")), false)->invalid =
			json_is_true(json_object_get(o, "invalid"));
	}
	get_strvec(r, &s->version_rows, entry, "version_rows", "drift: ");
	schema_snapshot_finish(s);
	if (r->ret == 0 && strcmp(s->fingerprint, fp))
		shape_error(r, "schemas: ", fp, "the schema its fingerprint stands for");
	return s;
}

/* Append a drift target for environment e (db: its index, or SIZE_MAX for none). */
static void add_drift(struct rd *r, struct report_merge *m, size_t e, size_t db,
		      const struct doc *d, json_t *entry, const char *database)
{
	struct drift_target *t = drift_report_add(&m->drift, m->status.envs[e].name, database);
	size_t i = m->drift.targets_nr - 1;

	m->drift_target_env = xrealloc(m->drift_target_env, (i + 1) * sizeof(size_t));
	m->drift_target_db = xrealloc(m->drift_target_db, (i + 1) * sizeof(size_t));
	m->drift_target_env[i] = e;
	m->drift_target_db[i] = db;
	t->snapshot = entry ? snapshot_of(r, d, entry) : NULL;
	if (!t->snapshot) {
		const char *error = json_string_value(json_object_get(entry, "error"));

		t->error = xstrdup(error ? error : "could not read the schema");
	}
}

/*
 * Environment e over every shard: its databases in the order one run
 * lists them, their drift entries, or its own error when it could not
 * be expanded (every shard then says so; the first is taken).
 */
static int merge_env(struct report_merge *m, size_t e, const struct doc *docs, size_t nr,
		     struct ms_error *err)
{
	struct found *found = NULL;
	size_t found_nr = 0, found_alloc = 0;
	struct status_env *env = NULL;
	struct report_env *re = &m->envs[e];
	json_t *first = json_array_get(json_object_get(docs[0].root, "environments"), e);
	json_t *error_entry = NULL;
	const struct doc *error_doc = NULL;
	struct rd r = { docs[0].file, err, 0 };
	json_t *gate = get(&r, first, "gate", JSON_OBJECT, "environment: ");
	int ret = 0;

	env = status_report_add_env(&m->status, json_string_value(json_object_get(first, "environment")),
				    json_is_true(json_object_get(first, "fleet")));
	re->approvals = (int)get_int(&r, gate, "approvals", 0, "gate: ");
	re->risky_approvals = (int)get_int(&r, gate, "risky_approvals", 0, "gate: ");
	for (size_t i = 0; r.ret == 0 && i < nr; i++) {
		json_t *v = json_array_get(json_object_get(docs[i].root, "environments"), e);

		r.file = docs[i].file;
		read_targets(&r, &found, &found_nr, &found_alloc, &docs[i], v, !m->graph_error);
		if (!env->error && !json_array_size(json_object_get(v, "targets")) &&
		    json_is_string(json_object_get(v, "error"))) {
			env->error = xstrdup(json_string_value(json_object_get(v, "error")));
			error_entry = json_array_get(json_object_get(v, "drift"), 0);
			error_doc = &docs[i];
		}
	}
	if ((ret = r.ret) < 0)
		goto done;
	if (found_nr)
		qsort(found, found_nr, sizeof(*found), cmp_found);
	if ((ret = check_overlap(found, found_nr, env->name, env->fleet, err)) < 0)
		goto done;
	if (env->error && !m->graph_error)
		add_drift(&r, m, e, SIZE_MAX, error_doc, error_entry, "-");
	re->targets = xcalloc(found_nr ? found_nr : 1, sizeof(*re->targets));
	for (size_t i = 0; i < found_nr; i++) {
		struct found *f = &found[i];
		const char *shown = env->fleet && f->t.dbname ? f->t.dbname :
			f->t.address ? f->t.address : "";
		struct status_target *t = status_env_add_target(env, shown);

		status_result_release(&t->result);
		t->result = f->res;
		status_result_init(&f->res);
		re->targets[re->targets_nr++] = f->t;
		f->t = (struct report_target){ 0 };
		r.file = f->d->file;
		if (!m->graph_error)
			add_drift(&r, m, e, i, f->d, f->drift, shown);
	}
	ret = r.ret;
done:
	for (size_t i = 0; i < found_nr; i++) {
		target_release(&found[i].t);
		status_result_release(&found[i].res);
	}
	free(found);
	return ret;
}

/* The lint of the scripts: what every shard has, and the safety findings of all. */
static int merge_lint(struct report_merge *m, const struct doc *docs, size_t nr,
		      struct ms_error *err)
{
	json_t *all = json_array(), *f;
	struct rd r = { docs[0].file, err, 0 };
	json_t *lint = get(&r, docs[0].root, "lint", JSON_OBJECT, "");
	size_t i, k;

	m->lint.revisions = (size_t)get_int(&r, lint, "revisions", 0, "lint: ");
	for (size_t d = 0; d < nr; d++)
		json_array_foreach(json_object_get(json_object_get(docs[d].root, "lint"), "findings"), i, f) {
			json_t *seen;
			bool dup = false;

			json_array_foreach(all, k, seen)
				dup |= equal_but_dirs(seen, f);
			if (!dup)
				json_array_append(all, f);
		}
	json_array_foreach(all, i, f) {
		const char *sev = json_string_value(json_object_get(f, "severity"));
		enum diag_severity s = DIAG_INFO;
		char *code = get_str(&r, f, "code", "lint: ");
		char *file = get_str(&r, f, "file", "lint: ");
		/* a safety finding's keys: absent from other findings */
		const char *rev = json_string_value(json_object_get(f, "revision"));
		const char *hint = json_string_value(json_object_get(f, "instead"));
		const char *rule = json_string_value(json_object_get(f, "rule"));
		const char *statement = json_string_value(json_object_get(f, "statement"));
		char *msg = get_str(&r, f, "message", "lint: ");
		struct diag *dg;

		if (sev && !strcmp(sev, "error"))
			s = DIAG_ERROR;
		else if (sev && !strcmp(sev, "warning"))
			s = DIAG_WARNING;
		dg = diag_add(&m->lint.findings, s, code ? code : "", file,
			      (unsigned)get_int(&r, f, "line", 0, "lint: "), rev, hint, "%s",
			      msg ? msg : "");
		dg->column = (unsigned)get_int(&r, f, "column", 0, "lint: ");
		dg->rule = rule ? xstrdup(rule) : NULL;
		dg->statement = statement ? xstrdup(statement) : NULL;
		free(code);
		free(file);
		free(msg);
	}
	json_decref(all);
	diag_list_sort(&m->lint.findings);
	m->lint.errors = diag_list_count(&m->lint.findings, DIAG_ERROR);
	m->lint.warnings = diag_list_count(&m->lint.findings, DIAG_WARNING);
	return r.ret;
}

int report_merge_files(struct report_merge *out, const char *const *files, size_t nr,
		       struct ms_error *err)
{
	struct doc *docs = xcalloc(nr ? nr : 1, sizeof(*docs));
	struct rd r = { NULL, err, 0 };
	size_t loaded = 0;
	int ret = 0;

	report_merge_release(out);
	if (!nr) {
		ret = ms_error_set(err, MS_ERR_USAGE, "no shard's file to merge");
		goto done;
	}
	for (; loaded < nr; loaded++)
		if ((ret = doc_load(&docs[loaded], files[loaded], err)) < 0) {
			loaded++;
			goto done;
		}
	if ((ret = check_partition(docs, nr, err)) < 0 || (ret = check_same_run(docs, nr, err)) < 0)
		goto done;

	r.file = docs[0].file;
	out->count = docs[0].count;
	out->project = get_str(&r, docs[0].root, "project", "");
	out->version = get_str(&r, docs[0].root, "migsync", "");
	out->graph_error = get_str(&r, docs[0].root, "graph_error", "");
	out->fail_on_pending = json_is_true(json_object_get(docs[0].root, "fail_on_pending"));
	get(&r, docs[0].root, "environments", JSON_ARRAY, "");
	if ((ret = r.ret) < 0 || (ret = build_graph(out, &docs[0], err)) < 0)
		goto done;
	out->envs = xcalloc(json_array_size(json_object_get(docs[0].root, "environments")) + 1,
			    sizeof(*out->envs));
	for (size_t e = 0; e < json_array_size(json_object_get(docs[0].root, "environments")); e++) {
		out->envs_nr++;
		if ((ret = merge_env(out, e, docs, nr, err)) < 0)
			goto done;
	}
	status_report_finish(&out->status, out->g, &out->goal);
	if ((ret = drift_report_finish(&out->drift, NULL, err)) < 0 ||
	    (ret = merge_lint(out, docs, nr, err)) < 0)
		goto done;
done:
	for (size_t i = 0; i < loaded; i++)
		doc_release(&docs[i]);
	free(docs);
	if (ret < 0)
		report_merge_release(out);
	return ret;
}
