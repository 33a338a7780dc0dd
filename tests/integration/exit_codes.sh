#!/usr/bin/env bash
# exit_codes.sh: every command exits with the codes its --help documents,
# and each documented code is reached. One table drives it: each row is a
# code, a name and a command line, run in order against a real,
# throwaway PostgreSQL (dev with no gate, prod with a gate of one
# approval), an inventory whose only database is a closed port, an
# invalid inventory, and revision scripts with two heads.
#
# After the table, the test reads the "Exit status:" list of every
# command's --help (the commands of `migsync --help`) and fails for each
# documented code that no row of the table reached: a new command or a new
# code needs a row here.
#
# Environment: MIGSYNC (the binary), MIGSYNC_SOURCE_ROOT (the repository).
set -u

: "${MIGSYNC:?set MIGSYNC to the migsync binary}"
: "${MIGSYNC_SOURCE_ROOT:?set MIGSYNC_SOURCE_ROOT to the repository root}"

. "$MIGSYNC_SOURCE_ROOT/tests/integration/lib/common.sh"
. "$MIGSYNC_SOURCE_ROOT/tests/integration/lib/pg.sh"
. "$MIGSYNC_SOURCE_ROOT/tests/integration/lib/inventory.sh"

pg_setup exit-codes
FAIL_GOES_ON=1
unset MIGSYNC_INVENTORY

R1=e1c0de000001 R2=e1c0de000002
V=$tmp/versions
mkdir -p "$V" "$tmp/heads2" "$tmp/squashed"
inv_sql_rev "$V" $R1 "" "CREATE TABLE t1 (id int);" "DROP TABLE t1;" || fail "revision 1"
inv_sql_rev "$V" $R2 $R1 "CREATE TABLE t2 (id int);" "DROP TABLE t2;" || fail "revision 2"

# dev (no gate) and prod (one approval)
inv=$tmp/inv
inv_gated "$inv" exit-codes "connect_timeout: 10" dev=0 prod=1 || fail "inventory"

# one environment on a port where nothing listens
hold_port closed
down=$tmp/down
inv_head "$down" exit-down "$V" "" gone || fail "inventory down"
inv_env "$down" gone postgres "$closed" postgres 2 || fail "inventory down: gone.yaml"

# an inventory that cannot be read
broken=$tmp/broken
mkdir -p "$broken"
printf 'project: broken\nrollout: [dev\n' >"$broken/inventory.yaml"

# two heads: a lint error
heads2=$tmp/heads2
inv_sql_rev "$heads2" $R1 "" "SELECT 1;" || fail "two heads"
inv_sql_rev "$heads2" $R2 "" "SELECT 2;" || fail "two heads"

# reached["command code"]: a row of the table reached that code
declare -A reached

# row CODE NAME ARGS...: migsync ARGS exits CODE
row() {
	local code=$1 name=$2 cmd

	shift 2
	cmd=$1
	run "$name" -- "$@"
	if [ "$(rc_of "$name")" = "$code" ]; then
		reached["$cmd $code"]=1
		pass "$cmd exits $code: migsync $(printf '%q ' "$@" | sed "s#$tmp#\$tmp#g")"
	else
		fail "$cmd: migsync $* exited $(rc_of "$name"), expected $code; stderr: $(head -c 600 "$tmp/$name.err")"
	fi
}

# --- the revision graph
row 0 heads_ok heads --scripts "$V"
row 2 heads_none heads --scripts "$tmp/nowhere"
row 0 history_ok history --scripts "$V"
row 2 history_range history --scripts "$V" -r ffffffffffff:
row 0 branches_ok branches --scripts "$V"
row 2 branches_usage branches --scripts "$V" --bogus
row 0 show_ok show --scripts "$V" $R1
row 2 show_unknown show --scripts "$V" ffffffffffff
row 0 graph_ok graph --scripts "$V"
row 2 graph_usage graph --scripts "$V" --format=text
row 0 lint_ok lint --scripts "$V"
row 1 lint_heads lint --scripts "$heads2"
row 2 lint_none lint --scripts "$tmp/nowhere"

# --- environments, databases empty
row 0 inventory_ok inventory -i "$inv"
row 2 inventory_broken inventory -i "$broken"
row 1 inventory_no_scripts inventory -i "$inv" --scripts "$tmp/nowhere"
row 0 status_ok status -i "$inv"
row 1 status_down status -i "$down"
row 0 status_exit_zero status -i "$down" --exit-zero
row 2 status_broken status -i "$broken"
row 0 drift_ok drift -i "$inv"
row 1 drift_down drift -i "$down"
row 2 drift_broken drift -i "$broken"
row 0 check_ok check -i "$inv"
row 1 check_down check -i "$down"
row 2 check_broken check -i "$broken"
# report merge: the JSON of a check's shards
for k in 0 1; do
	run "shard$k" check -i "$inv" --shard "$k/2" --format json
	expect_rc "shard$k" 0
done
run shard_down check -i "$down" --shard 0/1 --format json
expect_rc shard_down 1
row 0 report_ok report merge "$tmp/shard1.out" "$tmp/shard0.out"
row 1 report_down report merge "$tmp/shard_down.out"
row 2 report_missing report merge "$tmp/shard1.out"
row 0 plan_ok plan -i "$inv"
row 1 plan_down plan -i "$down"
row 2 plan_to plan -i "$inv" --to ffffffffffff

# --- promotion: dev goes through, prod waits for an approval
row 1 hook_down hook -i "$down" -e gone --wait 1
row 2 hook_usage hook -i "$inv"
row 3 apply_gated apply -i "$inv" --yes
expect_version dev $R2 "apply: dev went through"
expect_version prod none "apply: prod waits"
row 3 hook_gated hook -i "$inv" -e prod --format json
expect_json hook_gated .action '"gated"'
hash=$(hash_of apply_gated)
[ -n "$hash" ] || fail "apply printed no approve command: $(cat "$tmp/apply_gated.err")"
row 1 apply_down apply -i "$down" --yes
row 2 apply_broken apply -i "$broken" --yes
row 1 approve_other approve -i "$inv" -e prod --by alice --plan "$(printf '0%.0s' {1..64})"
row 2 approve_malformed approve -i "$inv" -e prod --by alice --plan 12345
row 1 approvals_down approvals -i "$down" -e gone
row 2 approvals_unknown approvals -i "$inv" -e nosuch
# the 12 digits the tables print are enough
row 0 approve_ok approve -i "$inv" -e prod --by alice --plan "${hash:0:12}"
row 0 approvals_ok approvals -i "$inv" -e prod --format json
expect_json approvals_ok '.approvals[].plan_hash' "[\"$hash\"]"
row 0 apply_ok apply -i "$inv" --yes
expect_version prod $R2 "apply after the approval"
row 0 hook_ok hook -i "$inv" -e prod
row 0 log_ok log -i "$inv" -e prod
row 1 log_down log -i "$down" -e gone
row 2 log_usage log -i "$inv"

# --- rehash: nothing to do; a changed file waits at prod's gate
cp -r "$V" "$tmp/changed" || fail "copy the revisions"
for f in "$tmp/changed"/*"$R1"*; do printf '%s\n' "-- reworded comment" >>"$f"; done
row 0 rehash_nothing rehash -i "$inv" -e prod $R1 --reason same
row 1 rehash_down rehash -i "$down" -e gone $R1 --reason x
row 2 rehash_usage rehash -i "$inv" -e prod $R1
row 3 rehash_gated rehash -i "$inv" --scripts "$tmp/changed" -e prod $R1 --reason "a reworded comment" --yes

# --- stamp, downgrade, resolve
row 2 stamp_to stamp -i "$inv" -e dev --to ffffffffffff --yes
row 1 stamp_expect stamp -i "$inv" -e dev --to $R1 --expect $R1 --yes
row 0 stamp_ok stamp -i "$inv" -e dev --to $R1 --expect $R2 --yes
expect_version dev $R1 "stamp"
row 0 stamp_back stamp -i "$inv" -e dev --to $R2 --expect $R1 --yes
row 3 stamp_gated stamp -i "$inv" -e prod --to $R1 --expect $R2 --yes
# the approve command of the hint, pasted into a shell, is the same words,
# whatever the inventory's path holds
odd="$tmp/my inv \$(touch pwned) it's"
cp -r "$inv" "$odd" || fail "copy the inventory"
row 3 stamp_odd stamp -i "$odd" -e prod --to $R1 --expect $R2 --yes
pasted=$(sed -n 's/^  \(migsync approve .*\)$/\1/p' "$tmp/stamp_odd.err")
words=$(cd "$tmp" && eval "printf '%s\n' $pasted" | sed -n 4p)
[ "$words" = "$odd" ] && pass "the hint quotes the inventory path for the shell" ||
	fail "the hint's -i is \"$words\" once pasted, expected \"$odd\": $pasted"
[ ! -e "$tmp/pwned" ] && pass "pasting the hint runs nothing else" || fail "pasting the hint ran a command"
row 1 downgrade_down downgrade -i "$down" -e gone --to base --yes
row 2 downgrade_to downgrade -i "$inv" -e prod --to ffffffffffff --yes
row 3 downgrade_gated downgrade -i "$inv" -e prod --to $R1 --yes
row 0 downgrade_ok downgrade -i "$inv" -e dev --to base --yes
expect_version dev none "downgrade"
row 1 resolve_nothing resolve -i "$inv" -e prod $R2 --applied
row 2 resolve_usage resolve -i "$inv" -e prod $R2
# a step a crash left in progress (what a killed non-transactional run leaves)
pg_psql -d prod -c "UPDATE migsync.applied SET outcome = 'in_progress' WHERE revision = '$R2'" >/dev/null ||
	fail "mark $R2 in progress"
row 0 resolve_ok resolve -i "$inv" -e prod $R2 --applied

# --- consolidate: dev is at base, prod at the head
row 1 consolidate_blocked consolidate -i "$inv" --check
row 2 consolidate_usage consolidate -i "$inv"
row 0 apply_dev apply -i "$inv" -e dev --yes
row 0 consolidate_ok consolidate -i "$inv" --check
# the squashed history: one baseline revision in place of both
B=e1c0deba5e00
inv_sql_rev "$tmp/squashed" $B "" "CREATE TABLE t1 (id int); CREATE TABLE t2 (id int);" || fail "baseline"
row 3 consolidate_gated consolidate -i "$inv" --scripts "$tmp/squashed" --stamp $B --expect $R2 --yes

# --- every code each command documents was reached
"$MIGSYNC" --help >"$tmp/help.txt" || fail "migsync --help"
commands=$(awk '/^Options every command takes/ { exit } /^  [a-z]+  +[a-z]/ { print $1 }' "$tmp/help.txt")
[ -n "$commands" ] || fail "no command in migsync --help"
for c in $commands; do
	"$MIGSYNC" "$c" --help >"$tmp/$c.help" || fail "$c --help"
	codes=$(awk '/^Exit status:/ { on = 1; next } on && /^  [0-9]  / { print $1; next } on && !/^     / { on = 0 }' "$tmp/$c.help")
	if [ -z "$codes" ]; then
		fail "$c --help has no \"Exit status:\" list"
		continue
	fi
	for code in $codes; do
		[ -n "${reached["$c $code"]:-}" ] && pass "$c: documented code $code reached" ||
			fail "$c: its --help documents exit status $code, which no row of this test reached"
	done
	for k in "${!reached[@]}"; do
		[ "${k% *}" = "$c" ] || continue
		grep -qx "${k#* }" <<<"$codes" || fail "$c exited ${k#* } in this test, which its --help does not document"
	done
done
finish exit_codes
