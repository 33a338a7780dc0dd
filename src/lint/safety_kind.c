/*
 * Which statements the safety rules look at, told from their leading
 * tokens: only those get a parse tree (sql_parse_some), since building
 * one costs more than parsing. CREATE TABLE and CREATE INDEX, the most
 * common statements of a migration, need no tree at all when their
 * tokens give the table's name (and CONCURRENTLY); nor do SET, RESET and
 * the transaction statements, which the split's parse has already found
 * well formed: their first words say what the grammar makes of them.
 */
#include <stdbool.h>
#include <string.h>

#include "migsync/sql.h"
#include "migsync/util.h"
#include "safety_int.h"

#define HEAD_MAX 20

struct tokens {
	struct sql_token t[HEAD_MAX];
	size_t nr;
};

static bool word(const struct tokens *t, size_t i, const char *w)
{
	return i < t->nr && t->t[i].kind == SQL_TOKEN_WORD && !strcmp(t->t[i].text, w);
}

static bool word_in(const struct tokens *t, size_t i, const char *const *ws)
{
	for (; *ws; ws++)
		if (word(t, i, *ws))
			return true;
	return false;
}

static bool is_name(const struct tokens *t, size_t i)
{
	return i < t->nr && (t->t[i].kind == SQL_TOKEN_WORD || t->t[i].kind == SQL_TOKEN_QUOTED);
}

/* IF NOT EXISTS at i (NOT is reserved: "if" followed by "not" is no name); past it */
static size_t if_not_exists(const struct tokens *t, size_t i)
{
	return word(t, i, "if") && word(t, i + 1, "not") && word(t, i + 2, "exists") ? i + 3 : i;
}

/*
 * The qualified name at t[i] into h (schema and name, a catalog dropped
 * as the rules do); false when the tokens do not show it all.
 */
static bool qualified_name(struct safety_head *h, const struct tokens *t, size_t i)
{
	size_t parts = 0;

	while (is_name(t, i)) {
		parts++;
		if (i + 1 >= t->nr)
			return false;	/* what follows is not known: the name may go on */
		if (t->t[i + 1].kind != SQL_TOKEN_DOT)
			break;
		i += 2;
	}
	if (!parts || parts > 3 || !is_name(t, i))
		return false;
	strcpy(h->schema, parts > 1 ? t->t[i - 2].text : "");
	strcpy(h->name, t->t[i].text);
	return true;
}

/*
 * CREATE [UNIQUE] INDEX [CONCURRENTLY] [[IF NOT EXISTS] name] ON [ONLY]
 * table, from i (after INDEX). CONCURRENTLY and ON are reserved words,
 * so neither can be the index's name.
 */
static enum safety_head_kind create_index(struct safety_head *h, const struct tokens *t, size_t i)
{
	h->concurrent = word(t, i, "concurrently");
	i += h->concurrent;
	i = if_not_exists(t, i);
	if (!word(t, i, "on"))
		i++;	/* the index's name */
	if (!word(t, i, "on"))
		return SAFETY_HEAD_TREE;
	i++;
	i += word(t, i, "only");
	return qualified_name(h, t, i) ? SAFETY_HEAD_CREATE_INDEX : SAFETY_HEAD_TREE;
}

/*
 * SET [SESSION | LOCAL] name {TO | =} value and RESET name, from i = 1:
 * the rules follow lock_timeout only (DEFAULT and RESET clear it; RESET
 * ALL is left to PostgreSQL's own reading, as the tree has no name).
 * Anything the tokens do not show plainly gets a tree.
 */
static enum safety_head_kind setting(const struct tokens *t)
{
	static const char *const scope[] = { "session", "local", NULL };
	bool reset = word(t, 0, "reset");
	size_t i = reset ? 1 : 1 + word_in(t, 1, scope);

	if (i >= t->nr || t->t[i].kind != SQL_TOKEN_WORD)
		return SAFETY_HEAD_TREE;
	if (strcmp(t->t[i].text, "lock_timeout"))
		return SAFETY_HEAD_NONE;
	if (reset)
		return i + 1 == t->nr ? SAFETY_HEAD_NO_LOCK_TIMEOUT : SAFETY_HEAD_TREE;
	if (!word(t, i + 1, "to") && !(i + 1 < t->nr && t->t[i + 1].kind == SQL_TOKEN_EQUALS))
		return SAFETY_HEAD_TREE;
	if (i + 2 >= t->nr)
		return SAFETY_HEAD_TREE;
	return word(t, i + 2, "default") ? SAFETY_HEAD_NO_LOCK_TIMEOUT : SAFETY_HEAD_LOCK_TIMEOUT;
}

/*
 * COMMIT, END, ROLLBACK and ABORT end the transaction, except COMMIT or
 * ROLLBACK PREPARED (another transaction's) and ROLLBACK [WORK |
 * TRANSACTION] TO [SAVEPOINT] name (a savepoint's).
 */
static enum safety_head_kind ending(const struct tokens *t)
{
	static const char *const noise[] = { "work", "transaction", NULL };

	if (word(t, 1, "prepared"))
		return SAFETY_HEAD_NONE;
	if (word(t, 0, "rollback") && word(t, 1 + word_in(t, 1, noise), "to"))
		return SAFETY_HEAD_NONE;
	return SAFETY_HEAD_END;
}

/*
 * The statements whose trees the rules read (safety_rules.c, statement()):
 * CREATE TABLE (and AS), CREATE MATERIALIZED VIEW, CREATE [UNIQUE] INDEX,
 * ALTER TABLE (with RENAME), DROP TABLE (upgrades), DROP INDEX and
 * TRUNCATE, unless their tokens tell (above).
 */
static enum safety_head_kind classify(struct safety_head *h, const struct tokens *t, bool down)
{
	static const char *const begins[] = { "begin", "start", NULL };
	static const char *const ends[] = { "commit", "end", "rollback", "abort", NULL };
	static const char *const scope[] = { "global", "local", NULL };
	static const char *const persistence[] = { "temp", "temporary", "unlogged", NULL };
	size_t i = 1;

	if (word(t, 0, "set") || word(t, 0, "reset"))
		return setting(t);
	if (word_in(t, 0, begins))
		return SAFETY_HEAD_BEGIN;
	if (word_in(t, 0, ends))
		return ending(t);
	if (word(t, 0, "truncate"))
		return SAFETY_HEAD_TREE;
	if (word(t, 0, "alter"))
		return word(t, 1, "table") ? SAFETY_HEAD_TREE : SAFETY_HEAD_NONE;
	if (word(t, 0, "drop"))
		return word(t, 1, "index") || (!down && word(t, 1, "table")) ? SAFETY_HEAD_TREE :
			SAFETY_HEAD_NONE;
	if (!word(t, 0, "create"))
		return SAFETY_HEAD_NONE;
	if (word(t, 1, "unique") || word(t, 1, "index"))
		return create_index(h, t, word(t, 1, "unique") ? 3 : 2);
	i += word_in(t, i, scope);
	i += word_in(t, i, persistence);
	if (word(t, i, "materialized"))
		return SAFETY_HEAD_TREE;
	if (!word(t, i, "table"))
		return SAFETY_HEAD_NONE;
	return qualified_name(h, t, if_not_exists(t, i + 1)) ? SAFETY_HEAD_CREATE_TABLE :
		SAFETY_HEAD_TREE;
}

static void safety_head(struct safety_head *h, const struct sql_statement *st, bool down)
{
	struct tokens t;

	t.nr = sql_tokens(st, t.t, HEAD_MAX);
	h->concurrent = false;
	h->schema[0] = h->name[0] = '\0';
	h->kind = classify(h, &t, down);
}

bool safety_wants_tree(const struct sql_statement *st, void *ctx)
{
	struct safety_heads *heads = ctx;
	struct safety_head *h;

	ALLOC_GROW(heads->items, heads->nr + 1, heads->alloc);
	h = &heads->items[heads->nr++];
	safety_head(h, st, heads->down);
	return h->kind == SAFETY_HEAD_TREE;
}
