#!/bin/bash
# migsync stamp and migsync consolidate against a real, throwaway
# PostgreSQL: dev (no gate) and staging (one approval) on one server,
# the stock-assistant native SQL revisions.
#
#   stamp: refused when the rows differ from --expect (exit 1, nothing
#   changed); done with the right --expect (version row changed, ledger
#   row "stamped", schema untouched); the default expectation is the rows
#   read, which are printed; a gated stamp without approval exits 3 with
#   the approve command, and its hash is not an apply plan's.
#   consolidate --check: blocks on different heads, on drift (a column
#   added by hand), on a pending approval; passes when all agree (text
#   and JSON).
#   consolidate --stamp: the 4 revisions squashed into one baseline; the
#   stamp is refused while one schema differs, stops at the staging gate,
#   and moves every environment to the baseline once approved.
#
# Run by meson with MIGSYNC = the binary, MIGSYNC_SOURCE_ROOT = the repo.
set -u

: "${MIGSYNC:?set MIGSYNC to the migsync binary}"
: "${MIGSYNC_SOURCE_ROOT:?set MIGSYNC_SOURCE_ROOT to the repository root}"

. "$MIGSYNC_SOURCE_ROOT/tests/integration/lib/common.sh"
. "$MIGSYNC_SOURCE_ROOT/tests/integration/lib/pg.sh"
. "$MIGSYNC_SOURCE_ROOT/tests/integration/lib/inventory.sh"

pg_setup stamp

# --- revisions and inventory
cp -r "$MIGSYNC_SOURCE_ROOT/examples/stock-assistant/versions" "$tmp/versions" || fail "copy versions"
R2=8b2e4f6a9c31 R3=c52d9e07a4f8 R4=e19b6f3d2a77 BASE=ba5e11e00001
inv=$tmp/inventory
inv_gated "$inv" stamp-test "connect_timeout: 20, lock_wait: 30s" dev=0 staging=1 || fail "inventory"

# run NAME -- ARGS... (lib/common.sh) against this inventory
RUN_ARGS=(-i "$inv")
# the schema as psql sees it, without the version table and the ledger
schema_of() {
	pg_psql -d "$1" -At -c "SELECT string_agg(table_name || '.' || column_name || ':' || data_type || ':' || is_nullable, ',' ORDER BY table_name, column_name)
		FROM information_schema.columns WHERE table_schema = 'public' AND table_name <> 'alembic_version'"
}
last_ledger() {	# outcome|revision|plan_hash of the newest ledger row
	pg_psql -d "$1" -At -c "SELECT outcome || '|' || revision || '|' || coalesce(plan_hash, '') FROM migsync.applied ORDER BY id DESC LIMIT 1"
}

# --- both environments at R4 (staging through its gate)
run apply1 -- apply --yes
expect_rc apply1 3
run approve1 -- approve -e staging --plan "$(hash_of apply1)" --by alice
expect_rc approve1 0
run apply2 -- apply --yes
expect_rc apply2 0
expect_version dev $R4 "setup"
expect_version staging $R4 "setup"
schema_before=$(schema_of dev)

# --- 1: the rows differ from --expect: refused, nothing changed
echo "checking: stamp refused when the rows differ from --expect"
run wrong -- stamp -e dev --to $R3 --expect $R2
expect_rc wrong 1
expect_in wrong err "expected $R2"
expect_in wrong out "version rows $R4"
expect_version dev $R4 "refused stamp"
[ "$(pg_psql -d dev -At -c "SELECT count(*) FROM migsync.applied WHERE outcome = 'stamped'")" = 0 ] ||
	fail "a refused stamp left a ledger row"

# --- 2: the right --expect: only the version row changes, recorded
echo "checking: stamp with the right --expect"
run right -- stamp -e dev --to $R3 --expect $R4
expect_rc right 0
expect_in right out "stamped $R4 -> $R3"
expect_version dev $R3 "stamp"
[ "$(schema_of dev)" = "$schema_before" ] || fail "stamp changed the schema"
last=$(last_ledger dev)
case $last in
stamped\|$R3\|[0-9a-f]*) ;;
*) fail "the newest ledger row is \"$last\", expected a stamped row for $R3 with a plan hash" ;;
esac

# default expectation: the rows read before the lock, printed
run back -- stamp -e dev --to $R4
expect_rc back 0
expect_in back out "version rows $R3"
expect_version dev $R4 "stamp back"
run again -- stamp -e dev --to $R4
expect_rc again 0
expect_in again out "already at $R4"

# --- 3: a gated stamp without approval
echo "checking: a gated stamp stops at the gate"
run gated -- stamp -e staging --to $R3
expect_rc gated 3
expect_in gated err "migsync approve -i $inv -e staging --stamp --to $R3 --plan "
expect_version staging $R4 "gated stamp"
HS=$(hash_of gated)
[ -n "$HS" ] || fail "no stamp hash in: $(cat "$tmp/gated.err")"
run plan_json -- plan -e staging --to $R3 --format json
expect_rc plan_json 0
grep -qF "$HS" "$tmp/plan_json.out" && fail "the stamp hash is also a plan hash"
run dry -- stamp -e staging --to $R3 --dry-run
expect_rc dry 3
run approve_s -- approve -e staging --stamp --to $R3 --plan "$HS" --by alice
expect_rc approve_s 0
run stamped -- stamp -e staging --to $R3 --expect $R4 --format json
expect_rc stamped 0
expect_json stamped '.(outcome,plan_hash)' "[\"stamped\", \"$HS\"]"
expect_json stamped '.(to,expect)' "[[\"$R3\"], [\"$R4\"]]"
expect_json stamped '.targets[0].heads' "[\"$R4\"]"
expect_version staging $R3 "approved stamp"
[ "$(last_ledger staging)" = "stamped|$R3|$HS" ] || fail "staging ledger: $(last_ledger staging)"

# --- 4: consolidate --check
echo "checking: consolidate --check blocks on different heads"
run heads -- consolidate --check
expect_rc heads 1
expect_in heads out "not safe to squash"
expect_in heads out "environment \"staging\": at $R3, not at the head $R4"

run re_gated -- stamp -e staging --to $R4
expect_rc re_gated 3
run approve_r -- approve -e staging --stamp --to $R4 --plan "$(hash_of re_gated)" --by alice
expect_rc approve_r 0
run restored -- stamp -e staging --to $R4
expect_rc restored 0
expect_version staging $R4 "restored"

echo "checking: consolidate --check passes when all agree"
run safe -- consolidate --check
expect_rc safe 0
expect_in safe out "safe to squash: 2 databases at $R4"
run safe_json -- consolidate --check --format json
expect_rc safe_json 0
expect_json safe_json '.(safe,head,blockers)' "[true, \"$R4\", []]"
expect_json safe_json '.targets[].environment' '["dev", "staging"]'
expect_json safe_json '.targets[].fingerprint | unique | length' 1

echo "checking: consolidate --check blocks on drift"
pg_psql -d staging -c "ALTER TABLE stock_info ADD COLUMN hotfix text" >/dev/null || fail "alter"
run drift -- consolidate --check --format json
expect_rc drift 1
expect_json drift .safe false
expect_json drift '.blockers[?check=schema][].environment' '["staging"]'
expect_json drift '.blockers[check=schema].message' has hotfix
pg_psql -d staging -c "ALTER TABLE stock_info DROP COLUMN hotfix" >/dev/null || fail "alter back"

echo "checking: consolidate --check blocks on a pending approval"
run approve_p -- approve -e staging --plan "$(printf 'ab%.0s' $(seq 32))" --by bob --expires 1h --force
expect_rc approve_p 0
run pending -- consolidate --check
expect_rc pending 1
expect_in pending out "approval by \"bob\""
# withdrawn by hand (there is no command for it): no timing games on a loaded machine
pg_psql -d staging -c "DELETE FROM migsync.approvals WHERE approver = 'bob'" >/dev/null || fail "withdraw"
run safe2 -- consolidate --check
expect_rc safe2 0

# --- 5: squash into a baseline and consolidate --stamp
echo "checking: consolidate --stamp"
mkdir -p "$tmp/old_versions"
{
	echo "-- migsync:revision $BASE"
	echo "-- migsync:down_revision none"
	echo "-- migsync:message baseline: the schema of $R4, squashed"
	echo
	echo "-- migsync:up"
	for f in "$tmp"/versions/*.sql; do
		sed -n '/^-- migsync:up/,/^-- migsync:down/p' "$f" | sed '/^-- migsync:\(up\|down\)/d'
	done
} >"$tmp/baseline.sql"
mv "$tmp"/versions/*.sql "$tmp/old_versions/" || fail "move the old revisions"
mv "$tmp/baseline.sql" "$tmp/versions/${BASE}_baseline.sql" || fail "write the baseline"

# the baseline builds the same schema on an empty database
pg_psql -d postgres -c "CREATE DATABASE scratch" >/dev/null || fail "createdb scratch"
sed -n '/^-- migsync:up/,$p' "$tmp/versions/${BASE}_baseline.sql" | pg_psql -d scratch >/dev/null ||
	fail "the baseline does not run"
[ "$(schema_of scratch)" = "$(schema_of dev)" ] || fail "the baseline builds another schema"

pg_psql -d staging -c "ALTER TABLE stock_info ADD COLUMN hotfix text" >/dev/null || fail "alter"
run refused -- consolidate --stamp $BASE --expect $R4 --yes
expect_rc refused 1
expect_in refused err "schema differs"
expect_in refused err "nothing was stamped"
expect_version dev $R4 "refused consolidate"
expect_version staging $R4 "refused consolidate"
pg_psql -d staging -c "ALTER TABLE stock_info DROP COLUMN hotfix" >/dev/null || fail "alter back"

run unknown -- consolidate --stamp 0123456789ab --expect $R4
expect_rc unknown 2

run cons1 -- consolidate --stamp $BASE --expect $R4 --yes
expect_rc cons1 3
expect_in cons1 out "dev: stamped $R4 -> $BASE"
expect_version dev $BASE "consolidate, dev"
expect_version staging $R4 "consolidate, staging gated"
run approve_c -- approve -e staging --stamp --to $BASE --plan "$(hash_of cons1)" --by alice
expect_rc approve_c 0
# the expected head defaults to the one the others still share
run cons2 -- consolidate --stamp $BASE --yes
expect_rc cons2 0
expect_in cons2 out "dev: already at $BASE"
expect_in cons2 out "staging: stamped $R4 -> $BASE"
expect_version staging $BASE "consolidate, staging"
[ "$(schema_of staging)" = "$schema_before" ] || fail "consolidate changed the schema"
for db in dev staging; do
	case $(last_ledger $db) in
	stamped\|$BASE\|*) ;;
	*) fail "$db ledger: $(last_ledger $db)" ;;
	esac
done

run after -- consolidate --check
expect_rc after 0
expect_in after out "at $BASE"

echo "ok"
