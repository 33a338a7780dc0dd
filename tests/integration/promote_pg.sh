#!/bin/bash
# migsync plan / approve / apply / downgrade against a real, throwaway
# PostgreSQL: dev, staging and prod on one server with gates of 0, 1 and 2
# approvals, the stock-assistant native SQL revisions. A full promotion
# through the gates (stopping with exit 3 and the approve command), the
# approvals that must not count (another environment, expired, stale plan,
# the same approver twice), a SQL error in the middle of staging (staging
# left at its last good revision, prod untouched, the failure in the
# ledger, a rerun after the fix), plan --format json against the contract,
# --dry-run, and downgrade -1.
#
# Run by meson with MIGSYNC = the binary, MIGSYNC_SOURCE_ROOT = the repo.
set -u

: "${MIGSYNC:?set MIGSYNC to the migsync binary}"
: "${MIGSYNC_SOURCE_ROOT:?set MIGSYNC_SOURCE_ROOT to the repository root}"

. "$MIGSYNC_SOURCE_ROOT/tests/integration/lib/common.sh"
. "$MIGSYNC_SOURCE_ROOT/tests/integration/lib/pg.sh"
. "$MIGSYNC_SOURCE_ROOT/tests/integration/lib/inventory.sh"

pg_setup promote

# --- revisions and inventory
cp -r "$MIGSYNC_SOURCE_ROOT/examples/stock-assistant/versions" "$tmp/versions" || fail "copy versions"
R1=3f9a1c2b7d10 R4=e19b6f3d2a77 R5=5a5a5a5a5a05 R6=6b6b6b6b6b06
inv=$tmp/inventory
inv_gated "$inv" promote-test "connect_timeout: 20, lock_wait: 30s" dev=0 staging=1 prod=2 ||
	fail "inventory"
echo "  approvers: [alice, bob, carol]" >>"$inv/prod.yaml"

# run NAME [VAR=VALUE...] -- ARGS... (lib/common.sh) against this inventory
RUN_ARGS=(-i "$inv")

# --- 1: plan --format json is the contract
echo "checking: plan --format json"
run plan_json -- plan --format json
expect_rc plan_json 0
expect_json plan_json .target "[\"$R4\"]"
expect_json plan_json '.stages[].environment' '["dev", "staging", "prod"]'
expect_json plan_json '.stages[].plan_hash | unique | length' 3
for i in 0 1 2; do	# stage i has a gate of i approvals
	expect_json plan_json ".stages[$i].plan_hash" =~ '^[0-9a-f]{64}$'
	expect_json plan_json ".stages[$i].gate.(approvals,approved_by)" "[$i, []]"
	expect_json plan_json ".stages[$i].steps | length" 4
	expect_json plan_json ".stages[$i].steps[].direction | unique" '["up"]'
	for k in 0 1 2 3; do
		step=".stages[$i].steps[$k]"
		file=$(json_get "$tmp/plan_json.out" "$step.file")
		expect_json plan_json "$step.sha256" "\"$(sha256sum <"$file" | cut -d' ' -f1)\""
		rev=$(json_get "$tmp/plan_json.out" "$step.revision")
		check "plan_json: $step.file starts with its revision $rev" test "${file##*/}" != "${file##*/$rev}"
	done
done

# --- 2: --dry-run changes nothing
echo "checking: apply --dry-run"
run dry -- apply --dry-run --yes
expect_rc dry 3
expect_in dry out "nothing was changed"
for db in dev staging prod; do
	expect_version $db none "after --dry-run"
	[ "$(pg_psql -d $db -At -c "SELECT count(*) FROM pg_namespace WHERE nspname = 'migsync'")" = 0 ] ||
		fail "--dry-run created the ledger in $db"
done

# --- 3: without a terminal, apply stops at staging with exit 3 and the approve command
echo "checking: apply stops at the staging gate"
run first -- apply --yes
expect_rc first 3
expect_version dev $R4 "first apply"
expect_version staging none "first apply"
expect_in first err "migsync approve -i $inv -e staging --plan "
H1=$(hash_of first)
[ -n "$H1" ] || fail "no plan hash in: $(cat "$tmp/first.err")"

# --- 4: an approval for another environment does not count
echo "checking: an approval for another environment is refused"
run approve_dev USER=alice -- approve -e dev --plan "$H1" --force
expect_rc approve_dev 0
run other_env -- apply --yes
expect_rc other_env 3
expect_version staging none "approval for dev"

# --- 5: an expired approval does not count
echo "checking: an expired approval is refused"
run approve_exp -- approve -e staging --plan "$H1" --by alice --expires 1h
expect_rc approve_exp 0
run expired MIGSYNC_TEST_CLOCK_OFFSET=3601 -- apply --yes
expect_rc expired 3
expect_in expired err "expired"
expect_version staging none "expired approval"
run list MIGSYNC_TEST_CLOCK_OFFSET=3601 -- approvals -e staging
expect_rc list 0
expect_in list out "expired"
run list_json MIGSYNC_TEST_CLOCK_OFFSET=3601 -- approvals -e staging --format json
expect_rc list_json 0
expect_json list_json '.approvals[].(plan_hash,approver,expired)' "[[\"$H1\", \"alice\", true]]"

# --- 6: an approval for a stale plan does not count
echo "checking: an approval for a stale plan is refused"
run approve_h1 -- approve -e staging --plan "$H1" --by alice --comment "looks good"
expect_rc approve_h1 0
cat >"$tmp/versions/${R5}_add_notes.sql" <<EOF
-- migsync:revision $R5
-- migsync:down_revision $R4
-- migsync:message add notes to stock info

-- migsync:up
ALTER TABLE stock_info ADD COLUMN notes text;

-- migsync:down
ALTER TABLE stock_info DROP COLUMN notes;
EOF
run stale -- apply --yes
expect_rc stale 3
expect_in stale err "another plan"
expect_version dev $R5 "stale approval"
expect_version staging none "stale approval"

# --- 7: a SQL error in the middle of staging
echo "checking: a failing step in staging"
cat >"$tmp/versions/${R6}_add_limits.sql" <<EOF
-- migsync:revision $R6
-- migsync:down_revision $R5
-- migsync:message add position limits

-- migsync:up
CREATE TABLE position_limits (third_code varchar(16) PRIMARY KEY, max_qty integer NOT NULL);
DO \$\$ BEGIN IF current_database() = 'staging' THEN RAISE EXCEPTION 'staging has positions over the new limit'; END IF; END \$\$;

-- migsync:down
DROP TABLE position_limits;
EOF
run before_fail -- apply --yes
expect_rc before_fail 3
expect_version dev $R6 "dev before the failure"
H3=$(hash_of before_fail)
run approve_h3 -- approve -e staging --plan "$H3" --by bob --format json
expect_rc approve_h3 0
expect_json approve_h3 '.(environment,plan_hash,approver)' "[\"staging\", \"$H3\", \"bob\"]"
run failing -- apply --yes
expect_rc failing 1
expect_in failing err "staging has positions over the new limit"
expect_in failing err "${R6}_add_limits.sql"
expect_version staging $R5 "after the failure"
expect_version prod none "after the failure in staging"
[ "$(pg_psql -d staging -At -c "SELECT count(*) FROM migsync.applied WHERE revision = '$R6' AND outcome = 'failed' AND error LIKE '%over the new limit%'")" = 1 ] ||
	fail "the ledger of staging does not hold the failure: $(pg_psql -d staging -At -c 'SELECT revision, outcome, error FROM migsync.applied')"
[ "$(pg_psql -d staging -At -c "SELECT count(*) FROM migsync.applied WHERE outcome = 'applied' AND direction = 'up'")" = 5 ] ||
	fail "the ledger of staging does not hold the 5 applied steps"

# the fix changes the file: the plan changes, and so does what must be approved
sed -i '/RAISE EXCEPTION/d' "$tmp/versions/${R6}_add_limits.sql"
run after_fix -- apply --yes
expect_rc after_fix 3
expect_in after_fix err "-e staging --plan"
H4=$(hash_of after_fix)
[ "$H4" != "$H3" ] || fail "the plan hash did not change with the file"
run approve_h4 -- approve -e staging --plan "$H4" --by bob
expect_rc approve_h4 0
run rerun -- apply --yes
expect_rc rerun 3
expect_version staging $R6 "rerun after the fix"
expect_in rerun err "-e prod --plan"

# --- 8: prod needs two distinct approvers from its list
echo "checking: prod needs two distinct approvers"
HP=$(hash_of rerun)
run approve_p1 -- approve -e prod --plan "$HP" --by alice
expect_rc approve_p1 0
run approve_p2 -- approve -e prod --plan "$HP" --by alice
expect_rc approve_p2 0
run approve_p3 -- approve -e prod --plan "$HP" --by mallory
expect_rc approve_p3 0
expect_in approve_p3 err "not on the approvers list"
run one_approver -- apply --yes
expect_rc one_approver 3
expect_in one_approver err "1 of 2 approvals"
expect_version prod none "one approver twice"
run approve_p4 -- approve -e prod --plan "$HP" --by bob
expect_rc approve_p4 0
run final -- apply --yes
expect_rc final 0
for db in dev staging prod; do
	expect_version $db $R6 "full promotion"
done
run again -- apply --yes
expect_rc again 0
expect_in again out "nothing to do"

# --- 9: downgrade -1 on dev
echo "checking: downgrade -e dev --to -1"
run down -- downgrade -e dev --to -1 --yes --format json
expect_rc down 0
expect_json down '.stages[].(environment,outcome,error)' '[["dev", "applied", null]]'
expect_json down '.stages[0].steps[].(revision,direction)' "[[\"$R6\", \"down\"]]"
expect_version dev $R5 "downgrade -1"
[ "$(pg_psql -d dev -At -c "SELECT count(*) FROM pg_tables WHERE tablename = 'position_limits'")" = 0 ] ||
	fail "downgrade did not run the down section"
[ "$(pg_psql -d dev -At -c "SELECT count(*) FROM migsync.applied WHERE revision = '$R6' AND direction = 'down' AND outcome = 'applied'")" = 1 ] ||
	fail "the downgrade is not in the ledger"

echo "ok"
exit 0
