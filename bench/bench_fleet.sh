#!/usr/bin/env bash
#
# bench_fleet.sh: rolling migrations out to a fleet, and sharding a
# fleet's status.
#
# Usage:
#   meson setup build-bench2 --buildtype=release && ninja -C build-bench2
#   bench/bench_fleet.sh [MIGSYNC]          (default: build-bench2/migsync)
#
# Environment:
#   BENCH_APPLY_DBS   databases for the apply measure (default 300)
#   BENCH_SHARD_DBS   databases for the shard measure (default 2000; 0 skips it)
#   BENCH_PARALLEL    fleet.parallel and xargs -P (default 8)
#   BENCH_RUNS        runs of each command (default 5)
#   BENCH_KEEP=DIR    keep the inventories and outputs in DIR
#
# What it does, on one throwaway PostgreSQL 15 cluster
# (tests/integration/lib/pg.sh: 127.0.0.1, fsync off):
#
#   1. apply: BENCH_APPLY_DBS empty databases, three small native SQL
#      revisions (CREATE TABLE each), an environment with
#      fleet: { parallel: P, batch: 100% }:
#        migsync apply -i INV --yes
#      against the floor, the same SQL per database with psql, P at a time:
#        xargs -P P -I{} psql -X -q -1 -d {} -f floor.sql
#      (floor.sql: the three CREATE TABLEs and the alembic_version rows,
#      one transaction per database). Before every run of either, the
#      databases are put back to empty (DROP TABLE, outside the measure).
#      Runs alternate (migsync, floor, migsync, ...); the ratio is of the
#      medians. Target: at most 1.3x the floor.
#   2. shards: BENCH_SHARD_DBS databases; `migsync status -e tenants`
#      unsharded, then --shard K/4 for K = 0..3 one after another.
#      Targets: each shard at most 0.3x of the unsharded wall time, the
#      four together at most 1.15x.
#
# Status of 2,000 databases against pgbench -C at the same concurrency is
# bench/bench_status.sh with BENCH_FLEET=2000.

set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
MIGSYNC=${1:-$root/build-bench2/migsync}
ALEMBIC_PYTHON=${ALEMBIC_PYTHON:-/usr/bin/python3}
APPLY_DBS=${BENCH_APPLY_DBS:-300}
SHARD_DBS=${BENCH_SHARD_DBS:-2000}
P=${BENCH_PARALLEL:-8}
RUNS=${BENCH_RUNS:-5}

. "$root/bench/lib.sh"
MIGSYNC=$(bench_binary bench_fleet "$MIGSYNC")
bench_start fleet
bench_header
echo "# apply: $APPLY_DBS databases, 3 revisions, parallel $P; shards: $SHARD_DBS databases"

ms() { date +%s%3N; }
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# databases tenant_0001 ... tenant_N (empty), created in one session
make_dbs() {
	local i

	pg_psql -d postgres -c "CREATE DATABASE tenant_tpl TEMPLATE template0" >/dev/null
	for i in $(seq -f '%04g' 1 "$1"); do
		echo "CREATE DATABASE tenant_$i TEMPLATE tenant_tpl STRATEGY FILE_COPY;"
	done | pg_psql -d postgres >/dev/null
}

fleet_inventory() {	# fleet_inventory DIR FLEET_YAML
	inv_head "$1" bench-fleet "$tmp/versions" "connect_timeout: 20" tenants
	cat >"$1/tenants.yaml" <<EOF
database: { host: 127.0.0.1, port: $PGPORT, dbname: postgres, user: postgres }
targets:
  discover: "SELECT datname FROM pg_database WHERE datname ~ '^tenant_[0-9]+\$' ORDER BY 1"
$2
EOF
}

# --- 1: apply
start=$(ms)
make_dbs "$APPLY_DBS"
echo "# created $APPLY_DBS databases in $(($(ms) - start)) ms"
mkdir -p "$tmp/versions"
R1=b1000000000a R2=b2000000000b R3=b3000000000c
inv_sql_rev "$tmp/versions" $R1 "" "CREATE TABLE a (id int PRIMARY KEY, name text);"
inv_sql_rev "$tmp/versions" $R2 $R1 "CREATE TABLE b (id int PRIMARY KEY, a_id int REFERENCES a);"
inv_sql_rev "$tmp/versions" $R3 $R2 "CREATE TABLE c (id int PRIMARY KEY, note text);"
cat >"$tmp/floor.sql" <<EOF
CREATE TABLE alembic_version (version_num varchar(32) NOT NULL PRIMARY KEY);
CREATE TABLE a (id int PRIMARY KEY, name text);
INSERT INTO alembic_version VALUES ('$R1');
CREATE TABLE b (id int PRIMARY KEY, a_id int REFERENCES a);
UPDATE alembic_version SET version_num = '$R2' WHERE version_num = '$R1';
CREATE TABLE c (id int PRIMARY KEY, note text);
UPDATE alembic_version SET version_num = '$R3' WHERE version_num = '$R2';
EOF
fleet_inventory "$tmp/inv" "fleet: { parallel: $P, batch: 100% }"
seq -f 'tenant_%04g' 1 "$APPLY_DBS" >"$tmp/dbs"

reset_dbs() {
	xargs -P "$P" -I{} "$PG_BINDIR/psql" -X -q -h 127.0.0.1 -p "$PGPORT" -U postgres -d {} \
		-c "DROP TABLE IF EXISTS c, b, a, alembic_version; DROP SCHEMA IF EXISTS migsync CASCADE" \
		<"$tmp/dbs" >/dev/null 2>&1
}

: >"$tmp/t_migsync"
: >"$tmp/t_floor"
for run in $(seq 1 "$RUNS"); do
	reset_dbs
	start=$(ms)
	"$MIGSYNC" apply -i "$tmp/inv" --yes >"$tmp/apply.out" 2>"$tmp/apply.err"
	echo $(($(ms) - start)) >>"$tmp/t_migsync"
	[ "$(pg_psql -d "tenant_$(printf %04d "$APPLY_DBS")" -At -c 'SELECT version_num FROM alembic_version')" = $R3 ] ||
		{ echo "bench_fleet: migsync apply did not finish" >&2; cat "$tmp/apply.err" >&2; exit 1; }
	reset_dbs
	start=$(ms)
	xargs -P "$P" -I{} "$PG_BINDIR/psql" -X -q -1 -h 127.0.0.1 -p "$PGPORT" -U postgres -d {} \
		-f "$tmp/floor.sql" <"$tmp/dbs" >/dev/null
	echo $(($(ms) - start)) >>"$tmp/t_floor"
done
m=$(median <"$tmp/t_migsync")
f=$(median <"$tmp/t_floor")
echo "apply: migsync $m ms (runs: $(paste -sd' ' "$tmp/t_migsync")), floor $f ms (runs: $(paste -sd' ' "$tmp/t_floor")), ratio $(echo "scale=2; $m / $f" | bc)"

# --- 2: shards of a status
if [ "$SHARD_DBS" -gt 0 ]; then
	start=$(ms)
	for i in $(seq -f '%04g' $((APPLY_DBS + 1)) "$SHARD_DBS"); do
		echo "CREATE DATABASE tenant_$i TEMPLATE tenant_tpl STRATEGY FILE_COPY;"
	done | pg_psql -d postgres >/dev/null
	echo "# created $((SHARD_DBS - APPLY_DBS)) more databases in $(($(ms) - start)) ms"
	for cmd in all 0 1 2 3; do : >"$tmp/s_$cmd"; done
	for run in $(seq 1 "$RUNS"); do
		start=$(ms)
		"$MIGSYNC" status -i "$tmp/inv" --format json >"$tmp/status_all.json"
		echo $(($(ms) - start)) >>"$tmp/s_all"
		for k in 0 1 2 3; do
			start=$(ms)
			"$MIGSYNC" status -i "$tmp/inv" --format json --shard $k/4 >"$tmp/status_$k.json"
			echo $(($(ms) - start)) >>"$tmp/s_$k"
		done
	done
	a=$(median <"$tmp/s_all")
	sum=0
	line="status of $SHARD_DBS databases: unsharded $a ms"
	for k in 0 1 2 3; do
		s=$(median <"$tmp/s_$k")
		sum=$((sum + s))
		line="$line, shard $k/4 $s ms ($(echo "scale=2; $s / $a" | bc)x)"
	done
	echo "$line, four shards together $sum ms ($(echo "scale=2; $sum / $a" | bc)x)"
fi
