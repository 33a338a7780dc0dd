/*
 * Stamping: the version rows from -> to as a compare-and-swap, recorded
 * in the ledger, without running a revision.
 */

#include <stdlib.h>

#include "migsync/clock.h"
#include "migsync/db.h"
#include "migsync/plan.h"
#include "migsync/util.h"
#include "exec_int.h"

/* out: a sorted copy of rows (as db_version_rows sorts what it reads). */
static void rows_sorted(struct strvec *out, const struct strvec *rows)
{
	for (size_t i = 0; i < rows->nr; i++)
		strvec_push(out, rows->items[i]);
	strvec_sort(out);
}

int exec_stamp(const struct exec_context *c, const struct strvec *from,
	       const struct strvec *to, struct ms_error *err)
{
	struct strvec now = STRVEC_INIT, from_sorted = STRVEC_INIT, to_sorted = STRVEC_INIT;
	struct ledger_entry e;
	char *name = NULL, *want = NULL, *have = NULL, *revs = NULL, *q = NULL;
	int64_t t0 = clock_mono_ms();
	bool exists;
	int ret;

	ledger_entry_init(&e);
	ret = MS_ERR_DB;
	name = db_version_table_name(c->conn, c->version_table, c->version_schema, err);
	if (!name)
		goto done;
	ret = ledger_ensure(c->conn, exec_ledger_schema(c), err);
	if (ret < 0)
		goto done;
	ret = exec_query_simple(c->conn, "BEGIN", "could not begin a transaction", err);
	if (ret < 0)
		goto done;
	ret = version_table_ensure(c->conn, c->version_table, c->version_schema, err);
	if (ret < 0)
		goto fail;
	/* Nobody may change the rows between our compare and our swap. */
	q = xstrfmt("LOCK TABLE %s IN EXCLUSIVE MODE", name);
	ret = exec_query_simple(c->conn, q, "could not lock the version table", err);
	if (ret < 0)
		goto fail;
	ret = db_version_rows(&now, &exists, NULL, c->conn, c->version_table, c->version_schema,
			      err);
	if (ret < 0)
		goto fail;
	rows_sorted(&from_sorted, from);
	if (!strvec_equal(&now, &from_sorted)) {
		want = exec_rows_join(&from_sorted);
		have = exec_rows_join(&now);
		ret = ms_error_set(err, MS_ERR_DB,
				   "version table: holds (%s), expected (%s): not stamped",
				   *have ? have : "empty", *want ? want : "empty");
		ms_error_hint(err, "another process changed the version table; run status and plan again");
		goto fail;
	}
	for (size_t i = 0; i < from->nr && !ret; i++)
		if (!strvec_contains(to, from->items[i]))
			ret = exec_row_change(c, name, &(struct exec_row_op){ EXEC_SQL_DELETE, from->items[i], NULL },
					      err);
	for (size_t i = 0; i < to->nr && !ret; i++)
		if (!strvec_contains(from, to->items[i]))
			ret = exec_row_change(c, name, &(struct exec_row_op){ EXEC_SQL_INSERT, to->items[i], NULL },
					      err);
	if (ret < 0)
		goto fail;

	rows_sorted(&to_sorted, to);
	revs = exec_rows_join(&to_sorted);
	exec_entry_fill(&e, c, *revs ? revs : "base", true, NULL, true);
	e.outcome = LEDGER_STAMPED;
	e.rows_after = exec_rows_now(c);
	e.duration_ms = clock_mono_ms() - t0;
	ret = ledger_insert(c->conn, exec_ledger_schema(c), &e, err);
	if (ret < 0)
		goto fail;
	ret = exec_query_simple(c->conn, "COMMIT", "could not commit", err);
	goto done;
fail:
	exec_rollback(c->conn);
done:
	ledger_entry_release(&e);
	strvec_release(&now);
	strvec_release(&from_sorted);
	strvec_release(&to_sorted);
	free(name);
	free(want);
	free(have);
	free(revs);
	free(q);
	return ret;
}
