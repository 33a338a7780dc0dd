#!/bin/bash
# migsync hook against a real, throwaway PostgreSQL: dev, staging and prod
# on one server (prod gated by one approval), the stock-assistant native SQL
# revisions plus revisions written here (a slow one, a late one, one that
# sleeps until it is interrupted).
#
#   1. eight replicas start at once on a database two revisions behind:
#      exactly one applies each revision (ledger), all eight exit 0;
#   2. the fast path takes no lock: with migsync's advisory lock held by a
#      psql session, a hook on a current database still exits 0 at once;
#   3. the rollout order: prod may not go past staging; then prod's gate:
#      exit 3 (--on-unapproved fail) or 0 (skip, said on stderr), nothing
#      changed, until the plan is approved;
#   4. the server comes up 10 s after the hook started (--wait 60);
#   5. SIGTERM during a pg_sleep revision: rolled back, lock released,
#      exit non-zero within 5 s; again with the hook as PID 1 of its own
#      PID namespace (unshare), where only an explicit handler catches it.
#
# Run by meson with MIGSYNC = the binary, MIGSYNC_SOURCE_ROOT = the repo.
set -u

: "${MIGSYNC:?set MIGSYNC to the migsync binary}"
: "${MIGSYNC_SOURCE_ROOT:?set MIGSYNC_SOURCE_ROOT to the repository root}"

. "$MIGSYNC_SOURCE_ROOT/tests/integration/lib/common.sh"
. "$MIGSYNC_SOURCE_ROOT/tests/integration/lib/pg.sh"
. "$MIGSYNC_SOURCE_ROOT/tests/integration/lib/inventory.sh"

holder=
pg_setup hook
at_exit '[ -n "$holder" ] && kill "$holder" 2>/dev/null'
chmod 755 "$tmp"

# --- revisions and inventory
cp -r "$MIGSYNC_SOURCE_ROOT/examples/stock-assistant/versions" "$tmp/versions" || fail "copy versions"
R2=8b2e4f6a9c31 R3=c52d9e07a4f8 R4=e19b6f3d2a77
R5=5c0c0c0c0c05 R6=6c0c0c0c0c06 R7=7c0c0c0c0c07
inv=$tmp/inventory
inv_gated "$inv" hook-test "connect_timeout: 5, lock_wait: 60s" dev=0 staging=0 prod=1 || fail "inventory"

add_revision() {	# add_revision REV DOWN SLUG UP-SQL
	cat >"$tmp/versions/$1_$3.sql" <<EOF
-- migsync:revision $1
-- migsync:down_revision $2
-- migsync:message $3

-- migsync:up
$4

-- migsync:down
SELECT 1;
EOF
}

# run NAME ARGS... (lib/common.sh) against this inventory
RUN_ARGS=(-i "$inv")
advisory_locks() {	# migsync's advisory locks held on the server
	pg_psql -d postgres -At -c "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = 1836280939"
}
ms_now() {
	date +%s%3N
}
# hold_lock DB: a psql session takes migsync's lock on DB and keeps it
hold_lock() {
	PGAPPNAME=hook_holder "$PG_BINDIR/psql" -X -q -h 127.0.0.1 -p "$PGPORT" -U postgres -d "$1" \
		-c "SELECT pg_advisory_lock(1836280939, hashtext(current_database()))" \
		-c "SELECT pg_sleep(120)" >/dev/null 2>&1 &
	holder=$!
	for _ in $(seq 50); do
		[ "$(advisory_locks)" = 1 ] && return 0
		sleep 0.1
	done
	fail "the psql session did not take the lock of $1"
}
# release_lock: end that session (its backend would sleep on without the client)
release_lock() {
	pg_psql -d postgres -At -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'hook_holder'" >/dev/null ||
		fail "end the lock holder"
	wait "$holder" 2>/dev/null
	holder=
	for _ in $(seq 50); do
		[ "$(advisory_locks)" = 0 ] && return 0
		sleep 0.1
	done
	fail "the psql session did not let the lock go"
}

# --- 1: eight replicas at once, two revisions behind (the second one slow)
echo "checking: eight replicas start at once"
add_revision $R5 $R4 slow_index "CREATE TABLE hook_slow (id int); SELECT pg_sleep(2);"
run dev_r3 apply -e dev --to $R3 --yes
expect_rc dev_r3 0
expect_version dev $R3 "before the replicas"
pids=()
for i in 1 2 3 4 5 6 7 8; do
	timeout 120 "$MIGSYNC" hook -e dev -i "$inv" --format json \
		>"$tmp/replica$i.out" 2>"$tmp/replica$i.err" </dev/null &
	pids+=($!)
done
for i in 1 2 3 4 5 6 7 8; do
	wait "${pids[$((i - 1))]}"
	echo $? >"$tmp/replica$i.rc"
	expect_rc replica$i 0
	json_spool replica$i "$tmp/replica$i.out"
done
expect_version dev $R5 "after the replicas"
for rev in $R4 $R5; do
	n=$(pg_psql -d dev -At -c "SELECT count(*) FROM migsync.applied WHERE revision = '$rev' AND direction = 'up'")
	[ "$n" = 1 ] || fail "revision $rev is in the ledger $n times: $(pg_psql -d dev -At -c 'SELECT revision, outcome, who FROM migsync.applied')"
done
# one replica applied both revisions, the seven others found dev current
applied=()
for i in 1 2 3 4 5 6 7 8; do
	if [ "$(json_get "$tmp/replica$i.out" .action)" = applied ]; then
		applied+=("$i")
		expect_json replica$i '.(environment,from,to,applied,error)' "[\"dev\", [\"$R3\"], [\"$R5\"], [\"$R4\", \"$R5\"], null]"
		expect_json replica$i .plan_hash =~ '^[0-9a-f]{64}$'
		expect_json replica$i .elapsed_ms '>=' 2000
	else
		expect_json replica$i '.(action,to,applied)' "[\"current\", [\"$R5\"], []]"
	fi
done
check "exactly one replica applied (replica ${applied[*]})" test ${#applied[@]} = 1

# --- 2: the fast path takes no lock
echo "checking: the fast path takes no lock"
hold_lock dev
t0=$(ms_now)
run fast hook -e dev --lock-wait 30
t1=$(ms_now)
expect_rc fast 0
expect_in fast out "migsync hook: dev: already at $R5"
[ $((t1 - t0)) -lt 3000 ] || fail "the fast path took $((t1 - t0)) ms with the lock held elsewhere"
release_lock
# the lock is real: a hook with work to do waits for it, bounded by --lock-wait
hold_lock staging
run locked hook -e staging --lock-wait 2
expect_rc locked 1
expect_in locked err "timed out waiting for the lock"
expect_version staging none "lock held elsewhere"
release_lock

# --- 3: rollout order, then prod's gate
echo "checking: prod may not go past staging"
run order hook -e prod
expect_rc order 1
expect_in order err "would go past environment \"staging\""
expect_version prod none "order violation"
run staging hook -e staging
expect_rc staging 0
expect_in staging out "migsync hook: staging: applied 5 revisions (base -> $R5) in "
expect_version staging $R5 "staging hook"

echo "checking: an unapproved gated environment"
run gated hook -e prod
expect_rc gated 3
expect_in gated err "stopped at the gate"
expect_in gated err "migsync approve -i $inv -e prod --plan "
expect_in gated out "migsync hook: prod: stopped at the gate"
expect_version prod none "gate closed"
run skipped hook -e prod --on-unapproved skip --format json
expect_rc skipped 0
expect_in skipped err "NOT MIGRATED"
expect_version prod none "gate closed, skip"
expect_json skipped '.(action,applied,from)' '["skipped", [], []]'
HP=$(json_get "$tmp/skipped.out" .plan_hash) || fail "skip JSON: $(cat "$tmp/skipped.out")"
run skipped_text hook -e prod --on-unapproved skip
expect_rc skipped_text 0
expect_in skipped_text out "migsync hook: prod: skipped: waiting for approval of plan ${HP:0:12}"
[ "$(pg_psql -d prod -At -c "SELECT count(*) FROM pg_tables WHERE tablename = 'stock_info'")" = 0 ] ||
	fail "the skipped hook changed prod"
run approve approve -e prod --plan "$HP" --by alice
expect_rc approve 0
run approved hook -e prod
expect_rc approved 0
expect_version prod $R5 "approved"

# --- 4: the server comes up 10 s after the hook started
echo "checking: the hook waits for the server"
add_revision $R6 $R5 late_table "CREATE TABLE hook_late (id int);"
pg_opts="-c listen_addresses=127.0.0.1 -k $PG_DIR -c fsync=off -p $PGPORT -c max_connections=200"
_pg_run "$PG_BINDIR/pg_ctl" -D "$PG_DATA" -m fast -w -t 30 stop >/dev/null 2>&1 || fail "pg_ctl stop"
PG_PID=
t0=$(ms_now)
timeout 120 "$MIGSYNC" hook -e dev -i "$inv" --wait 60 >"$tmp/late.out" 2>"$tmp/late.err" </dev/null &
late=$!
sleep 10
_pg_run "$PG_BINDIR/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -w -t 30 -o "$pg_opts" start >/dev/null 2>&1 ||
	fail "pg_ctl start: $(tail -n 5 "$PG_LOG")"
PG_PID=$(head -n 1 "$PG_DATA/postmaster.pid")
wait "$late"
echo $? >"$tmp/late.rc"
t1=$(ms_now)
expect_rc late 0
expect_in late err "waiting for postgres@127.0.0.1:$PGPORT/dev"
expect_in late out "migsync hook: dev: applied 1 revision ($R5 -> $R6)"
[ $((t1 - t0)) -ge 10000 ] || fail "the hook finished in $((t1 - t0)) ms, before the server was up"
expect_version dev $R6 "late server"

# --- 5: SIGTERM during a slow revision
add_revision $R7 $R6 sleepy "CREATE TABLE hook_partial (id int); SELECT pg_sleep(60);"
sleeping() {	# is the revision's pg_sleep running?
	[ "$(pg_psql -d dev -At -c "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(60)%' AND pid <> pg_backend_pid()")" -ge 1 ]
}
# term NAME PID-TO-SIGNAL PID-TO-WAIT: SIGTERM once the revision runs; checks
term() {
	local name=$1 target=$2 waitpid=$3 t0 t1

	for _ in $(seq 100); do
		sleeping && break
		sleep 0.1
	done
	sleeping || fail "$name: the slow revision never started: $(cat "$tmp/$name.err")"
	[ "$(advisory_locks)" = 1 ] || fail "$name: the hook does not hold the lock"
	t0=$(ms_now)
	kill -TERM "$target"
	wait "$waitpid"
	echo $? >"$tmp/$name.rc"
	t1=$(ms_now)
	[ $((t1 - t0)) -lt 5000 ] || fail "$name: exit $((t1 - t0)) ms after SIGTERM"
	[ "$(cat "$tmp/$name.rc")" != 0 ] || fail "$name: exit 0 after SIGTERM"
	expect_version dev $R6 "$name"
	[ "$(pg_psql -d dev -At -c "SELECT count(*) FROM pg_tables WHERE tablename = 'hook_partial'")" = 0 ] ||
		fail "$name: the interrupted revision left its table"
	[ "$(advisory_locks)" = 0 ] || fail "$name: the lock is still held"
	[ "$(pg_psql -d dev -At -c "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(60)%' AND pid <> pg_backend_pid()")" = 0 ] ||
		fail "$name: the statement still runs"
	[ "$(pg_psql -d dev -At -c "SELECT count(*) FROM migsync.applied WHERE revision = '$R7' AND outcome = 'applied'")" = 0 ] ||
		fail "$name: the ledger says the revision applied"
}

echo "checking: SIGTERM during a migration"
timeout 120 "$MIGSYNC" hook -e dev -i "$inv" >"$tmp/sigterm.out" 2>"$tmp/sigterm.err" </dev/null &
hook=$!
term sigterm $hook $hook
expect_in sigterm err "cancel"

echo "checking: SIGTERM during a migration, the hook as PID 1"
if unshare --pid --fork --mount-proc true 2>/dev/null; then
	unshare --pid --fork --mount-proc "$MIGSYNC" hook -e dev -i "$inv" \
		>"$tmp/pid1.out" 2>"$tmp/pid1.err" </dev/null &
	outer=$!
	inner=
	for _ in $(seq 50); do
		inner=$(pgrep -P "$outer" | head -n 1)
		[ -n "$inner" ] && break
		sleep 0.1
	done
	[ -n "$inner" ] || fail "pid1: no process inside the namespace"
	grep -q "^NSpid:.*[[:space:]]1$" /proc/$inner/status ||
		fail "pid1: the hook is not PID 1 in its namespace: $(grep NSpid /proc/$inner/status)"
	term pid1 $inner $outer
	expect_in pid1 err "cancel"
else
	echo "skipped: unshare --pid --fork --mount-proc is not allowed here"
fi

echo "ok"
exit 0
