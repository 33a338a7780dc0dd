#!/bin/bash
# migsync check against a real, throwaway PostgreSQL: dev, staging and
# prod brought to the head with `migsync apply` over native SQL
# revisions; exit 0 while they are consistent, exit 1 after a column is
# added by hand in staging (JUnit XML that parses, with a failing drift
# test case for staging; Markdown that names staging; JSON that parses),
# a revision file edited after it was applied and --fail-on-pending, and
# exit 2 with a broken inventory.
#
# Run by meson with MIGSYNC = the binary, MIGSYNC_SOURCE_ROOT = the repo.
set -u

: "${MIGSYNC:?set MIGSYNC to the migsync binary}"
: "${MIGSYNC_SOURCE_ROOT:?set MIGSYNC_SOURCE_ROOT to the repository root}"

. "$MIGSYNC_SOURCE_ROOT/tests/integration/lib/pg.sh"

PY=/usr/bin/python3

tmp=
cleanup() {
	pg_stop
	[ -n "$tmp" ] && rm -rf "$tmp"
}
trap cleanup EXIT

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

pg_start
rc=$?
[ $rc -eq 0 ] || exit $rc
tmp=$(mktemp -d "${TMPDIR:-/tmp}/migsync-check.XXXXXX") || exit 1

# --- revisions r1..r3 and an inventory of three stages without gates
mkdir -p "$tmp/versions"
rev() {	# rev ID DOWN
	{
		echo "-- migsync:revision $1"
		[ -n "$2" ] && echo "-- migsync:down_revision $2"
		echo "-- migsync:message revision $1"
		echo
		echo "-- migsync:up"
		echo "CREATE TABLE t_$1 (id int PRIMARY KEY, note text);"
		echo
		echo "-- migsync:down"
		echo "DROP TABLE t_$1;"
	} >"$tmp/versions/$1_rev.sql"
}
R1=1a0000000001 R2=2b0000000002 R3=3c0000000003
rev $R1 ""
rev $R2 $R1
rev $R3 $R2

inv=$tmp/inventory
mkdir -p "$inv"
cat >"$inv/inventory.yaml" <<EOF
project: check-test
migrations:
  scripts: ../versions
  executor: sql
rollout: [dev, staging, prod]
defaults:
  database: { connect_timeout: 20 }
EOF
for db in dev staging prod; do
	pg_psql -d postgres -c "CREATE DATABASE $db" >/dev/null || fail "createdb $db"
	cat >"$inv/$db.yaml" <<EOF
database: { host: 127.0.0.1, port: $PGPORT, dbname: $db, user: postgres }
gate: { approvals: 0 }
EOF
done

# run NAME ARGS...: migsync ARGS, keeping stdout, stderr and the exit code
run() {
	local name=$1

	shift
	timeout 120 "$MIGSYNC" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" </dev/null
	echo $? >"$tmp/$name.rc"
}
expect_rc() {	# expect_rc NAME CODE
	[ "$(cat "$tmp/$1.rc")" = "$2" ] ||
		fail "$1: exit $(cat "$tmp/$1.rc"), expected $2; stdout: $(cat "$tmp/$1.out"); stderr: $(cat "$tmp/$1.err")"
}
# pycheck FILE PYTHON: run python assertions with the parsed FILE as doc (JSON) or root (XML)
pycheck() {
	$PY - "$1" "$2" <<'EOF' || fail "check of $(basename "$1") failed: $2; file: $(cat "$1")"
import json, sys
import xml.etree.ElementTree as ET
path, expr = sys.argv[1], sys.argv[2]
if path.endswith(".xml"):
    root = ET.parse(path).getroot()
    cases = {(c.get("classname"), c.get("name")): c for c in root.iter("testcase")}
else:
    doc = json.load(open(path))
    env = {e["name"]: e for e in doc["environments"]}
if not eval(expr):
    sys.exit(1)
EOF
}

run apply apply -i "$inv" --yes
expect_rc apply 0

# --- 1: consistent: exit 0
echo "checking: all consistent"
run ok check -i "$inv" --junit "$tmp/ok.xml" --markdown "$tmp/ok.md"
expect_rc ok 0
grep -q '^check passed: 3 environments consistent$' "$tmp/ok.out" || fail "ok: no verdict: $(cat "$tmp/ok.out")"
pycheck "$tmp/ok.xml" "root.tag == 'testsuites' and root.get('name') == 'migsync check' and len(cases) == 16 and root.get('failures') == '0'"
pycheck "$tmp/ok.xml" "all(c.find('failure') is None for c in cases.values()) and ('scripts', 'lint') in cases"
grep -q '^## migsync check: all consistent$' "$tmp/ok.md" || fail "ok: markdown heading: $(cat "$tmp/ok.md")"
grep -Eq '^\| environment \| state \| revision \| drift \| checksums \| notes \|$' "$tmp/ok.md" ||
	fail "ok: markdown table header: $(cat "$tmp/ok.md")"
run ok_json check -i "$inv" --format json
expect_rc ok_json 0
pycheck "$tmp/ok_json.out" "doc['ok'] is True and doc['problems'] == [] and [e['name'] for e in doc['environments']] == ['dev', 'staging', 'prod']"
pycheck "$tmp/ok_json.out" "all(c['outcome'] == 'passed' for e in doc['environments'] for c in e['checks'].values())"
pycheck "$tmp/ok_json.out" "env['staging']['checks']['drift']['summary'] == 'same' and doc['lint']['errors'] == 0"

# pending migrations are not a problem, unless asked
echo "checking: pending"
rev 4d0000000004 $R3
run pending check -i "$inv" --format json
expect_rc pending 0
pycheck "$tmp/pending.out" "env['prod']['state'] == 'behind' and env['prod']['checks']['status']['outcome'] == 'passed'"
run pending_fail check -i "$inv" --fail-on-pending --format json
expect_rc pending_fail 1
pycheck "$tmp/pending_fail.out" "[(p['environment'], p['check']) for p in doc['problems']] == [('dev', 'status'), ('staging', 'status'), ('prod', 'status')]"
rm "$tmp/versions/4d0000000004_rev.sql"

# --- 2: a column added by hand in staging: exit 1
echo "checking: drift in staging"
pg_psql -d staging -c "ALTER TABLE t_$R2 ADD COLUMN extra int" >/dev/null || fail "alter staging"
run drift check -i "$inv" --junit "$tmp/drift.xml" --markdown "$tmp/drift.md"
expect_rc drift 1
grep -q '^check failed: 1 problem$' "$tmp/drift.out" || fail "drift: no verdict: $(cat "$tmp/drift.out")"
grep -q "environment \"staging\": drift: column public.t_$R2.extra: extra" "$tmp/drift.out" ||
	fail "drift: problem line: $(cat "$tmp/drift.out")"
pycheck "$tmp/drift.xml" "cases[('staging', 'drift')].find('failure') is not None and 'extra' in cases[('staging', 'drift')].find('failure').get('message')"
pycheck "$tmp/drift.xml" "root.get('failures') == '1' and all(c.find('failure') is None for k, c in cases.items() if k != ('staging', 'drift'))"
grep -q '^## migsync check: 1 problem$' "$tmp/drift.md" || fail "drift: markdown heading: $(cat "$tmp/drift.md")"
grep -Eq '^\| staging \| current \| '$R3' \| drift \(1 difference\) \| ok \|' "$tmp/drift.md" ||
	fail "drift: markdown row: $(cat "$tmp/drift.md")"
grep -q "^- environment \"staging\": drift" "$tmp/drift.md" || fail "drift: markdown problem: $(cat "$tmp/drift.md")"
run drift_json check -i "$inv" --format json
expect_rc drift_json 1
pycheck "$tmp/drift_json.out" "doc['ok'] is False and [(p['environment'], p['check']) for p in doc['problems']] == [('staging', 'drift')]"
pycheck "$tmp/drift_json.out" "env['staging']['drift'][0]['differences'] == [{'kind': 'column', 'object': 'public.t_$R2.extra', 'change': 'extra'}]"
run drift_dev check -i "$inv" -e dev -e prod
expect_rc drift_dev 0

# --- 3: a revision file edited after it was applied, and a failing XML-unfriendly message
echo "checking: checksum mismatch"
echo '-- edited: <b> & "quoted"' >>"$tmp/versions/${R1}_rev.sql"
run checksum check -i "$inv" -e dev --junit "$tmp/checksum.xml" --format json
expect_rc checksum 1
pycheck "$tmp/checksum.out" "[(p['environment'], p['check']) for p in doc['problems']] == [('dev', 'checksums')]"
pycheck "$tmp/checksum.out" "[m['revision'] for m in env['dev']['checksum_mismatches']] == ['$R1']"
pycheck "$tmp/checksum.xml" "cases[('dev', 'checksums')].find('failure') is not None"

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

echo "check_pg: all checks passed"
exit 0
