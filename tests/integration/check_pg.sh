#!/bin/bash
# migsync check against a real, throwaway PostgreSQL: dev, staging and
# prod brought to the head with `migsync apply` over native SQL
# revisions; exit 0 while they are consistent, exit 1 after a column is
# added by hand in staging (JUnit XML that parses, with a failing drift
# test case for staging; Markdown that names staging; JSON that parses),
# a revision file edited after it was applied and --fail-on-pending; a
# revision file that cannot be read reported by lint (MS040) while the
# rest is checked, and with the graph broken by it, reachability and lint
# only (exit 1); and exit 2 with a broken inventory.
#
# Run by meson with MIGSYNC = the binary, MIGSYNC_SOURCE_ROOT = the repo.
set -u

: "${MIGSYNC:?set MIGSYNC to the migsync binary}"
: "${MIGSYNC_SOURCE_ROOT:?set MIGSYNC_SOURCE_ROOT to the repository root}"

. "$MIGSYNC_SOURCE_ROOT/tests/integration/lib/common.sh"
. "$MIGSYNC_SOURCE_ROOT/tests/integration/lib/pg.sh"
. "$MIGSYNC_SOURCE_ROOT/tests/integration/lib/inventory.sh"

pg_setup check

# --- revisions r1..r3 and an inventory of three stages without gates
mkdir -p "$tmp/versions"
rev() {	# rev ID DOWN
	inv_sql_rev "$tmp/versions" "$1" "$2" "CREATE TABLE t_$1 (id int PRIMARY KEY, note text);" "DROP TABLE t_$1;"
}
R1=1a0000000001 R2=2b0000000002 R3=3c0000000003
rev $R1 ""
rev $R2 $R1
rev $R3 $R2

inv=$tmp/inventory
inv_gated "$inv" check-test "connect_timeout: 20" dev=0 staging=0 prod=0 || fail "inventory"

# expect_json(_file) NAME|FILE PATH [OP] VALUE (lib/common.sh): checks of
# the JSON output and the JUnit XML; E_x is the path of environment x,
# C_env_check the path of a JUnit test case
for e in dev staging prod down; do
	declare "E_$e=.environments[environment=$e]"
done
C_staging_drift='.testcases[classname=staging,name=drift]'

run apply apply -i "$inv" --yes
expect_rc apply 0

# --- 1: consistent: exit 0
echo "checking: all consistent"
run ok check -i "$inv" --junit "$tmp/ok.xml" --markdown "$tmp/ok.md"
expect_rc ok 0
grep -q '^check passed: 3 environments consistent$' "$tmp/ok.out" || fail "ok: no verdict: $(cat "$tmp/ok.out")"
expect_json_file "$tmp/ok.xml" '.(tag,name,failures)' '["testsuites", "migsync check", "0"]'
expect_json_file "$tmp/ok.xml" '.testcases | length' 16
expect_json_file "$tmp/ok.xml" '.testcases[].children[?tag=failure] | flatten' '[]'
expect_json_file "$tmp/ok.xml" '.testcases[classname=scripts,name=lint].tag' testcase
grep -q '^## migsync check: all consistent$' "$tmp/ok.md" || fail "ok: markdown heading: $(cat "$tmp/ok.md")"
grep -Eq '^\| environment \| state \| revision \| drift \| checksums \| notes \|$' "$tmp/ok.md" ||
	fail "ok: markdown table header: $(cat "$tmp/ok.md")"
run ok_json check -i "$inv" --format json
expect_rc ok_json 0
expect_json ok_json '.(ok,problems)' '[true, []]'
expect_json ok_json '.environments[].environment' '["dev", "staging", "prod"]'
expect_json ok_json '.environments[].checks[].outcome | flatten | unique' '["passed"]'
expect_json ok_json "$E_staging.checks.drift.summary" same
expect_json ok_json .lint.errors 0

# pending migrations are not a problem, unless asked
echo "checking: pending"
rev 4d0000000004 $R3
run pending check -i "$inv" --format json
expect_rc pending 0
expect_json pending "$E_prod.state" behind
expect_json pending "$E_prod.checks.status.outcome" passed
run pending_fail check -i "$inv" --fail-on-pending --format json
expect_rc pending_fail 1
expect_json pending_fail '.problems[].(environment,check)' '[["dev", "status"], ["staging", "status"], ["prod", "status"]]'
rm "$tmp/versions/4d0000000004_rev.sql"

# --- 2: a column added by hand in staging: exit 1
echo "checking: drift in staging"
pg_psql -d staging -c "ALTER TABLE t_$R2 ADD COLUMN extra int" >/dev/null || fail "alter staging"
run drift check -i "$inv" --junit "$tmp/drift.xml" --markdown "$tmp/drift.md"
expect_rc drift 1
grep -q '^check failed: 1 problem$' "$tmp/drift.out" || fail "drift: no verdict: $(cat "$tmp/drift.out")"
grep -q "environment \"staging\": drift: column public.t_$R2.extra: extra" "$tmp/drift.out" ||
	fail "drift: problem line: $(cat "$tmp/drift.out")"
expect_json_file "$tmp/drift.xml" "$C_staging_drift.children[tag=failure].message" has extra
expect_json_file "$tmp/drift.xml" .failures '"1"'
expect_json_file "$tmp/drift.xml" '.testcases[].children[?tag=failure] | flatten | length' 1
grep -q '^## migsync check: 1 problem$' "$tmp/drift.md" || fail "drift: markdown heading: $(cat "$tmp/drift.md")"
grep -Eq '^\| staging \| current \| '$R3' \| drift \(1 difference\) \| ok \|' "$tmp/drift.md" ||
	fail "drift: markdown row: $(cat "$tmp/drift.md")"
grep -q "^- environment \"staging\": drift" "$tmp/drift.md" || fail "drift: markdown problem: $(cat "$tmp/drift.md")"
run drift_json check -i "$inv" --format json
expect_rc drift_json 1
expect_json drift_json .ok false
expect_json drift_json '.problems[].(environment,check)' '[["staging", "drift"]]'
expect_json drift_json "$E_staging.drift[0].differences" "[{\"kind\": \"column\", \"object\": \"public.t_$R2.extra\", \"change\": \"extra\"}]"
run drift_dev check -i "$inv" -e dev -e prod
expect_rc drift_dev 0

# --- 3: a revision file edited after it was applied, and a failing XML-unfriendly message
echo "checking: checksum mismatch"
echo '-- edited: <b> & "quoted"' >>"$tmp/versions/${R1}_rev.sql"
run checksum check -i "$inv" -e dev --junit "$tmp/checksum.xml" --format json
expect_rc checksum 1
expect_json checksum '.problems[].(environment,check)' '[["dev", "checksums"]]'
expect_json checksum "$E_dev.checksum_mismatches[].revision" "[\"$R1\"]"
expect_json_file "$tmp/checksum.xml" '.testcases[classname=dev,name=checksums].children[].tag' has failure

# --- 3b: a revision file that cannot be read is a lint problem, not a stop
echo "checking: an unreadable revision file"
# broken_inventory NAME: a copy of the inventory reading $tmp/NAME, and a
# fourth environment on a port nobody listens on
broken_inventory() {
	mkdir -p "$tmp/$1" "$tmp/inv_$1"
	for f in "$tmp/versions"/*.sql; do
		grep -v '^-- edited' "$f" >"$tmp/$1/$(basename "$f")"
	done
	cp "$inv"/*.yaml "$tmp/inv_$1/"
	sed -i "s|scripts: ../versions|scripts: ../$1|" "$tmp/inv_$1/inventory.yaml"
}
bad_py() {	# bad_py FILE: a .py revision whose revision is not a literal (line 4)
	printf '"""broken"""\nimport uuid\n\nrevision = uuid.uuid4().hex\ndown_revision = None\n' >"$1"
}
broken_inventory leaf
bad_py "$tmp/leaf/5e0000000005_broken.py"
run leaf check -i "$tmp/inv_leaf" -e dev -e prod --format json
expect_rc leaf 1
expect_json leaf .graph_error null
expect_json leaf '.problems[].(environment,check)' '[[null, "lint"]]'
expect_json leaf '.problems[0].message' has '5e0000000005_broken.py:4: MS040 '
expect_json leaf '.problems[0].message' has 'not a string literal'
expect_json leaf '.environments[].checks[].outcome | flatten | unique' '["passed"]'
expect_json leaf "$E_prod.state" current
expect_json leaf '.lint.findings[?severity=error][].(code,line)' '[["MS040", 4]]'

# the middle of the chain unreadable: no graph, so reachability and lint only
broken_inventory middle
rm "$tmp/middle/${R2}_rev.sql"
bad_py "$tmp/middle/${R2}_rev.py"
hold_port down_port
cat >"$tmp/inv_middle/down.yaml" <<EOF
database: { host: 127.0.0.1, port: $down_port, dbname: x, user: postgres, connect_timeout: 2 }
EOF
sed -i 's|rollout: \[dev, staging, prod\]|rollout: [dev, staging, prod, down]|' "$tmp/inv_middle/inventory.yaml"
run middle check -i "$tmp/inv_middle" --format json --junit "$tmp/middle.xml"
expect_rc middle 1
expect_json middle .ok false
expect_json middle .graph_error has "$R3"
expect_json middle '.problems[0].(environment,check)' '["down", "reachable"]'
expect_json middle '.problems[?check!=reachable][?check!=lint]' '[]'
expect_json middle '.problems[].message | join' has "${R2}_rev.py:4: MS040 "
expect_json middle '.problems[].message | join' has 'were not run'
for e in dev staging prod; do
	expect_json middle ".environments[environment=$e].checks.reachable.outcome" passed
	for k in status order drift checksums; do
		expect_json middle ".environments[environment=$e].checks.$k.outcome" skipped
		expect_json middle ".environments[environment=$e].checks.$k.messages[0]" has 'not run'
	done
done
expect_json middle "$E_down.checks.reachable.outcome" failed
expect_json_file "$tmp/middle.xml" '.testcases[classname=prod,name=status].children[].tag' has skipped
expect_json_file "$tmp/middle.xml" '.testcases[classname=scripts,name=lint].children[].tag' has failure
run middle_text check -i "$tmp/inv_middle"
expect_rc middle_text 1
grep -Eq '^prod +not run +'"$R3"' +- +- *$' "$tmp/middle_text.out" || fail "middle: prod row: $(cat "$tmp/middle_text.out")"
grep -q "lint: ${tmp}/middle/${R2}_rev.py:4: MS040 " "$tmp/middle_text.out" ||
	grep -q "lint: .*${R2}_rev.py:4: MS040 " "$tmp/middle_text.out" || fail "middle: no MS040 line: $(cat "$tmp/middle_text.out")"
# status itself still refuses to guess
run middle_status status -i "$tmp/inv_middle"
expect_rc middle_status 2

# --- 4: could not run: exit 2
echo "checking: could not run"
echo "rollout: [dev, staging" >>"$inv/inventory.yaml"
run broken check -i "$inv" --junit "$tmp/broken.xml"
expect_rc broken 2
[ -s "$tmp/broken.out" ] && fail "broken: unexpected stdout: $(cat "$tmp/broken.out")"
[ -e "$tmp/broken.xml" ] && fail "broken: a JUnit file was written"
run bad_option check --bogus
expect_rc bad_option 2
grep -q "Try 'migsync check --help'" "$tmp/bad_option.err" || fail "bad option: no Try line"
run help check --help
expect_rc help 0
grep -q -- '--junit=FILE' "$tmp/help.out" || fail "--help: no --junit"

finish check_pg
