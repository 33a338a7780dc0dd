#!/bin/bash
# The native SQL executor against a real, throwaway PostgreSQL: runs the
# cmocka driver tests/integration/drivers/exec_test (chains, branch and
# merge rows as Alembic leaves them, a failing statement rolled back with
# file and line, transaction false with CREATE INDEX CONCURRENTLY, a
# process killed mid-revision, cancellation, stamp compare-and-swap).
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib/pg.sh"

cleanup() {
	pg_stop
}
trap cleanup EXIT

driver=${EXEC_TEST:-$(dirname "${MIGSYNC:-/nonexistent/x}")/tests/integration/drivers/exec_test}
if [ ! -x "$driver" ]; then
	echo "exec_test not found: set EXEC_TEST or MIGSYNC" >&2
	exit 1
fi

pg_start
rc=$?
[ $rc -eq 0 ] || exit $rc
"$driver"
