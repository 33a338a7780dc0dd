#!/bin/bash
# migsync inventory against the example inventory, a broken one, and one
# with planted passwords that must never be printed.
#
# Environment: MIGSYNC (the binary), MIGSYNC_SOURCE_ROOT (the repository).
set -u

: "${MIGSYNC:?set MIGSYNC to the migsync binary}"
: "${MIGSYNC_SOURCE_ROOT:?set MIGSYNC_SOURCE_ROOT to the repository}"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/migsync-inventory-cli.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
failures=0

fail() {
	echo "not ok: $*" >&2
	failures=$((failures + 1))
}

ok() {
	echo "ok: $*"
}

# run NAME ARGS...: stdout in $tmp/NAME.out, stderr in $tmp/NAME.err, exit code in $rc
run() {
	local name=$1
	shift
	"$MIGSYNC" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err"
	rc=$?
}

# --help works and the command exists
run help inventory --help
if grep -q "is not a migsync command" "$tmp/help.err"; then
	echo "skip: the inventory command is not in the command table yet" >&2
	exit 77
fi
[ "$rc" -eq 0 ] && grep -q "^Usage:" "$tmp/help.out" && ok "inventory --help" || fail "inventory --help (exit $rc)"

run badopt inventory --no-such-option
[ "$rc" -eq 2 ] && grep -q "Try 'migsync inventory --help'" "$tmp/badopt.err" \
	&& ok "bad option exits 2" || fail "bad option (exit $rc)"

# 1. the example inventory
unset MIGSYNC_INVENTORY MIGSYNC_PGPORT MIGSYNC_PGUSER
run example_text inventory -i "$MIGSYNC_SOURCE_ROOT/environments"
if [ "$rc" -eq 0 ] && grep -q "dev -> staging -> prod" "$tmp/example_text.out"; then
	ok "example inventory, text"
else
	fail "example inventory, text (exit $rc)"; cat "$tmp/example_text.err" >&2
fi

run example_json inventory -i "$MIGSYNC_SOURCE_ROOT/environments" --format json
if [ "$rc" -eq 0 ] && /usr/bin/python3 -m json.tool "$tmp/example_json.out" >/dev/null; then
	ok "example inventory, json parses"
else
	fail "example inventory, json (exit $rc)"; cat "$tmp/example_json.err" >&2
fi
/usr/bin/python3 - "$tmp/example_json.out" <<'EOF' && ok "example inventory, json content" || fail "example inventory, json content"
import json, sys
inv = json.load(open(sys.argv[1]))
assert inv["project"] == "stock-assistant", inv["project"]
assert inv["rollout"] == ["dev", "staging", "prod"], inv["rollout"]
assert inv["migrations"]["executor"] == "sql"
assert inv["migrations"]["scripts"][0].endswith("examples/stock-assistant/versions")
envs = inv["environments"]
assert [e["name"] for e in envs] == ["dev", "staging", "prod"]
assert [e["database"]["dbname"] for e in envs] == ["stock_dev", "stock_staging", "stock_prod"]
assert [e["gate"]["approvals"] for e in envs] == [0, 1, 2]
assert all(e["database"]["port"] == 5432 and e["database"]["host"] == "127.0.0.1" for e in envs)
EOF

# ${MIGSYNC_PGPORT:-5432} and $MIGSYNC_INVENTORY
MIGSYNC_PGPORT=6543 MIGSYNC_INVENTORY="$MIGSYNC_SOURCE_ROOT/environments" run envport inventory --format json
[ "$rc" -eq 0 ] && grep -q '"port":6543' "$tmp/envport.out" \
	&& ok "MIGSYNC_INVENTORY and \${MIGSYNC_PGPORT}" || fail "MIGSYNC_INVENTORY and \${MIGSYNC_PGPORT} (exit $rc)"

# 2. a broken inventory: exit 2, every problem with file:line:column
bad="$tmp/bad"
mkdir "$bad"
cat >"$bad/inventory.yaml" <<'EOF'
project: demo
migrations: { scripts: versions }
rollout: [dev, qa]
EOF
cat >"$bad/dev.yaml" <<'EOF'
database:
  hots: localhost
  statement_timeout: 30x
  dbname: ${MIGSYNC_TEST_SURELY_UNSET}
EOF
cat >"$bad/extra.yaml" <<'EOF'
database: { url: "postgresql://a@b/c?nosuch=1" }
EOF
unset MIGSYNC_TEST_SURELY_UNSET
run broken inventory -i "$bad"
if [ "$rc" -eq 2 ] &&
   grep -q "^$bad/dev.yaml:2:3: error: \"database.hots\": unknown key" "$tmp/broken.err" &&
   grep -q "^hint: did you mean \"host\"?" "$tmp/broken.err" &&
   grep -q "^$bad/dev.yaml:3:22: error: .*not a duration" "$tmp/broken.err" &&
   grep -q "^$bad/dev.yaml:4:11: error: .*MIGSYNC_TEST_SURELY_UNSET" "$tmp/broken.err" &&
   grep -q "^$bad/inventory.yaml:3:16: error: .*\"qa\" has no file" "$tmp/broken.err" &&
   grep -q "^$bad/extra.yaml:1:1: error: environment \"extra\" is not in rollout" "$tmp/broken.err" &&
   grep -q "^$bad/extra.yaml:1:18: error: .*libpq cannot parse" "$tmp/broken.err" &&
   [ ! -s "$tmp/broken.out" ]; then
	ok "broken inventory: exit 2, every problem at file:line:column"
else
	fail "broken inventory (exit $rc)"; cat "$tmp/broken.err" >&2
fi

# 3. planted passwords never appear
sec="$tmp/secret"
mkdir "$sec"
cat >"$sec/inventory.yaml" <<'EOF'
project: demo
migrations: { scripts: versions }
rollout: [dev, prod, qa]
EOF
cat >"$sec/dev.yaml" <<'EOF'
database:
  url: postgresql://app:PlantedUrlSecret1@db.internal:5432/app?sslmode=require
EOF
cat >"$sec/prod.yaml" <<'EOF'
database:
  url: "host=db.internal dbname=app user=app password=PlantedKvSecret2"
  password_env: MIGSYNC_TEST_PROD_PW
EOF
cat >"$sec/qa.yaml" <<'EOF'
database:
  url: postgresql://app:${MIGSYNC_TEST_QA_PW}@db.internal/qa
EOF
export MIGSYNC_TEST_PROD_PW=PlantedEnvSecret3
export MIGSYNC_TEST_QA_PW=PlantedEnvSecret4
export PGPASSWORD=PlantedPgSecret5
for format in text json; do
	run "secret_$format" inventory -i "$sec" --format "$format"
	[ "$rc" -eq 0 ] || { fail "secret inventory, $format (exit $rc)"; cat "$tmp/secret_$format.err" >&2; }
	if grep -q "Planted" "$tmp/secret_$format.out" "$tmp/secret_$format.err"; then
		fail "a password leaked ($format)"
		grep -n "Planted" "$tmp/secret_$format.out" "$tmp/secret_$format.err" | sed 's/Planted[A-Za-z0-9]*/<secret>/g' >&2
	else
		ok "no password in output ($format)"
	fi
done
grep -q '"password_env":"MIGSYNC_TEST_PROD_PW"' "$tmp/secret_json.out" \
	&& ok "password_env shows the variable name" || fail "password_env not shown"
grep -q 'postgresql://app:\*\*\*@db.internal:5432/app' "$tmp/secret_json.out" \
	&& ok "URL password shown as ***" || fail "URL password not redacted as ***"
grep -q "carries a password" "$tmp/secret_text.err" \
	&& ok "warning about a password in the file" || fail "no warning about the password in the file"

# and not in errors either: the same inventory made invalid
echo "  hots: x" >>"$sec/prod.yaml"
echo "  port: nope" >>"$sec/dev.yaml"
run secret_broken inventory -i "$sec"
if [ "$rc" -eq 2 ] && ! grep -q "Planted" "$tmp/secret_broken.out" "$tmp/secret_broken.err"; then
	ok "no password in error output"
else
	fail "secret in error output or wrong exit ($rc)"
fi
unset MIGSYNC_TEST_PROD_PW MIGSYNC_TEST_QA_PW PGPASSWORD

if [ "$failures" -ne 0 ]; then
	echo "$failures failure(s)" >&2
	exit 1
fi
echo "all inventory CLI checks passed"
