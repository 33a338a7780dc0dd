#!/bin/bash
# migsync apply when things go wrong, against a real, throwaway PostgreSQL
# and the real Alembic:
#
#  A. SIGKILL during a long transactional revision: nothing of it is left
#     (no table, version row unchanged), the advisory lock goes with the
#     session (a new apply proceeds promptly), a rerun completes.
#  B. Eight `migsync apply` started at once on a database six revisions
#     behind: all exit 0, each revision applied exactly once (ledger),
#     the version row at the head.
#  C. `transaction false` revisions (CREATE INDEX CONCURRENTLY): one
#     applies; one killed halfway is left "in progress", the next apply
#     refuses naming it and `migsync resolve`, `migsync resolve
#     --rolled-back` clears it, apply continues.
#  D. A branch point and a merge: at each step of three upgrade sequences
#     (several partial --to targets, then heads) the version rows and the
#     tables equal what `alembic upgrade` leaves on a twin database.
#  E. The Alembic executor (executor: alembic) through the CLI: apply
#     brings the database to the head, status says current.
#
# Each scenario runs in its own database and its own subshell; a failing
# scenario is reported and the others still run. The script fails (exit 1)
# when any scenario fails, including when a command it needs is missing.
#
# Run by meson with MIGSYNC = the binary, MIGSYNC_SOURCE_ROOT = the repo.
set -u

: "${MIGSYNC:?set MIGSYNC to the migsync binary}"
: "${MIGSYNC_SOURCE_ROOT:?set MIGSYNC_SOURCE_ROOT to the repository root}"

. "$MIGSYNC_SOURCE_ROOT/tests/integration/lib/common.sh"
. "$MIGSYNC_SOURCE_ROOT/tests/integration/lib/pg.sh"
. "$MIGSYNC_SOURCE_ROOT/tests/integration/lib/inventory.sh"

PY=/usr/bin/python3
# Alembic imports env.py and the revisions: keep __pycache__ out of the tree.
export PYTHONDONTWRITEBYTECODE=1
# Seconds within which a rerun must get the lock after its holder was killed.
PROMPT=10

pg_setup robust

# q DB SQL: one value (or rows, |-separated), no decoration
q() {
	pg_psql -At -d "$1" -c "$2"
}
tables() {	# tables DB: public tables other than alembic_version, sorted
	q "$1" "SELECT coalesce(string_agg(tablename, ' ' ORDER BY tablename), '') FROM pg_tables
		WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
}
table_exists() {
	[ "$(q "$1" "SELECT to_regclass('public.$2') IS NOT NULL")" = t ]
}

# wait_active DB TEXT SECONDS: the pid of a backend of DB running a query
# containing TEXT, waited for up to SECONDS; empty when none came
wait_active() {
	local i pid

	for i in $(seq $(($3 * 10))); do
		pid=$(q "$1" "SELECT pid FROM pg_stat_activity WHERE datname = '$1'
			AND pid <> pg_backend_pid() AND state = 'active'
			AND strpos(query, '$2') > 0 LIMIT 1")
		if [ -n "$pid" ]; then
			echo "$pid"
			return 0
		fi
		sleep 0.1
	done
	return 1
}

# gone_within PID SECONDS: whether backend PID has ended within SECONDS
gone_within() {
	local i

	for i in $(seq $(($2 * 10))); do
		[ "$(q postgres "SELECT count(*) FROM pg_stat_activity WHERE pid = $1")" = 0 ] && return 0
		sleep 0.1
	done
	return 1
}

# applied_counts DB: "rev:count ..." of the ledger's applied rows
applied_counts() {
	q "$1" "SELECT coalesce(string_agg(revision || ':' || n, ' ' ORDER BY revision), '')
		FROM (SELECT revision, count(*) AS n FROM migsync.applied
		      WHERE outcome = 'applied' GROUP BY 1) s"
}

# -------------------------------------------------------------------------
# Which of the commands this test needs exist at all (a missing one fails
# the scenarios that use it; it is named here once).
for cmd in apply resolve status; do
	if ! timeout 30 "$MIGSYNC" "$cmd" --help >/dev/null 2>&1; then
		echo "NOTE: \`migsync $cmd --help\` fails: the command is missing or broken" >&2
	fi
done

# -------------------------------------------------------------------------
scenario_kill() {
	local v=$tmp/a/versions inv=$tmp/a/inv db=a_kill backend start t late=

	pg_createdb $db
	inv_create "$inv" --scripts "$v" --lock-wait 60s dev=$db || fail "inventory"
	inv_sql_rev "$v" a10000000001 "" "CREATE TABLE a_one (id int);" "DROP TABLE a_one;"
	run a_first apply -i "$inv" -e dev --yes
	expect_rc a_first 0
	[ "$(version_of $db)" = a10000000001 ] || fail "first apply: version rows \"$(version_of $db)\""

	inv_sql_rev "$v" a20000000002 a10000000001 \
		"CREATE TABLE a_two (id int);
SELECT pg_sleep(30);
INSERT INTO a_two VALUES (1);" "DROP TABLE a_two;"
	inv_sql_rev "$v" a30000000003 a20000000002 "CREATE TABLE a_three (id int);" "DROP TABLE a_three;"
	run_bg a_killed apply -i "$inv" -e dev --yes
	backend=$(wait_active $db 'pg_sleep(30)' 20) ||
		fail "the slow revision never started; stderr: $(cat "$tmp/a_killed.err")"
	kill -9 "$BG_PID"
	wait "$BG_PID" 2>/dev/null
	start=$(now)

	# Nothing of the revision is visible, and never becomes visible.
	[ "$(version_of $db)" = a10000000001 ] || fail "after SIGKILL: version rows \"$(version_of $db)\""
	table_exists $db a_two && fail "after SIGKILL: table a_two exists"

	if ! gone_within "$backend" $PROMPT; then
		echo "NOTE: the killed apply's backend (pid $backend) still runs $PROMPT s after SIGKILL:" \
			"its advisory lock and open transaction outlive the client" >&2
	fi
	# The rerun runs a fast version of the revision (its file changed: a new plan, fine on dev).
	inv_sql_rev "$v" a20000000002 a10000000001 \
		"CREATE TABLE a_two (id int);
INSERT INTO a_two VALUES (1);" "DROP TABLE a_two;"
	run a_rerun apply -i "$inv" -e dev --yes
	t=$(elapsed "$start")
	expect_rc a_rerun 0
	# Checked last, so that a slow release does not hide the other checks.
	awk -v t="$t" -v p=$PROMPT 'BEGIN { exit !(t < p) }' || late=$t
	[ "$(version_of $db)" = a30000000003 ] || fail "rerun: version rows \"$(version_of $db)\""
	[ "$(tables $db)" = "a_one a_three a_two" ] || fail "rerun: tables \"$(tables $db)\""
	[ "$(q $db 'SELECT count(*) FROM a_two')" = 1 ] || fail "rerun: a_two does not hold its row"
	[ "$(applied_counts $db)" = "a10000000001:1 a20000000002:1 a30000000003:1" ] ||
		fail "ledger: applied rows \"$(applied_counts $db)\""
	[ "$(q $db "SELECT count(*) FROM migsync.applied WHERE outcome = 'in_progress'")" = 0 ] ||
		fail "ledger: a transactional revision left an in_progress row"
	[ -z "$late" ] ||
		fail "the rerun finished $late s after the SIGKILL (bound $PROMPT s): the lock was not released with the killed client's session"
	echo "kill: rerun done $t s after the SIGKILL"
}

# -------------------------------------------------------------------------
scenario_herd() {
	local v=$tmp/b/versions inv=$tmp/b/inv db=b_herd i prev= id pids=() expect= n=8 bad=

	pg_createdb $db
	inv_create "$inv" --scripts "$v" --lock-wait 60s dev=$db || fail "inventory"
	for i in 1 2 3 4 5 6; do
		id=b${i}000000000$i
		# A little sleep in each, so that the losers really wait for the winner.
		inv_sql_rev "$v" $id "$prev" "CREATE TABLE b_t$i (id int);
SELECT pg_sleep(0.2);" "DROP TABLE b_t$i;"
		expect="$expect${expect:+ }$id:1"
		prev=$id
	done
	for i in $(seq $n); do
		timeout 90 "$MIGSYNC" apply -i "$inv" -e dev --yes >"$tmp/b_$i.out" 2>"$tmp/b_$i.err" </dev/null &
		pids+=($!)
		kill_at_exit $!
	done
	for i in $(seq $n); do
		wait "${pids[$((i - 1))]}"
		echo $? >"$tmp/b_$i.rc"
	done
	for i in $(seq $n); do
		[ "$(cat "$tmp/b_$i.rc")" = 0 ] || bad="$bad apply #$i exited $(cat "$tmp/b_$i.rc"): $(tail -n 3 "$tmp/b_$i.err");"
	done
	[ -z "$bad" ] || fail "concurrent applies:$bad"
	[ "$(applied_counts $db)" = "$expect" ] ||
		fail "ledger: applied rows \"$(applied_counts $db)\", expected \"$expect\""
	[ "$(version_of $db)" = "$prev" ] || fail "version rows \"$(version_of $db)\", expected $prev"
	[ "$(tables $db)" = "b_t1 b_t2 b_t3 b_t4 b_t5 b_t6" ] || fail "tables \"$(tables $db)\""
	echo "herd: $n concurrent applies, every revision applied once"
}

# -------------------------------------------------------------------------
scenario_notx() {
	local v=$tmp/c/versions inv=$tmp/c/inv db=c_notx C1=c10000000001 C2=c20000000002 C3=c30000000003 C4=c40000000004

	pg_createdb $db
	inv_create "$inv" --scripts "$v" --lock-wait 60s dev=$db || fail "inventory"
	inv_sql_rev "$v" $C1 "" "CREATE TABLE c_t (id int, v int);
INSERT INTO c_t SELECT g, g % 7 FROM generate_series(1, 1000) g;" "DROP TABLE c_t;"
	inv_sql_rev -n "$v" $C2 $C1 "CREATE INDEX CONCURRENTLY c_ix1 ON c_t (id);" "DROP INDEX CONCURRENTLY c_ix1;"
	run c_first apply -i "$inv" -e dev --yes
	expect_rc c_first 0
	[ "$(version_of $db)" = $C2 ] || fail "first apply: version rows \"$(version_of $db)\""
	[ "$(q $db "SELECT indisvalid FROM pg_index WHERE indexrelid = 'c_ix1'::regclass")" = t ] ||
		fail "c_ix1 missing or invalid"
	[ "$(q $db "SELECT count(*) FROM migsync.applied WHERE revision = '$C2' AND outcome = 'applied' AND NOT transactional")" = 1 ] ||
		fail "ledger: no non-transactional applied row for $C2: $(q $db "SELECT revision, outcome, transactional FROM migsync.applied")"

	inv_sql_rev -n "$v" $C3 $C2 "SELECT pg_sleep(20);
CREATE INDEX CONCURRENTLY c_ix2 ON c_t (v);" "DROP INDEX CONCURRENTLY c_ix2;"
	inv_sql_rev "$v" $C4 $C3 "CREATE TABLE c_after (id int);" "DROP TABLE c_after;"
	run_bg c_killed apply -i "$inv" -e dev --yes
	wait_active $db 'pg_sleep(20)' 20 >/dev/null ||
		fail "the slow revision never started; stderr: $(cat "$tmp/c_killed.err")"
	# Recorded as in progress before it started, visible to everyone.
	[ "$(q $db "SELECT count(*) FROM migsync.applied WHERE revision = '$C3' AND outcome = 'in_progress'")" = 1 ] ||
		fail "ledger: no in_progress row for $C3 while it runs: $(q $db "SELECT revision, outcome FROM migsync.applied")"
	kill -9 "$BG_PID"
	wait "$BG_PID" 2>/dev/null

	run c_refused apply -i "$inv" -e dev --yes
	[ "$(rc_of c_refused)" != 0 ] || fail "apply after a crashed non-transactional revision exited 0"
	grep -q "$C3" "$tmp/c_refused.err" || fail "refusal does not name $C3: $(cat "$tmp/c_refused.err")"
	grep -q "migsync resolve" "$tmp/c_refused.err" || fail "refusal does not mention migsync resolve: $(cat "$tmp/c_refused.err")"
	[ "$(version_of $db)" = $C2 ] || fail "refused apply moved the version rows: \"$(version_of $db)\""
	table_exists $db c_after && fail "refused apply ran $C4"
	[ "$(q $db "SELECT to_regclass('public.c_ix2') IS NULL")" = t ] || fail "the killed revision's index exists"

	run c_resolve resolve -i "$inv" -e dev $C3 --rolled-back --format json
	expect_rc c_resolve 0
	expect_json c_resolve '.(environment,revision,resolved_as,databases)' "[\"dev\", \"$C3\", \"rolled_back\", 1]"
	[ "$(q $db "SELECT count(*) FROM migsync.applied WHERE outcome = 'in_progress'")" = 0 ] ||
		fail "resolve left an in_progress row"
	inv_sql_rev -n "$v" $C3 $C2 "SELECT pg_sleep(0);
CREATE INDEX CONCURRENTLY c_ix2 ON c_t (v);" "DROP INDEX CONCURRENTLY c_ix2;"
	run c_rerun apply -i "$inv" -e dev --yes
	expect_rc c_rerun 0
	[ "$(version_of $db)" = $C4 ] || fail "rerun: version rows \"$(version_of $db)\""
	[ "$(q $db "SELECT indisvalid FROM pg_index WHERE indexrelid = 'c_ix2'::regclass")" = t ] ||
		fail "rerun: c_ix2 missing or invalid"
	table_exists $db c_after || fail "rerun: c_after missing"
	echo "transaction false: applied, refused after a crash, resolved, continued"
}

# -------------------------------------------------------------------------
# The graph:  d0 - d1 - d2a - d3a - dm - d4
#                    \             /
#                     d2b --------
# d3a also depends_on d2b (Alembic applies a dependency first).
D0=d00000000000 D1=d10000000001 D2A=d2a000000002 D2B=d2b000000002 D3A=d3a000000003 DM=dm0000000004 D4=d40000000005

# sequence NAME TARGET...: upgrade migsync's database d_NAME and Alembic's
# database d_NAME_al to each target in turn; compare rows and tables
sequence() {
	local name=$1 ms_db=d_$1 al_db=d_$1_al target step=0 mrows arows

	shift
	pg_createdb $ms_db
	pg_createdb $al_db
	inv_create "$tmp/d/inv_$name" --scripts "$tmp/d/versions" dev=$ms_db || fail "inventory"
	for target in "$@"; do
		step=$((step + 1))
		if [ "$target" = heads ]; then
			run "d_${name}_$step" apply -i "$tmp/d/inv_$name" -e dev --yes
		else
			run "d_${name}_$step" apply -i "$tmp/d/inv_$name" -e dev --yes --to "$target"
		fi
		expect_rc "d_${name}_$step" 0
		(cd "$tmp/d/alembic" && DATABASE_URL=$(inv_db_url "$al_db") \
			timeout 60 $PY -m alembic upgrade "$target" >"$tmp/d_${name}_$step.al" 2>&1) ||
			fail "alembic upgrade $target: $(cat "$tmp/d_${name}_$step.al")"
		mrows=$(version_of $ms_db)
		arows=$(version_of $al_db)
		[ "$mrows" = "$arows" ] ||
			fail "sequence $name, upgrade to $target: migsync leaves \"$mrows\", Alembic \"$arows\""
		[ "$(tables $ms_db)" = "$(tables $al_db)" ] ||
			fail "sequence $name, upgrade to $target: tables \"$(tables $ms_db)\" vs Alembic \"$(tables $al_db)\""
		echo "  $name: --to $target -> $mrows (as Alembic)"
	done
}

scenario_merge() {
	local v=$tmp/d/versions

	mkdir -p "$v"
	inv_sql_rev "$v" $D0 "" "CREATE TABLE d_0 (id int);" "DROP TABLE d_0;"
	inv_sql_rev "$v" $D1 $D0 "CREATE TABLE d_1 (id int);" "DROP TABLE d_1;"
	inv_sql_rev "$v" $D2A $D1 "CREATE TABLE d_2a (id int);" "DROP TABLE d_2a;"
	inv_sql_rev "$v" $D2B $D1 "CREATE TABLE d_2b (id int);" "DROP TABLE d_2b;"
	inv_sql_rev -d $D2B "$v" $D3A $D2A "CREATE TABLE d_3a (id int);" "DROP TABLE d_3a;"
	inv_sql_rev "$v" $DM "$D3A $D2B" "CREATE TABLE d_m (id int);" "DROP TABLE d_m;"
	inv_sql_rev "$v" $D4 $DM "CREATE TABLE d_4 (id int);" "DROP TABLE d_4;"
	inv_alembic_project "$tmp/d/alembic" || fail "alembic project"
	inv_sql_to_alembic "$v" "$tmp/d/alembic/migrations/versions" || fail "alembic scripts"

	# one step at a time, through both sides of the branch
	sequence steps $D1 $D2A $D2B $DM heads
	# a dependency pulls in the other branch
	sequence deps $D1 $D3A heads
	# from nothing to the head in one go
	sequence whole heads
	echo "merge: version rows and tables as Alembic's at every step"
}

# -------------------------------------------------------------------------
scenario_alembic() {
	local dir=$tmp/e proj ini versions db=e_alembic heads rows vt=alembic_version

	proj=$MIGSYNC_SOURCE_ROOT/examples/alembic-project
	if [ -f "$proj/alembic.ini" ]; then
		echo "  alembic executor: using examples/alembic-project"
		vt=stockapp_version	# its env.py says so
	else
		echo "  alembic executor: examples/alembic-project is missing; using a generated project"
		proj=$dir/proj
		inv_alembic_project "$proj" || fail "alembic project"
		inv_alembic_rev "$proj/migrations/versions" e10000000001 "" "CREATE TABLE e_one (id int)" "DROP TABLE e_one"
		inv_alembic_rev "$proj/migrations/versions" e20000000002 e10000000001 "CREATE TABLE e_two (id int)" "DROP TABLE e_two"
		inv_alembic_rev "$proj/migrations/versions" e30000000003 e20000000002 "ALTER TABLE e_two ADD COLUMN v text" "ALTER TABLE e_two DROP COLUMN v"
	fi
	ini=$proj/alembic.ini
	# The versions directories, as Alembic reads them from alembic.ini,
	# as a YAML flow list.
	versions=$($PY - "$ini" <<-'EOF'
	import configparser, os, sys
	ini = os.path.abspath(sys.argv[1])
	cp = configparser.ConfigParser(defaults={"here": os.path.dirname(ini)})
	cp.read(ini)
	a = cp["alembic"]
	locs = a.get("version_locations")
	if locs:
	    sep = {"space": " ", "os": os.pathsep, ":": ":", ";": ";", "newline": "\n"}.get(
	        a.get("version_path_separator", "space"), " ")
	    dirs = [d for d in (locs.split(sep) if sep != " " else locs.replace(",", " ").split()) if d.strip()]
	else:
	    dirs = [os.path.join(a["script_location"], "versions")]
	print("[%s]" % ", ".join(os.path.abspath(os.path.join(os.path.dirname(ini), d.strip())) for d in dirs))
	EOF
	) || fail "cannot read $ini"
	heads=$(cd "$proj" && DATABASE_URL=$(inv_db_url postgres) timeout 60 $PY -m alembic -c "$ini" heads 2>/dev/null |
		awk '{ print $1 }' | sort | tr '\n' ' ' | sed 's/ $//')
	[ -n "$heads" ] || fail "alembic heads printed nothing for $ini"

	pg_createdb $db
	inv_create "$dir/inv" --executor alembic --alembic-ini "$ini" dev=$db || fail "inventory"
	sed -i "s|^  scripts: .*|  scripts: $versions|" "$dir/inv/inventory.yaml" || fail "scripts"
	sed -i "s|^  sslmode: disable\$|&\n  version_table: $vt|" "$dir/inv/dev.yaml" || fail "version_table"
	run e_apply apply -i "$dir/inv" -e dev --yes
	expect_rc e_apply 0
	rows=$(q $db "SELECT string_agg(version_num, ' ' ORDER BY version_num) FROM $vt")
	[ "$rows" = "$heads" ] || fail "after apply: version rows \"$rows\", alembic heads \"$heads\""
	run e_status status -i "$dir/inv" -e dev --format json
	expect_rc e_status 0
	expect_json e_status '.environments[environment=dev].state' current
	# A second apply has nothing to do.
	run e_again apply -i "$dir/inv" -e dev --yes
	expect_rc e_again 0
	[ "$(q $db "SELECT string_agg(version_num, ' ' ORDER BY version_num) FROM $vt")" = "$heads" ] ||
		fail "second apply changed the version rows"
	echo "alembic executor: $db at $rows, status current"
}

# -------------------------------------------------------------------------
for s in kill herd notx merge alembic; do
	echo "== scenario $s"
	start=$(now)
	if ( scenario_$s ); then
		pass "scenario $s ($(elapsed "$start") s)"
	else
		FAIL_GOES_ON=1 fail "scenario $s failed ($(elapsed "$start") s)"
	fi
done

finish apply_robust
