#!/usr/bin/env bash
#
# bench_graph.sh: how fast migsync reads a revision graph, against Alembic
# and against the floor of reading the files at all.
#
# Usage:
#   meson setup build-bench --buildtype=release && ninja -C build-bench
#   bench/bench_graph.sh [MIGSYNC]          (default: build-bench/migsync)
#
# Environment:
#   ALEMBIC_PYTHON   a Python with Alembic 1.8 (default /usr/bin/python3)
#   BENCH_WARMUP     hyperfine warmup runs (default 3)
#   BENCH_RUNS       hyperfine runs per command (default: hyperfine decides)
#   BENCH_KEEP=DIR   keep the generated projects and JSON results in DIR
#
# What it does, in one run:
#   1. generates two plain (Alembic-template) projects with
#      tests/integration/gen_alembic_project.py: 3,000 and 10,000 revisions
#      (seed 42; 1-2 KB files with upgrade()/downgrade() bodies);
#   2. on 3,000 revisions, times with hyperfine (warm cache, no shell):
#        migsync heads, migsync history,
#        python3 -m alembic heads, python3 -m alembic history,
#        and the floor: sh -c 'cat migrations/versions/*.py > /dev/null';
#   3. on 10,000 revisions, times migsync heads / history and the floor,
#      and measures peak memory (Maximum resident set size, /usr/bin/time -v)
#      of migsync heads and migsync history;
#   4. prints a table with the ratios migsync/floor and alembic/migsync.
#
# Targets (issue): 3,000 revisions within 1.5x of the floor (~15x faster
# than Alembic); under 20 MB peak on 10,000 revisions.
# Every command runs in the project directory and finds alembic.ini there,
# as a user would run it.

set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
MIGSYNC=${1:-$root/build-bench/migsync}
ALEMBIC_PYTHON=${ALEMBIC_PYTHON:-/usr/bin/python3}
WARMUP=${BENCH_WARMUP:-3}
runs=()
[ -n "${BENCH_RUNS:-}" ] && runs=(--runs "$BENCH_RUNS")

[ -x "$MIGSYNC" ] || { echo "bench_graph: no migsync binary at $MIGSYNC" >&2; exit 2; }
MIGSYNC=$(cd "$(dirname "$MIGSYNC")" && pwd)/$(basename "$MIGSYNC")
for tool in hyperfine /usr/bin/time; do
	command -v "$tool" >/dev/null || { echo "bench_graph: $tool not found" >&2; exit 2; }
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/migsync-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

echo "# machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), kernel $(uname -r), $(date -u +%Y-%m-%d)"
echo "# migsync: $("$MIGSYNC" --version) ($MIGSYNC)"
echo "# alembic: $("$ALEMBIC_PYTHON" -m alembic --version </dev/null)"

for n in 3000 10000; do
	"$ALEMBIC_PYTHON" "$root/tests/integration/gen_alembic_project.py" \
		--style plain --seed 42 --revisions "$n" --out "$tmp/p$n" </dev/null
	echo "# project p$n: $n revisions, $(cat "$tmp/p$n"/migrations/versions/*.py | wc -c) bytes of versions/*.py"
	if ! (cd "$tmp/p$n" && "$MIGSYNC" heads >/dev/null </dev/null); then
		echo "bench_graph: migsync heads fails on p$n" >&2
		exit 1
	fi
done

floor="sh -c 'cat migrations/versions/*.py > /dev/null'"

# 3,000 revisions: everything.
(cd "$tmp/p3000" && hyperfine -N --warmup "$WARMUP" "${runs[@]}" --style basic \
	--export-json "$tmp/h3000.json" \
	-n "migsync heads" "$MIGSYNC heads" \
	-n "migsync history" "$MIGSYNC history" \
	-n "alembic heads" "$ALEMBIC_PYTHON -m alembic heads" \
	-n "alembic history" "$ALEMBIC_PYTHON -m alembic history" \
	-n "floor (cat)" "$floor" </dev/null)

# 10,000 revisions: migsync and the floor.
(cd "$tmp/p10000" && hyperfine -N --warmup "$WARMUP" "${runs[@]}" --style basic \
	--export-json "$tmp/h10000.json" \
	-n "migsync heads" "$MIGSYNC heads" \
	-n "migsync history" "$MIGSYNC history" \
	-n "floor (cat)" "$floor" </dev/null)

# Peak memory on 10,000 revisions (best of 3, KB).
for cmd in heads history; do
	best=
	for _ in 1 2 3; do
		(cd "$tmp/p10000" && /usr/bin/time -v "$MIGSYNC" "$cmd" >/dev/null 2>"$tmp/time.$cmd" </dev/null) 2>>"$tmp/time.$cmd" || true
		kb=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$tmp/time.$cmd" | tail -1)
		if [ -z "$best" ] || [ "$kb" -lt "$best" ]; then best=$kb; fi
	done
	echo "$best" >"$tmp/rss.$cmd"
done

"$ALEMBIC_PYTHON" - "$tmp" <<'EOF'
import json, sys
tmp = sys.argv[1]
def load(n):
    with open("%s/h%d.json" % (tmp, n)) as f:
        return {r["command"]: r for r in json.load(f)["results"]}
def ms(r):
    return "%8.1f ms ± %5.1f" % (r["mean"] * 1e3, r["stddev"] * 1e3)
for n in (3000, 10000):
    res = load(n)
    floor = res["floor (cat)"]["mean"]
    print("\n## %d revisions\n" % n)
    print("| command | mean ± σ | x floor | alembic / migsync |")
    print("| --- | --- | --- | --- |")
    for name, r in res.items():
        ratio = ""
        if name.startswith("migsync"):
            alt = res.get(name.replace("migsync", "alembic"))
            if alt:
                ratio = "%.1fx" % (alt["mean"] / r["mean"])
        print("| %s | %s | %.2f | %s |" % (name, ms(r), r["mean"] / floor, ratio))
print("\n## peak memory, 10000 revisions (Maximum resident set size)\n")
for cmd in ("heads", "history"):
    kb = int(open("%s/rss.%s" % (tmp, cmd)).read())
    print("| migsync %s | %.1f MB (%d KB) | target < 20 MB: %s |" % (
        cmd, kb / 1024, kb, "met" if kb < 20 * 1024 else "MISSED"))
res = load(3000)
f = res["floor (cat)"]["mean"]
h = res["migsync heads"]["mean"]
print("\ntarget 3000 revisions, migsync heads within 1.5x of the floor: %.2fx -> %s"
      % (h / f, "met" if h / f <= 1.5 else "MISSED"))
a = res["alembic heads"]["mean"]
print("target ~15x faster than alembic heads: %.1fx -> %s" % (a / h, "met" if a / h >= 15 else "MISSED"))
EOF

if [ -n "${BENCH_KEEP:-}" ]; then
	mkdir -p "$BENCH_KEEP"
	cp -r "$tmp"/. "$BENCH_KEEP"/
	echo "# kept in $BENCH_KEEP"
fi
