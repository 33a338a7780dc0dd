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

# expect_py FILE PYTHON (lib/common.sh): the parsed FILE as doc (JSON) or
# root (XML); cases are the JUnit test cases, env the environments
PY_PRELUDE='
if root is not None:
    cases = {(c.get("classname"), c.get("name")): c for c in root.iter("testcase")}
else:
    env = {e["name"]: e for e in doc["environments"]}'

run apply apply -i "$inv" --yes
expect_rc apply 0

# --- 1: consistent: exit 0
echo "checking: all consistent"
run ok check -i "$inv" --junit "$tmp/ok.xml" --markdown "$tmp/ok.md"
expect_rc ok 0
grep -q '^check passed: 3 environments consistent$' "$tmp/ok.out" || fail "ok: no verdict: $(cat "$tmp/ok.out")"
expect_py "$tmp/ok.xml" "root.tag == 'testsuites' and root.get('name') == 'migsync check' and len(cases) == 16 and root.get('failures') == '0'"
expect_py "$tmp/ok.xml" "all(c.find('failure') is None for c in cases.values()) and ('scripts', 'lint') in cases"
grep -q '^## migsync check: all consistent$' "$tmp/ok.md" || fail "ok: markdown heading: $(cat "$tmp/ok.md")"
grep -Eq '^\| environment \| state \| revision \| drift \| checksums \| notes \|$' "$tmp/ok.md" ||
	fail "ok: markdown table header: $(cat "$tmp/ok.md")"
run ok_json check -i "$inv" --format json
expect_rc ok_json 0
expect_py "$tmp/ok_json.out" "doc['ok'] is True and doc['problems'] == [] and [e['name'] for e in doc['environments']] == ['dev', 'staging', 'prod']"
expect_py "$tmp/ok_json.out" "all(c['outcome'] == 'passed' for e in doc['environments'] for c in e['checks'].values())"
expect_py "$tmp/ok_json.out" "env['staging']['checks']['drift']['summary'] == 'same' and doc['lint']['errors'] == 0"

# pending migrations are not a problem, unless asked
echo "checking: pending"
rev 4d0000000004 $R3
run pending check -i "$inv" --format json
expect_rc pending 0
expect_py "$tmp/pending.out" "env['prod']['state'] == 'behind' and env['prod']['checks']['status']['outcome'] == 'passed'"
run pending_fail check -i "$inv" --fail-on-pending --format json
expect_rc pending_fail 1
expect_py "$tmp/pending_fail.out" "[(p['environment'], p['check']) for p in doc['problems']] == [('dev', 'status'), ('staging', 'status'), ('prod', 'status')]"
rm "$tmp/versions/4d0000000004_rev.sql"

# --- 2: a column added by hand in staging: exit 1
echo "checking: drift in staging"
pg_psql -d staging -c "ALTER TABLE t_$R2 ADD COLUMN extra int" >/dev/null || fail "alter staging"
run drift check -i "$inv" --junit "$tmp/drift.xml" --markdown "$tmp/drift.md"
expect_rc drift 1
grep -q '^check failed: 1 problem$' "$tmp/drift.out" || fail "drift: no verdict: $(cat "$tmp/drift.out")"
grep -q "environment \"staging\": drift: column public.t_$R2.extra: extra" "$tmp/drift.out" ||
	fail "drift: problem line: $(cat "$tmp/drift.out")"
expect_py "$tmp/drift.xml" "cases[('staging', 'drift')].find('failure') is not None and 'extra' in cases[('staging', 'drift')].find('failure').get('message')"
expect_py "$tmp/drift.xml" "root.get('failures') == '1' and all(c.find('failure') is None for k, c in cases.items() if k != ('staging', 'drift'))"
grep -q '^## migsync check: 1 problem$' "$tmp/drift.md" || fail "drift: markdown heading: $(cat "$tmp/drift.md")"
grep -Eq '^\| staging \| current \| '$R3' \| drift \(1 difference\) \| ok \|' "$tmp/drift.md" ||
	fail "drift: markdown row: $(cat "$tmp/drift.md")"
grep -q "^- environment \"staging\": drift" "$tmp/drift.md" || fail "drift: markdown problem: $(cat "$tmp/drift.md")"
run drift_json check -i "$inv" --format json
expect_rc drift_json 1
expect_py "$tmp/drift_json.out" "doc['ok'] is False and [(p['environment'], p['check']) for p in doc['problems']] == [('staging', 'drift')]"
expect_py "$tmp/drift_json.out" "env['staging']['drift'][0]['differences'] == [{'kind': 'column', 'object': 'public.t_$R2.extra', 'change': 'extra'}]"
run drift_dev check -i "$inv" -e dev -e prod
expect_rc drift_dev 0

# --- 3: a revision file edited after it was applied, and a failing XML-unfriendly message
echo "checking: checksum mismatch"
echo '-- edited: <b> & "quoted"' >>"$tmp/versions/${R1}_rev.sql"
run checksum check -i "$inv" -e dev --junit "$tmp/checksum.xml" --format json
expect_rc checksum 1
expect_py "$tmp/checksum.out" "[(p['environment'], p['check']) for p in doc['problems']] == [('dev', 'checksums')]"
expect_py "$tmp/checksum.out" "[m['revision'] for m in env['dev']['checksum_mismatches']] == ['$R1']"
expect_py "$tmp/checksum.xml" "cases[('dev', 'checksums')].find('failure') is not None"

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
expect_py "$tmp/leaf.out" "doc['graph_error'] is None and [(p['environment'], p['check']) for p in doc['problems']] == [(None, 'lint')]"
expect_py "$tmp/leaf.out" "'5e0000000005_broken.py:4: MS040 ' in doc['problems'][0]['message'] and 'not a string literal' in doc['problems'][0]['message']"
expect_py "$tmp/leaf.out" "all(c['outcome'] == 'passed' for e in doc['environments'] for c in e['checks'].values()) and env['prod']['state'] == 'current'"
expect_py "$tmp/leaf.out" "[(f['code'], f['line']) for f in doc['lint']['findings'] if f['severity'] == 'error'] == [('MS040', 4)]"

# the middle of the chain unreadable: no graph, so reachability and lint only
broken_inventory middle
rm "$tmp/middle/${R2}_rev.sql"
bad_py "$tmp/middle/${R2}_rev.py"
down_port=$(free_port)
cat >"$tmp/inv_middle/down.yaml" <<EOF
database: { host: 127.0.0.1, port: $down_port, dbname: x, user: postgres, connect_timeout: 2 }
EOF
sed -i 's|rollout: \[dev, staging, prod\]|rollout: [dev, staging, prod, down]|' "$tmp/inv_middle/inventory.yaml"
run middle check -i "$tmp/inv_middle" --format json --junit "$tmp/middle.xml"
expect_rc middle 1
expect_py "$tmp/middle.out" "doc['ok'] is False and doc['graph_error'] is not None and '$R3' in doc['graph_error']"
expect_py "$tmp/middle.out" "[(p['environment'], p['check']) for p in doc['problems']][0] == ('down', 'reachable') and all(p['check'] in ('reachable', 'lint') for p in doc['problems'])"
expect_py "$tmp/middle.out" "any('${R2}_rev.py:4: MS040 ' in p['message'] for p in doc['problems']) and any('were not run' in p['message'] for p in doc['problems'])"
expect_py "$tmp/middle.out" "all(env[n]['checks']['reachable']['outcome'] == 'passed' for n in ('dev', 'staging', 'prod')) and env['down']['checks']['reachable']['outcome'] == 'failed'"
expect_py "$tmp/middle.out" "all(env[n]['checks'][k]['outcome'] == 'skipped' and 'not run' in env[n]['checks'][k]['messages'][0] for n in ('dev', 'staging', 'prod') for k in ('status', 'order', 'drift', 'checksums'))"
expect_py "$tmp/middle.xml" "cases[('prod', 'status')].find('skipped') is not None and cases[('scripts', 'lint')].find('failure') is not None"
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
