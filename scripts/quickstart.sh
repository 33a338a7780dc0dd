#!/usr/bin/env bash
# migsync quick start: install what is missing (Debian 12, as root), build,
# start a throwaway PostgreSQL on 127.0.0.1, create the example inventory's
# databases (stock_dev, stock_staging, stock_prod) at different revisions of
# examples/stock-assistant/versions, and run migsync on environments/.
#
# Usage: scripts/quickstart.sh [--keep]
#   --keep   leave the PostgreSQL server running and print how to use it
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
keep=0
[ "${1:-}" = "--keep" ] && keep=1

say() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }

packages="gcc libc6-dev pkg-config meson ninja-build libpq-dev libssh2-1-dev
libyaml-dev libcmocka-dev libssl-dev postgresql postgresql-client
openssh-server openssh-client python3 python3-alembic python3-psycopg2
libpg-query-dev libprotobuf-c-dev libgraphviz-dev"
missing=$(dpkg-query -W -f='${Package} ${Status}\n' $packages 2>/dev/null |
	awk '$NF != "installed" { print $1 }'; true)
if [ -n "$missing" ] || ! command -v meson >/dev/null; then
	if [ "$(id -u)" != 0 ]; then
		echo "quickstart: missing packages; run as root or: sudo apt-get install -y $packages" >&2
		exit 2
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	# shellcheck disable=SC2086
	apt-get install -y -q --no-install-recommends $packages
fi

if [ ! -d build ]; then
	meson setup build --buildtype=release >/dev/null
fi
ninja -C build >/dev/null
migsync=$root/build/migsync

# shellcheck source=../tests/integration/lib/pg.sh
. tests/integration/lib/pg.sh
pg_start
if [ "$keep" = 0 ]; then
	trap pg_stop EXIT
fi
export MIGSYNC_PGPORT=$PGPORT MIGSYNC_PGUSER=postgres

for db in stock_dev stock_staging stock_prod; do
	pg_psql -q -d postgres -c "CREATE DATABASE $db" >/dev/null
done
# The example gates ask staging and prod to soak for 10 and 30 minutes
# behind the stage before; the demo does not wait that long.
export MIGSYNC_STAGING_SOAK=0s MIGSYNC_PROD_SOAK=0s

# The plan hash of one environment's stage, from `migsync plan --format json`.
plan_hash() {
	"$migsync" plan --format json | python3 -c 'import json, sys
for st in json.load(sys.stdin)["stages"]:
    if st["environment"] == sys.argv[1]:
        print(st["plan_hash"])' "$1"
}

say "migsync inventory"
"$migsync" inventory
say "migsync history"
"$migsync" history
say "migsync lint"
"$migsync" lint || true
say "migsync status                        # three empty databases"
"$migsync" status
say "migsync plan"
"$migsync" plan
say "migsync apply --yes                   # dev has no gate; staging waits for an approval (exit 3)"
rc=0; "$migsync" apply --yes || rc=$?
echo "(exit status $rc)"
say "migsync approve -e staging --plan \$(plan hash) --by alice"
"$migsync" approve -e staging --plan "$(plan_hash staging)" --by alice --comment "quickstart"
say "migsync apply --yes                   # staging now; prod needs two approvers"
rc=0; "$migsync" apply --yes || rc=$?
echo "(exit status $rc)"
say "migsync status"
"$migsync" status
hash=$(plan_hash prod)
say "migsync approve -e prod --plan $hash --by alice / --by bob"
"$migsync" approve -e prod --plan "$hash" --by alice
"$migsync" approve -e prod --plan "$hash" --by bob
say "migsync approvals -e prod"
"$migsync" approvals -e prod
say "migsync apply --yes"
"$migsync" apply --yes
say "migsync status --format json"
"$migsync" status --format json | python3 -m json.tool
say "migsync drift                         # same revision, same schema everywhere"
"$migsync" drift

if [ "$keep" = 1 ]; then
	cat <<-EOT

	PostgreSQL keeps running on 127.0.0.1:$PGPORT (data in $PG_DIR).
	  export MIGSYNC_PGPORT=$PGPORT
	  build/migsync status
	Stop it with: kill \$(head -1 $PG_DATA/postmaster.pid)
	EOT
fi
