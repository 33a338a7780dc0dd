#ifndef MIGSYNC_SAFETY_H
#define MIGSYNC_SAFETY_H

/*
 * The migration safety review: rules over PostgreSQL's own parse trees
 * (libpg_query, through migsync/sql.h) of what a revision's upgrade runs,
 * for native SQL revisions (the up section) and Alembic revisions (the
 * SQL Alembic generates offline). Each rule has a stable name (the JSON
 * contract) and a code; each finding names revision, file, line, column
 * and statement, says why it is dangerous and what to write instead.
 *
 * "Existing table": a table not created earlier in the same revision.
 * A revision allows a rule's findings with a comment that says why,
 * `-- migsync:allow RULE: reason` (`# migsync:allow RULE: reason` in a .py
 * file); an allowance without a reason, or naming no rule, is itself a
 * finding (invalid-allowance).
 */

#include <stdbool.h>
#include <stddef.h>

#include "migsync/diag.h"
#include "migsync/error.h"
#include "migsync/scripts.h"

struct safety_rule {
	const char *name;	/* e.g. "require-concurrent-index" */
	const char *code;	/* e.g. "MS101" */
	const char *summary;	/* what it finds, one line */
	const char *why;	/* why it is dangerous */
	const char *instead;	/* what to write instead */
};

/* Every rule, in code order; *nr receives the count. */
const struct safety_rule *safety_rules(size_t *nr);
/* The rule of this name, or NULL. */
const struct safety_rule *safety_rule_find(const char *name);

struct safety_finding {
	const struct safety_rule *rule;
	char *revision;
	char *file;
	unsigned line;		/* file line of the statement (of the comment, for an allowance) */
	unsigned column;
	char *statement;	/* the statement, whitespace collapsed, shortened; NULL for an allowance */
	char *message;		/* what was found, e.g. `CREATE INDEX on table "users" without CONCURRENTLY` */
	bool down;		/* found in the revision's downgrade */
	bool allowed;		/* a migsync:allow comment allows it */
	char *allow_reason;	/* its reason, or NULL */
};

struct safety_list {
	struct safety_finding *items;
	size_t nr;
	size_t alloc;
};

#define SAFETY_LIST_INIT { NULL, 0, 0 }

void safety_list_init(struct safety_list *list);
void safety_list_release(struct safety_list *list);
/* Findings that no comment allows. */
size_t safety_list_unallowed(const struct safety_list *list);
/* Append copies of the findings of revision (all when NULL) in src to dst. */
void safety_list_copy(struct safety_list *dst, const struct safety_list *src,
		      const char *revision);

struct safety_calls;

/* One revision's upgrade SQL and what the rules need to know about it. */
struct safety_input {
	const char *revision;
	const char *file;		/* named in findings */
	const char *sql;		/* the SQL reviewed (NUL-terminated) */
	unsigned first_line;		/* file line of sql's first line; 0 when it is not in the file */
	bool transactional;		/* the revision starts inside a transaction */
	bool lock_timeout;		/* lock_timeout was set before sql (Alembic's env.py) */
	/*
	 * sql is the downgrade: only the rules about locks and failures run
	 * (drops and renames are what a downgrade is for), findings are
	 * marked down, and bad allowances are left to the upgrade's review.
	 */
	bool down;
	const char *comments;		/* text searched for allowances (the file), or NULL */
	char comment_mark;		/* '-' (--) for SQL, '#' for Python */
	/*
	 * Alembic (first_line 0): the op.* calls of upgrade() (safety_int.h)
	 * and the line of `def upgrade`. A finding gets its call's line when
	 * the SQL's statements (Alembic's own version-table and transaction
	 * statements aside) match the calls one for one, else the def's.
	 */
	const struct safety_calls *calls;
	unsigned function_line;
	/* where the SQL leaves the session (may be NULL): for the next revision's input */
	bool *transaction_after;
	bool *lock_timeout_after;
};

/*
 * Review one revision: findings appended to out. SQL that does not parse
 * is one syntax-error finding at the parser's line and column.
 */
void safety_review(struct safety_list *out, const struct safety_input *in);

/*
 * The findings as lint diagnostics (unallowed ones; syntax-error is an
 * error, the others warnings), appended to list.
 */
void safety_to_diags(struct diag_list *list, const struct safety_list *findings);

/* How to reach the project's Alembic for its .py revisions. */
struct safety_options {
	const char *python;		/* the interpreter (project_python_find), or NULL (alembic_python()) */
	const char *python_error;	/* why no interpreter was found: .py revisions are skipped */
	const char *alembic_ini;	/* NULL: .py revisions are not reviewed (skipped says so) */
};

struct alembic_offline;

struct safety_report {
	struct safety_list findings;	/* by revision, in the order reviewed */
	/*
	 * Of the downgrades (lint only: gates and check judge upgrades):
	 * native down sections always, Alembic's `downgrade heads:base --sql`
	 * (a second Python process) when alembic_downgrades is set before the
	 * review (init clears it).
	 */
	struct safety_list down_findings;
	bool alembic_downgrades;
	/* Alembic's offline SQL of the whole history (alembic.h), or NULL: for plan --sql */
	struct alembic_offline *offline;
	size_t reviewed;		/* revisions whose upgrade was reviewed */
	size_t skipped_nr;		/* .py revisions not reviewed */
	char *skipped;			/* why, or NULL */
};

struct inventory;
/*
 * The options for a project: the inventory's migrations.python and
 * migrations.alembic_ini (inv may be NULL), else alembic.ini in the
 * current directory when there is one. Strings borrowed from inv. The
 * caller may then set python to the interpreter project_python_find
 * chooses, or python_error to why there is none.
 */
void safety_options_for(struct safety_options *o, const struct inventory *inv);

void safety_report_init(struct safety_report *r);
void safety_report_release(struct safety_report *r);

/*
 * Review every revision of set: native ones from their up section (set
 * read with SCRIPTS_KEEP_SQL) and their file's allowances; .py ones
 * compiled by Python without running them (a failure is a syntax-error
 * finding at Python's line and column), then through the SQL Alembic
 * generates offline for the whole history in one process (`upgrade heads
 * --sql`). When Python or Alembic cannot run, the .py revisions are
 * counted in skipped_nr and skipped says why: never silently.
 */
void safety_review_scripts(struct safety_report *out, const struct script_set *set,
			   const struct safety_options *o);

#endif
