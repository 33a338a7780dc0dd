#!/usr/bin/env bash
#
# bench_fleet.sh: rolling migrations out to a fleet, the status of a
# fleet against the pgbench -C floor, and sharding a fleet's status.
#
# Usage:
#   meson setup build-rel --buildtype=release && ninja -C build-rel
#   bench/bench_fleet.sh [MIGSYNC]          (default: build-rel/migsync)
#
# Environment:
#   BENCH_APPLY_DBS   databases for the apply measure (default 300; 0 skips it)
#   BENCH_SHARD_DBS   databases for the status measures (default 2000; 0
#                     skips them; not fewer than BENCH_APPLY_DBS)
#   BENCH_PARALLEL    fleet.parallel and xargs -P for apply (default 8)
#   BENCH_JOBS        status concurrency J: -j J and pgbench -c J (default 16)
#   BENCH_RUNS        runs of each command (default 5)
#   BENCH_CREATE_SESSIONS  psql sessions creating the databases (default 4)
#   BENCH_KEEP=DIR    keep the inventories and outputs in DIR
#
# What it does, on one throwaway PostgreSQL 15 cluster in $TMPDIR
# (tests/integration/lib/pg.sh: 127.0.0.1, fsync off, max_connections 200;
# 2,000 databases take ~15 GB, so not /dev/shm). Every client connects to
# 127.0.0.1 with sslmode=disable: migsync through the inventory, psql and
# pgbench through PGSSLMODE.
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
#      medians. Target: at most 1.3x the floor. The last run is the
#      floor's, so the databases end as floor.sql leaves them.
#   2. status against the floor: BENCH_SHARD_DBS databases in all (those
#      beyond part 1's are copies of a template floor.sql was run on, so
#      every database holds alembic_version at the head), after one
#      unmeasured run that checks every database is read and current:
#        migsync status -i INV -e tenants -j J
#      against the floor at the same concurrency:
#        pgbench -n -C -c J -j J -t ceil(N/J) -f version.sql tenant_N
#      (version.sql: SELECT version_num FROM alembic_version; a new
#      connection per query, all to one database: bench_status.sh says
#      why). Runs alternate; medians. Throughput = databases (pgbench:
#      queries) per second of wall time. Target: migsync at least 0.8 of
#      the floor's. Then migsync's peak memory (/usr/bin/time -v, Maximum
#      resident set size, best of 3). Target: under 64 MB.
#   3. shards, on the same databases: the same status unsharded, then
#      with --shard K/4 for K = 0..3 one after another, each run.
#      Targets: each shard at most 0.3x of the unsharded wall time, the
#      four together at most 1.15x.

set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
MIGSYNC=${1:-$root/build-rel/migsync}
ALEMBIC_PYTHON=${ALEMBIC_PYTHON:-/usr/bin/python3}
APPLY_DBS=${BENCH_APPLY_DBS:-300}
SHARD_DBS=${BENCH_SHARD_DBS:-2000}
P=${BENCH_PARALLEL:-8}
J=${BENCH_JOBS:-16}
RUNS=${BENCH_RUNS:-5}

. "$root/bench/lib.sh"
MIGSYNC=$(bench_binary bench_fleet "$MIGSYNC")
for tool in /usr/bin/time bc "$PG_BINDIR/pgbench"; do
	command -v "$tool" >/dev/null || { echo "bench_fleet: $tool not found" >&2; exit 2; }
done
if [ "$SHARD_DBS" -gt 0 ] && [ "$SHARD_DBS" -lt "$APPLY_DBS" ]; then
	echo "bench_fleet: BENCH_SHARD_DBS ($SHARD_DBS) is below BENCH_APPLY_DBS ($APPLY_DBS)" >&2
	exit 2
fi
export PGSSLMODE=disable
bench_start fleet
bench_header
echo "# migsync: $("$MIGSYNC" --version) ($MIGSYNC), commit $(git -C "$root" rev-parse --short HEAD)"
echo "# postgres: $("$PG_BINDIR/postgres" --version), $("$PG_BINDIR/pgbench" --version); pid $PG_PID, $PG_DIR"
echo "# apply: $APPLY_DBS databases, 3 revisions, parallel $P; status: $SHARD_DBS databases, -j $J; $RUNS runs each"

ratio() { printf %.2f "$(echo "scale=4; $1 / $2" | bc)"; }
runs() { paste -sd' ' "$1"; }

fleet_inventory() {	# fleet_inventory DIR FLEET_YAML
	inv_head "$1" bench-fleet "$tmp/versions" "connect_timeout: 20" tenants
	cat >"$1/tenants.yaml" <<EOF
database: { host: 127.0.0.1, port: $PGPORT, dbname: postgres, user: postgres, sslmode: disable }
targets:
  discover: "SELECT datname FROM pg_database WHERE datname ~ '^tenant_[0-9]+\$' ORDER BY 1"
$2
EOF
}

pg_psql -d postgres -c "CREATE DATABASE tenant_tpl TEMPLATE template0" >/dev/null
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

# --- 1: apply
if [ "$APPLY_DBS" -gt 0 ]; then
	bench_create_dbs tenant_tpl 1 "$APPLY_DBS"
	seq -f 'tenant_%04g' 1 "$APPLY_DBS" >"$tmp/dbs"
	reset_dbs() {
		xargs -P "$P" -I{} "$PG_BINDIR/psql" -X -q -h 127.0.0.1 -p "$PGPORT" -U postgres -d {} \
			-c "DROP TABLE IF EXISTS c, b, a, alembic_version; DROP SCHEMA IF EXISTS migsync CASCADE" \
			<"$tmp/dbs" >/dev/null 2>&1
	}
	: >"$tmp/t_migsync"
	: >"$tmp/t_floor"
	echo "# apply: load average (1 min) before: $(bench_load)"
	for run in $(seq 1 "$RUNS"); do
		reset_dbs
		start=$(bench_ms)
		"$MIGSYNC" apply -i "$tmp/inv" --yes >"$tmp/apply.out" 2>"$tmp/apply.err"
		echo $(($(bench_ms) - start)) >>"$tmp/t_migsync"
		[ "$(pg_psql -d "tenant_$(printf %04d "$APPLY_DBS")" -At -c 'SELECT version_num FROM alembic_version')" = $R3 ] ||
			{ echo "bench_fleet: migsync apply did not finish" >&2; cat "$tmp/apply.err" >&2; exit 1; }
		reset_dbs
		start=$(bench_ms)
		xargs -P "$P" -I{} "$PG_BINDIR/psql" -X -q -1 -h 127.0.0.1 -p "$PGPORT" -U postgres -d {} \
			-f "$tmp/floor.sql" <"$tmp/dbs" >/dev/null
		echo $(($(bench_ms) - start)) >>"$tmp/t_floor"
	done
	echo "# apply: load average (1 min) after: $(bench_load)"
	m=$(bench_median <"$tmp/t_migsync")
	f=$(bench_median <"$tmp/t_floor")
	echo "apply: migsync $m ms (runs: $(runs "$tmp/t_migsync")), floor $f ms (runs: $(runs "$tmp/t_floor")), ratio $(ratio "$m" "$f")"
fi
[ "$SHARD_DBS" -gt 0 ] || exit 0

# --- 2: status against the floor
ms_status() {	# ms_status [ARG...]: the measured command, its output in $tmp/status.out
	"$MIGSYNC" status -i "$tmp/inv" -e tenants -j "$J" "$@" >"$tmp/status.out" 2>"$tmp/status.err" ||
		{ echo "bench_fleet: migsync status $* failed:" >&2; cat "$tmp/status.err" >&2; exit 1; }
}

pg_psql -d postgres -c "CREATE DATABASE tenant_tpl_v TEMPLATE tenant_tpl" >/dev/null
pg_psql -1 -d tenant_tpl_v -f "$tmp/floor.sql" >/dev/null
bench_create_dbs tenant_tpl_v $((APPLY_DBS + 1)) "$SHARD_DBS"
last=tenant_$(printf %04d "$SHARD_DBS")
echo "# data directory: $(du -sh "$PG_DATA" 2>/dev/null | cut -f1)"

# one unmeasured run (each backend's first start in a database writes its
# relation cache file) that checks what the measured runs do
ms_status --format json
"$ALEMBIC_PYTHON" - "$tmp/status.out" "$SHARD_DBS" <<'EOF'
import json, sys
t = json.load(open(sys.argv[1]))["environments"][0]["targets"]
bad = [x for x in t if x["state"] != "current"]
assert len(t) == int(sys.argv[2]) and not bad, (len(t), bad[:3])
EOF
echo "SELECT version_num FROM alembic_version;" >"$tmp/version.sql"
floor=$(bench_floor_cmd "$J" "$SHARD_DBS" "$tmp/version.sql" "$last")
nf=$(((SHARD_DBS + J - 1) / J * J))
$floor >/dev/null

: >"$tmp/t_status"
: >"$tmp/t_pgbench"
echo "# status: load average (1 min) before: $(bench_load)"
for run in $(seq 1 "$RUNS"); do
	start=$(bench_ms)
	ms_status
	echo $(($(bench_ms) - start)) >>"$tmp/t_status"
	start=$(bench_ms)
	$floor >"$tmp/pgbench.out" 2>&1 || { echo "bench_fleet: $floor failed:" >&2; cat "$tmp/pgbench.out" >&2; exit 1; }
	echo $(($(bench_ms) - start)) >>"$tmp/t_pgbench"
	grep -q "^number of transactions actually processed: $nf/$nf\$" "$tmp/pgbench.out" ||
		{ echo "bench_fleet: pgbench did not run $nf queries:" >&2; cat "$tmp/pgbench.out" >&2; exit 1; }
done
echo "# status: load average (1 min) after: $(bench_load)"
m=$(bench_median <"$tmp/t_status")
f=$(bench_median <"$tmp/t_pgbench")
echo "# floor: $floor"
echo "# floor's last run: $(grep -E '^(latency average|average connection time|tps)' "$tmp/pgbench.out" | paste -sd';' -)"
echo "status of $SHARD_DBS databases, -j $J: migsync $m ms (runs: $(runs "$tmp/t_status")), floor $f ms for $nf queries (runs: $(runs "$tmp/t_pgbench"))"
echo "throughput: migsync $(echo "$SHARD_DBS * 1000 / $m" | bc) databases/s, floor $(echo "$nf * 1000 / $f" | bc) queries/s, migsync/floor $(ratio "$SHARD_DBS * $f" "($nf * $m)") (target at least 0.8)"
kb=$(bench_peak_rss_kb 3 "$MIGSYNC" status -i "$tmp/inv" -e tenants -j "$J")
echo "peak memory of migsync status, $SHARD_DBS databases: $kb KB ($(echo "scale=1; $kb / 1024" | bc) MB; target under 64 MB), best of 3"

# --- 3: shards of a status
for k in all 0 1 2 3; do : >"$tmp/s_$k"; done
echo "# shards: load average (1 min) before: $(bench_load)"
for run in $(seq 1 "$RUNS"); do
	start=$(bench_ms)
	ms_status
	echo $(($(bench_ms) - start)) >>"$tmp/s_all"
	for k in 0 1 2 3; do
		start=$(bench_ms)
		ms_status --shard $k/4
		echo $(($(bench_ms) - start)) >>"$tmp/s_$k"
	done
done
echo "# shards: load average (1 min) after: $(bench_load)"
a=$(bench_median <"$tmp/s_all")
sum=0
echo "status of $SHARD_DBS databases: unsharded $a ms (runs: $(runs "$tmp/s_all"))"
for k in 0 1 2 3; do
	s=$(bench_median <"$tmp/s_$k")
	sum=$(echo "$sum + $s" | bc)
	ms_status --format json --shard $k/4
	n=$("$ALEMBIC_PYTHON" -c 'import json, sys; print(len(json.load(open(sys.argv[1]))["environments"][0]["targets"]))' "$tmp/status.out")
	echo "shard $k/4 ($n databases): $s ms, $(ratio "$s" "$a")x (runs: $(runs "$tmp/s_$k"))"
done
echo "four shards together: $sum ms, $(ratio "$sum" "$a")x (targets: each at most 0.3x, together at most 1.15x)"
