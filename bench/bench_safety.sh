#!/usr/bin/env bash
#
# bench_safety.sh: the cost of the safety review, and migsync against
# squawk on the same revisions.
#
# Usage:
#   bench/bench_safety.sh OLD_MIGSYNC NEW_MIGSYNC
#
# OLD_MIGSYNC is a release build without the safety review (the tree
# before it), NEW_MIGSYNC one with it. Needs hyperfine and npm (squawk-cli
# is installed into a scratch directory).
#
#   1. `lint --scripts DIR` of BENCH_REVS (default 1,000) native SQL
#      revisions (bench/gen_safety_revisions.py, seed 42): OLD against NEW,
#      hyperfine -N, BENCH_RUNS runs each (default 20), the ratio of the
#      means (target: at most 1.5x); then the two in alternation (old,
#      new, old, ...), BENCH_RUNS times each: the ratio of the medians of
#      wall time and of CPU time (user + system), and, when valgrind is
#      installed, of the instructions each executes (callgrind), which
#      the machine's load does not disturb;
#   2. NEW `lint` against `squawk` on the up sections of the same
#      revisions (one process for all files, as lint is), timed the same
#      way (target: migsync at least as fast);
#   3. the findings of both on the rules they share, per revision: what
#      one finds and the other does not is printed for RESULTS.md.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
old=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
new=$(cd "$(dirname "$2")" && pwd)/$(basename "$2")
revs=${BENCH_REVS:-1000}
runs=${BENCH_RUNS:-20}
py=${ALEMBIC_PYTHON:-/usr/bin/python3}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/migsync-bench-safety.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

echo "# $(uname -n), nproc $(nproc), $(date -u '+%Y-%m-%d %H:%M UTC'), load $(cut -d' ' -f1-3 /proc/loadavg)"
"$py" "$root/bench/gen_safety_revisions.py" "$tmp/p" "$revs"
(cd "$tmp" && npm install --silent squawk-cli >/dev/null 2>&1)
squawk=$tmp/node_modules/.bin/squawk
echo "# squawk $("$squawk" --version | cut -d' ' -f2)"

echo "## 1. lint, $revs revisions: without the safety review (old) and with it (new)"
hyperfine -N --runs "$runs" --warmup 2 -i --export-json "$tmp/lint.json" \
	"$old lint --scripts $tmp/p/versions" "$new lint --scripts $tmp/p/versions"
echo "## 1b. the same, alternating: medians of wall and CPU time, new/old"
"$py" - "$runs" "$old" "$new" "$tmp/p/versions" <<'PY'
import os, resource, statistics, subprocess, sys, time
runs, cmds = int(sys.argv[1]), {"old": sys.argv[2], "new": sys.argv[3]}
wall, cpu = {"old": [], "new": []}, {"old": [], "new": []}
for _ in range(runs):
    for name, exe in cmds.items():
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.monotonic()
        subprocess.run([exe, "lint", "--scripts", sys.argv[4]], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        wall[name].append((time.monotonic() - t) * 1000)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu[name].append((after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime) * 1000)
for what, d in (("wall", wall), ("cpu", cpu)):
    m = {n: statistics.median(v) for n, v in d.items()}
    print("%-4s median old %7.1f ms  new %7.1f ms  new/old %.2f  (old %.1f-%.1f, new %.1f-%.1f)"
          % (what, m["old"], m["new"], m["new"] / m["old"], min(d["old"]), max(d["old"]),
             min(d["new"]), max(d["new"])))
print("load after: %s" % " ".join(open("/proc/loadavg").read().split()[:3]))
PY
if command -v valgrind >/dev/null; then
	echo "## 1c. instructions (callgrind, every thread), new/old"
	for b in old new; do
		exe=$old
		[ "$b" = new ] && exe=$new
		valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.$b" "$exe" lint \
			--scripts "$tmp/p/versions" >/dev/null 2>"$tmp/cg.$b.err" || true
		sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$tmp/cg.$b.err" >"$tmp/ir.$b"
	done
	echo "old $(cat "$tmp/ir.old")  new $(cat "$tmp/ir.new")  new/old" \
		"$(awk -v a="$(cat "$tmp/ir.old")" -v b="$(cat "$tmp/ir.new")" 'BEGIN { printf "%.2f", b / a }')"
fi
echo "## 2. migsync lint against squawk, same revisions"
hyperfine -N --runs "$runs" --warmup 2 -i --export-json "$tmp/squawk.json" \
	"$new lint --scripts $tmp/p/versions" "$squawk $tmp/p/up/*.sql"
echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)"

echo "## 3. findings on the shared rules"
"$new" lint --scripts "$tmp/p/versions" --format json >"$tmp/ms.json" || true
(cd "$tmp/p/up" && "$squawk" --reporter json *.sql >"$tmp/sq.json" 2>/dev/null) || true
"$py" - "$tmp/ms.json" "$tmp/sq.json" <<'PY'
import collections, json, os, sys
SHARED = {  # migsync rule: squawk rule
    "require-concurrent-index": "require-concurrent-index-creation",
    "adding-not-null-column": "adding-required-field",
    "volatile-default": "adding-field-with-default",
    "changing-column-type": "changing-column-type",
    "set-not-null": "adding-not-nullable-field",
    "constraint-missing-not-valid": "constraint-missing-not-valid",
    "unique-constraint-without-index": "disallowed-unique-constraint",
    "drop-column": "ban-drop-column",
    "drop-table": "ban-drop-table",
    "rename-column": "renaming-column",
    "rename-table": "renaming-table",
    "missing-lock-timeout": "require-lock-timeout",
}
ms = collections.Counter()
for f in json.load(open(sys.argv[1]))["findings"]:
    if f.get("rule") in SHARED:
        ms[(f["revision"], f["rule"])] += 1
sq = collections.Counter()
back = {v: k for k, v in SHARED.items()}
for f in json.load(open(sys.argv[2])):
    if f["rule_name"] in back:
        rev = os.path.basename(f["file"])[:-4]
        sq[(rev, back[f["rule_name"]])] += 1
for rule in sorted(SHARED):
    a = {k for k in ms if k[1] == rule}
    b = {k for k in sq if k[1] == rule}
    print("%-32s migsync %4d  squawk %4d  both %4d  only migsync %3d  only squawk %3d"
          % (rule, len(a), len(b), len(a & b), len(a - b), len(b - a)))
    for k in sorted(a - b)[:2]:
        print("    only migsync:", k[0])
    for k in sorted(b - a)[:2]:
        print("    only squawk:", k[0])
PY
