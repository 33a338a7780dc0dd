#!/bin/bash
# Day-two operations against a real, throwaway PostgreSQL:
#
#  1. A `transaction false` revision killed midway stays in progress:
#     status shows it (state in_progress, a note naming `migsync
#     resolve`), text and JSON, and check fails on it with the command.
#  2. A database that does not exist is `missing`, with a hint to create
#     it or fix dbname, in status text and JSON, and check fails on it.
#
# Every command's exit code is checked.
#
# Run by meson with MIGSYNC = the binary, MIGSYNC_SOURCE_ROOT = the repo.
set -u

: "${MIGSYNC:?set MIGSYNC to the migsync binary}"
: "${MIGSYNC_SOURCE_ROOT:?set MIGSYNC_SOURCE_ROOT to the repository root}"

. "$MIGSYNC_SOURCE_ROOT/tests/integration/lib/common.sh"
. "$MIGSYNC_SOURCE_ROOT/tests/integration/lib/pg.sh"
. "$MIGSYNC_SOURCE_ROOT/tests/integration/lib/inventory.sh"

pg_setup day_two

# q DB SQL: one value (or rows, |-separated), no decoration
q() {
	pg_psql -At -d "$1" -c "$2"
}

# wait_active DB TEXT SECONDS: whether a backend of DB runs a query containing TEXT within SECONDS
wait_active() {
	local i

	for i in $(seq $(($3 * 10))); do
		[ "$(q "$1" "SELECT count(*) FROM pg_stat_activity WHERE datname = '$1'
			AND pid <> pg_backend_pid() AND state = 'active'
			AND strpos(query, '$2') > 0")" != 0 ] && return 0
		sleep 0.1
	done
	return 1
}

V=$tmp/versions
INV=$tmp/inv
S1=5a0000000001 S2=5b0000000002 S3=5c0000000003

# --- 1: a stuck revision
pg_createdb stuck
inv_create "$INV" --scripts "$V" stuck=stuck || fail "inventory"
inv_sql_rev "$V" $S1 "" "CREATE TABLE s_t (id int, v int);" "DROP TABLE s_t;"
inv_sql_rev -n "$V" $S2 $S1 "SELECT pg_sleep(30);
CREATE INDEX CONCURRENTLY s_ix ON s_t (v);" "DROP INDEX CONCURRENTLY s_ix;"
inv_sql_rev "$V" $S3 $S2 "CREATE TABLE s_after (id int);" "DROP TABLE s_after;"

run_bg stuck_apply apply -i "$INV" -e stuck --yes
wait_active stuck 'pg_sleep(30)' 30 || fail "the slow revision never started: $(cat "$tmp/stuck_apply.err")"
kill -9 "$BG_PID"
wait "$BG_PID" 2>/dev/null
check "the killed step is in progress in the ledger" \
	test "$(q stuck "SELECT revision FROM migsync.applied WHERE outcome = 'in_progress'")" = $S2

run stuck_status status -i "$INV"
expect_rc stuck_status 1
grep -Eq "^stuck +.* in_progress +$S1 +2 +in progress: revision $S2 \(transaction false\) did not finish" \
	"$tmp/stuck_status.out" && pass "status: the row says in_progress and why" ||
	fail "status: no in_progress row: $(cat "$tmp/stuck_status.out")"
expect_in stuck_status out "migsync resolve -e stuck $S2 --applied (or --rolled-back)"
run stuck_status_json status -i "$INV" --format json
expect_rc stuck_status_json 1
expect_json stuck_status_json '.environments[0].state' in_progress
expect_json stuck_status_json '.environments[0].note' has "migsync resolve -e stuck $S2"
expect_json stuck_status_json '.environments[0].pending' "[\"$S2\", \"$S3\"]"

run stuck_check check -i "$INV" --format json
expect_rc stuck_check 1
expect_json stuck_check '.problems[].check' '["status"]'
expect_json stuck_check '.problems[0].message' has "in_progress"
expect_json stuck_check '.problems[0].message' has "migsync resolve -e stuck $S2 --applied"
run stuck_check_text check -i "$INV"
expect_rc stuck_check_text 1
expect_in stuck_check_text out "migsync resolve -e stuck $S2"

run stuck_resolve resolve -i "$INV" -e stuck $S2 --rolled-back
expect_rc stuck_resolve 0
run stuck_after status -i "$INV" --format json
expect_json stuck_after '.environments[0].state' behind
expect_json stuck_after '.environments[0].note' null

# --- 2: a database that does not exist
inv_env "$INV" nodb no_such_db "$PGPORT" postgres 5
echo "rollout: [stuck, nodb]" >>"$INV/inventory.yaml"
sed -i '/^rollout: \[stuck\]$/d' "$INV/inventory.yaml"
run missing status -i "$INV" -e nodb
expect_rc missing 1
grep -Eq '^nodb +.* missing +- +- +.*database "no_such_db" does not exist' "$tmp/missing.out" &&
	pass "status: the row says missing" || fail "status: no missing row: $(cat "$tmp/missing.out")"
expect_in missing out "create the database (CREATE DATABASE, or createdb), or fix database.dbname"
run missing_json status -i "$INV" -e nodb --format json
expect_rc missing_json 1
expect_json missing_json '.environments[0].state' missing
expect_json missing_json '.environments[0].note' has 'fix database.dbname'
run missing_check check -i "$INV" -e nodb --format json
expect_rc missing_check 1
expect_json missing_check '.problems[].check' '["status"]'
expect_json missing_check '.problems[0].message' has 'missing'
run missing_plan plan -i "$INV" -e nodb
expect_rc missing_plan 1
expect_in missing_plan out 'database "no_such_db" does not exist'

# --- 3: log, the ledger as a history
inv_sql_rev -n "$V" $S2 $S1 "CREATE INDEX CONCURRENTLY s_ix ON s_t (v);" "DROP INDEX CONCURRENTLY s_ix;"
run log_apply apply -i "$INV" -e stuck --yes
expect_rc log_apply 0
run log log -i "$INV" -e stuck
expect_rc log 0
expect_in log out "STARTED"
grep -Eq "^[0-9T:-]+Z +$S2 +up +resolved_rolled_back +[0-9.]+ s +[^ ]+ +[0-9a-f]{12}$" "$tmp/log.out" &&
	pass "log: the killed step, resolved" || fail "log: lines: $(cat "$tmp/log.out")"
run log_json log -i "$INV" -e stuck --format json
expect_rc log_json 0
expect_json log_json '.environment' stuck
expect_json log_json '.entries[].revision' "[\"$S1\", \"$S2\", \"$S2\", \"$S3\"]"
expect_json log_json '.entries[].outcome' '["applied", "resolved_rolled_back", "applied", "applied"]'
expect_json log_json '.entries[].transactional' '[true, false, false, true]'
expect_json log_json '.entries[0].(direction,error)' '["up", null]'
expect_json log_json '.entries[0].database' =~ ':[0-9]+/[^/]+$'
expect_json log_json '.entries[0].who' =~ '.'
expect_json log_json '.entries[0].host' =~ '.'
expect_json log_json '.entries[0].started_at' =~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$'
expect_json log_json '.entries[0].plan_hash' =~ '^[0-9a-f]{64}$'
expect_json log_json '.errors' '[]'
run log_limit log -i "$INV" -e stuck --limit 2 --format json
expect_rc log_limit 0
expect_json log_limit '.entries[].revision' "[\"$S2\", \"$S3\"]"
run log_bad_limit log -i "$INV" -e stuck --limit 0
expect_rc log_bad_limit 2
expect_in log_bad_limit err "invalid limit"
run log_no_env log -i "$INV"
expect_rc log_no_env 2
run log_unknown log -i "$INV" -e nope
expect_rc log_unknown 2
run log_missing log -i "$INV" -e nodb
expect_rc log_missing 1
expect_in log_missing err 'database "no_such_db" does not exist'

# --- 4: approvals: revoke, and each approval's state
G=$tmp/g
GV=$tmp/gversions
G1=6a0000000001 G2=6b0000000002 G3=6c0000000003
pg_createdb gated
inv_create "$G" --scripts "$GV" gated=gated || fail "gated inventory"
sed -i 's/^  approvals: 0$/  approvals: 1/' "$G/gated.yaml"
inv_sql_rev "$GV" $G1 "" "CREATE TABLE g_t (id int);" "DROP TABLE g_t;"

run gate1 apply -i "$G" -e gated --yes
expect_rc gate1 3
H1=$(hash_of gate1)
check "the gate names the plan to approve" test -n "$H1"
run approve1 approve -i "$G" -e gated --plan "$H1" --by alice
expect_rc approve1 0
run list1 approvals -i "$G" -e gated --format json
expect_rc list1 0
expect_json list1 '.approvals[].state' '["valid"]'

run revoke approve -i "$G" --revoke -e gated --plan "${H1:0:12}" --by bob --comment "wrong ticket"
expect_rc revoke 0
expect_in revoke out "revoked: environment gated, plan $H1, by bob (1 approval)"
run revoke_again approve -i "$G" --revoke -e gated --plan "$H1" --by bob --format json
expect_rc revoke_again 1
expect_json revoke_again .format migsync.approve/1
expect_json revoke_again .error.code database
expect_json revoke_again .error.message has "no approval of plan $H1 to revoke"
expect_in revoke_again err "no approval of plan $H1 to revoke"
run revoke_short approve -i "$G" --revoke -e gated --plan "${H1:0:8}"
expect_rc revoke_short 2
run revoke_force approve -i "$G" --revoke -e gated --plan "$H1" --force
expect_rc revoke_force 2
check "the revoked approval is kept in the ledger" \
	test "$(q gated "SELECT approver || ' ' || revoked_by || ' ' || revoke_reason FROM migsync.approvals WHERE revoked_at IS NOT NULL")" = "alice bob wrong ticket"
run list2 approvals -i "$G" -e gated --format json
expect_rc list2 0
expect_json list2 '.approvals[0].(state,revoked_by,revoke_reason)' '["revoked", "bob", "wrong ticket"]'
run list2_text approvals -i "$G" -e gated
expect_rc list2_text 0
grep -Eq "^[0-9T:-]+Z +${H1:0:12} +alice +revoked +never +revoked by bob: wrong ticket$" "$tmp/list2_text.out" &&
	pass "approvals: the revoked line" || fail "approvals: $(cat "$tmp/list2_text.out")"
run gate2 apply -i "$G" -e gated --yes
expect_rc gate2 3
expect_in gate2 err 'approval by "alice" was revoked by "bob"'

run approve2 approve -i "$G" -e gated --plan "$H1" --by carol --expires 1h
expect_rc approve2 0
run list_expired MIGSYNC_TEST_CLOCK_OFFSET=7200 -- approvals -i "$G" -e gated --format json
expect_rc list_expired 0
expect_json list_expired '.approvals[].state' '["revoked", "expired"]'
run applied apply -i "$G" -e gated --yes
expect_rc applied 0
inv_sql_rev "$GV" $G2 $G1 "CREATE TABLE g_t2 (id int);" "DROP TABLE g_t2;"
run gate3 apply -i "$G" -e gated --yes
expect_rc gate3 3
H2=$(hash_of gate3)
run approve3 approve -i "$G" -e gated --plan "$H2" --by alice
expect_rc approve3 0
run list3 approvals -i "$G" -e gated --format json
expect_rc list3 0
expect_json list3 '.approvals[].state' '["revoked", "used", "valid"]'
inv_sql_rev "$GV" $G3 $G2 "CREATE TABLE g_t3 (id int);" "DROP TABLE g_t3;"
run list4 approvals -i "$G" -e gated --format json
expect_rc list4 0
expect_json list4 '.approvals[].state' '["revoked", "used", "stale"]'

# --- 5: rehash, through the gate
echo "-- reviewed: a comment added after the fact" >>"$GV/${G1}_rev.sql"
NEW=$(sha256sum "$GV/${G1}_rev.sql" | cut -d' ' -f1)
OLD=$(q gated "SELECT sha256 FROM migsync.applied WHERE revision = '$G1' AND outcome = 'applied'")
run mismatch check -i "$G" --format json
expect_rc mismatch 1
expect_json mismatch '.problems[].check' '["checksums"]'
run rehash_noreason rehash -i "$G" -e gated $G1
expect_rc rehash_noreason 2
expect_in rehash_noreason err "--reason TEXT is required"
run rehash_unknown rehash -i "$G" -e gated ffffffffffff --reason x
expect_rc rehash_unknown 2
run rehash_gated rehash -i "$G" -e gated $G1 --reason "comment only"
expect_rc rehash_gated 3
expect_in rehash_gated out "sha256 ${OLD:0:12} in the ledger, ${NEW:0:12} in the file"
expect_in rehash_gated err "--rehash $G1 --plan"
HR=$(hash_of rehash_gated)
check "the gate names the rehash to approve" test -n "$HR"
run approve_wrong approve -i "$G" -e gated --plan "$HR" --by alice
expect_rc approve_wrong 1
run approve_rehash approve -i "$G" -e gated --rehash $G1 --plan "$HR" --by alice
expect_rc approve_rehash 0
run rehash_dry rehash -i "$G" -e gated $G1 --reason "comment only" --dry-run
expect_rc rehash_dry 0
expect_in rehash_dry out "would rehash $G1"
run rehash rehash -i "$G" -e gated $G1 --reason "comment only" --format json
expect_rc rehash 0
expect_json rehash '.(outcome,revision,sha256,reason,plan_hash)' "[\"rehashed\", \"$G1\", \"$NEW\", \"comment only\", \"$HR\"]"
expect_json rehash '.databases[0].previous_sha256' "$OLD"
check "the ledger has the old and new hashes and the reason" \
	test "$(q gated "SELECT previous_sha256 || ' ' || sha256 || ' ' || note FROM migsync.applied WHERE outcome = 'rehashed'")" = "$OLD $NEW comment only"
run after_rehash check -i "$G" --format json
expect_rc after_rehash 0
expect_json after_rehash '.environments[0].checks.checksums.outcome' passed
run rehash_again rehash -i "$G" -e gated $G1 --reason "again"
expect_rc rehash_again 0
expect_in rehash_again out "nothing to do"
run log_rehash log -i "$G" -e gated
expect_rc log_rehash 0
grep -Eq "^[0-9T:-]+Z +$G1 +up +rehashed +0\.0 s +[^ ]+ +${HR:0:12} +sha256 ${OLD:0:12} -> ${NEW:0:12}: comment only$" "$tmp/log_rehash.out" &&
	pass "log: the rehash line" || fail "log: $(cat "$tmp/log_rehash.out")"
run list5 approvals -i "$G" -e gated --format json
expect_rc list5 0
expect_json list5 '.approvals[-1].state' used
