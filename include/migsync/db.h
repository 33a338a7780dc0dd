#ifndef MIGSYNC_DB_H
#define MIGSYNC_DB_H

/*
 * The Alembic version table, exactly as Alembic keeps it:
 * alembic_version(version_num varchar(32) primary key), one row per
 * applied head, found as Alembic finds it (in the given schema, else the
 * first match on the session's search_path). Everything in migsync that
 * reads it comes through db_version_rows(), or through the three pieces
 * below for a reader that batches the reading with other queries (the
 * probes of status, which must keep to two round trips per database).
 */

#include <stdbool.h>

#include <libpq-fe.h>

#include "migsync/error.h"
#include "migsync/strbuf.h"
#include "migsync/util.h"

#define DB_DEFAULT_VERSION_TABLE "alembic_version"

/*
 * "schema"."table" or "table" (table NULL: alembic_version), quoted by
 * libpq for conn. Caller frees; NULL with err set when it cannot be
 * quoted.
 */
char *db_version_table_name(PGconn *conn, const char *table, const char *schema,
			    struct ms_error *err);

/*
 * Append to sql an expression that is the version table's regclass, NULL
 * when there is no such table: to_regclass('"schema"."table"'), names
 * passed as literals so that it fits a simple (multi-statement) query.
 * Returns 0, or MS_ERR_DB with err set when a name cannot be quoted.
 */
int db_version_regclass(struct strbuf *sql, PGconn *conn, const char *table,
			const char *schema, struct ms_error *err);

/*
 * Append to sql the query that reads the rows of the version table, to be
 * sent only when the table exists (naming a missing table is an error).
 * Returns 0 or MS_ERR_DB, as above.
 */
int db_version_select(struct strbuf *sql, PGconn *conn, const char *table,
		      const char *schema, struct ms_error *err);

/* Append the rows of a result of db_version_select() to out, sorted with strcmp. */
void db_version_parse(struct strvec *out, const PGresult *res);

/*
 * Read the version rows (sorted with strcmp, appended to out) through
 * conn, blocking, in the caller's transaction if any. A missing table is
 * not an error: *exists is set false and out stays empty. oid, when not
 * NULL, receives the table's OID as text ("0" when there is none; caller
 * frees). table NULL: "alembic_version"; schema NULL: the search_path.
 * Returns 0 or MS_ERR_DB with err set ("could not look for the version
 * table: ...", "could not read the version table: ...").
 */
int db_version_rows(struct strvec *out, bool *exists, char **oid, PGconn *conn,
		    const char *table, const char *schema, struct ms_error *err);

#endif
