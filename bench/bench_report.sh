#!/usr/bin/env bash
#
# bench_report.sh: what the pictures cost. `migsync check --html` against
# `migsync check` alone, and `migsync graph --format=svg` of a large
# project.
#
# Usage:
#   meson setup build-bench --buildtype=release && ninja -C build-bench
#   bench/bench_report.sh [MIGSYNC]          (default: build-bench/migsync)
#
# Environment:
#   ALEMBIC_PYTHON   a Python 3 for the generators and the timing driver
#                    (default /usr/bin/python3)
#   BENCH_RUNS       timed runs per command (default 15)
#   BENCH_KEEP=DIR   keep the projects, inventories and the page in DIR
#
# What it does, in one run:
#   1. three environments on a throwaway PostgreSQL 15 (bench/lib.sh
#      bench_three_envs) over a 300-revision Alembic project (generated,
#      seed 42): dev at the heads, staging one behind, prod at the first
#      revision; `check -i INV` and `check -i INV --html FILE` run in
#      alternation, BENCH_RUNS times each (one warmup each), and the ratio
#      of their median wall times is printed (target: at most 1.2);
#   2. `graph --format=svg` of a 3,000-revision project (seed 42, no
#      database), timed with hyperfine (target: under 2 s).

set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
ALEMBIC_PYTHON=${ALEMBIC_PYTHON:-/usr/bin/python3}
RUNS=${BENCH_RUNS:-15}
export PYTHONDONTWRITEBYTECODE=1

. "$root/bench/lib.sh"
MIGSYNC=$(bench_binary bench_report "${1:-$root/build-bench/migsync}")
command -v hyperfine >/dev/null || { echo "bench_report: hyperfine not found" >&2; exit 2; }

bench_start report
bench_header
echo "# migsync: $("$MIGSYNC" --version) ($MIGSYNC)"

# --- 1: check --html against check, alternating
BENCH_THREE_REVISIONS=300 bench_three_envs
echo "# project: 300 revisions ($(ls "$proj/migrations/versions" | wc -l) files), heads $heads"
"$ALEMBIC_PYTHON" - "$RUNS" "$MIGSYNC" "$tmp/inv3" "$tmp/report.html" <<'EOF'
import statistics, subprocess, sys, time
runs, migsync, inv, page = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
cmds = {"check": [migsync, "check", "-i", inv],
        "check --html": [migsync, "check", "-i", inv, "--html", page]}

def load():
    with open("/proc/loadavg") as f:
        return f.read().split()[0]

def run(argv):
    t0 = time.perf_counter()
    rc = subprocess.call(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    t1 = time.perf_counter()
    if rc not in (0, 1):   # 1: problems found (prod and staging are behind: not counted)
        sys.exit("bench_report: %s exits %d" % (" ".join(argv), rc))
    return (t1 - t0) * 1e3

print("# load before: %s" % load())
for argv in cmds.values():
    run(argv)
times = {k: [] for k in cmds}
for _ in range(runs):
    for k, argv in cmds.items():
        times[k].append(run(argv))
med = {k: statistics.median(t) for k, t in times.items()}
for k, t in times.items():
    print("%-13s median %8.1f ms   min %8.1f   max %8.1f" % (k, med[k], min(t), max(t)))
print("check --html / check (medians) %.3f   load after: %s"
      % (med["check --html"] / med["check"], load()))
EOF
echo "# page: $(wc -c <"$tmp/report.html") bytes"

# --- 2: graph --format=svg of 3,000 revisions
"$ALEMBIC_PYTHON" "$root/tests/integration/gen_alembic_project.py" \
	--style plain --seed 42 --revisions 3000 --out "$tmp/p3000" </dev/null
(cd "$tmp/p3000" && "$MIGSYNC" graph --format=svg >"$tmp/p3000.svg")
echo "# 3,000 revisions: $(wc -c <"$tmp/p3000.svg") bytes of SVG; load before: $(cut -d' ' -f1 /proc/loadavg)"
(cd "$tmp/p3000" && hyperfine -N --warmup 1 --runs "$RUNS" --style basic \
	"$MIGSYNC graph --format=svg")
echo "# load after: $(cut -d' ' -f1 /proc/loadavg)"
