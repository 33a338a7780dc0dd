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
#      means (target: at most 1.5x);
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
