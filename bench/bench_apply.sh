#!/usr/bin/env bash
#
# bench_apply.sh: how fast migsync's native SQL executor applies many
# revisions, against `alembic upgrade head` on the same revisions and
# against the floor of sending the same SQL with psql; and how long plan
# and status take on an environment with that many pending revisions.
#
# Usage:
#   meson setup build-bench2 --buildtype=release && ninja -C build-bench2
#   bench/bench_apply.sh [MIGSYNC]          (default: build-bench2/migsync)
#
# Environment:
#   ALEMBIC_PYTHON   a Python with Alembic and psycopg2 (default /usr/bin/python3)
#   BENCH_REVISIONS  revisions to generate (default 1000)
#   BENCH_RUNS       hyperfine runs for the apply commands (default 5; Alembic 3)
#   BENCH_WARMUP     hyperfine warmup runs for plan/status (default 3)
#   BENCH_KEEP=DIR   keep the generated files and JSON results in DIR
#
# What it does, on one throwaway PostgreSQL 15 cluster
# (tests/integration/lib/pg.sh: 127.0.0.1, fsync off):
#
#   1. generates BENCH_REVISIONS native SQL revisions, a straight line,
#      each one CREATE TABLE (identity primary key, a text and a
#      timestamptz column), and the same revisions as Alembic scripts
#      (op.execute of the same SQL; tests/integration/lib/inventory.sh);
#   2. times, each run on a freshly created empty database (hyperfine
#      --prepare drops and creates it, outside the measure):
#        migsync apply -i INV -e dev --yes
#        python3 -m alembic upgrade head        (env.py's default: one
#                                                transaction for all)
#        the same with transaction_per_migration (one per revision, as
#                                                migsync and the floor)
#        floor: psql -f floor.sql, where floor.sql is, per revision,
#          BEGIN; <the revision's SQL>; <its alembic_version INSERT or
#          UPDATE>; COMMIT;  (one session, one transaction per revision)
#      Targets: faster than Alembic; within 1.2x of the floor.
#   3. counts what each of them sends to the server (log_statement = all,
#      one untimed run each): statements per revision;
#   4. plan and status of the environment with every revision pending
#      (an empty database), against the same commands on a one-revision
#      project (the same round trips, none of the work per revision),
#      and user+sys CPU time. Target: under 50 ms beyond the database
#      round trips.

set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
MIGSYNC=${1:-$root/build-bench2/migsync}
ALEMBIC_PYTHON=${ALEMBIC_PYTHON:-/usr/bin/python3}
N=${BENCH_REVISIONS:-1000}
RUNS=${BENCH_RUNS:-5}
WARMUP=${BENCH_WARMUP:-3}
export PYTHONDONTWRITEBYTECODE=1

. "$root/bench/lib.sh"
MIGSYNC=$(bench_binary bench_apply "$MIGSYNC")
for tool in hyperfine /usr/bin/time; do
	command -v "$tool" >/dev/null || { echo "bench_apply: $tool not found" >&2; exit 2; }
done

bench_start apply
PSQL="$PG_BINDIR/psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p $PGPORT -U postgres"

bench_header
echo "# migsync: $("$MIGSYNC" --version) ($MIGSYNC), commit $(git -C "$root" rev-parse --short HEAD)"
echo "# alembic: $("$ALEMBIC_PYTHON" -m alembic --version </dev/null), $("$ALEMBIC_PYTHON" --version)"
echo "# postgres: $("$PG_BINDIR/postgres" --version)"

# --- 1: the revisions ------------------------------------------------------
v=$tmp/versions
bench_sql_revisions "$v" "$N" "$tmp/floor.sql" "$tmp/one"
inv_alembic_project "$tmp/alembic"
inv_sql_to_alembic "$v" "$tmp/alembic/migrations/versions"
echo "# $N revisions: $(cat "$v"/*.sql | wc -c) bytes of .sql, $(cat "$tmp/alembic/migrations/versions"/*.py | wc -c) bytes of .py"

DB=bench_apply
inv_create "$tmp/inv" --scripts "$v" dev=$DB >/dev/null
inv_create "$tmp/inv_one" --scripts "$tmp/one" dev=$DB >/dev/null
recreate="$PSQL -d postgres -c 'DROP DATABASE IF EXISTS $DB' -c 'CREATE DATABASE $DB'"
url=$(inv_db_url $DB)
alembic_cmd="env DATABASE_URL=$url $ALEMBIC_PYTHON -m alembic -c $tmp/alembic/alembic.ini upgrade head"
alembic_tpm_cmd="env ALEMBIC_TRANSACTION_PER_MIGRATION=1 DATABASE_URL=$url $ALEMBIC_PYTHON -m alembic -c $tmp/alembic/alembic.ini upgrade head"
migsync_cmd="$MIGSYNC apply -i $tmp/inv -e dev --yes"
floor_cmd="$PSQL -d $DB -f $tmp/floor.sql"

# Every command must actually reach the head (checked once, untimed).
head_rev=$(cat "$tmp/head")
check() {	# check NAME COMMAND
	sh -c "$recreate" >/dev/null 2>&1
	if ! sh -c "$2" >"$tmp/check.out" 2>&1; then
		echo "bench_apply: $1 failed:" >&2
		tail -n 20 "$tmp/check.out" >&2
		exit 1
	fi
	local got
	got=$($PSQL -At -d $DB -c "SELECT version_num FROM alembic_version")
	[ "$got" = "$head_rev" ] || { echo "bench_apply: $1 left \"$got\", not $head_rev" >&2; exit 1; }
	echo "# checked: $1 reaches $head_rev"
}
check "migsync apply" "$migsync_cmd"
check "alembic upgrade head" "$alembic_cmd"
check "floor (psql -f)" "$floor_cmd"

# --- 2: apply -------------------------------------------------------------
echo
echo "## applying $N revisions to an empty database"
hyperfine -N --runs "$RUNS" --style basic --export-json "$tmp/happly.json" \
	--prepare "sh -c \"$recreate\"" \
	-n "migsync apply" "$migsync_cmd" \
	-n "floor: psql -f (one transaction per revision)" "$floor_cmd" </dev/null
hyperfine -N --runs "$(( RUNS < 3 ? RUNS : 3 ))" --style basic --export-json "$tmp/halembic.json" \
	--prepare "sh -c \"$recreate\"" \
	-n "alembic upgrade head" "$alembic_cmd" \
	-n "alembic upgrade head (transaction_per_migration)" "$alembic_tpm_cmd" </dev/null

# --- 3: what each sends to the server ---------------------------------------
$PSQL -d postgres -c "ALTER SYSTEM SET log_statement = 'all'" -c "SELECT pg_reload_conf()" >/dev/null
count_statements() {	# count_statements NAME COMMAND
	local before after

	sh -c "$recreate" >/dev/null 2>&1
	before=$(wc -l <"$PG_LOG")
	sh -c "$2" >/dev/null 2>&1
	sleep 0.5
	after=$(tail -n +"$((before + 1))" "$PG_LOG" | grep -c 'LOG:  statement: \|LOG:  execute ' || true)
	echo "$1: $after statements, $(echo "$after $N" | awk '{ printf "%.1f", $1 / $2 }') per revision"
}
echo
echo "## statements sent to the server (log_statement = all, one untimed run)"
count_statements "migsync apply" "$migsync_cmd"
count_statements "alembic upgrade head" "$alembic_cmd"
count_statements "alembic (transaction_per_migration)" "$alembic_tpm_cmd"
count_statements "floor (psql -f)" "$floor_cmd"
# What migsync sends around one revision, for the record.
sh -c "$recreate" >/dev/null 2>&1
before=$(wc -l <"$PG_LOG")
sh -c "$migsync_cmd" >/dev/null 2>&1
# keep continuation lines: a statement sent after "BEGIN;" in one query
# carries its text on the lines that follow the LOG line
tail -n +"$((before + 1))" "$PG_LOG" | grep -E 'LOG:  (statement|execute)|^[^0-9]' |
	sed -E 's/^.*LOG:  //' | cut -c1-150 >"$tmp/migsync_statements.log"
echo "# migsync's statements around the 500th revision:"
{ grep -n "t_0500 " "$tmp/migsync_statements.log" || true; } | head -1 | cut -d: -f1 | {
	read -r at || at=9
	[ "$at" -gt 8 ] || at=9
	sed -n "$((at - 8)),$((at + 8))p" "$tmp/migsync_statements.log" | sed 's/^/#   /'
}
$PSQL -d postgres -c "ALTER SYSTEM RESET log_statement" -c "SELECT pg_reload_conf()" >/dev/null

# --- 4: plan and status with every revision pending --------------------------
sh -c "$recreate" >/dev/null 2>&1
echo
echo "## plan and status, $N revisions pending (empty database), against one revision"
"$MIGSYNC" plan -i "$tmp/inv" -e dev >"$tmp/plan.out" 2>&1 ||
	[ $? -le 3 ] || { echo "bench_apply: migsync plan fails:" >&2; cat "$tmp/plan.out" >&2; exit 1; }
hyperfine -N --warmup "$WARMUP" --style basic --export-json "$tmp/hplan.json" -i \
	-n "migsync plan ($N pending)" "$MIGSYNC plan -i $tmp/inv -e dev" \
	-n "migsync plan (1 pending)" "$MIGSYNC plan -i $tmp/inv_one -e dev" \
	-n "migsync status ($N pending)" "$MIGSYNC status -i $tmp/inv -e dev" \
	-n "migsync status (1 pending)" "$MIGSYNC status -i $tmp/inv_one -e dev" </dev/null

echo "# load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"

"$ALEMBIC_PYTHON" - "$tmp" "$N" <<'EOF'
import json, os, sys
tmp, n = sys.argv[1], int(sys.argv[2])
def load(name):
    with open(os.path.join(tmp, name)) as f:
        return {r["command"]: r for r in json.load(f)["results"]}
def fmt(r):
    return "%9.1f ms ± %6.1f | %9.1f ms | %9.1f ms" % (
        r["mean"] * 1e3, r["stddev"] * 1e3, r["min"] * 1e3, (r["user"] + r["system"]) * 1e3)
res = load("happly.json")
res.update(load("halembic.json"))
floor = res["floor: psql -f (one transaction per revision)"]
m = res["migsync apply"]
print("\n## summary: applying %d revisions\n" % n)
print("| command | mean ± σ | min | user+sys | mean / floor |")
print("| --- | --- | --- | --- | --- |")
for name, r in res.items():
    print("| %s | %s | %.2f |" % (name, fmt(r), r["mean"] / floor["mean"]))
a = res["alembic upgrade head"]
at = res["alembic upgrade head (transaction_per_migration)"]
print("\ntarget: faster than alembic upgrade head: %.1fx faster (%.1fx against transaction_per_migration) -> %s"
      % (a["mean"] / m["mean"], at["mean"] / m["mean"], "met" if m["mean"] < min(a["mean"], at["mean"]) else "MISSED"))
r = m["mean"] / floor["mean"]
print("target: within 1.2x of the floor: %.2fx by mean, %.2fx by min -> %s"
      % (r, m["min"] / floor["min"], "met" if r <= 1.2 else "MISSED"))
p = load("hplan.json")
print("\n| command | mean ± σ | min | user+sys |")
print("| --- | --- | --- | --- |")
for name, r in p.items():
    print("| %s | %s |" % (name, fmt(r)))
for cmd in ("plan", "status"):
    big = p["migsync %s (%d pending)" % (cmd, n)]
    one = p["migsync %s (1 pending)" % cmd]
    extra = (big["mean"] - one["mean"]) * 1e3
    cpu = (big["user"] + big["system"]) * 1e3
    print("target: %s with %d pending under 50 ms beyond the round trips: +%.1f ms over one revision,"
          " %.1f ms CPU in all -> %s" % (cmd, n, extra, cpu, "met" if max(extra, cpu) < 50 else "MISSED"))
EOF
