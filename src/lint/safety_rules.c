/*
 * The safety rules on libpg_query's protobuf-c parse trees: one pass over
 * a revision's statements in order, keeping what earlier statements of
 * the revision established (tables it created, transaction state,
 * lock_timeout, validated NOT NULL checks).
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <pg_query/pg_query.pb-c.h>

#include "migsync/sql.h"
#include "migsync/strbuf.h"
#include "migsync/util.h"
#include "safety_int.h"

#define STATEMENT_MAX 160

struct review {
	struct safety_list *out;
	const struct safety_input *in;
	const struct sql_statement *st;	/* the statement being judged */
	struct strvec created;		/* tables created by the revision: "schema.name" or "name" */
	struct strvec notnull_checks;	/* "table\tcolumn" with a validated CHECK (col IS NOT NULL) */
	struct strvec pending_checks;	/* "constraint\ttable\tcolumn" added NOT VALID */
	struct strvec validated;	/* tables with a VALIDATE CONSTRAINT of an earlier revision's constraint */
	bool in_transaction;
	bool lock_timeout;
	bool lock_reported;
	/* Alembic: where findings of the statement being judged point in the .py file */
	bool calls_match;		/* the statements match in->calls one for one */
	const struct safety_call *call;	/* the statement's call, or NULL: def upgrade */
};

static const char *str_or_empty(const char *s)
{
	return s ? s : "";
}

static char *table_key(const char *schema, const char *name)
{
	return *str_or_empty(schema) ? xstrfmt("%s.%s", schema, str_or_empty(name)) :
		xstrdup(str_or_empty(name));
}

static char *rv_key(const PgQuery__RangeVar *rv)
{
	return rv ? table_key(rv->schemaname, rv->relname) : xstrdup("");
}

/* Created earlier in the revision: the same name, and the same schema when both name one. */
static bool created(const struct review *r, const char *schema, const char *name)
{
	for (size_t i = 0; i < r->created.nr; i++) {
		const char *c = r->created.items[i], *dot = strchr(c, '.');
		const char *cname = dot ? dot + 1 : c;

		if (strcmp(cname, str_or_empty(name)))
			continue;
		if (!dot || !*str_or_empty(schema) ||
		    ((size_t)(dot - c) == strlen(schema) && !strncmp(c, schema, (size_t)(dot - c))))
			return true;
	}
	return false;
}

static bool existing(const struct review *r, const PgQuery__RangeVar *rv)
{
	return rv && !created(r, rv->schemaname, rv->relname);
}

/* The statement as a finding shows it: whitespace collapsed, shortened. */
static char *statement_text(const struct sql_statement *st)
{
	struct strbuf sb = STRBUF_INIT;
	bool space = false;

	for (size_t i = 0; i < st->len && sb.len < STATEMENT_MAX; i++) {
		char c = st->text[i];

		if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
			space = true;
			continue;
		}
		if (space && sb.len)
			strbuf_addch(&sb, ' ');
		space = false;
		strbuf_addch(&sb, c);
	}
	if (sb.len >= STATEMENT_MAX)
		strbuf_addstr(&sb, "...");
	return strbuf_detach(&sb, NULL);
}

/* What a downgrade is for: undoing its upgrade's tables, columns and names. */
static bool destructive(const char *rule)
{
	return !strcmp(rule, "drop-column") || !strcmp(rule, "drop-table") ||
		!strcmp(rule, "rename-column") || !strcmp(rule, "rename-table");
}

static void finding(struct review *r, const char *rule, char *message)
{
	const struct sql_statement *st = r->st;
	unsigned line = 0, column = 0;
	struct safety_finding *f;
	char *note = NULL;

	if (r->in->down && destructive(rule)) {
		free(message);
		return;
	}
	if (r->in->first_line) {
		line = st->line;
		column = st->column;
	} else if (r->call) {
		line = r->call->line;
		column = r->call->column;
		note = xstrfmt("the SQL of the op.%s() call", r->call->name);
	} else if (r->in->function_line) {
		line = r->in->function_line;
		note = xstrfmt("in %s(): its SQL could not be matched to its op.* calls one "
			       "for one", r->in->down ? "downgrade" : "upgrade");
	}
	if (note) {
		char *m = xstrfmt("%s (%s)", message, note);

		free(message);
		free(note);
		message = m;
	}
	f = safety_add(r->out, rule, r->in->revision, r->in->file, line, column, message);
	f->statement = statement_text(st);
	f->down = r->in->down;
}

static bool contains(const char *text, size_t len, const char *needle)
{
	size_t n = strlen(needle);

	for (size_t i = 0; i + n <= len; i++)
		if (!memcmp(text + i, needle, n))
			return true;
	return false;
}

/*
 * Statements of Alembic's own in a revision's offline SQL, from no op.*
 * call: the version table's row (version_num is Alembic's fixed column
 * name) and the transaction statements around the revision.
 */
static bool alembic_own(const struct sql_statement *st)
{
	static const char *const own[] = {
		"begin", "start", "commit", "end", "rollback", "abort", NULL,
	};
	struct sql_token t;

	if (!sql_tokens(st, &t, 1) || t.kind != SQL_TOKEN_WORD)
		return false;
	for (size_t i = 0; own[i]; i++)
		if (!strcmp(t.text, own[i]))
			return true;
	return (!strcmp(t.text, "insert") || !strcmp(t.text, "update") ||
		!strcmp(t.text, "delete")) && contains(st->text, st->len, "version_num");
}

/* Whether the statements of script match in->calls one for one. */
static bool calls_match(const struct review *r, const struct sql_script *script)
{
	size_t n = 0;

	if (r->in->first_line || !r->in->calls || !r->in->calls->nr)
		return false;
	for (size_t i = 0; i < script->nr; i++)
		n += !alembic_own(&script->items[i]);
	return n == r->in->calls->nr;
}

static const char *node_string(const PgQuery__Node *n)
{
	return n && n->node_case == PG_QUERY__NODE__NODE_STRING && n->string ?
		n->string->sval : NULL;
}

/* The last name of a qualified name list (function, type, column). */
static const char *last_name(PgQuery__Node **names, size_t nr)
{
	return nr ? node_string(names[nr - 1]) : NULL;
}

static bool is_volatile_function(const char *name)
{
	static const char *const names[] = {
		"random", "random_normal", "clock_timestamp", "timeofday", "gen_random_uuid",
		"uuid_generate_v1", "uuid_generate_v1mc", "uuid_generate_v4", "nextval",
	};

	for (size_t i = 0; name && i < ARRAY_SIZE(names); i++)
		if (!strcmp(name, names[i]))
			return true;
	return false;
}

/* The volatile function an expression calls, or NULL. */
static const char *volatile_call(const PgQuery__Node *n)
{
	const char *v = NULL;

	if (!n)
		return NULL;
	switch (n->node_case) {
	case PG_QUERY__NODE__NODE_FUNC_CALL:
		v = last_name(n->func_call->funcname, n->func_call->n_funcname);
		if (is_volatile_function(v))
			return v;
		v = NULL;
		for (size_t i = 0; !v && i < n->func_call->n_args; i++)
			v = volatile_call(n->func_call->args[i]);
		return v;
	case PG_QUERY__NODE__NODE_TYPE_CAST:
		return volatile_call(n->type_cast->arg);
	case PG_QUERY__NODE__NODE_A_EXPR:
		v = volatile_call(n->a_expr->lexpr);
		return v ? v : volatile_call(n->a_expr->rexpr);
	case PG_QUERY__NODE__NODE_COALESCE_EXPR:
		for (size_t i = 0; !v && i < n->coalesce_expr->n_args; i++)
			v = volatile_call(n->coalesce_expr->args[i]);
		return v;
	default:
		return NULL;
	}
}

static bool is_serial(const PgQuery__TypeName *t)
{
	const char *name = t ? last_name(t->names, t->n_names) : NULL;

	return name && (!strcmp(name, "serial") || !strcmp(name, "bigserial") ||
			!strcmp(name, "smallserial") || !strcmp(name, "serial4") ||
			!strcmp(name, "serial8") || !strcmp(name, "serial2"));
}

static void add_column(struct review *r, const char *table, const PgQuery__ColumnDef *col)
{
	bool not_null = col->is_not_null, has_default = col->raw_default != NULL;
	const char *vol = volatile_call(col->raw_default);

	for (size_t i = 0; i < col->n_constraints; i++) {
		const PgQuery__Node *n = col->constraints[i];
		const PgQuery__Constraint *c = n->node_case == PG_QUERY__NODE__NODE_CONSTRAINT ?
			n->constraint : NULL;

		if (!c)
			continue;
		if (c->contype == PG_QUERY__CONSTR_TYPE__CONSTR_NOTNULL ||
		    c->contype == PG_QUERY__CONSTR_TYPE__CONSTR_PRIMARY)
			not_null = true;
		if (c->contype == PG_QUERY__CONSTR_TYPE__CONSTR_DEFAULT ||
		    c->contype == PG_QUERY__CONSTR_TYPE__CONSTR_IDENTITY ||
		    c->contype == PG_QUERY__CONSTR_TYPE__CONSTR_GENERATED)
			has_default = true;
		if (c->contype == PG_QUERY__CONSTR_TYPE__CONSTR_DEFAULT && !vol)
			vol = volatile_call(c->raw_expr);
	}
	if (is_serial(col->type_name)) {
		has_default = true;
		vol = "nextval";
	}
	if (not_null && !has_default)
		finding(r, "adding-not-null-column",
			xstrfmt("ADD COLUMN \"%s\" NOT NULL without a DEFAULT on table \"%s\"",
				str_or_empty(col->colname), table));
	if (vol)
		finding(r, "volatile-default",
			xstrfmt("ADD COLUMN \"%s\" on table \"%s\" with a volatile default (%s())",
				str_or_empty(col->colname), table, vol));
}

/* The column of CHECK (col IS NOT NULL), or NULL. */
static const char *not_null_check_column(const PgQuery__Constraint *c)
{
	const PgQuery__Node *e = c->raw_expr;
	const PgQuery__NullTest *t;

	if (c->contype != PG_QUERY__CONSTR_TYPE__CONSTR_CHECK || !e ||
	    e->node_case != PG_QUERY__NODE__NODE_NULL_TEST)
		return NULL;
	t = e->null_test;
	if (t->nulltesttype != PG_QUERY__NULL_TEST_TYPE__IS_NOT_NULL || !t->arg ||
	    t->arg->node_case != PG_QUERY__NODE__NODE_COLUMN_REF)
		return NULL;
	return last_name(t->arg->column_ref->fields, t->arg->column_ref->n_fields);
}

static void add_constraint(struct review *r, const char *table, const PgQuery__Constraint *c)
{
	const char *col = not_null_check_column(c);

	if (col && c->skip_validation && *str_or_empty(c->conname))
		strvec_push_owned(&r->pending_checks,
				  xstrfmt("%s\t%s\t%s", c->conname, table, col));
	else if (col)
		strvec_push_owned(&r->notnull_checks, xstrfmt("%s\t%s", table, col));
	if ((c->contype == PG_QUERY__CONSTR_TYPE__CONSTR_FOREIGN ||
	     c->contype == PG_QUERY__CONSTR_TYPE__CONSTR_CHECK) && !c->skip_validation)
		finding(r, "constraint-missing-not-valid",
			xstrfmt("ADD %s on table \"%s\" without NOT VALID",
				c->contype == PG_QUERY__CONSTR_TYPE__CONSTR_FOREIGN ?
				"FOREIGN KEY" : "CHECK", table));
	if ((c->contype == PG_QUERY__CONSTR_TYPE__CONSTR_UNIQUE ||
	     c->contype == PG_QUERY__CONSTR_TYPE__CONSTR_PRIMARY) && !*str_or_empty(c->indexname))
		finding(r, "unique-constraint-without-index",
			xstrfmt("ADD %s on table \"%s\" without USING INDEX",
				c->contype == PG_QUERY__CONSTR_TYPE__CONSTR_UNIQUE ?
				"UNIQUE" : "PRIMARY KEY", table));
}

static void validate_constraint(struct review *r, const char *table, const char *name)
{
	for (size_t i = 0; i < r->pending_checks.nr; i++) {
		const char *p = r->pending_checks.items[i];
		const char *tab = strchr(p, '\t');

		if ((size_t)(tab - p) == strlen(name) && !strncmp(p, name, (size_t)(tab - p))) {
			strvec_push(&r->notnull_checks, tab + 1);
			return;
		}
	}
	/* a constraint of an earlier revision: trust its validation for this table */
	strvec_push(&r->validated, table);
}

static void set_not_null(struct review *r, const char *table, const char *col)
{
	char *key = xstrfmt("%s\t%s", table, col);

	if (!strvec_contains(&r->notnull_checks, key) && !strvec_contains(&r->validated, table))
		finding(r, "set-not-null",
			xstrfmt("SET NOT NULL on column \"%s\" of table \"%s\" without a validated "
				"CHECK (\"%s\" IS NOT NULL) before it", col, table, col));
	free(key);
}

/* Subcommands that take less than an ACCESS EXCLUSIVE lock. */
static bool weaker_lock(const PgQuery__AlterTableCmd *cmd)
{
	const PgQuery__Node *d = cmd->def;

	switch (cmd->subtype) {
	case PG_QUERY__ALTER_TABLE_TYPE__AT_ValidateConstraint:
	case PG_QUERY__ALTER_TABLE_TYPE__AT_ValidateConstraintRecurse:
	case PG_QUERY__ALTER_TABLE_TYPE__AT_SetStatistics:
	case PG_QUERY__ALTER_TABLE_TYPE__AT_SetOptions:
	case PG_QUERY__ALTER_TABLE_TYPE__AT_ResetOptions:
	case PG_QUERY__ALTER_TABLE_TYPE__AT_ClusterOn:
	case PG_QUERY__ALTER_TABLE_TYPE__AT_DropCluster:
	case PG_QUERY__ALTER_TABLE_TYPE__AT_AttachPartition:
	case PG_QUERY__ALTER_TABLE_TYPE__AT_EnableTrig:
	case PG_QUERY__ALTER_TABLE_TYPE__AT_DisableTrig:
	case PG_QUERY__ALTER_TABLE_TYPE__AT_EnableTrigAll:
	case PG_QUERY__ALTER_TABLE_TYPE__AT_DisableTrigAll:
	case PG_QUERY__ALTER_TABLE_TYPE__AT_EnableTrigUser:
	case PG_QUERY__ALTER_TABLE_TYPE__AT_DisableTrigUser:
		return true;
	case PG_QUERY__ALTER_TABLE_TYPE__AT_AddConstraint:
	case PG_QUERY__ALTER_TABLE_TYPE__AT_AddConstraintRecurse:
		/* a foreign key takes SHARE ROW EXCLUSIVE */
		return d && d->node_case == PG_QUERY__NODE__NODE_CONSTRAINT &&
			d->constraint->contype == PG_QUERY__CONSTR_TYPE__CONSTR_FOREIGN;
	default:
		return false;
	}
}

static void exclusive_lock(struct review *r, const char *table)
{
	if (r->lock_timeout || r->lock_reported)
		return;
	r->lock_reported = true;
	finding(r, "missing-lock-timeout",
		xstrfmt("ACCESS EXCLUSIVE lock on table \"%s\" without SET lock_timeout before it",
			table));
}

static void alter_table(struct review *r, const PgQuery__AlterTableStmt *s)
{
	char *table = rv_key(s->relation);
	bool exclusive = false;

	if (s->objtype != PG_QUERY__OBJECT_TYPE__OBJECT_TABLE || !existing(r, s->relation))
		goto done;
	for (size_t i = 0; i < s->n_cmds; i++) {
		const PgQuery__AlterTableCmd *cmd =
			s->cmds[i]->node_case == PG_QUERY__NODE__NODE_ALTER_TABLE_CMD ?
			s->cmds[i]->alter_table_cmd : NULL;
		const PgQuery__Node *d = cmd ? cmd->def : NULL;

		if (!cmd)
			continue;
		/* a downgrade's drops are what it is for: their locks too */
		exclusive |= !weaker_lock(cmd) &&
			!(r->in->down && (cmd->subtype == PG_QUERY__ALTER_TABLE_TYPE__AT_DropColumn ||
					  cmd->subtype ==
					  PG_QUERY__ALTER_TABLE_TYPE__AT_DropColumnRecurse));
		switch (cmd->subtype) {
		case PG_QUERY__ALTER_TABLE_TYPE__AT_AddColumn:
		case PG_QUERY__ALTER_TABLE_TYPE__AT_AddColumnRecurse:
			if (d && d->node_case == PG_QUERY__NODE__NODE_COLUMN_DEF)
				add_column(r, table, d->column_def);
			break;
		case PG_QUERY__ALTER_TABLE_TYPE__AT_AlterColumnType:
			finding(r, "changing-column-type",
				xstrfmt("ALTER COLUMN \"%s\" TYPE on table \"%s\"",
					str_or_empty(cmd->name), table));
			break;
		case PG_QUERY__ALTER_TABLE_TYPE__AT_SetNotNull:
			set_not_null(r, table, str_or_empty(cmd->name));
			break;
		case PG_QUERY__ALTER_TABLE_TYPE__AT_AddConstraint:
		case PG_QUERY__ALTER_TABLE_TYPE__AT_AddConstraintRecurse:
			if (d && d->node_case == PG_QUERY__NODE__NODE_CONSTRAINT)
				add_constraint(r, table, d->constraint);
			break;
		case PG_QUERY__ALTER_TABLE_TYPE__AT_ValidateConstraint:
		case PG_QUERY__ALTER_TABLE_TYPE__AT_ValidateConstraintRecurse:
			validate_constraint(r, table, str_or_empty(cmd->name));
			break;
		case PG_QUERY__ALTER_TABLE_TYPE__AT_DropColumn:
		case PG_QUERY__ALTER_TABLE_TYPE__AT_DropColumnRecurse:
			finding(r, "drop-column",
				xstrfmt("DROP COLUMN \"%s\" of table \"%s\"",
					str_or_empty(cmd->name), table));
			break;
		default:
			break;
		}
	}
	if (exclusive)
		exclusive_lock(r, table);
done:
	free(table);
}

static void drop(struct review *r, const PgQuery__DropStmt *s)
{
	if (s->remove_type == PG_QUERY__OBJECT_TYPE__OBJECT_INDEX && s->concurrent &&
	    r->in_transaction)
		finding(r, "concurrent-index-in-transaction",
			xstrdup("DROP INDEX CONCURRENTLY in a revision that runs in a transaction"));
	if (s->remove_type != PG_QUERY__OBJECT_TYPE__OBJECT_TABLE)
		return;
	for (size_t i = 0; i < s->n_objects; i++) {
		const PgQuery__Node *o = s->objects[i];
		const PgQuery__List *l = o->node_case == PG_QUERY__NODE__NODE_LIST ? o->list : NULL;
		const char *name = l ? last_name(l->items, l->n_items) : NULL;
		const char *schema = l && l->n_items >= 2 ? node_string(l->items[l->n_items - 2]) : NULL;
		char *table;

		if (!name || created(r, schema, name))
			continue;
		table = table_key(schema, name);
		finding(r, "drop-table", xstrfmt("DROP TABLE \"%s\"", table));
		if (!r->in->down)
			exclusive_lock(r, table);
		free(table);
	}
}

static void rename_stmt(struct review *r, const PgQuery__RenameStmt *s)
{
	char *table;

	if (!existing(r, s->relation))
		return;
	table = rv_key(s->relation);
	if (s->rename_type == PG_QUERY__OBJECT_TYPE__OBJECT_TABLE) {
		finding(r, "rename-table", xstrfmt("RENAME TABLE \"%s\" TO \"%s\"", table,
						   str_or_empty(s->newname)));
		if (!r->in->down)
			exclusive_lock(r, table);
	} else if (s->rename_type == PG_QUERY__OBJECT_TYPE__OBJECT_COLUMN &&
		   s->relation_type == PG_QUERY__OBJECT_TYPE__OBJECT_TABLE) {
		finding(r, "rename-column", xstrfmt("RENAME COLUMN \"%s\" of table \"%s\" TO \"%s\"",
						    str_or_empty(s->subname), table,
						    str_or_empty(s->newname)));
		if (!r->in->down)
			exclusive_lock(r, table);
	}
	free(table);
}

static void create_index(struct review *r, const char *schema, const char *name,
			 bool concurrent)
{
	char *table = table_key(schema, name);

	if (concurrent && r->in_transaction)
		finding(r, "concurrent-index-in-transaction",
			xstrfmt("CREATE INDEX CONCURRENTLY on table \"%s\" in a revision that runs "
				"in a transaction", table));
	if (!concurrent && !created(r, schema, name))
		finding(r, "require-concurrent-index",
			xstrfmt("CREATE INDEX on table \"%s\" without CONCURRENTLY", table));
	free(table);
}

static void index_stmt(struct review *r, const PgQuery__IndexStmt *s)
{
	if (s->relation)
		create_index(r, s->relation->schemaname, s->relation->relname, s->concurrent);
}

/* A statement the rules judge from its tokens (safety_kind.c), without a tree. */
static void head(struct review *r, const struct safety_head *h)
{
	switch (h->kind) {
	case SAFETY_HEAD_CREATE_TABLE:
		strvec_push_owned(&r->created, table_key(h->schema, h->name));
		break;
	case SAFETY_HEAD_CREATE_INDEX:
		create_index(r, h->schema, h->name, h->concurrent);
		break;
	case SAFETY_HEAD_LOCK_TIMEOUT:
	case SAFETY_HEAD_NO_LOCK_TIMEOUT:
		r->lock_timeout = h->kind == SAFETY_HEAD_LOCK_TIMEOUT;
		break;
	case SAFETY_HEAD_BEGIN:
	case SAFETY_HEAD_END:
		r->in_transaction = h->kind == SAFETY_HEAD_BEGIN;
		break;
	default:
		break;
	}
}

static void statement(struct review *r, const PgQuery__Node *n)
{
	switch (n->node_case) {
	case PG_QUERY__NODE__NODE_CREATE_STMT:
		strvec_push_owned(&r->created, rv_key(n->create_stmt->relation));
		break;
	case PG_QUERY__NODE__NODE_CREATE_TABLE_AS_STMT:
		if (n->create_table_as_stmt->into)
			strvec_push_owned(&r->created, rv_key(n->create_table_as_stmt->into->rel));
		break;
	case PG_QUERY__NODE__NODE_INDEX_STMT:
		index_stmt(r, n->index_stmt);
		break;
	case PG_QUERY__NODE__NODE_ALTER_TABLE_STMT:
		alter_table(r, n->alter_table_stmt);
		break;
	case PG_QUERY__NODE__NODE_DROP_STMT:
		drop(r, n->drop_stmt);
		break;
	case PG_QUERY__NODE__NODE_RENAME_STMT:
		rename_stmt(r, n->rename_stmt);
		break;
	case PG_QUERY__NODE__NODE_TRUNCATE_STMT:
		for (size_t i = 0; i < n->truncate_stmt->n_relations; i++) {
			const PgQuery__Node *rel = n->truncate_stmt->relations[i];

			if (rel->node_case == PG_QUERY__NODE__NODE_RANGE_VAR &&
			    existing(r, rel->range_var)) {
				char *table = rv_key(rel->range_var);

				exclusive_lock(r, table);
				free(table);
			}
		}
		break;
	case PG_QUERY__NODE__NODE_VARIABLE_SET_STMT:
		if (n->variable_set_stmt->name && !strcmp(n->variable_set_stmt->name, "lock_timeout"))
			r->lock_timeout = n->variable_set_stmt->kind ==
				PG_QUERY__VARIABLE_SET_KIND__VAR_SET_VALUE;
		break;
	case PG_QUERY__NODE__NODE_TRANSACTION_STMT:
		switch (n->transaction_stmt->kind) {
		case PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_BEGIN:
		case PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_START:
			r->in_transaction = true;
			break;
		case PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_COMMIT:
		case PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_ROLLBACK:
			r->in_transaction = false;
			break;
		default:
			break;
		}
		break;
	default:
		break;
	}
}

void safety_review(struct safety_list *out, const struct safety_input *in)
{
	struct review r = {
		.out = out, .in = in,
		.created = STRVEC_INIT, .notnull_checks = STRVEC_INIT,
		.pending_checks = STRVEC_INIT, .validated = STRVEC_INIT,
		.in_transaction = in->transactional, .lock_timeout = in->lock_timeout,
	};
	struct sql_script script;
	struct safety_heads heads = { NULL, 0, 0, in->down };
	struct ms_error err = MS_ERROR_INIT;
	size_t from = out->nr;
	const char *sql = str_or_empty(in->sql);

	sql_script_init(&script);
	if (sql_parse_some(&script, sql, strlen(sql), in->first_line, safety_wants_tree, &heads,
			   &err) < 0) {
		bool in_file = in->first_line != 0;
		const char *msg = strchr(err.message, ':');

		struct safety_finding *f = safety_add(out, "syntax-error", in->revision, in->file,
						      in_file ? script.error_line : 0,
						      in_file ? script.error_column : 0,
						      xstrdup(msg ? msg + 2 : err.message));

		f->down = in->down;
		goto done;
	}
	r.calls_match = calls_match(&r, &script);
	for (size_t i = 0, call = 0; i < script.nr; i++) {
		r.st = &script.items[i];
		r.call = NULL;
		if (r.calls_match && !alembic_own(r.st))
			r.call = &in->calls->items[call++];
		if (r.st->tree)
			statement(&r, r.st->tree);
		else if (i < heads.nr)
			head(&r, &heads.items[i]);
	}
done:
	if (in->transaction_after)
		*in->transaction_after = r.in_transaction;
	if (in->lock_timeout_after)
		*in->lock_timeout_after = r.lock_timeout;
	safety_apply_allowances(out, from, in);
	sql_script_release(&script);
	free(heads.items);
	strvec_release(&r.created);
	strvec_release(&r.notnull_checks);
	strvec_release(&r.pending_checks);
	strvec_release(&r.validated);
	ms_error_release(&err);
}
