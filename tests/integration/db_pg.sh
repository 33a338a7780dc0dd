#!/bin/bash
# The db module (targets, connections, ledger, advisory lock) against a
# real PostgreSQL 15: runs the cmocka driver tests/integration/drivers/
# db_test, built next to migsync, with PGHOST/PGPORT pointing at a
# throwaway server.

set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib/pg.sh"

trap pg_stop EXIT

DB_TEST=${DB_TEST:-$(dirname "${MIGSYNC:-/nonexistent/x}")/tests/integration/drivers/db_test}
if [ ! -x "$DB_TEST" ]; then
	echo "db_pg: driver not found at $DB_TEST: set DB_TEST or MIGSYNC" >&2
	exit 1
fi

pg_start
rc=$?
if [ $rc -ne 0 ]; then
	[ $rc -eq 77 ] && echo "db_pg: skipped: PostgreSQL cannot run here" >&2
	exit $rc
fi

"$DB_TEST"
rc=$?
if [ $rc -ne 0 ]; then
	echo "db_pg: db_test failed (exit $rc); server log:" >&2
	tail -n 30 "$PG_LOG" >&2
	exit 1
fi
echo "db_pg: all checks passed"
