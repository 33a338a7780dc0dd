#!/bin/bash
# The db module (targets, connections, ledger, advisory lock) against a
# real PostgreSQL 15: runs the cmocka driver tests/integration/drivers/
# db_test, built next to migsync, with PGHOST/PGPORT pointing at a
# throwaway server.

set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib/common.sh"
. "$HERE/lib/pg.sh"

pg_driver db_pg "${DB_TEST:-$(dirname "${MIGSYNC:-/nonexistent/x}")/tests/integration/drivers/db_test}"
