# Shared set-up for the bench/ scripts. Source it after setting `root` (the
# repository) and ALEMBIC_PYTHON; it sources tests/integration/lib/pg.sh and
# tests/integration/lib/inventory.sh.
#
#   bench_binary NAME PATH
#                       print PATH made absolute, or stop (exit 2) when it
#                       is not an executable; NAME prefixes the message
#   bench_start NAME    start the throwaway PostgreSQL 15 cluster (pg.sh:
#                       127.0.0.1, fsync off, max_connections 200), make
#                       the scratch directory $tmp (migsync-bench-NAME.*)
#                       and remove both on exit, a signal's included
#                       (copying $tmp to BENCH_KEEP first when set)
#   bench_header        print the machine, the load average and the date
#   bench_three_envs    the three environments of bench_status.sh part 1:
#                       a 30-revision (BENCH_THREE_REVISIONS) plain Alembic project ($proj, written
#                       by gen_alembic_project.py, seed 42) and the
#                       databases stock_dev (at the heads), stock_staging
#                       (one revision behind on one branch) and stock_prod
#                       (at the first revision), inventory $tmp/inv3; sets
#                       proj and heads (comma-separated)
#   bench_fleet_dbs N   databases tenant_0001 ... tenant_N, copies of a
#                       template whose alembic_version holds the first head
#                       of bench_three_envs; prints how long it took
#   bench_create_dbs TEMPLATE FIRST LAST
#                       databases tenant_FIRST ... tenant_LAST (%04d), copies
#                       of TEMPLATE (STRATEGY FILE_COPY: with fsync off a
#                       copy of the files beats writing them to the WAL),
#                       made by BENCH_CREATE_SESSIONS (default 4) psql
#                       sessions at once, which share the checkpoints each
#                       copy asks for (~4x faster than one session)
#   bench_ms            the time now in milliseconds
#   bench_median        the median of the numbers on stdin, one a line
#   bench_load          the 1-minute load average
#   bench_peak_rss_kb N COMMAND...
#                       COMMAND's peak memory in KB (/usr/bin/time -v,
#                       Maximum resident set size), the least of N runs;
#                       COMMAND's output is discarded
#   bench_floor_cmd J N SQLFILE DB
#                       the pgbench -C floor as one command line: ceil(N/J)*J
#                       runs of SQLFILE, each on a new connection to DB on
#                       the cluster, J at a time (bench_status.sh says why
#                       one database)
#   bench_fleet_inventory DIR N
#                       an inventory DIR of one environment, tenants,
#                       listing tenant_0001 ... tenant_N in targets.databases
#   bench_sql_revisions DIR N FLOOR ONE
#                       N native SQL revisions in DIR, a straight line, each
#                       one CREATE TABLE t_NNNN (identity primary key, a
#                       text and a timestamptz column); FLOOR the same SQL
#                       for psql (one transaction per revision, with the
#                       alembic_version change); ONE a directory holding the
#                       first revision alone; $(dirname FLOOR)/head the last id

. "$root/tests/integration/lib/pg.sh"
. "$root/tests/integration/lib/inventory.sh"

bench_binary() {
	[ -x "$2" ] && [ -f "$2" ] || { echo "$1: no migsync binary at $2" >&2; exit 2; }
	echo "$(cd "$(dirname "$2")" && pwd)/$(basename "$2")"
}

tmp=
_bench_cleanup() {
	pg_stop
	if [ -n "$tmp" ]; then
		if [ -n "${BENCH_KEEP:-}" ]; then
			mkdir -p "$BENCH_KEEP" && cp -r "$tmp"/. "$BENCH_KEEP"/
			echo "# kept in $BENCH_KEEP"
		fi
		rm -rf "$tmp"
	fi
}

bench_start() {
	# a signal exits through the EXIT trap too, which stops the server by its pid
	trap _bench_cleanup EXIT
	trap 'exit 129' HUP
	trap 'exit 130' INT
	trap 'exit 143' TERM
	pg_start
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/migsync-bench-$1.XXXXXX")
}

bench_header() {
	echo "# machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), kernel $(uname -r), $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "# load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
}

bench_three_envs() {
	local staging prod

	proj=$tmp/project
	"$ALEMBIC_PYTHON" "$root/tests/integration/gen_alembic_project.py" \
		--style plain --seed 42 --revisions "${BENCH_THREE_REVISIONS:-30}" --out "$tmp/gen" </dev/null
	inv_alembic_project "$proj"
	cp "$tmp/gen/migrations/versions"/*.py "$proj/migrations/versions/"
	# dev at the heads, staging one revision behind on one branch, prod at the first revision
	read -r heads staging prod < <("$ALEMBIC_PYTHON" - "$tmp/gen/manifest.json" <<'EOF'
import json, sys
m = json.load(open(sys.argv[1]))["revisions"]
down = {r["revision"]: r["down_revision"] for r in m}
parents = {d for r in m for d in r["down_revision"]}
heads = sorted(r for r in down if r not in parents)
staging = sorted(set(heads[1:]) | set(down[heads[0]]))
print(",".join(heads), ",".join(staging), m[0]["revision"])
EOF
	)
	_bench_version_db stock_dev "$heads"
	_bench_version_db stock_staging "$staging"
	_bench_version_db stock_prod "$prod"
	inv_create "$tmp/inv3" --scripts "$proj/migrations/versions" \
		dev=stock_dev staging=stock_staging prod=stock_prod >/dev/null
}

_bench_version_db() {	# _bench_version_db DB ROW,ROW...
	local sql="CREATE TABLE alembic_version (version_num varchar(32) NOT NULL PRIMARY KEY);" r

	for r in ${2//,/ }; do
		sql="$sql INSERT INTO alembic_version VALUES ('$r');"
	done
	pg_psql -d postgres -c "CREATE DATABASE $1" >/dev/null
	pg_psql -d "$1" -c "$sql" >/dev/null
}

bench_fleet_dbs() {
	_bench_version_db fleet_tpl "${heads%%,*}"
	bench_create_dbs fleet_tpl 1 "$1"
}

bench_create_dbs() {
	local start=$(bench_ms) sessions=${BENCH_CREATE_SESSIONS:-4} k pids=() pid rc=0

	for k in $(seq 0 $((sessions - 1))); do
		seq -f "CREATE DATABASE tenant_%04g TEMPLATE $1 STRATEGY FILE_COPY;" \
			$(($2 + k)) "$sessions" "$3" | pg_psql -d postgres >/dev/null &
		pids+=($!)
	done
	for pid in "${pids[@]}"; do
		wait "$pid" || rc=1
	done
	[ $rc = 0 ] || { echo "bench: creating tenant_$2 ... tenant_$3 failed" >&2; return 1; }
	echo "# created $(($3 - $2 + 1)) databases from $1 in $(($(bench_ms) - start)) ms ($sessions sessions)"
}

bench_ms() { date +%s%3N; }

bench_median() {
	sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

bench_load() { cut -d' ' -f1 /proc/loadavg; }

bench_peak_rss_kb() {
	local n=$1 best= kb out

	shift
	out=$(mktemp "${TMPDIR:-/tmp}/migsync-bench-rss.XXXXXX")
	for _ in $(seq 1 "$n"); do
		/usr/bin/time -v "$@" >/dev/null 2>"$out" </dev/null || true
		kb=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$out" | tail -1)
		if [ -z "$best" ] || [ "$kb" -lt "$best" ]; then best=$kb; fi
	done
	rm -f "$out"
	echo "$best"
}

bench_floor_cmd() {
	echo "${PGBENCH:-$PG_BINDIR/pgbench} -n -C -c $1 -j $1 -t $((($2 + $1 - 1) / $1)) -f $3 -h 127.0.0.1 -p $PGPORT -U postgres $4"
}

bench_fleet_inventory() {
	local list

	list=$(seq -f 'tenant_%04g' 1 "$2" | paste -sd, - | sed 's/,/, /g')
	inv_create "$1" --scripts "$proj/migrations/versions" \
		--env-yaml "targets:
  databases: [$list]" tenants=postgres >/dev/null
}

bench_sql_revisions() {
	mkdir -p "$1"
	"$ALEMBIC_PYTHON" - "$@" <<'EOF'
import hashlib, os, sys
out, n, floor, one = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
ids = [hashlib.sha1(b"bench-apply-%d" % i).hexdigest()[:12] for i in range(n)]
with open(floor, "w") as fl:
    fl.write("CREATE TABLE alembic_version (version_num varchar(32) NOT NULL,"
             " CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num));\n")
    for i, rev in enumerate(ids):
        down = ids[i - 1] if i else None
        up = ("CREATE TABLE t_%04d (\n    id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,\n"
              "    name text NOT NULL,\n    created_at timestamptz NOT NULL DEFAULT now()\n);" % i)
        text = ("-- migsync:revision %s\n-- migsync:down_revision %s\n"
                "-- migsync:message create table t_%04d\n\n-- migsync:up\n%s\n\n"
                "-- migsync:down\nDROP TABLE t_%04d;\n" % (rev, down or "none", i, up, i))
        with open(os.path.join(out, "%s_create_t_%04d.sql" % (rev, i)), "w") as f:
            f.write(text)
        if i == 0:
            os.makedirs(one, exist_ok=True)
            with open(os.path.join(one, "%s_create_t_%04d.sql" % (rev, i)), "w") as f:
                f.write(text)
        ver = ("INSERT INTO alembic_version (version_num) VALUES ('%s');" % rev if down is None else
               "UPDATE alembic_version SET version_num='%s' WHERE alembic_version.version_num = '%s';"
               % (rev, down))
        fl.write("BEGIN;\n%s\n%s\nCOMMIT;\n" % (up, ver))
with open(os.path.join(os.path.dirname(floor), "head"), "w") as f:
    f.write(ids[-1])
EOF
}
