/*
 * The safety rules' table, their findings, allowances (migsync:allow
 * comments) and the findings as lint diagnostics. The rules themselves
 * walk parse trees in safety_rules.c.
 */
#include <stdlib.h>
#include <string.h>

#include "migsync/safety.h"
#include "migsync/util.h"
#include "safety_int.h"

static const struct safety_rule rules[] = {
	{ "syntax-error", "MS100",
	  "SQL (or Python) that does not parse",
	  "PostgreSQL (or Python) would refuse it: the revision fails where it stands, "
	  "after the statements before it ran",
	  "fix the text at the position given" },
	{ "require-concurrent-index", "MS101",
	  "CREATE INDEX on an existing table without CONCURRENTLY",
	  "a plain CREATE INDEX holds a SHARE lock that blocks every write to the table "
	  "until the whole index is built",
	  "CREATE INDEX CONCURRENTLY, in a revision with -- migsync:transaction false" },
	{ "concurrent-index-in-transaction", "MS102",
	  "CREATE/DROP INDEX CONCURRENTLY in a revision that runs in a transaction",
	  "PostgreSQL refuses CONCURRENTLY inside a transaction block: the revision fails",
	  "put the statement in a revision of its own with -- migsync:transaction false "
	  "(Alembic: op.get_context().autocommit_block())" },
	{ "adding-not-null-column", "MS103",
	  "ADD COLUMN ... NOT NULL without a DEFAULT on an existing table",
	  "the statement fails as soon as the table has a row",
	  "add the column with a DEFAULT (a constant default costs no rewrite), or add it "
	  "nullable, backfill, then SET NOT NULL behind a validated CHECK" },
	{ "volatile-default", "MS104",
	  "ADD COLUMN with a volatile default (random(), clock_timestamp(), gen_random_uuid(), "
	  "nextval(), serial types)",
	  "a volatile default is computed per row: the whole table is rewritten under an "
	  "ACCESS EXCLUSIVE lock",
	  "add the column without a default (or with a constant one), then backfill in "
	  "batches and set the default afterwards" },
	{ "changing-column-type", "MS105",
	  "ALTER COLUMN ... TYPE on an existing table",
	  "most type changes rewrite the table and its indexes under an ACCESS EXCLUSIVE lock",
	  "add a new column of the new type, backfill it in batches, switch the code over, "
	  "then drop the old column" },
	{ "set-not-null", "MS106",
	  "SET NOT NULL on an existing table without a validated CHECK (col IS NOT NULL) before it",
	  "SET NOT NULL scans the whole table under an ACCESS EXCLUSIVE lock",
	  "ADD CONSTRAINT ... CHECK (col IS NOT NULL) NOT VALID, VALIDATE CONSTRAINT, then "
	  "SET NOT NULL (PostgreSQL 12+ skips the scan) and drop the CHECK" },
	{ "constraint-missing-not-valid", "MS107",
	  "ADD FOREIGN KEY or ADD CHECK on an existing table without NOT VALID",
	  "the new constraint is validated against every row while writes are blocked",
	  "ADD CONSTRAINT ... NOT VALID, then VALIDATE CONSTRAINT in a later revision "
	  "(it takes a lock that lets writes through)" },
	{ "unique-constraint-without-index", "MS108",
	  "ADD UNIQUE / ADD PRIMARY KEY on an existing table not USING INDEX",
	  "the index behind the constraint is built while the table is locked against writes",
	  "CREATE UNIQUE INDEX CONCURRENTLY first, then ADD CONSTRAINT ... UNIQUE USING INDEX" },
	{ "drop-column", "MS109",
	  "DROP COLUMN",
	  "destructive: the data is gone, and code still running reads the column and fails",
	  "stop reading and writing the column in a release first, drop it in a later one; "
	  "keep a backup if the data matters" },
	{ "drop-table", "MS110",
	  "DROP TABLE",
	  "destructive: the data is gone, and code still running uses the table and fails",
	  "stop using the table in a release first, drop it in a later one (or rename it "
	  "aside until the drop is safe)" },
	{ "rename-column", "MS111",
	  "RENAME COLUMN",
	  "backward-incompatible: code still running uses the old name and fails",
	  "add the new column, write both, move readers, then drop the old one (or expose "
	  "the new name through a view)" },
	{ "rename-table", "MS112",
	  "RENAME TABLE (ALTER TABLE ... RENAME TO)",
	  "backward-incompatible: code still running uses the old name and fails",
	  "create the new table (or a view under the new name), move the code, then drop "
	  "the old name" },
	{ "missing-lock-timeout", "MS113",
	  "an ACCESS EXCLUSIVE lock on an existing table without SET lock_timeout before it",
	  "waiting for the lock behind a long query queues every other query on the table: "
	  "an outage even when the change itself is instant",
	  "SET lock_timeout = '5s' (or SET LOCAL) before the statement, and retry on timeout" },
	{ "invalid-allowance", "MS114",
	  "a migsync:allow comment without a reason, or naming no rule",
	  "an allowance must say why the danger does not apply, for the approvers who read it",
	  "write -- migsync:allow RULE: reason (# in .py files)" },
};

const struct safety_rule *safety_rules(size_t *nr)
{
	*nr = ARRAY_SIZE(rules);
	return rules;
}

const struct safety_rule *safety_rule_find(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(rules); i++)
		if (!strcmp(rules[i].name, name) || !strcmp(rules[i].code, name))
			return &rules[i];
	return NULL;
}

void safety_list_init(struct safety_list *list)
{
	list->items = NULL;
	list->nr = 0;
	list->alloc = 0;
}

void safety_list_release(struct safety_list *list)
{
	for (size_t i = 0; i < list->nr; i++) {
		struct safety_finding *f = &list->items[i];

		free(f->revision);
		free(f->file);
		free(f->statement);
		free(f->message);
		free(f->allow_reason);
	}
	free(list->items);
	safety_list_init(list);
}

size_t safety_list_unallowed(const struct safety_list *list)
{
	size_t n = 0;

	for (size_t i = 0; i < list->nr; i++)
		n += !list->items[i].allowed;
	return n;
}

static char *dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

struct safety_finding *safety_add(struct safety_list *list, const char *rule,
				  const char *revision, const char *file,
				  unsigned line, unsigned column, char *message)
{
	struct safety_finding *f;

	ALLOC_GROW(list->items, list->nr + 1, list->alloc);
	f = &list->items[list->nr++];
	memset(f, 0, sizeof(*f));
	f->rule = safety_rule_find(rule);
	f->revision = dup_or_null(revision);
	f->file = dup_or_null(file);
	f->line = line;
	f->column = column;
	f->message = message;
	return f;
}

void safety_list_copy(struct safety_list *dst, const struct safety_list *src,
		      const char *revision)
{
	for (size_t i = 0; i < src->nr; i++) {
		const struct safety_finding *s = &src->items[i];
		struct safety_finding *f;

		if (revision && strcmp_null(s->revision, revision))
			continue;
		f = safety_add(dst, s->rule->name, s->revision, s->file, s->line, s->column,
			       xstrdup(s->message));
		f->statement = dup_or_null(s->statement);
		f->down = s->down;
		f->allowed = s->allowed;
		f->allow_reason = dup_or_null(s->allow_reason);
	}
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/*
 * One comment line of text: `-- migsync:allow RULE: reason` (mark '-')
 * or `# migsync:allow RULE: reason` (mark '#'). Valid allowances mark
 * findings [from, out->nr) of their rule as allowed; others are findings.
 */
static void allowance(struct safety_list *out, size_t from, const struct safety_input *in,
		      const char *p, const char *eol, unsigned line)
{
	const char *name, *name_end, *reason, *reason_end;
	const struct safety_rule *rule;
	char *rname;

	while (p < eol && is_blank(*p))
		p++;
	if (in->comment_mark == '-' ? (eol - p < 2 || p[0] != '-' || p[1] != '-') : *p != '#')
		return;
	p += in->comment_mark == '-' ? 2 : 1;
	while (p < eol && is_blank(*p))
		p++;
	if (eol - p < 13 || memcmp(p, "migsync:allow", 13))
		return;
	name = p + 13;
	while (name < eol && is_blank(*name))
		name++;
	name_end = name;
	while (name_end < eol && !is_blank(*name_end) && *name_end != ':')
		name_end++;
	reason = name_end;
	while (reason < eol && is_blank(*reason))
		reason++;
	if (reason < eol && *reason == ':')
		reason++;
	else
		reason = eol;
	while (reason < eol && is_blank(*reason))
		reason++;
	reason_end = eol;
	while (reason_end > reason && is_blank(reason_end[-1]))
		reason_end--;
	rname = xstrndup(name, (size_t)(name_end - name));
	rule = safety_rule_find(rname);
	if (in->down && (!rule || reason == reason_end)) {
		/* the upgrade's review of the same file reports it */
	} else if (!rule || !strcmp(rule->name, "invalid-allowance") ||
		   !strcmp(rule->name, "syntax-error")) {
		safety_add(out, "invalid-allowance", in->revision, in->file, line, 0,
			   xstrfmt("migsync:allow names no rule that can be allowed: \"%s\"", rname));
	} else if (reason == reason_end) {
		safety_add(out, "invalid-allowance", in->revision, in->file, line, 0,
			   xstrfmt("migsync:allow %s without a reason", rule->name));
	} else {
		for (size_t i = from; i < out->nr; i++) {
			struct safety_finding *f = &out->items[i];

			if (f->rule != rule || f->allowed)
				continue;
			f->allowed = true;
			f->allow_reason = xstrndup(reason, (size_t)(reason_end - reason));
		}
	}
	free(rname);
}

void safety_apply_allowances(struct safety_list *out, size_t from, const struct safety_input *in)
{
	const char *p = in->comments;
	unsigned line = 0;

	if (!p)
		return;
	while (*p) {
		const char *eol = strchr(p, '\n');

		if (!eol)
			eol = p + strlen(p);
		line++;
		allowance(out, from, in, p, eol, line);
		p = *eol ? eol + 1 : eol;
	}
}

void safety_to_diags(struct diag_list *list, const struct safety_list *findings)
{
	for (size_t i = 0; i < findings->nr; i++) {
		const struct safety_finding *f = &findings->items[i];
		struct diag *d;

		if (f->allowed)
			continue;
		/* a downgrade's findings never fail lint: promotion runs upgrades */
		d = diag_add(list, strcmp(f->rule->name, "syntax-error") || f->down ?
			     DIAG_WARNING : DIAG_ERROR, f->rule->code, f->file, f->line,
			     f->revision, f->rule->instead, "%s%s: %s", f->down ? "(downgrade) " : "",
			     f->message, f->rule->why);
		d->down = f->down;
		d->column = f->column;
		d->rule = xstrdup(f->rule->name);
		d->statement = dup_or_null(f->statement);
	}
}
