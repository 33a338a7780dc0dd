#ifndef MIGSYNC_DRIFT_H
#define MIGSYNC_DRIFT_H

/*
 * Schema drift: what a database's schema is, read from its catalogs, and
 * how two databases at the same revision differ.
 *
 * A snapshot is a list of objects (tables, columns, indexes, constraints,
 * views, sequences, functions, triggers, enum and domain types, schemas,
 * extensions), each keyed by its kind and schema-qualified name and
 * carrying one canonical text definition built by the server itself
 * (pg_get_indexdef, pg_get_constraintdef, pg_get_viewdef,
 * pg_get_functiondef, format_type, pg_get_expr ...) with search_path set
 * to pg_catalog, so that every name in a definition is qualified the same
 * way on every database. Nothing depends on OIDs or catalog order: the
 * objects are sorted by kind, then name, and the fingerprint is the
 * SHA-256 of that sorted listing.
 *
 * Not compared: owners, privileges, comments, statistics, row counts,
 * sequence values, column order, storage parameters of columns,
 * policies, rules and composite types.
 *
 * Left out of every snapshot: pg_catalog, information_schema, pg_toast,
 * temporary schemas, migsync's ledger schema, objects that belong to an
 * extension (the extension's version stands for them), and the version
 * table with its columns, constraints, indexes and triggers.
 */

#include <stdbool.h>
#include <stddef.h>


#include "migsync/error.h"
#include "migsync/sha256.h"
#include "migsync/strbuf.h"
#include "migsync/util.h"

/* libpq's PGconn; only a pointer here, so that readers of the types need no libpq. */
struct pg_conn;

/* The kinds of objects, in the order a listing shows them. */
enum drift_kind {
	DRIFT_EXTENSION,
	DRIFT_SCHEMA,
	DRIFT_ENUM,
	DRIFT_DOMAIN,
	DRIFT_SEQUENCE,
	DRIFT_TABLE,
	DRIFT_COLUMN,
	DRIFT_CONSTRAINT,
	DRIFT_INDEX,
	DRIFT_VIEW,
	DRIFT_MATVIEW,
	DRIFT_FUNCTION,
	DRIFT_TRIGGER,
	DRIFT_KIND_NR,
};

/* "column", "materialized view", ...: used in listings, text and JSON. */
const char *drift_kind_name(enum drift_kind kind);

/*
 * One object. name is schema-qualified, each part quoted as quote_ident
 * does ("public.stock_daily.note" for a column, "public.f(integer)" for a
 * function). parent is the table an object hangs off (columns,
 * constraints, indexes, triggers) or NULL: when a whole table is missing
 * or extra, its parts are not reported one by one. Relations share one
 * namespace per schema, so a parent name is unambiguous.
 */
struct schema_object {
	enum drift_kind kind;
	char *name;
	char *definition;
	char *parent;
	bool invalid;		/* an index with indisvalid false (a failed CREATE INDEX CONCURRENTLY) */
};

struct schema_snapshot {
	struct schema_object *objects;	/* sorted by kind, then name, after schema_snapshot_finish */
	size_t nr;
	size_t alloc;
	bool version_table_exists;
	struct strvec version_rows;	/* sorted */
	int server_version;		/* PQserverVersion(), 0 when not read from a server */
	char fingerprint[SHA256_HEX_LEN + 1];	/* "" until schema_snapshot_finish */
};

void schema_snapshot_init(struct schema_snapshot *s);
void schema_snapshot_release(struct schema_snapshot *s);
/* Release and free s; NULL is a no-op. */
void schema_snapshot_free(struct schema_snapshot *s);

/*
 * Append an object (strings are copied; parent may be NULL). An invalid
 * index gets " INVALID" in a comment after its definition, so that the
 * fingerprint tells a valid index from an invalid one.
 */
struct schema_object *schema_snapshot_add(struct schema_snapshot *s, enum drift_kind kind,
					  const char *name, const char *definition,
					  const char *parent, bool invalid);

/*
 * Sort the objects and compute the fingerprint. Call once every object is
 * added; adding more afterwards needs another call.
 */
void schema_snapshot_finish(struct schema_snapshot *s);

/* The object of kind called name, or NULL (s must be finished). */
const struct schema_object *schema_snapshot_find(const struct schema_snapshot *s,
						 enum drift_kind kind, const char *name);

/*
 * The canonical listing the fingerprint is computed over: one line per
 * object, "KIND<TAB>NAME<TAB>DEFINITION", with backslash, tab and newline
 * in the definition written as \\, \t and \n. s must be finished.
 */
void schema_snapshot_listing(struct strbuf *out, const struct schema_snapshot *s);

enum drift_change {
	DRIFT_MISSING,		/* in the reference, not in the database */
	DRIFT_EXTRA,		/* in the database, not in the reference */
	DRIFT_CHANGED,		/* in both, with different definitions */
};

/* "missing", "extra", "changed" */
const char *drift_change_name(enum drift_change change);

struct drift_difference {
	enum drift_kind kind;
	char *object;		/* the object's name */
	enum drift_change change;
	char *reference;	/* the reference's definition; NULL when extra */
	char *actual;		/* the database's definition; NULL when missing */
};

struct drift_diff {
	struct drift_difference *items;	/* in listing order (kind, then name) */
	size_t nr;
	size_t alloc;
};
#define DRIFT_DIFF_INIT { NULL, 0, 0 }

void drift_diff_init(struct drift_diff *d);
void drift_diff_release(struct drift_diff *d);

/*
 * Compare other with reference (both finished), object by object, and
 * append every difference to out. When a table is missing or extra as a
 * whole, the objects whose parent it is are left out.
 */
void drift_compare(struct drift_diff *out, const struct schema_snapshot *reference,
		   const struct schema_snapshot *other);

/* What drift_read looks at. NULL or 0 fields take the defaults. */
struct drift_options {
	const struct strvec *schemas;	/* only these schemas; NULL or empty: every user schema */
	const char *ledger_schema;	/* default "migsync"; always left out */
	const char *version_table;	/* default "alembic_version" */
	const char *version_schema;	/* NULL: found on the search_path, as Alembic does */
	int statement_timeout_ms;	/* default 30000, for each query */
	/*
	 * A tenant schema: only it is read (schemas is ignored), and as
	 * the tenant sees it, so that tenants compare with each other: its
	 * objects' names leave the schema out ("accounts.name") and their
	 * definitions are built with search_path pg_catalog, TENANT (its
	 * own names unqualified, every other schema's qualified). The
	 * schema itself is not an object of the snapshot.
	 */
	const char *tenant_schema;
};

/*
 * Read the schema and the version rows of the database conn is connected
 * to, in one read-only repeatable-read transaction (so the version rows
 * and the schema are one consistent picture). conn must be idle and is
 * left idle; its search_path is changed only inside the transaction.
 * Needs PostgreSQL 11 or later. On success *out is a finished snapshot
 * the caller frees with schema_snapshot_free. On failure returns
 * MS_ERR_DB with err set (the server's message, on one line) and *out is
 * NULL.
 */
int drift_read(struct schema_snapshot **out, struct pg_conn *conn, const struct drift_options *opts,
	       struct ms_error *err);

/*
 * A whole run: targets grouped by their version rows, each group compared
 * with its reference.
 */
enum drift_state {
	DRIFT_STATE_SAME,		/* same fingerprint as the reference */
	DRIFT_STATE_REFERENCE,		/* the others of its group were compared with it */
	DRIFT_STATE_NOT_COMPARED,	/* nothing to compare with at its revision */
	DRIFT_STATE_DRIFT,		/* differs from the reference */
	DRIFT_STATE_UNREACHABLE,	/* its schema could not be read */
};

/* "same", "reference", "not-compared", "drift", "unreachable" */
const char *drift_state_name(enum drift_state state);

struct drift_target {
	char *environment;
	char *database;			/* for display: never a password */
	struct schema_snapshot *snapshot;	/* owned; NULL when unreachable */
	char *error;			/* why it is unreachable, or NULL */
	enum drift_state state;		/* set by drift_report_finish */
	char *note;			/* why not compared, or NULL */
	size_t group;			/* index in report groups; SIZE_MAX when unreachable */
	struct drift_diff diff;		/* against the group's reference */
	struct strvec invalid_indexes;	/* names of invalid indexes, sorted */
};

struct drift_group {
	struct strvec revision;		/* the version rows the group shares, sorted */
	size_t reference;		/* index in report targets, or SIZE_MAX when none */
	size_t *members;		/* indexes in report targets, in the order added */
	size_t members_nr;
	size_t members_alloc;
};

struct drift_report {
	struct drift_target *targets;	/* in the order added (rollout order) */
	size_t targets_nr;
	size_t targets_alloc;
	struct drift_group *groups;	/* in the order of their first target */
	size_t groups_nr;
	size_t groups_alloc;
	size_t drifted;			/* targets in state drift */
	size_t unreachable;		/* targets in state unreachable */
	size_t invalid_indexes;		/* invalid indexes over every target */
};

void drift_report_init(struct drift_report *r);
void drift_report_release(struct drift_report *r);

/*
 * Append a target, in rollout order. environment and database are
 * copied; the returned pointer stays valid until the next append. Set its
 * snapshot (taking ownership) or its error before drift_report_finish.
 */
struct drift_target *drift_report_add(struct drift_report *r, const char *environment,
				      const char *database);

/*
 * Group the reachable targets by version rows and compare each group
 * with its reference: the first target of environment against in that
 * group, or, when against is NULL, the group's first target. A group
 * without a reference (against is at another revision) and a group of
 * one are not compared. Returns 0, or MS_ERR_NOTFOUND when against names
 * no target of the report.
 */
int drift_report_finish(struct drift_report *r, const char *against, struct ms_error *err);

/* Whether the run found anything wrong: drift, an invalid index, or an unreachable target. */
bool drift_report_failed(const struct drift_report *r);

#endif
