#!/usr/bin/env bash
#
# bench_status.sh: how fast `migsync status` finds where databases stand,
# against `alembic current` (how it is done today) and against the floor
# of the same work on the server (pgbench -C: a new connection per query).
#
# Usage:
#   meson setup build-bench2 --buildtype=release && ninja -C build-bench2
#   bench/bench_status.sh [MIGSYNC]          (default: build-bench2/migsync)
#
# Environment:
#   ALEMBIC_PYTHON   a Python with Alembic and psycopg2 (default /usr/bin/python3)
#   BENCH_JOBS       concurrency J for the fleet (default 16, migsync's default)
#   BENCH_FLEET      databases in the fleet (default 200)
#   BENCH_BIG        databases for the memory measure (default 1000; 0 skips it)
#   BENCH_WARMUP     hyperfine warmup runs (default 3)
#   BENCH_KEEP=DIR   keep the projects, inventories and JSON results in DIR
#
# What it does, in one run, on one throwaway PostgreSQL 15 cluster
# (tests/integration/lib/pg.sh: 127.0.0.1, fsync off, max_connections 200):
#
#   1. Three environments (dev, staging, prod: three databases at different
#      revisions of a 30-revision Alembic project written like
#      `alembic revision --autogenerate`, gen_alembic_project.py --style plain):
#        migsync status -i INV
#      against today's way, a script running
#        DATABASE_URL=... python3 -m alembic current
#      once per environment in sequence (env.py reads DATABASE_URL, psycopg2).
#      Target: at least 30x faster.
#   2. A fleet of BENCH_FLEET databases (tenant_0001 ...; CREATE DATABASE
#      from a template holding alembic_version), one environment listing
#      them in targets.databases:
#        migsync status -i INV -j J
#      against the floor, measured in the same run at the same concurrency:
#        pgbench -n -C -c J -j J -t ceil(N/J) -f version.sql tenant_0001
#      where version.sql is `SELECT version_num FROM alembic_version;`.
#      pgbench connects to one database only, so the floor uses a single
#      database of the fleet for all its connections: a backend's start
#      costs the same whichever database it opens (every one is a copy of
#      the same template, its relcache init file written on first use), so
#      this floor is, if anything, slightly fast. Running one pgbench per
#      database (xargs -P J) was rejected: it would charge the floor a
#      process start per database, ~3 ms, and flatter migsync.
#      Throughput = databases (or pgbench transactions) per second of wall
#      time, both from hyperfine means. Target: migsync at least half the
#      floor's throughput.
#   3. BENCH_BIG databases: migsync status wall time and its peak memory
#      (/usr/bin/time -v, Maximum resident set size, best of 3), with the
#      floor at the same concurrency for scale. Target: under 64 MB.

set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
MIGSYNC=${1:-$root/build-bench2/migsync}
ALEMBIC_PYTHON=${ALEMBIC_PYTHON:-/usr/bin/python3}
J=${BENCH_JOBS:-16}
FLEET=${BENCH_FLEET:-200}
BIG=${BENCH_BIG:-1000}
WARMUP=${BENCH_WARMUP:-3}
PGBENCH=${PGBENCH:-/usr/lib/postgresql/15/bin/pgbench}
export PYTHONDONTWRITEBYTECODE=1

. "$root/bench/lib.sh"
MIGSYNC=$(bench_binary bench_status "$MIGSYNC")
for tool in hyperfine /usr/bin/time "$PGBENCH"; do
	command -v "$tool" >/dev/null || { echo "bench_status: $tool not found" >&2; exit 2; }
done

bench_start status
bench_header
echo "# migsync: $("$MIGSYNC" --version) ($MIGSYNC), commit $(git -C "$root" rev-parse --short HEAD)"
echo "# alembic: $("$ALEMBIC_PYTHON" -m alembic --version </dev/null), $("$ALEMBIC_PYTHON" --version)"
echo "# postgres: $("$PG_BINDIR/postgres" --version), $("$PGBENCH" --version)"

# --- 1: three environments ------------------------------------------------
bench_three_envs
"$MIGSYNC" status -i "$tmp/inv3" || { echo "bench_status: migsync status fails" >&2; exit 1; }

cat >"$tmp/alembic_current.sh" <<EOF
#!/bin/sh
# today's way: alembic current once per environment, in sequence
set -e
cd "$proj"
for db in stock_dev stock_staging stock_prod; do
	DATABASE_URL=postgresql://postgres@127.0.0.1:$PGPORT/\$db "$ALEMBIC_PYTHON" -m alembic current
done
EOF
chmod +x "$tmp/alembic_current.sh"
"$tmp/alembic_current.sh" >"$tmp/alembic_current.out" 2>&1 ||
	{ echo "bench_status: alembic current fails:" >&2; cat "$tmp/alembic_current.out" >&2; exit 1; }

echo
echo "## three environments"
hyperfine -N --warmup "$WARMUP" --style basic --export-json "$tmp/h3.json" \
	-n "migsync status (3 environments)" "$MIGSYNC status -i $tmp/inv3" \
	-n "alembic current x3, in sequence" "$tmp/alembic_current.sh" </dev/null

# --- 2 and 3: the fleet --------------------------------------------------
n_dbs=$FLEET
[ "$BIG" -gt "$n_dbs" ] && n_dbs=$BIG
echo
bench_fleet_dbs "$n_dbs"

echo "SELECT version_num FROM alembic_version;" >"$tmp/version.sql"
floor_cmd() {	# floor_cmd N: pgbench running ceil(N/J)*J one-connection queries
	bench_floor_cmd "$J" "$1" "$tmp/version.sql" tenant_0001
}

bench_fleet_inventory "$tmp/inv_fleet" "$FLEET"
"$MIGSYNC" status -i "$tmp/inv_fleet" -j "$J" --format json >"$tmp/fleet.json" ||
	{ echo "bench_status: migsync status fails on the fleet" >&2; exit 1; }
"$ALEMBIC_PYTHON" -c 'import json, sys
d = json.load(open(sys.argv[1]))
t = d["environments"][0]["targets"]
bad = [x for x in t if x["state"] == "unreachable"]
assert len(t) == int(sys.argv[2]) and not bad, (len(t), bad[:3])' "$tmp/fleet.json" "$FLEET"
$(floor_cmd "$FLEET") >"$tmp/pgbench_fleet.out" 2>&1
echo
echo "## fleet of $FLEET databases, concurrency $J"
echo "# pgbench alone: $(grep -E '^(tps|latency average|average connection time)' "$tmp/pgbench_fleet.out" | paste -sd';' -)"
hyperfine -N --warmup "$WARMUP" --style basic --export-json "$tmp/hfleet.json" \
	-n "migsync status ($FLEET databases, -j $J)" "$MIGSYNC status -i $tmp/inv_fleet -j $J" \
	-n "floor: pgbench -C ($(( (FLEET + J - 1) / J * J )) connections+queries, -c $J)" "$(floor_cmd "$FLEET")" </dev/null

if [ "$BIG" -gt 0 ]; then
	bench_fleet_inventory "$tmp/inv_big" "$BIG"
	echo
	echo "## $BIG databases, concurrency $J"
	hyperfine -N --warmup 1 --runs 5 --style basic --export-json "$tmp/hbig.json" \
		-n "migsync status ($BIG databases, -j $J)" "$MIGSYNC status -i $tmp/inv_big -j $J" \
		-n "floor: pgbench -C ($(( (BIG + J - 1) / J * J )) connections+queries, -c $J)" "$(floor_cmd "$BIG")" </dev/null
	bench_peak_rss_kb 3 "$MIGSYNC" status -i "$tmp/inv_big" -j "$J" >"$tmp/rss.big"
	bench_peak_rss_kb 1 "$MIGSYNC" --version >"$tmp/rss.version"
fi

echo "# load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"

"$ALEMBIC_PYTHON" - "$tmp" "$FLEET" "$BIG" "$J" <<'EOF'
import json, os, sys
tmp, fleet, big, j = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
def load(name):
    with open(os.path.join(tmp, name)) as f:
        return list(json.load(f)["results"])
def fmt(r):
    return "%8.1f ms ± %5.1f (min %.1f, user+sys %.1f)" % (
        r["mean"] * 1e3, r["stddev"] * 1e3, r["min"] * 1e3, (r["user"] + r["system"]) * 1e3)
print("\n## summary\n")
m, a = load("h3.json")
print("| three environments | %s |" % fmt(m))
print("| alembic current x3 | %s |" % fmt(a))
ratio = a["mean"] / m["mean"]
print("target: migsync status at least 30x faster than alembic current x3: %.1fx (by min %.1fx) -> %s"
      % (ratio, a["min"] / m["min"], "met" if ratio >= 30 else "MISSED"))
def fleet_line(name, n):
    m, f = load(name)
    nf = (n + j - 1) // j * j
    tm, tf = n / m["mean"], nf / f["mean"]
    tm_min, tf_min = n / m["min"], nf / f["min"]
    print("\n| %d databases, -j %d | mean | databases/s |" % (n, j))
    print("| --- | --- | --- |")
    print("| migsync status | %s | %.0f |" % (fmt(m), tm))
    print("| floor (pgbench -C, %d queries) | %s | %.0f |" % (nf, fmt(f), tf))
    return tm / tf, tm_min / tf_min
r, rmin = fleet_line("hfleet.json", fleet)
print("target: at least half the floor's throughput at %d databases: %.2f of the floor (by min %.2f) -> %s"
      % (fleet, r, rmin, "met" if r >= 0.5 else "MISSED"))
if big > 0:
    r, rmin = fleet_line("hbig.json", big)
    print("(%d databases: %.2f of the floor, by min %.2f)" % (big, r, rmin))
    kb = int(open(os.path.join(tmp, "rss.big")).read())
    kbv = int(open(os.path.join(tmp, "rss.version")).read())
    print("target: under 64 MB peak for %d targets: %.1f MB (%d KB; migsync --version %.1f MB) -> %s"
          % (big, kb / 1024, kb, kbv / 1024, "met" if kb < 64 * 1024 else "MISSED"))
EOF
