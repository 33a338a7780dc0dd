/*
 * The lint rules and the health summary. Nothing here prints: findings
 * go into a diag_list the caller shows as it likes.
 */
#include <ctype.h>
#include <regex.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>

#include "migsync/lint.h"
#include "migsync/revgraph.h"
#include "migsync/strbuf.h"

static const struct lint_rule rules[] = {
	{ "MS001", DIAG_ERROR, LINT_DEPENDENCIES, "multiple heads" },
	{ "MS002", DIAG_ERROR, LINT_INTEGRITY, "dangling down_revision" },
	{ "MS003", DIAG_ERROR, LINT_INTEGRITY, "duplicate revision id" },
	{ "MS004", DIAG_ERROR, LINT_INTEGRITY, "cycle or self-loop" },
	{ "MS005", DIAG_ERROR, LINT_DEPENDENCIES, "branch label reused" },
	{ "MS006", DIAG_ERROR, LINT_INTEGRITY, "dangling depends_on" },
	{ "MS010", DIAG_WARNING, LINT_NAMING, "placeholder-looking revision id" },
	{ "MS011", DIAG_WARNING, LINT_NAMING, "revision id breaks the id pattern" },
	{ "MS012", DIAG_WARNING, LINT_NAMING, "file name breaks the file pattern" },
	{ "MS013", DIAG_WARNING, LINT_NAMING, "file name does not start with its revision id" },
	{ "MS020", DIAG_WARNING, LINT_INTEGRITY, "empty downgrade" },
	{ "MS021", DIAG_WARNING, LINT_INTEGRITY, "no downgrade" },
	{ "MS022", DIAG_WARNING, LINT_INTEGRITY, "empty upgrade" },
	{ "MS023", DIAG_WARNING, LINT_DOCUMENTATION, "no message" },
	{ "MS024", DIAG_ERROR, LINT_INTEGRITY, "native SQL revision without an up section" },
	{ "MS030", DIAG_WARNING, LINT_DEPENDENCIES, "value the reader left out (not a literal)" },
	{ "MS031", DIAG_WARNING, LINT_INTEGRITY, "SQL outside a migsync:up/down section" },
	{ "MS040", DIAG_ERROR, LINT_INTEGRITY, "file could not be read" },
};

static const char *const category_names[LINT_CATEGORY_NR] = {
	"integrity", "naming", "dependencies", "documentation", "safety",
};

const struct lint_rule *lint_rule_find(const char *code)
{
	for (size_t i = 0; code && i < ARRAY_SIZE(rules); i++)
		if (!strcasecmp(rules[i].code, code))
			return &rules[i];
	return NULL;
}

const struct lint_rule *lint_rules(size_t *nr)
{
	*nr = ARRAY_SIZE(rules);
	return rules;
}

const char *lint_category_name(enum lint_category category)
{
	return (unsigned)category < LINT_CATEGORY_NR ? category_names[category] : "unknown";
}

void lint_options_init(struct lint_options *opts)
{
	opts->id_pattern = NULL;
	opts->file_pattern = NULL;
	strvec_init(&opts->disabled);
	opts->safety = NULL;
}

void lint_options_release(struct lint_options *opts)
{
	strvec_release(&opts->disabled);
	lint_options_init(opts);
}

void lint_report_init(struct lint_report *report)
{
	diag_list_init(&report->findings);
	report->revisions = 0;
	report->errors = 0;
	report->warnings = 0;
	for (size_t i = 0; i < LINT_CATEGORY_NR; i++) {
		report->categories[i].clean = 0;
		report->categories[i].total = 0;
	}
}

void lint_report_release(struct lint_report *report)
{
	diag_list_release(&report->findings);
	lint_report_init(report);
}

double lint_category_percent(const struct lint_category_count *count)
{
	if (!count->total)
		return 100.0;
	/* integer rounding: the core does not link libm */
	return (double)((count->clean * 1000 + count->total / 2) / count->total) / 10.0;
}

struct lint_ctx {
	const struct script_set *scripts;
	struct diag_list *out;
	regex_t id_re;
	regex_t file_re;
	const char *id_pattern;
	const char *file_pattern;
};

/* Add a finding about script s, with the severity the rule table gives code. */
__attribute__((format(printf, 5, 6)))
static void finding(struct lint_ctx *ctx, const char *code, const struct script *s,
		    unsigned line, const char *fmt, ...)
{
	const struct lint_rule *rule = lint_rule_find(code);
	struct strbuf sb = STRBUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	diag_add(ctx->out, rule->severity, rule->code, s->path, line, s->revision, NULL,
		 "%s", sb.buf);
	strbuf_release(&sb);
}

/* Set the hint of the finding just added. */
__attribute__((format(printf, 2, 3)))
static void hint(struct lint_ctx *ctx, const char *fmt, ...)
{
	struct diag *d = &ctx->out->items[ctx->out->nr - 1];
	struct strbuf sb = STRBUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	free(d->hint);
	d->hint = strbuf_detach(&sb, NULL);
}

static const char *ext_of(const struct script *s)
{
	return s->kind == SCRIPT_SQL ? ".sql" : ".py";
}

/*
 * Does the file name start with the revision id, followed by "_" or the
 * extension? A leading "<digits and underscores>-" is skipped first, for
 * Alembic's dated file_template "%(year)d_%(month).2d_%(day).2d_..-%(rev)s_%(slug)s".
 */
static bool filename_starts_with_rev(const char *filename, const char *rev)
{
	const char *p = filename;
	size_t n = strlen(rev);

	for (int pass = 0; pass < 2; pass++) {
		if (!strncmp(p, rev, n) && (p[n] == '_' || p[n] == '.'))
			return true;
		p += strspn(p, "0123456789_");
		if (*p != '-' || p == filename)
			return false;
		p++;
	}
	return false;
}

/* A message Alembic writes when none was given. */
static bool message_missing(const char *msg, const char **why)
{
	const char *p = msg;

	*why = NULL;
	while (p && isspace((unsigned char)*p))
		p++;
	if (!p || !*p)
		return true;
	if (!strcasecmp(p, "empty message") || !strcmp(p, "None")) {
		*why = p;
		return true;
	}
	return false;
}

static void check_naming(struct lint_ctx *ctx, const struct script *s)
{
	const char *why;

	if (!s->revision)
		return;
	why = lint_placeholder_reason(s->revision);
	if (why) {
		finding(ctx, "MS010", s, s->revision_line,
			"revision \"%s\": id looks like a placeholder (%s)", s->revision, why);
		hint(ctx, "let 'alembic revision' generate ids; an id already applied somewhere "
		     "can only change together with every version table");
	}
	if (regexec(&ctx->id_re, s->revision, 0, NULL, 0) != 0) {
		finding(ctx, "MS011", s, s->revision_line,
			"revision \"%s\": id does not match the id pattern \"%s\"",
			s->revision, ctx->id_pattern);
		hint(ctx, "use ids like the 12 hex characters alembic generates, or set --id-pattern");
	}
	if (s->filename && regexec(&ctx->file_re, s->filename, 0, NULL, 0) != 0) {
		finding(ctx, "MS012", s, 0,
			"revision \"%s\": file name \"%s\" does not match the file pattern \"%s\"",
			s->revision, s->filename, ctx->file_pattern);
		hint(ctx, "name the file <rev>_<slug>%s as alembic's default file_template does, "
		     "or set --file-pattern", ext_of(s));
	}
	if (s->filename && !filename_starts_with_rev(s->filename, s->revision)) {
		finding(ctx, "MS013", s, 0,
			"revision \"%s\": file name \"%s\" does not start with the revision id",
			s->revision, s->filename);
		hint(ctx, "rename the file to %s_<slug>%s", s->revision, ext_of(s));
	}
}

static void check_python_body(struct lint_ctx *ctx, const struct script *s, bool merge)
{
	if (!s->has_upgrade) {
		finding(ctx, "MS022", s, 0, "revision \"%s\": no upgrade()", s->revision);
		hint(ctx, "add an upgrade() function; alembic fails on a revision without one");
	} else if (s->upgrade_empty && !merge) {
		finding(ctx, "MS022", s, s->upgrade_line, "revision \"%s\": upgrade() is empty",
			s->revision);
		hint(ctx, "write the change, or drop the revision if it is not needed");
	}
	if (!s->has_downgrade) {
		finding(ctx, "MS021", s, 0, "revision \"%s\": no downgrade()", s->revision);
		hint(ctx, "add a downgrade() that undoes upgrade(); alembic fails on a downgrade without one");
	} else if (s->downgrade_empty && !merge) {
		finding(ctx, "MS020", s, s->downgrade_line, "revision \"%s\": downgrade() is empty",
			s->revision);
		hint(ctx, "write the downgrade, or raise NotImplementedError to say it is irreversible");
	}
}

static void check_sql_body(struct lint_ctx *ctx, const struct script *s, bool merge)
{
	if (!s->has_up_section) {
		finding(ctx, "MS024", s, 0, "revision \"%s\": no \"-- migsync:up\" section",
			s->revision);
		hint(ctx, "add a line \"-- migsync:up\" followed by the statements to apply");
	} else if (s->upgrade_empty && !merge) {
		finding(ctx, "MS022", s, s->up_line, "revision \"%s\": up section is empty",
			s->revision);
		hint(ctx, "write the change, or drop the revision if it is not needed");
	}
	/* a native merge revision has nothing to undo; migsync moves the rows itself */
	if (merge)
		return;
	if (!s->has_downgrade) {
		finding(ctx, "MS021", s, 0, "revision \"%s\": no \"-- migsync:down\" section",
			s->revision);
		hint(ctx, "add a line \"-- migsync:down\" followed by the statements that undo the up section");
	} else if (s->downgrade_empty) {
		finding(ctx, "MS020", s, s->down_line, "revision \"%s\": down section is empty",
			s->revision);
		hint(ctx, "write the statements that undo the up section");
	}
}

static void check_message(struct lint_ctx *ctx, const struct script *s)
{
	const char *why;

	if (!message_missing(s->message, &why))
		return;
	if (why)
		finding(ctx, "MS023", s, 0, "revision \"%s\": message is a placeholder (\"%s\")",
			s->revision, why);
	else
		finding(ctx, "MS023", s, 0, "revision \"%s\": no message", s->revision);
	if (s->kind == SCRIPT_SQL)
		hint(ctx, "add a line \"-- migsync:message <what the revision does>\"");
	else
		hint(ctx, "start the file with a docstring saying what the revision does "
		     "(alembic revision -m \"...\")");
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* An id and the first script that carries it, sortable by id. */
struct id_entry {
	const char *id;
	size_t script;
};

static int cmp_id_entry(const void *a, const void *b)
{
	const struct id_entry *x = a, *y = b;
	int c = strcmp(x->id, y->id);

	if (c)
		return c;
	return x->script < y->script ? -1 : x->script > y->script;
}

static ssize_t find_id(const struct id_entry *ids, size_t nr, const char *id)
{
	struct id_entry key = { id, 0 };
	size_t lo = 0, hi = nr;

	/* lower bound, so that a duplicated id finds its first script */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (cmp_id_entry(&ids[mid], &key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < nr && !strcmp(ids[lo].id, id) ? (ssize_t)lo : -1;
}

/*
 * The branch labels on a head's line of history: its own and those of
 * every ancestor along down_revision, walked over the scripts directly
 * so that it works on a graph revgraph_build refused.
 */
static void head_labels(struct strvec *labels, const struct script_set *set,
			const struct id_entry *ids, size_t nr, size_t head)
{
	bool *seen = xcalloc(set->nr ? set->nr : 1, sizeof(*seen));
	size_t *stack = xmalloc((set->nr ? set->nr : 1) * sizeof(*stack));
	size_t top = 0;

	stack[top++] = head;
	seen[head] = true;
	while (top) {
		const struct script *s = &set->items[stack[--top]];

		for (size_t i = 0; i < s->branch_labels.nr; i++)
			if (!strvec_contains(labels, s->branch_labels.items[i]))
				strvec_push(labels, s->branch_labels.items[i]);
		for (size_t i = 0; i < s->down_revisions.nr; i++) {
			ssize_t k = find_id(ids, nr, s->down_revisions.items[i]);

			if (k >= 0 && !seen[ids[k].script]) {
				seen[ids[k].script] = true;
				stack[top++] = ids[k].script;
			}
		}
	}
	free(stack);
	free(seen);
}

static bool labels_meet(const struct strvec *a, const struct strvec *b)
{
	if (!a->nr && !b->nr)
		return true;
	for (size_t i = 0; i < a->nr; i++)
		if (strvec_contains(b, a->items[i]))
			return true;
	return false;
}

/*
 * MS001. A head is a revision no other revision names as down_revision
 * (Alembic's Revision.is_head). Several heads are a problem when two of
 * them share a line of history: both unlabelled, or both carrying the
 * same branch label, which is what makes "alembic upgrade head" (or
 * "label@head") fail. Heads of independent labelled branches, which
 * Alembic supports on purpose, are left alone.
 */
static void check_heads(struct lint_ctx *ctx)
{
	const struct script_set *set = ctx->scripts;
	struct id_entry *ids = xmalloc((set->nr ? set->nr : 1) * sizeof(*ids));
	struct strvec named = STRVEC_INIT;
	size_t *heads = xmalloc((set->nr ? set->nr : 1) * sizeof(*heads));
	struct strvec *labels = NULL;
	size_t nids = 0, nheads = 0;
	struct strbuf list = STRBUF_INIT;

	for (size_t i = 0; i < set->nr; i++) {
		if (!set->items[i].revision)
			continue;
		ids[nids].id = set->items[i].revision;
		ids[nids++].script = i;
		for (size_t j = 0; j < set->items[i].down_revisions.nr; j++)
			strvec_push(&named, set->items[i].down_revisions.items[j]);
	}
	if (nids > 1)
		qsort(ids, nids, sizeof(*ids), cmp_id_entry);
	if (named.nr > 1)
		qsort(named.items, named.nr, sizeof(*named.items), cmp_str);

	for (size_t i = 0; i < nids; i++) {
		const char *id = ids[i].id;

		if (i > 0 && !strcmp(id, ids[i - 1].id))
			continue;	/* a duplicate id (MS003) is one revision here */
		if (!named.nr || !bsearch(&id, named.items, named.nr, sizeof(*named.items), cmp_str))
			heads[nheads++] = ids[i].script;
	}
	if (nheads < 2)
		goto done;

	labels = xcalloc(nheads, sizeof(*labels));
	for (size_t i = 0; i < nheads; i++) {
		head_labels(&labels[i], set, ids, nids, heads[i]);
		strbuf_addf(&list, "%s\"%s\"", i ? ", " : "", set->items[heads[i]].revision);
	}
	for (size_t i = 0; i < nheads; i++) {
		const struct script *s = &set->items[heads[i]];
		bool conflict = false;

		for (size_t j = 0; j < nheads && !conflict; j++)
			conflict = j != i && labels_meet(&labels[i], &labels[j]);
		if (!conflict)
			continue;
		finding(ctx, "MS001", s, s->revision_line,
			"revision \"%s\": one of %zu heads: %s", s->revision, nheads, list.buf);
		hint(ctx, "merge them with 'alembic merge -m \"merge heads\" heads', or add a "
		     "revision naming all of them in down_revision");
	}
done:
	for (size_t i = 0; labels && i < nheads; i++)
		strvec_release(&labels[i]);
	free(labels);
	strbuf_release(&list);
	free(heads);
	strvec_release(&named);
	free(ids);
}

/* The graph problems revgraph_build finds (MS002-MS006), copied as they are. */
static int check_graph(struct lint_ctx *ctx, struct ms_error *err)
{
	struct revgraph *g = NULL;
	struct diag_list problems = DIAG_LIST_INIT;
	struct ms_error gerr = MS_ERROR_INIT;
	int ret = revgraph_build(&g, ctx->scripts, &problems, &gerr);

	if (ret == MS_ERR_GRAPH && !problems.nr) {
		/* a refusal that names no problem cannot be shown as a finding */
		ms_error_move(err, &gerr);
		goto done;
	}
	if (ret < 0 && ret != MS_ERR_GRAPH) {
		ms_error_move(err, &gerr);
		goto done;
	}
	ret = 0;
	for (size_t i = 0; i < problems.nr; i++) {
		const struct diag *p = &problems.items[i];
		struct diag *d = diag_add(ctx->out, p->severity, p->code, p->file, p->line,
					  p->revision, p->hint, "%s", p->message);

		d->column = p->column;
	}
done:
	revgraph_free(g);
	diag_list_release(&problems);
	ms_error_release(&gerr);
	return ret;
}

/*
 * Reader diagnostics: errors become MS040; warnings keep their code when
 * it is one of ours (MS030 non-literal labels, MS031 stray SQL) and are
 * MS030 otherwise.
 */
static void pass_reader(struct lint_ctx *ctx, const struct diag_list *reader)
{
	for (size_t i = 0; reader && i < reader->nr; i++) {
		const struct diag *r = &reader->items[i];
		const struct lint_rule *rule = lint_rule_find(r->code);
		const char *code = "MS030";

		if (r->severity == DIAG_ERROR)
			code = "MS040";
		else if (rule && strcmp(rule->code, "MS040") && rule->severity == DIAG_WARNING)
			code = rule->code;
		rule = lint_rule_find(code);
		if (r->revision && !starts_with(r->message, "revision \""))
			diag_add(ctx->out, rule->severity, code, r->file, r->line, r->revision,
				 r->hint, "revision \"%s\": %s", r->revision, r->message);
		else
			diag_add(ctx->out, rule->severity, code, r->file, r->line, r->revision,
				 r->hint, "%s", r->message);
		if (!r->hint)
			hint(ctx, "%s", r->severity == DIAG_ERROR
			     ? "fix the file so that migsync and Alembic can read it"
			     : "write the value as literal strings so that migsync sees the graph Alembic sees");
	}
}

static int compile(regex_t *re, const char *pattern, const char *what, struct ms_error *err)
{
	int rc = regcomp(re, pattern, REG_EXTENDED | REG_NOSUB);
	char buf[256];

	if (rc == 0)
		return 0;
	regerror(rc, re, buf, sizeof(buf));
	ms_error_set(err, MS_ERR_USAGE, "%s pattern \"%s\": %s", what, pattern, buf);
	ms_error_hint(err, "give a POSIX extended regular expression");
	return MS_ERR_USAGE;
}

/* A script's place in the sorted lookup tables of the health count. */
struct unit_key {
	const char *key;
	size_t unit;
};

static int cmp_unit_key(const void *a, const void *b)
{
	const struct unit_key *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	if (c)
		return c;
	return x->unit < y->unit ? -1 : x->unit > y->unit;
}

/* Mark every unit whose key equals key dirty in category c; returns how many. */
static size_t mark(bool *dirty, const struct unit_key *keys, size_t nr, const char *key,
		   enum lint_category c)
{
	size_t lo = 0, hi = nr, n = 0;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(keys[mid].key, key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < nr && !strcmp(keys[lo].key, key); lo++, n++)
		dirty[keys[lo].unit * LINT_CATEGORY_NR + c] = true;
	return n;
}

/*
 * The health summary: a unit is a script, or a file that could not be
 * read; it is clean in a category when no finding of that category names
 * its file (or, for findings without a file, its revision).
 */
static void count_health(struct lint_report *out, const struct script_set *set)
{
	struct strvec broken = STRVEC_INIT;
	struct unit_key *by_path = NULL, *by_rev = NULL;
	size_t units, npath = 0, nrev = 0;
	bool *dirty = NULL;

	for (size_t i = 0; i < out->findings.nr; i++) {
		const struct diag *d = &out->findings.items[i];

		if (!strcmp(d->code, "MS040") && d->file && !strvec_contains(&broken, d->file))
			strvec_push(&broken, d->file);
	}
	units = set->nr + broken.nr;
	by_path = xmalloc((units ? units : 1) * sizeof(*by_path));
	by_rev = xmalloc((units ? units : 1) * sizeof(*by_rev));
	dirty = xcalloc((units ? units : 1) * LINT_CATEGORY_NR, sizeof(*dirty));
	for (size_t i = 0; i < set->nr; i++) {
		if (set->items[i].path) {
			by_path[npath].key = set->items[i].path;
			by_path[npath++].unit = i;
		}
		if (set->items[i].revision) {
			by_rev[nrev].key = set->items[i].revision;
			by_rev[nrev++].unit = i;
		}
	}
	for (size_t i = 0; i < broken.nr; i++) {
		by_path[npath].key = broken.items[i];
		by_path[npath++].unit = set->nr + i;
	}
	qsort(by_path, npath, sizeof(*by_path), cmp_unit_key);
	qsort(by_rev, nrev, sizeof(*by_rev), cmp_unit_key);

	for (size_t i = 0; i < out->findings.nr; i++) {
		const struct diag *d = &out->findings.items[i];
		const struct lint_rule *rule = lint_rule_find(d->code);
		enum lint_category c = rule ? rule->category : d->rule ? LINT_SAFETY : LINT_INTEGRITY;
		size_t n = 0;

		if (d->file)
			n = mark(dirty, by_path, npath, d->file, c);
		if (!n && d->revision)
			mark(dirty, by_rev, nrev, d->revision, c);
	}

	out->revisions = units;
	for (size_t c = 0; c < LINT_CATEGORY_NR; c++) {
		out->categories[c].total = units;
		out->categories[c].clean = 0;
		for (size_t u = 0; u < units; u++)
			out->categories[c].clean += !dirty[u * LINT_CATEGORY_NR + c];
	}
	free(dirty);
	free(by_rev);
	free(by_path);
	strvec_release(&broken);
}

int lint_run(struct lint_report *out, const struct script_set *scripts,
	     const struct diag_list *reader, const struct lint_options *opts,
	     struct ms_error *err)
{
	struct lint_ctx ctx;
	struct diag_list all = DIAG_LIST_INIT;
	bool id_ok = false, file_ok = false;
	bool disabled[ARRAY_SIZE(rules)] = { false };
	struct strvec disabled_safety = STRVEC_INIT;
	int ret = 0;

	ctx.scripts = scripts;
	ctx.out = &all;
	ctx.id_pattern = opts && opts->id_pattern ? opts->id_pattern : LINT_DEFAULT_ID_PATTERN;
	ctx.file_pattern = opts && opts->file_pattern ? opts->file_pattern : LINT_DEFAULT_FILE_PATTERN;

	for (size_t i = 0; opts && i < opts->disabled.nr; i++) {
		const struct lint_rule *rule = lint_rule_find(opts->disabled.items[i]);
		const struct safety_rule *srule = safety_rule_find(opts->disabled.items[i]);

		if (!rule && !srule) {
			ret = ms_error_set(err, MS_ERR_USAGE, "unknown lint code \"%s\"",
					   opts->disabled.items[i]);
			ms_error_hint(err, "codes are MS001 to MS040 and the safety rules' names or "
				      "codes; see migsync lint --rules");
			goto done;
		}
		if (rule)
			disabled[rule - rules] = true;
		else
			strvec_push(&disabled_safety, srule->code);
	}
	if ((ret = compile(&ctx.id_re, ctx.id_pattern, "id", err)) < 0)
		goto done;
	id_ok = true;
	if ((ret = compile(&ctx.file_re, ctx.file_pattern, "file", err)) < 0)
		goto done;
	file_ok = true;

	if ((ret = check_graph(&ctx, err)) < 0)
		goto done;
	check_heads(&ctx);
	pass_reader(&ctx, reader);
	for (size_t i = 0; i < scripts->nr; i++) {
		const struct script *s = &scripts->items[i];
		bool merge = s->down_revisions.nr > 1;

		check_naming(&ctx, s);
		if (s->kind == SCRIPT_SQL)
			check_sql_body(&ctx, s, merge);
		else
			check_python_body(&ctx, s, merge);
		check_message(&ctx, s);
	}
	if (opts && opts->safety)
		safety_to_diags(&all, opts->safety);

	/* move what is not disabled into the report */
	for (size_t i = 0; i < all.nr; i++) {
		struct diag *d = &all.items[i];
		const struct lint_rule *rule = lint_rule_find(d->code);

		if ((rule && disabled[rule - rules]) || strvec_contains(&disabled_safety, d->code))
			continue;
		ALLOC_GROW(out->findings.items, out->findings.nr + 1, out->findings.alloc);
		out->findings.items[out->findings.nr++] = *d;
		memset(d, 0, sizeof(*d));
	}
	diag_list_sort(&out->findings);
	out->errors = diag_list_count(&out->findings, DIAG_ERROR);
	out->warnings = diag_list_count(&out->findings, DIAG_WARNING);
	count_health(out, scripts);
done:
	if (id_ok)
		regfree(&ctx.id_re);
	if (file_ok)
		regfree(&ctx.file_re);
	diag_list_release(&all);
	strvec_release(&disabled_safety);
	return ret;
}
