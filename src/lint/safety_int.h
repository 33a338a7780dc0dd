#ifndef MIGSYNC_SAFETY_INT_H
#define MIGSYNC_SAFETY_INT_H

/* Shared by the files of the safety review (src/lint/safety*.c). */

#include "migsync/safety.h"
#include "migsync/sql.h"

/* Append a finding of rule (by name); message is taken over. */
struct safety_finding *safety_add(struct safety_list *list, const char *rule,
				  const char *revision, const char *file,
				  unsigned line, unsigned column, char *message);

/*
 * The migsync:allow comments of in->comments: findings [from, out->nr)
 * of an allowed rule are marked allowed; a bad allowance is a finding.
 */
void safety_apply_allowances(struct safety_list *out, size_t from,
			     const struct safety_input *in);

/*
 * What a statement is, told from its leading tokens (safety_kind.c):
 * whether a rule reads its tree, or, for the statements whose tokens
 * show it all (CREATE TABLE, CREATE INDEX, SET and RESET, transaction
 * statements), what the rules need of them.
 */
enum safety_head_kind {
	SAFETY_HEAD_NONE,		/* no rule looks at it */
	SAFETY_HEAD_TREE,		/* a rule reads its tree */
	SAFETY_HEAD_CREATE_TABLE,	/* creates schema.name */
	SAFETY_HEAD_CREATE_INDEX,	/* an index on schema.name, concurrent or not */
	SAFETY_HEAD_LOCK_TIMEOUT,	/* SET lock_timeout to a value */
	SAFETY_HEAD_NO_LOCK_TIMEOUT,	/* SET lock_timeout TO DEFAULT, RESET lock_timeout */
	SAFETY_HEAD_BEGIN,		/* BEGIN, START TRANSACTION */
	SAFETY_HEAD_END,		/* COMMIT, END, ROLLBACK, ABORT */
};

struct safety_head {
	enum safety_head_kind kind;
	bool concurrent;
	char schema[64];	/* "" when the name is not qualified */
	char name[64];
};

/* The heads of a script's statements, in order. */
struct safety_heads {
	struct safety_head *items;
	size_t nr, alloc;
	bool down;	/* a downgrade: DROP TABLE needs no tree (no rule judges it there) */
};

/*
 * Whether the rules read st's tree: the sql_want_fn of sql_parse_some,
 * with ctx a struct safety_heads that keeps st's head.
 */
bool safety_wants_tree(const struct sql_statement *st, void *ctx);

/* The op.* calls that start a statement of an Alembic revision's upgrade(). */
struct safety_call {
	char *name;		/* "add_column" */
	unsigned line;
	unsigned column;
};

struct safety_calls {
	struct safety_call *items;
	size_t nr, alloc;
};

/*
 * Append to out the calls in the body of the function whose `def` is on
 * line def_line of text (a .py file), in source order. Nothing runs.
 */
void safety_calls_read(struct safety_calls *out, const char *text, unsigned def_line);
void safety_calls_release(struct safety_calls *c);

#endif
