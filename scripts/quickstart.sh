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
openssh-server openssh-client python3 python3-alembic python3-psycopg2"
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

# Bring a database to a revision the way a one-transaction-per-revision
# psql run would: each revision's up section and its version-row change.
versions=examples/stock-assistant/versions
bring_to() {
	local db=$1 last=$2 prev="" f rev
	pg_psql -q -d postgres -c "CREATE DATABASE $db" >/dev/null
	pg_psql -q -d "$db" -c "CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY)" >/dev/null
	for f in $("$migsync" history --scripts "$versions" --format json |
		python3 -c 'import json, sys
d = json.load(sys.stdin)
files = {n["id"]: n["file"] for n in d["nodes"]}
print("\n".join(files[r] for r in reversed(d["revisions"])))'); do
		rev=$(sed -n 's/^-- migsync:revision //p' "$f")
		{
			echo "BEGIN;"
			sed -n '/^-- migsync:up/,/^-- migsync:down/p' "$f"
			if [ -z "$prev" ]; then
				echo "INSERT INTO alembic_version VALUES ('$rev');"
			else
				echo "UPDATE alembic_version SET version_num = '$rev' WHERE version_num = '$prev';"
			fi
			echo "COMMIT;"
		} | pg_psql -q -d "$db" >/dev/null
		prev=$rev
		[ "$rev" = "$last" ] && break
	done
}
bring_to stock_dev e19b6f3d2a77
bring_to stock_staging c52d9e07a4f8
bring_to stock_prod 8b2e4f6a9c31

cd "$root"
say "migsync inventory"
"$migsync" inventory
say "migsync history"
"$migsync" history
say "migsync lint"
"$migsync" lint || true
say "migsync status"
"$migsync" status || true
say "migsync status --format json"
"$migsync" status --format json | python3 -m json.tool || true

if [ "$keep" = 1 ]; then
	cat <<-EOT

	PostgreSQL keeps running on 127.0.0.1:$PGPORT (data in $PG_DIR).
	  export MIGSYNC_PGPORT=$PGPORT
	  build/migsync status
	Stop it with: kill \$(head -1 $PG_DATA/postmaster.pid)
	EOT
fi
