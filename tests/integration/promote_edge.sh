#!/bin/bash
# Edges of the promotion commands against a real, throwaway PostgreSQL:
#
#   1. fleets: a stage of five listed databases and one of discovered
#      ones; one plan hash for all, read in parallel in a stable order,
#      the approval in the first database, each database under its own
#      lock, a database that moved under the run stops the stage, and a
#      rerun resumes;
#   2. soak with a real ledger: too early (how long held, how long to
#      wait), after the soak, and a previous stage moved outside migsync
#      (the soak cannot be verified);
#   3. SIGINT and SIGTERM while a revision runs: cancelled, rolled back,
#      unlocked, recorded as failed; a rerun completes;
#   4. approve checks the hash against the plan now (--force overrides).
#
# Run by meson with MIGSYNC = the binary, MIGSYNC_SOURCE_ROOT = the repo.
set -u

: "${MIGSYNC:?set MIGSYNC to the migsync binary}"
: "${MIGSYNC_SOURCE_ROOT:?set MIGSYNC_SOURCE_ROOT to the repository root}"

. "$MIGSYNC_SOURCE_ROOT/tests/integration/lib/common.sh"
. "$MIGSYNC_SOURCE_ROOT/tests/integration/lib/pg.sh"
. "$MIGSYNC_SOURCE_ROOT/tests/integration/lib/inventory.sh"

pg_setup promote_edge
mkdir -p "$tmp/versions"
RA=aaaa00000001 RB=bbbb00000002 RC=cccc00000003
inv_sql_rev "$tmp/versions" $RA "" "CREATE TABLE edge_a (id int);" "DROP TABLE edge_a;"
inv_sql_rev "$tmp/versions" $RB $RA "CREATE TABLE edge_b (id int);" "DROP TABLE edge_b;"

# ledger queries
q() {
	pg_psql -d "$1" -At -c "$2" 2>/dev/null
}

# --- 1: fleets
echo "checking: fleets"
inv=$tmp/fleet
inv_gated "$inv" edge-fleet "connect_timeout: 10, lock_wait: 30s" dev=0 fleet=1 disc=0 ||
	fail "fleet inventory"
echo "targets: { databases: [t1, t2, t3, t4, t5] }" >>"$inv/fleet.yaml"
echo "targets: { discover: \"SELECT datname FROM pg_database WHERE datname LIKE 'd\\\\_%' ORDER BY 1\" }" \
	>>"$inv/disc.yaml"
for db in t1 t2 t3 t4 t5 d_1 d_2 d_3; do
	pg_psql -d postgres -c "CREATE DATABASE $db" >/dev/null || fail "create $db"
done
RUN_ARGS=(-i "$inv")

run fplan -- plan --format json
expect_rc fplan 0
expect_json fplan '.stages[environment=fleet].targets[].database | join' =~ '^[^\n]*/t1\n[^\n]*/t2\n[^\n]*/t3\n[^\n]*/t4\n[^\n]*/t5$'
expect_json fplan '.stages[environment=fleet].targets[].steps | unique' "[[\"$RA\", \"$RB\"]]"
expect_json fplan '.stages[environment=fleet].plan_hash' =~ '^[0-9a-f]{64}$'
expect_json fplan '.stages[environment=disc].targets[].database | join' =~ '^[^\n]*/d_1\n[^\n]*/d_2\n[^\n]*/d_3$'
# the order and the hash do not depend on how many databases are read at once
run fplan1 -- plan -j 1
run fplan16 -- plan -j 16
expect_rc fplan1 0
expect_rc fplan16 0
cmp -s "$tmp/fplan1.out" "$tmp/fplan16.out" || fail "plan -j 1 and -j 16 differ"
grep -q "t5 (none) -> $RB" "$tmp/fplan1.out" ||
	grep -q "t5: (none) -> $RB" "$tmp/fplan1.out" || fail "plan text lacks t5: $(cat "$tmp/fplan1.out")"

run fgated -- apply --yes
expect_rc fgated 3
expect_version dev $RB "fleet: dev"
HF=$(hash_of fgated)
expect_json fplan '.stages[environment=fleet].plan_hash' "\"$HF\""
run fapprove -- approve -e fleet --plan "$HF" --by alice
expect_rc fapprove 0
[ "$(q t1 "SELECT count(*) FROM migsync.approvals WHERE plan_hash = '$HF'")" = 1 ] ||
	fail "the approval is not in t1"
[ "$(q t2 "SELECT count(*) FROM pg_namespace WHERE nspname = 'migsync'")" = 0 ] ||
	fail "approve wrote to t2"

# t3 moves while the run waits for its lock: t1 and t2 are done, the stage stops
pg_psql -d t3 -c "CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY)" >/dev/null ||
	fail "t3: version table"
PGAPPNAME=edge_holder pg_psql -d t3 -c \
	"SELECT pg_advisory_lock($(printf %d 0x6d736c6b), hashtext('t3')); SELECT pg_sleep(60)" \
	>/dev/null 2>&1 &
holder=$!
at_exit "kill $holder 2>/dev/null"
for _ in $(seq 50); do
	[ "$(q postgres "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted")" = 1 ] && break
	sleep 0.1
done
run_bg fmoved -- apply --yes
app=$BG_PID
for _ in $(seq 100); do
	[ "$(version_of t2)" = $RB ] && break
	sleep 0.1
done
pg_psql -d t3 -c "CREATE TABLE edge_a (id int); INSERT INTO alembic_version VALUES ('$RA')" >/dev/null ||
	fail "t3: move to $RA"
q postgres "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'edge_holder'" >/dev/null ||
	fail "end the lock holder"
wait_bg fmoved $app
wait $holder 2>/dev/null
expect_rc fmoved 1
expect_in fmoved err "environment \"fleet\" (t3): the database moved since the plan was made"
expect_in fmoved err "$RA"
for db in t1 t2; do expect_version $db $RB "fleet: before the moved one"; done
expect_version t3 $RA "fleet: the moved one"
for db in t4 t5 d_1; do expect_version $db none "fleet: after the moved one"; done
[ "$(q t1 "SELECT count(*) FROM migsync.applied WHERE outcome = 'applied'")" = 2 ] ||
	fail "t1's ledger does not hold its 2 steps"

# rerun: a new plan (t3 moved), approved; t1 and t2 are skipped
run frerun_gated -- apply --yes
expect_rc frerun_gated 3
expect_in frerun_gated err "another plan"
run fapprove2 -- approve -e fleet --plan "$(hash_of frerun_gated)" --by alice
expect_rc fapprove2 0
run frerun -- apply --yes
expect_rc frerun 0
expect_in frerun out "t1 is already at the target"
for db in t1 t2 t3 t4 t5 d_1 d_2 d_3; do expect_version $db $RB "fleet: rerun"; done
[ "$(q t1 "SELECT count(*) FROM migsync.applied WHERE outcome = 'applied'")" = 2 ] ||
	fail "t1 was migrated again"
[ "$(q t3 "SELECT count(*) FROM migsync.applied WHERE outcome = 'applied' AND revision = '$RB'")" = 1 ] ||
	fail "t3's ledger does not hold $RB"
[ "$(q postgres "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'")" = 0 ] ||
	fail "an advisory lock was left behind"
pass "fleets: $(head -n 1 "$tmp/fmoved.err")"

# --- 2: soak with a real ledger
echo "checking: soak"
inv=$tmp/soak
inv_gated "$inv" edge-soak "connect_timeout: 10, lock_wait: 30s" s_dev=0 s_stg=1 || fail "soak inventory"
printf '  soak: 1h\n' >>"$inv/s_stg.yaml"
RUN_ARGS=(-i "$inv")
run early -- apply --yes
expect_rc early 3
expect_version s_dev $RB "soak: dev"
expect_version s_stg none "soak: too early"
# the time is shifted (MIGSYNC_TEST_CLOCK_OFFSET, a -Dtest_hooks build)
# instead of slept, so that a loaded machine takes seconds, not the soak
check "soak: how long dev has held the target" \
	grep -Eq 'environment "s_dev" has held the target for [0-9]+s of 1h' "$tmp/early.err"
check "soak: when to run again" grep -Eq 'run again in (1h|59m[0-9]*s?)' "$tmp/early.err"
run sapprove -- approve -e s_stg --plan "$(hash_of early)" --by alice
expect_rc sapprove 0
run early2 MIGSYNC_TEST_CLOCK_OFFSET=3000 -- apply --yes
expect_rc early2 3
expect_in early2 err "soak"
expect_version s_stg none "soak: approved, too early"
run soaked MIGSYNC_TEST_CLOCK_OFFSET=3601 -- apply --yes
expect_rc soaked 0
expect_version s_stg $RB "soak: after the soak"
pass "soak: $(grep -m1 'held' "$tmp/early.err")"

# the previous stage moved outside migsync: no ledger row to count from
inv_sql_rev "$tmp/versions" $RC $RB "CREATE TABLE edge_c (id int);" "DROP TABLE edge_c;"
pg_psql -d s_dev -c "CREATE TABLE edge_c (id int); UPDATE alembic_version SET version_num = '$RC'" >/dev/null ||
	fail "s_dev: move to $RC outside migsync"
run unknown -- apply --yes -e s_stg
expect_rc unknown 3
expect_in unknown err "cannot verify the soak"
expect_in unknown err "outside migsync"
expect_in unknown err "hint:"
expect_version s_stg $RB "soak: unknown"
pass "soak unknown: $(grep -m1 'soak' "$tmp/unknown.err")"
# plan says the same
run unknown_plan -- plan -e s_stg
expect_rc unknown_plan 0
expect_in unknown_plan out "cannot verify the soak"
rm "$tmp/versions/${RC}_rev.sql"

# --- 3: SIGINT and SIGTERM while a revision runs
inv=$tmp/sig
inv_gated "$inv" edge-sig "connect_timeout: 10, lock_wait: 30s" sg=0 || fail "signal inventory"
RUN_ARGS=(-i "$inv")
mkdir -p "$tmp/sigv"
sed -i "s|scripts: ../versions|scripts: ../sigv|" "$inv/inventory.yaml"
pg_psql -d sg -c "CREATE TABLE edge_sleep (s float8); INSERT INTO edge_sleep VALUES (20)" >/dev/null ||
	fail "sg: edge_sleep"
inv_sql_rev "$tmp/sigv" $RA "" "CREATE TABLE edge_partial (id int);
SELECT pg_sleep((SELECT s FROM edge_sleep));" "DROP TABLE edge_partial;"
for sig in INT TERM; do
	echo "checking: SIG$sig during a revision"
	run_bg sig$sig -- apply --yes
	app=$BG_PID
	for _ in $(seq 100); do
		[ "$(q postgres "SELECT count(*) FROM pg_stat_activity WHERE datname = 'sg' AND query LIKE '%pg_sleep%' AND state = 'active'")" = 1 ] && break
		sleep 0.1
	done
	t0=$(date +%s%N)
	kill -$sig $app
	wait_bg sig$sig $app
	took=$((($(date +%s%N) - t0) / 1000000))
	[ "$(rc_of sig$sig)" != 0 ] || fail "SIG$sig: exit 0"
	[ $took -lt 5000 ] || fail "SIG$sig: took $took ms to stop"
	expect_in sig$sig err "cancel"
	expect_version sg none "SIG$sig"
	[ "$(q sg "SELECT count(*) FROM pg_tables WHERE tablename = 'edge_partial'")" = 0 ] ||
		fail "SIG$sig: the revision was not rolled back"
	[ "$(q postgres "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'")" = 0 ] ||
		fail "SIG$sig: the lock was not released"
	[ "$(q sg "SELECT outcome FROM migsync.applied ORDER BY id DESC LIMIT 1")" = failed ] ||
		fail "SIG$sig: the ledger does not say failed: $(q sg 'SELECT * FROM migsync.applied')"
	q sg "SELECT error FROM migsync.applied ORDER BY id DESC LIMIT 1" | grep -q cancel ||
		fail "SIG$sig: the ledger error does not say cancelled"
	pass "SIG$sig: stopped in $took ms: $(head -n 1 "$tmp/sig$sig.err")"
done
q sg "UPDATE edge_sleep SET s = 0" >/dev/null || fail "sg: no more sleep"
run sig_rerun -- apply --yes
expect_rc sig_rerun 0
expect_version sg $RA "rerun after the signals"

# --- 4: approve checks the hash against the plan now
echo "checking: approve checks the hash"
inv=$tmp/appr
inv_gated "$inv" edge-approve "connect_timeout: 10, lock_wait: 30s" a_dev=0 a_stg=1 || fail "approve inventory"
RUN_ARGS=(-i "$inv")
run a_first -- apply --yes
expect_rc a_first 3
HA=$(hash_of a_first)
# the staging plan is not dev's
run a_wrong_env -- approve -e a_dev --plan "$HA" --by alice
expect_rc a_wrong_env 1
expect_in a_wrong_env err "is not the plan of this environment now"
expect_in a_wrong_env err "is the plan of environment \"a_stg\" now: did you mean -e a_stg?"
# an old plan: approved, then a database moved
run a_ok -- approve -e a_stg --plan "$HA" --by alice
expect_rc a_ok 0
pg_psql -d a_stg -c "CREATE TABLE edge_a (id int); CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY);
INSERT INTO alembic_version VALUES ('$RA')" >/dev/null || fail "a_stg: move to $RA"
run a_old -- approve -e a_stg --plan "$HA" --by bob
expect_rc a_old 1
expect_in a_old err "is an older plan: \"alice\" approved it"
expect_in a_old err "$RA -> $RB (1 step)"
expect_in a_old err "hint: review the plan now with: migsync plan -e a_stg"
HNOW=$(sed -n 's/^  the plan now: \([0-9a-f]\{64\}\).*/\1/p' "$tmp/a_old.err")
[ -n "$HNOW" ] || fail "no current hash in: $(cat "$tmp/a_old.err")"
run a_plan -- plan -e a_stg
expect_rc a_plan 0
grep -q "plan $HNOW" "$tmp/a_plan.out" || fail "approve's plan now is not plan's: $(cat "$tmp/a_plan.out")"
# a hash nobody made
run a_bogus -- approve -e a_stg --plan "$(printf 'ab%.0s' $(seq 32))" --by bob
expect_rc a_bogus 1
expect_in a_bogus err "no plan migsync knows of"
# --force records it with a warning
run a_force -- approve -e a_stg --plan "$(printf 'ab%.0s' $(seq 32))" --by bob --force
expect_rc a_force 0
expect_in a_force err "warning"
[ "$(q a_stg "SELECT count(*) FROM migsync.approvals WHERE approver = 'bob'")" = 1 ] ||
	fail "--force did not record the approval"
# --to names the target as plan's --to does
run a_to -- approve -e a_stg --to $RB --plan "$HNOW" --by carol
expect_rc a_to 0
run a_done -- apply --yes
expect_rc a_done 0
expect_version a_stg $RB "approve: after the approval"
pass "approve: $(head -n 1 "$tmp/a_old.err")"

finish promote_edge
