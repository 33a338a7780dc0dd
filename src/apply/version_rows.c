/*
 * The version table's writes for the native SQL executor: its DDL (as
 * Alembic creates it), the row changes of a step (as Alembic's
 * HeadMaintainer makes them) and the pipelined bookkeeping of a
 * transactional step. Reading the table is db_version_rows (src/db).
 */

#include <stdlib.h>
#include <string.h>

#include "migsync/db.h"
#include "migsync/plan.h"
#include "migsync/util.h"
#include "exec_int.h"

static PGresult *exec_params(PGconn *conn, const char *q, int n, const char *const *values)
{
	return PQexecParams(conn, q, n, NULL, values, NULL, NULL, 0);
}

int version_table_ensure(PGconn *conn, const char *table, const char *schema,
			 struct ms_error *err)
{
	struct strvec rows = STRVEC_INIT;
	char *name = NULL, *pkc = NULL, *qpkc = NULL, *q = NULL;
	bool exists = false;
	int ret;

	if (!table)
		table = DB_DEFAULT_VERSION_TABLE;
	ret = db_version_rows(&rows, &exists, NULL, conn, table, schema, err);
	if (ret < 0 || exists)
		goto done;
	ret = MS_ERR_DB;
	name = db_version_table_name(conn, table, schema, err);
	if (!name)
		goto done;
	/* Alembic's own DDL (MigrationContext._version), constraint name included. */
	pkc = xstrfmt("%s_pkc", table);
	qpkc = PQescapeIdentifier(conn, pkc, strlen(pkc));
	if (!qpkc) {
		ret = db_result_error(err, conn, NULL, "could not quote the version table's constraint name");
		goto done;
	}
	q = xstrfmt("CREATE TABLE %s (version_num VARCHAR(32) NOT NULL, "
		    "CONSTRAINT %s PRIMARY KEY (version_num))", name, qpkc);
	ret = exec_query_simple(conn, q, "could not create the version table", err);
done:
	strvec_release(&rows);
	free(name);
	free(pkc);
	PQfreemem(qpkc);
	free(q);
	return ret;
}

static char *row_op_sql(const char *name, enum exec_row_sql what)
{
	return what == EXEC_SQL_INSERT ? xstrfmt("INSERT INTO %s (version_num) VALUES ($1)", name) :
	       what == EXEC_SQL_UPDATE ? xstrfmt("UPDATE %s SET version_num = $2 WHERE version_num = $1", name) :
	       xstrfmt("DELETE FROM %s WHERE version_num = $1", name);
}

/* Check the result of one row op: it succeeded and touched exactly one row. */
static int row_op_check(const struct exec_context *c, const struct exec_row_op *op,
			const PGresult *res, struct ms_error *err)
{
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		return db_result_error(err, c->conn, res, "could not change the version table");
	if (!strcmp(PQcmdTuples((PGresult *)res), "1"))
		return 0;
	/* Alembic's own check: someone else changed the table. */
	ms_error_set(err, MS_ERR_DB,
		     "version table: expected to match one row when changing \"%s\"%s%s%s, %s found",
		     op->a, op->b ? " to \"" : "", op->b ? op->b : "", op->b ? "\"" : "",
		     PQcmdTuples((PGresult *)res));
	ms_error_hint(err, "another process changed the version table; run status and plan again");
	return MS_ERR_DB;
}

int exec_row_change(const struct exec_context *c, const char *name,
		    const struct exec_row_op *op, struct ms_error *err)
{
	const char *param[2] = { op->a, op->b };
	char *q = row_op_sql(name, op->what);
	PGresult *res = exec_params(c->conn, q, op->b ? 2 : 1, param);
	int ret = row_op_check(c, op, res, err);

	PQclear(res);
	free(q);
	return ret;
}

/*
 * The version table change of one step, exactly as Alembic's
 * HeadMaintainer makes it (alembic/runtime/migration.py): a merge deletes
 * all but the last removed row and updates that one; an unmerge updates
 * the row to the last added revision and inserts the others. UPDATE and
 * DELETE must touch one row each, INSERT fails on an existing row.
 * *ops (caller frees) point into step.
 */
int exec_row_ops(struct exec_row_op **out, size_t *nr, const struct revgraph_step *step,
		 struct ms_error *err)
{
	const struct strvec *rm = &step->rows_removed, *add = &step->rows_added;
	struct exec_row_op *ops = xcalloc(rm->nr + add->nr + 1, sizeof(*ops));
	size_t n = 0;

	switch (step->op) {
	case ROW_INSERT:
		for (size_t i = 0; i < add->nr; i++)
			ops[n++] = (struct exec_row_op){ EXEC_SQL_INSERT, add->items[i], NULL };
		break;
	case ROW_DELETE:
		for (size_t i = 0; i < rm->nr; i++)
			ops[n++] = (struct exec_row_op){ EXEC_SQL_DELETE, rm->items[i], NULL };
		break;
	case ROW_UPDATE:
	case ROW_MERGE:
		if (!rm->nr || add->nr != 1)
			goto bad;
		for (size_t i = 0; i + 1 < rm->nr; i++)
			ops[n++] = (struct exec_row_op){ EXEC_SQL_DELETE, rm->items[i], NULL };
		ops[n++] = (struct exec_row_op){ EXEC_SQL_UPDATE, rm->items[rm->nr - 1], add->items[0] };
		break;
	case ROW_UNMERGE:
		if (rm->nr != 1 || !add->nr)
			goto bad;
		ops[n++] = (struct exec_row_op){ EXEC_SQL_UPDATE, rm->items[0], add->items[add->nr - 1] };
		for (size_t i = 0; i + 1 < add->nr; i++)
			ops[n++] = (struct exec_row_op){ EXEC_SQL_INSERT, add->items[i], NULL };
		break;
	default:
		goto bad;
	}
	*out = ops;
	*nr = n;
	return 0;
bad:
	free(ops);
	*out = NULL;
	*nr = 0;
	return ms_error_set(err, MS_ERR_GENERIC, "version table: inconsistent step (%zu rows removed, %zu added)",
			    rm->nr, add->nr);
}

/* The row ops of step, one statement at a time. */
int exec_row_apply(const struct exec_context *c, const char *name,
		   const struct revgraph_step *step, struct ms_error *err)
{
	struct exec_row_op *ops = NULL;
	size_t nr = 0;
	int ret = exec_row_ops(&ops, &nr, step, err);

	for (size_t i = 0; i < nr && !ret; i++)
		ret = exec_row_change(c, name, &ops[i], err);
	free(ops);
	return ret;
}

/*
 * Leave pipeline mode after reading every result up to the sync: 0, or
 * MS_ERR_DB (err set unless set already: *failed) when the connection
 * broke or results were left.
 */
static int pipeline_drain(PGconn *conn, bool failed, struct ms_error *err)
{
	PGresult *res;
	int nulls = 0;

	/* a query's results end with NULL; the sync's result has none after it */
	while (nulls < 2 && PQstatus(conn) == CONNECTION_OK) {
		res = PQgetResult(conn);
		if (!res) {
			nulls++;
			continue;
		}
		nulls = 0;
		if (PQresultStatus(res) == PGRES_PIPELINE_SYNC) {
			PQclear(res);
			break;
		}
		PQclear(res);
	}
	if (PQexitPipelineMode(conn))
		return failed ? MS_ERR_DB : 0;
	return failed ? MS_ERR_DB : db_result_error(err, conn, NULL, "could not leave pipeline mode");
}

/*
 * The bookkeeping of a transactional step in one round trip: its row
 * ops and its ledger row, queued in libpq pipeline mode (extended
 * protocol, values as parameters) and sent with one sync. Within the
 * caller's transaction, a failed statement aborts the rest; a row op
 * that touched no row (or several) fails it, and the caller rolls back.
 */
int exec_bookkeeping(const struct exec_context *c, const char *name,
		     const struct exec_row_op *ops, size_t nr, struct ledger_entry *e,
		     struct ms_error *err)
{
	PGconn *conn = c->conn;
	size_t queued = 0, sent_nr;
	int ret = 0, drained;

	if (!PQenterPipelineMode(conn))
		return db_result_error(err, conn, NULL, "could not enter pipeline mode");
	for (; queued < nr; queued++) {
		const char *param[2] = { ops[queued].a, ops[queued].b };
		char *q = row_op_sql(name, ops[queued].what);
		int sent = PQsendQueryParams(conn, q, ops[queued].b ? 2 : 1, NULL, param,
					     NULL, NULL, 0);

		free(q);
		if (!sent) {
			ret = db_result_error(err, conn, NULL, "could not change the version table");
			break;
		}
	}
	if (!ret)
		ret = ledger_insert_send(conn, exec_ledger_schema(c), e, err);
	sent_nr = queued + (ret ? 0 : 1);
	if (!PQpipelineSync(conn) || PQflush(conn) < 0) {
		if (!ret)
			ret = db_result_error(err, conn, NULL, "could not send the version table change");
		pipeline_drain(conn, true, err);
		return ret;
	}
	/* every query sent: its result, then NULL */
	for (size_t i = 0; i < sent_nr; i++) {
		PGresult *res = PQgetResult(conn);

		if (!res || PQresultStatus(res) == PGRES_PIPELINE_SYNC) {
			if (!ret)
				ret = db_result_error(err, conn, res, "version table change: results missing");
			PQclear(res);
			break;
		}
		if (!ret && i < nr)
			ret = row_op_check(c, &ops[i], res, err);
		else if (!ret)
			ret = ledger_insert_result(e, conn, exec_ledger_schema(c), res, err);
		PQclear(res);
		while ((res = PQgetResult(conn)))
			PQclear(res);
	}
	drained = pipeline_drain(conn, ret < 0, err);
	return ret ? ret : drained;
}

char *exec_rows_join(const struct strvec *rows)
{
	/* "" for no rows, where plan_rows_text writes "(none)": see exec_int.h */
	return rows->nr ? plan_rows_text(rows, " ") : xstrdup("");
}

/* The version rows now, space separated (NULL when unreadable). */
char *exec_rows_now(const struct exec_context *c)
{
	struct strvec rows = STRVEC_INIT;
	struct ms_error ignore = MS_ERROR_INIT;
	bool exists;
	char *ret = NULL;

	if (!db_version_rows(&rows, &exists, NULL, c->conn, c->version_table, c->version_schema,
			     &ignore))
		ret = exec_rows_join(&rows);
	strvec_release(&rows);
	ms_error_release(&ignore);
	return ret;
}

/* What the rows will be after step (sorted, appended to after), from rows before it. */
void exec_rows_expected(struct strvec *after, const struct strvec *before,
			const struct revgraph_step *step)
{
	for (size_t i = 0; i < before->nr; i++)
		if (!strvec_contains(&step->rows_removed, before->items[i]))
			strvec_push(after, before->items[i]);
	for (size_t i = 0; i < step->rows_added.nr; i++)
		if (!strvec_contains(after, step->rows_added.items[i]))
			strvec_push(after, step->rows_added.items[i]);
	strvec_sort(after);
}
