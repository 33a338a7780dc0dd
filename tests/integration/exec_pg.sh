#!/bin/bash
# The native SQL executor against a real, throwaway PostgreSQL: runs the
# cmocka driver tests/integration/drivers/exec_test (chains, branch and
# merge rows as Alembic leaves them, a failing statement rolled back with
# file and line, transaction false with CREATE INDEX CONCURRENTLY, a
# process killed mid-revision, cancellation, stamp compare-and-swap).
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib/common.sh"
. "$HERE/lib/pg.sh"

pg_driver exec_pg "${EXEC_TEST:-$(dirname "${MIGSYNC:-/nonexistent/x}")/tests/integration/drivers/exec_test}"
