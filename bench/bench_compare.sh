#!/usr/bin/env bash
#
# bench_compare.sh: two builds of migsync (say before and after a
# refactor) on the same workloads, on the same machine, in the same run:
# the ratio of their median wall times, new/old.
#
# Usage:
#   meson setup build-rel --buildtype=release && ninja -C build-rel
#   bench/bench_compare.sh OLD_MIGSYNC NEW_MIGSYNC
#
# Environment:
#   ALEMBIC_PYTHON   a Python 3 for the generators and the timing driver
#                    (default /usr/bin/python3)
#   BENCH_RUNS       timed runs per binary and workload (default 15)
#   BENCH_WARMUP     untimed runs per binary before them (default 1, at least 1:
#                    the first one checks what the command did)
#   BENCH_FLEET      databases in the fleet of workload 2 (default 200)
#   BENCH_JOBS       concurrency of workload 2 (default 16, migsync's default)
#   BENCH_REVS       native SQL revisions of workloads 3 and 4 (default
#                    BENCH_REVISIONS, as for bench_apply.sh, else 1000)
#   BENCH_KEEP=DIR   keep the projects, inventories and raw times (times.json) in DIR
#
# The workloads, on one throwaway PostgreSQL 15 cluster (bench/lib.sh,
# tests/integration/lib/pg.sh: 127.0.0.1, fsync off, max_connections 200),
# set up as bench_status.sh and bench_apply.sh set them up:
#
#   1. migsync status -i INV: three environments (dev, staging, prod: three
#      databases at different revisions of a 30-revision Alembic project);
#      1b: the same inventory without executor, python and alembic_ini (the
#      executor inferred from the .py revisions: no Python may start);
#   2. migsync status -i INV -j J: a fleet of BENCH_FLEET databases;
#   3. migsync plan -i INV -e dev: BENCH_REVS native SQL revisions, all
#      pending (an empty database);
#   4. migsync apply -i INV -e dev --yes: the same revisions into a database
#      dropped and created again before each run, outside the measure.
#
# Method: the machine is shared and noisy, so the two binaries run in
# alternation (old, new, old, new, ...), BENCH_RUNS times each, and each
# workload reports the median of each binary, their ratio new/old, min and
# max, and the 1-minute load average before and after. A run is timed by a
# small Python driver (time.perf_counter around the process, no shell;
# stdout to /dev/null). Every command must exit 0, else the benchmark
# stops; after each apply the database must be at the last revision. The
# warmup run's stdout of each binary is compared (a refactor should not
# change it; apply's step durations and plan hash aside) and the result printed,
# with the first differing lines, without stopping the benchmark.
#
# Runtime with the defaults: about 2.5 minutes on the idle machine (2 x 16
# applies of ~2.3 s each, 2 x 16 fleet statuses of ~0.5 s, creating the 200
# databases); every command is ~10x slower at a load average of 10.

set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
[ $# -eq 2 ] || { echo "usage: bench/bench_compare.sh OLD_MIGSYNC NEW_MIGSYNC" >&2; exit 2; }
ALEMBIC_PYTHON=${ALEMBIC_PYTHON:-/usr/bin/python3}
RUNS=${BENCH_RUNS:-15}
WARMUP=${BENCH_WARMUP:-1}
FLEET=${BENCH_FLEET:-200}
J=${BENCH_JOBS:-16}
REVS=${BENCH_REVS:-${BENCH_REVISIONS:-1000}}
export PYTHONDONTWRITEBYTECODE=1

. "$root/bench/lib.sh"
OLD=$(bench_binary bench_compare "$1")
NEW=$(bench_binary bench_compare "$2")

bench_start compare
bench_header
echo "# old: $("$OLD" --version) ($OLD)"
echo "# new: $("$NEW" --version) ($NEW)"
echo "# postgres: $("$PG_BINDIR/postgres" --version); $RUNS runs each, alternating, $WARMUP warmup"

# The timing driver: alternates the two commands, checks them, writes the
# times to $tmp/times.json and prints the workload's lines.
cat >"$tmp/alternate.py" <<'EOF'
import argparse, difflib, json, os, re, shlex, statistics, subprocess, sys, time

ap = argparse.ArgumentParser()
ap.add_argument("--name", required=True)
ap.add_argument("--runs", type=int, required=True)
ap.add_argument("--warmup", type=int, required=True)
ap.add_argument("--prepare", help="shell command before each run, untimed")
ap.add_argument("--check", help="shell command after each run, untimed")
ap.add_argument("--tmp", required=True)
ap.add_argument("old")
ap.add_argument("new")
a = ap.parse_args()

def load():
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])

def shell(what, cmd, which):
    r = subprocess.run(cmd, shell=True, stdin=subprocess.DEVNULL, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit("bench_compare: %s: %s (%s) exits %d:\n%s%s"
                 % (a.name, what, which, r.returncode, r.stdout[-2000:], r.stderr[-2000:]))

def run(which, argv, out):
    if a.prepare:
        shell("prepare", a.prepare, which)
    err_path = os.path.join(a.tmp, "stderr." + which)
    with open(out, "wb") as o, open(err_path, "wb") as e:
        t0 = time.perf_counter()
        rc = subprocess.call(argv, stdin=subprocess.DEVNULL, stdout=o, stderr=e)
        t1 = time.perf_counter()
    if rc != 0:
        with open(err_path, errors="replace") as e:
            sys.exit("bench_compare: %s: %s exits %d: %s\n%s"
                     % (a.name, which, rc, " ".join(argv), e.read()[-2000:]))
    if a.check:
        shell("check", a.check, which)
    return (t1 - t0) * 1e3

cmds = {"old": shlex.split(a.old), "new": shlex.split(a.new)}
load_start = load()
first = {}
for i in range(a.warmup):
    for which in ("old", "new"):
        out = os.path.join(a.tmp, "stdout.%s.first" % which) if i == 0 else os.devnull
        run(which, cmds[which], out)
        if i == 0:
            with open(out, "rb") as f:
                # apply prints each step's duration, and a plan hash that
                # changes with the database recreated before each run (the
                # same build gives another hash): not part of the comparison
                text = re.sub(rb"\(\d+ ms\)$", b"(N ms)", f.read(), flags=re.M)
                first[which] = re.sub(rb"plan [0-9a-f]{12}\)$", b"plan HASH)", text, flags=re.M)
times = {"old": [], "new": []}
for i in range(a.runs):
    for which in ("old", "new"):
        times[which].append(run(which, cmds[which], os.devnull))
load_end = load()

med = {w: statistics.median(t) for w, t in times.items()}
ratio = med["new"] / med["old"]
same = "identical" if first["old"] == first["new"] else "DIFFER"
for which in ("old", "new"):
    t = times[which]
    print("%-4s median %9.1f ms   min %9.1f   max %9.1f" % (which, med[which], min(t), max(t)))
print("new/old (medians) %.3f   stdout of old and new: %s" % (ratio, same))
print("# load average (1 min): %.2f at start, %.2f at end" % (load_start, load_end))
if same != "identical":
    d = difflib.unified_diff(first["old"].decode(errors="replace").splitlines(),
                             first["new"].decode(errors="replace").splitlines(),
                             "old", "new", lineterm="", n=0)
    for line in list(d)[2:10]:
        print("#   " + line[:150])

db = os.path.join(a.tmp, "times.json")
results = []
if os.path.exists(db):
    with open(db) as f:
        results = json.load(f)
results.append({"name": a.name, "old": times["old"], "new": times["new"],
                "median_old": med["old"], "median_new": med["new"], "ratio": ratio,
                "load_start": load_start, "load_end": load_end, "stdout": same})
with open(db, "w") as f:
    json.dump(results, f, indent=1)
EOF

measure() {	# measure NAME [DRIVER OPTION]... -- OLD_ARGS
	local name=$1 opts=() args

	shift
	while [ "$1" != -- ]; do
		opts+=("$1")
		shift
	done
	shift
	args=$(printf ' %q' "$@")
	echo
	echo "## $name"
	"$ALEMBIC_PYTHON" "$tmp/alternate.py" --name "$name" --runs "$RUNS" \
		--warmup "$(( WARMUP < 1 ? 1 : WARMUP ))" --tmp "$tmp" "${opts[@]}" \
		"$(printf %q "$OLD")$args" "$(printf %q "$NEW")$args" </dev/null
}

# A check of one JSON status report: N targets, none unreachable (an
# environment of one database has no "targets" list: it is its own target).
check_status_json() {	# check_status_json BINARY INV N [ARG]...
	local bin=$1 inv=$2 n=$3

	shift 3
	"$bin" status -i "$inv" "$@" --format json >"$tmp/status.json" ||
		{ echo "bench_compare: $bin status -i $inv fails" >&2; exit 1; }
	"$ALEMBIC_PYTHON" -c 'import json, sys
d = json.load(open(sys.argv[1]))
t = [x for e in d["environments"] for x in e.get("targets", [e])]
bad = [x for x in t if x["state"] == "unreachable"]
assert len(t) == int(sys.argv[2]) and not bad, (len(t), bad[:3])' "$tmp/status.json" "$n" ||
		{ echo "bench_compare: $bin status -i $inv: not $n reachable targets" >&2; exit 1; }
}

# --- set-up --------------------------------------------------------------
bench_three_envs >/dev/null
# the same with no executor settings (executor, python, alembic_ini left to inference)
cp -r "$tmp/inv3" "$tmp/inv3_bare"
sed -i '/^  executor:/d; /^  python:/d; /^  alembic_ini:/d' "$tmp/inv3_bare/inventory.yaml"
bench_fleet_dbs "$FLEET"
bench_fleet_inventory "$tmp/inv_fleet" "$FLEET"
bench_sql_revisions "$tmp/versions" "$REVS" "$tmp/floor.sql" "$tmp/one"
pg_psql -d postgres -c "CREATE DATABASE bench_plan" >/dev/null
inv_create "$tmp/inv_plan" --scripts "$tmp/versions" dev=bench_plan >/dev/null
inv_create "$tmp/inv_apply" --scripts "$tmp/versions" dev=bench_apply >/dev/null
for bin in "$OLD" "$NEW"; do
	check_status_json "$bin" "$tmp/inv3" 3
	check_status_json "$bin" "$tmp/inv_fleet" "$FLEET" -j "$J"
done
PSQL="$PG_BINDIR/psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p $PGPORT -U postgres"
recreate="$PSQL -d postgres -c 'DROP DATABASE IF EXISTS bench_apply' -c 'CREATE DATABASE bench_apply'"
at_head="test \"\$($PSQL -At -d bench_apply -c 'SELECT version_num FROM alembic_version')\" = $(cat "$tmp/head")"

# --- the workloads ----------------------------------------------------------
measure "1. status, 3 environments" -- status -i "$tmp/inv3"
measure "1b. status, 3 environments, no executor settings" -- status -i "$tmp/inv3_bare"
measure "2. status, fleet of $FLEET databases, -j $J" -- status -i "$tmp/inv_fleet" -j "$J"
measure "3. plan, $REVS revisions pending" -- plan -i "$tmp/inv_plan" -e dev
measure "4. apply --yes, $REVS revisions into an empty database" \
	--prepare "$recreate" --check "$at_head" -- apply -i "$tmp/inv_apply" -e dev --yes

echo
echo "# load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
"$ALEMBIC_PYTHON" - "$tmp/times.json" "$RUNS" <<'EOF'
import json, sys
res = json.load(open(sys.argv[1]))
print("\n## summary: median of %s alternating runs each, ms\n" % sys.argv[2])
print("| workload | old | new | new/old | old min-max | new min-max | load 1 min |")
print("| --- | --- | --- | --- | --- | --- | --- |")
for r in res:
    print("| %s | %.1f | %.1f | %.3f | %.1f-%.1f | %.1f-%.1f | %.2f-%.2f |" % (
        r["name"], r["median_old"], r["median_new"], r["ratio"], min(r["old"]), max(r["old"]),
        min(r["new"]), max(r["new"]), r["load_start"], r["load_end"]))
EOF
