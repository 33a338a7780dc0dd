#!/usr/bin/env bash
#
# bench_alembic_exec.sh: migsync's Alembic executor (`migsync apply` with
# executor: alembic: the files check, exact revision ids, a ledger row per
# revision) against `alembic upgrade head` run directly, on the same
# revisions and the same database state, in the same run.
#
# Usage:
#   meson setup build-rel --buildtype=release && ninja -C build-rel
#   bench/bench_alembic_exec.sh [MIGSYNC]        (default: build-rel/migsync)
#
# Environment:
#   ALEMBIC_PYTHON   a Python with Alembic and psycopg2 (default /usr/bin/python3)
#   BENCH_REVISIONS  revisions (default 100)
#   BENCH_RUNS       timed runs of each command (default 11)
#   BENCH_KEEP=DIR   keep the generated files in DIR
#
# Method, on one throwaway PostgreSQL 15 cluster (bench/lib.sh): the
# revisions of bench_apply.sh (a straight line, each one CREATE TABLE) as
# Alembic scripts (tests/integration/lib/inventory.sh, env.py reading
# DATABASE_URL). The two commands run in alternation (migsync, alembic,
# migsync, ...), each on a database dropped and created again just before
# it (untimed), and must leave the database at the last revision. Each run
# is timed around the process (time.perf_counter, no shell). Reported: the
# median of each, min and max, the ratio of the medians migsync/alembic,
# and the load average. Target: at most 1.15.

set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
MIGSYNC=${1:-$root/build-rel/migsync}
ALEMBIC_PYTHON=${ALEMBIC_PYTHON:-/usr/bin/python3}
N=${BENCH_REVISIONS:-100}
RUNS=${BENCH_RUNS:-11}
export PYTHONDONTWRITEBYTECODE=1

. "$root/bench/lib.sh"
MIGSYNC=$(bench_binary bench_alembic_exec "$MIGSYNC")

bench_start alembic-exec
PSQL="$PG_BINDIR/psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p $PGPORT -U postgres"
bench_header
echo "# migsync: $("$MIGSYNC" --version) ($MIGSYNC), commit $(git -C "$root" rev-parse --short HEAD)"
echo "# alembic: $("$ALEMBIC_PYTHON" -m alembic --version </dev/null), $("$ALEMBIC_PYTHON" --version)"
echo "# postgres: $("$PG_BINDIR/postgres" --version); $N revisions, $RUNS runs each, alternating"

bench_sql_revisions "$tmp/sql" "$N" "$tmp/floor.sql" "$tmp/one"
inv_alembic_project "$tmp/alembic"
inv_sql_to_alembic "$tmp/sql" "$tmp/alembic/migrations/versions"
DB=bench_alembic
inv_create "$tmp/inv" --scripts "$tmp/alembic/migrations/versions" --executor alembic \
	--alembic-ini "$tmp/alembic/alembic.ini" dev=$DB >/dev/null

recreate="$PSQL -d postgres -c 'DROP DATABASE IF EXISTS $DB' -c 'CREATE DATABASE $DB'"
at_head="test \"\$($PSQL -At -d $DB -c 'SELECT version_num FROM alembic_version')\" = $(cat "$tmp/head")"
migsync_cmd="$MIGSYNC apply -i $tmp/inv -e dev --yes"
alembic_cmd="env DATABASE_URL=$(inv_db_url $DB) $ALEMBIC_PYTHON -m alembic -c $tmp/alembic/alembic.ini upgrade head"

"$ALEMBIC_PYTHON" - "$RUNS" "$recreate" "$at_head" "$migsync_cmd" "$alembic_cmd" <<'EOF'
import shlex, statistics, subprocess, sys, time

runs, prepare, check = int(sys.argv[1]), sys.argv[2], sys.argv[3]
cmds = {"migsync": shlex.split(sys.argv[4]), "alembic": shlex.split(sys.argv[5])}

def load():
    with open("/proc/loadavg") as f:
        return f.read().split()[0]

def sh(cmd, what):
    r = subprocess.run(cmd, shell=True, capture_output=True, text=True)
    if r.returncode:
        sys.exit("bench_alembic_exec: %s failed: %s%s" % (what, r.stdout, r.stderr))

def timed(name):
    sh(prepare, "prepare")
    t0 = time.perf_counter()
    r = subprocess.run(cmds[name], stdin=subprocess.DEVNULL, capture_output=True)
    ms = (time.perf_counter() - t0) * 1e3
    if r.returncode:
        sys.exit("bench_alembic_exec: %s exits %d:\n%s" % (name, r.returncode, r.stderr.decode()[-3000:]))
    sh(check, name + " did not reach the last revision")
    return ms

start = load()
for name in cmds:           # warmup (and the first check), untimed
    timed(name)
times = {name: [] for name in cmds}
for _ in range(runs):
    for name in cmds:
        times[name].append(timed(name))
med = {n: statistics.median(t) for n, t in times.items()}
print("| command | median ms | min | max |")
print("| --- | --- | --- | --- |")
label = {"migsync": "migsync apply -e dev --yes (executor alembic)",
         "alembic": "python3 -m alembic upgrade head"}
for n, t in times.items():
    print("| %s | %.1f | %.1f | %.1f |" % (label[n], med[n], min(t), max(t)))
print("\nmigsync/alembic (medians): %.3f   load average (1 min): %s at start, %s at end"
      % (med["migsync"] / med["alembic"], start, load()))
EOF
