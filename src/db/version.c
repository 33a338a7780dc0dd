/*
 * Reading the Alembic version table: the one place that knows where it
 * is and how its rows are read. See include/migsync/db.h.
 */

#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "migsync/db.h"
#include "migsync/strbuf.h"
#include "migsync/target.h"
#include "migsync/util.h"

/* err: a name of the version table could not be quoted (bad encoding). */
static void quote_failed(struct ms_error *err, PGconn *conn, const char *table)
{
	char *msg = db_message_one_line(PQerrorMessage(conn));

	ms_error_set(err, MS_ERR_DB, "version table \"%s\": could not quote its name: %s",
		     table, msg);
	free(msg);
}

char *db_version_table_name(PGconn *conn, const char *table, const char *schema,
			    struct ms_error *err)
{
	char *qt = NULL, *qs = NULL, *ret = NULL;

	if (!table)
		table = DB_DEFAULT_VERSION_TABLE;
	qt = PQescapeIdentifier(conn, table, strlen(table));
	if (schema)
		qs = PQescapeIdentifier(conn, schema, strlen(schema));
	if (!qt || (schema && !qs)) {
		quote_failed(err, conn, table);
		goto done;
	}
	ret = schema ? xstrfmt("%s.%s", qs, qt) : xstrdup(qt);
done:
	PQfreemem(qt);
	PQfreemem(qs);
	return ret;
}

int db_version_regclass(struct strbuf *sql, PGconn *conn, const char *table,
			const char *schema, struct ms_error *err)
{
	char *name = db_version_table_name(conn, table, schema, err);
	char *literal = NULL;
	int ret = MS_ERR_DB;

	if (!name)
		goto done;
	literal = PQescapeLiteral(conn, name, strlen(name));
	if (!literal) {
		quote_failed(err, conn, table ? table : DB_DEFAULT_VERSION_TABLE);
		goto done;
	}
	strbuf_addf(sql, "pg_catalog.to_regclass(%s)", literal);
	ret = 0;
done:
	PQfreemem(literal);
	free(name);
	return ret;
}

int db_version_select(struct strbuf *sql, PGconn *conn, const char *table,
		      const char *schema, struct ms_error *err)
{
	char *name = db_version_table_name(conn, table, schema, err);

	if (!name)
		return MS_ERR_DB;
	strbuf_addf(sql, "SELECT version_num FROM %s", name);
	free(name);
	return 0;
}

void db_version_parse(struct strvec *out, const PGresult *res)
{
	for (int i = 0; i < PQntuples(res); i++)
		if (!PQgetisnull(res, i, 0))
			strvec_push(out, PQgetvalue(res, i, 0));
	strvec_sort(out);
}

int db_version_rows(struct strvec *out, bool *exists, char **oid, PGconn *conn,
		    const char *table, const char *schema, struct ms_error *err)
{
	struct strbuf sql = STRBUF_INIT;
	PGresult *res = NULL;
	int ret;

	*exists = false;
	if (oid)
		*oid = xstrdup("0");
	strbuf_addstr(&sql, "SELECT ");
	ret = db_version_regclass(&sql, conn, table, schema, err);
	if (ret < 0)
		goto done;
	strbuf_addstr(&sql, "::oid");
	res = PQexecParams(conn, sql.buf, 0, NULL, NULL, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		ret = db_result_error(err, conn, res, "could not look for the version table");
		goto done;
	}
	if (PQgetisnull(res, 0, 0))
		goto done;
	if (oid) {
		free(*oid);
		*oid = xstrdup(PQgetvalue(res, 0, 0));
	}
	PQclear(res);
	strbuf_reset(&sql);
	ret = db_version_select(&sql, conn, table, schema, err);
	if (ret < 0)
		goto done;
	res = PQexecParams(conn, sql.buf, 0, NULL, NULL, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		ret = db_result_error(err, conn, res, "could not read the version table");
		goto done;
	}
	*exists = true;
	db_version_parse(out, res);
done:
	PQclear(res);
	strbuf_release(&sql);
	return ret;
}
