#!/bin/bash
# migsync inventory against the example inventory, a broken one, and one
# with planted passwords that must never be printed; values of
# secret-looking ${VAR}s shown as ***; and, against a throwaway
# PostgreSQL, no planted secret in status, plan, apply or check either.
#
# Environment: MIGSYNC (the binary), MIGSYNC_SOURCE_ROOT (the repository).
set -u

: "${MIGSYNC:?set MIGSYNC to the migsync binary}"
: "${MIGSYNC_SOURCE_ROOT:?set MIGSYNC_SOURCE_ROOT to the repository}"

. "$MIGSYNC_SOURCE_ROOT/tests/integration/lib/common.sh"
. "$MIGSYNC_SOURCE_ROOT/tests/integration/lib/pg.sh"
FAIL_GOES_ON=1
work_dir inventory-cli

# --help works and the command exists
run help inventory --help
rc=$(rc_of help)
if grep -q "is not a migsync command" "$tmp/help.err"; then
	skip_all "the inventory command is not in the command table yet"
fi
[ "$rc" -eq 0 ] && grep -q "^Usage:" "$tmp/help.out" && pass "inventory --help" || fail "inventory --help (exit $rc)"

run badopt inventory --no-such-option
rc=$(rc_of badopt)
[ "$rc" -eq 2 ] && grep -q "Try 'migsync inventory --help'" "$tmp/badopt.err" \
	&& pass "bad option exits 2" || fail "bad option (exit $rc)"

# 1. the example inventory
unset MIGSYNC_INVENTORY MIGSYNC_PGPORT MIGSYNC_PGUSER
run example_text inventory -i "$MIGSYNC_SOURCE_ROOT/environments"
rc=$(rc_of example_text)
if [ "$rc" -eq 0 ] && grep -q "dev -> staging -> prod" "$tmp/example_text.out"; then
	pass "example inventory, text"
else
	fail "example inventory, text (exit $rc)"; cat "$tmp/example_text.err" >&2
fi

run example_json inventory -i "$MIGSYNC_SOURCE_ROOT/environments" --format json
rc=$(rc_of example_json)
if [ "$rc" -eq 0 ] && /usr/bin/python3 -m json.tool "$tmp/example_json.out" >/dev/null; then
	pass "example inventory, json parses"
else
	fail "example inventory, json (exit $rc)"; cat "$tmp/example_json.err" >&2
fi
J=example_json
expect_json $J .project stock-assistant
expect_json $J .rollout '["dev", "staging", "prod"]'
expect_json $J .migrations.executor sql
expect_json $J '.migrations.scripts[0]' =~ 'examples/stock-assistant/versions$'
expect_json $J '.environments[].environment' '["dev", "staging", "prod"]'
expect_json $J '.environments[].connection.dbname' '["stock_dev", "stock_staging", "stock_prod"]'
expect_json $J '.environments[].gate.approvals' '[0, 1, 2]'
expect_json $J '.environments[].connection.(port,host) | unique' '[[5432, "127.0.0.1"]]'

# ${MIGSYNC_PGPORT:-5432} and $MIGSYNC_INVENTORY
run envport MIGSYNC_PGPORT=6543 MIGSYNC_INVENTORY="$MIGSYNC_SOURCE_ROOT/environments" -- inventory --format json
rc=$(rc_of envport)
[ "$rc" -eq 0 ] && grep -q '"port":6543' "$tmp/envport.out" \
	&& pass "MIGSYNC_INVENTORY and \${MIGSYNC_PGPORT}" || fail "MIGSYNC_INVENTORY and \${MIGSYNC_PGPORT} (exit $rc)"

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
rc=$(rc_of broken)
if [ "$rc" -eq 2 ] &&
   grep -q "^migsync: error: $bad/dev.yaml:2:3: \"database.hots\": unknown key" "$tmp/broken.err" &&
   grep -q "^hint: did you mean \"host\"?" "$tmp/broken.err" &&
   grep -q "^migsync: error: $bad/dev.yaml:3:22: .*not a duration" "$tmp/broken.err" &&
   grep -q "^migsync: error: $bad/dev.yaml:4:11: .*MIGSYNC_TEST_SURELY_UNSET" "$tmp/broken.err" &&
   grep -q "^migsync: error: $bad/inventory.yaml:3:16: .*\"qa\" has no file" "$tmp/broken.err" &&
   grep -q "^migsync: error: $bad/extra.yaml:1:1: environment \"extra\" is not in rollout" "$tmp/broken.err" &&
   grep -q "^migsync: error: $bad/extra.yaml:1:18: .*libpq cannot parse" "$tmp/broken.err" &&
   [ ! -s "$tmp/broken.out" ]; then
	pass "broken inventory: exit 2, every problem at file:line:column"
else
	fail "broken inventory (exit $rc)"; cat "$tmp/broken.err" >&2
fi

# 2b. the same with --format json: a script reading stdout still gets a
# document, with the error object saying what and where
for cmd in inventory status plan check hook; do
	args=()
	[ "$cmd" = hook ] && args=(-e dev)
	run "broken_$cmd" "$cmd" -i "$bad" "${args[@]}" --format json
	expect_rc "broken_$cmd" 2
	expect_json "broken_$cmd" .format "migsync.$cmd/1"
	expect_json "broken_$cmd" '.error.(code,hint)' '["config", "say where the database is with url, host or service"]'
	expect_json "broken_$cmd" .error.message =~ .
	expect_json "broken_$cmd" .error.where =~ "^$bad/dev\.yaml:1:1\$"
done
run badopt_json status --no-such-option --format json
expect_rc badopt_json 2
expect_json badopt_json .error.code usage
expect_json badopt_json .generated_at =~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$'

# 3. planted passwords never appear
sec="$tmp/secret"
mkdir -p "$sec/versions"
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
# inventory_no_planted NAME DIR WHAT: migsync inventory -i DIR in text and
# JSON exits 0 and prints no planted value ("Planted...") anywhere
inventory_no_planted() {
	local format

	for format in text json; do
		run "$1_$format" inventory -i "$2" --format "$format"
		rc=$(rc_of "$1_$format")
		[ "$rc" -eq 0 ] || { fail "$1, $format (exit $rc)"; cat "$tmp/$1_$format.err" >&2; }
		if grep -q "Planted" "$tmp/$1_$format.out" "$tmp/$1_$format.err"; then
			fail "$3 leaked ($format)"
			grep -n "Planted" "$tmp/$1_$format.out" "$tmp/$1_$format.err" | sed 's/Planted[A-Za-z0-9]*/<secret>/g' >&2
		else
			pass "no $3 in output ($format)"
		fi
	done
}
inventory_no_planted secret "$sec" "password"
grep -q '"password_env":"MIGSYNC_TEST_PROD_PW"' "$tmp/secret_json.out" \
	&& pass "password_env shows the variable name" || fail "password_env not shown"
grep -q 'postgresql://app:\*\*\*@db.internal:5432/app' "$tmp/secret_json.out" \
	&& pass "URL password shown as ***" || fail "URL password not redacted as ***"
grep -q "^migsync: warning: .*carries a password" "$tmp/secret_text.err" \
	&& pass "warning about a password in the file" || fail "no warning about the password in the file"

# and not in errors either: the same inventory made invalid
echo "  hots: x" >>"$sec/prod.yaml"
echo "  port: nope" >>"$sec/dev.yaml"
run secret_broken inventory -i "$sec"
rc=$(rc_of secret_broken)
if [ "$rc" -eq 2 ] && ! grep -q "Planted" "$tmp/secret_broken.out" "$tmp/secret_broken.err"; then
	pass "no password in error output"
else
	fail "secret in error output or wrong exit ($rc)"
fi
unset MIGSYNC_TEST_PROD_PW MIGSYNC_TEST_QA_PW PGPASSWORD

# 4. values of secret-looking ${VAR}s in other fields are shown as ***,
# other variables as they are; the variable password_env names never shows
sec2="$tmp/secret2"
mkdir -p "$sec2/versions"
cat >"$sec2/inventory.yaml" <<'EOF'
project: demo
migrations: { scripts: versions }
rollout: [dev]
EOF
cat >"$sec2/dev.yaml" <<'EOF'
before_apply: "curl -H 'Authorization: Bearer ${DEPLOY_TOKEN}' https://${DEPLOY_HOST}/hook"
database:
  host: db.internal
  dbname: app
  user: app
  password_env: MIGSYNC_TEST_DEV_PW
  application_name: "migsync-${MIGSYNC_TEST_DEV_PW}"
targets:
  discover: "SELECT datname FROM tenants WHERE api_key = '${Tenant_Api_Key}' AND x = '${Short_Secret}'"
ssh:
  host: bastion.internal
  user: deploy
  identity: /keys/id_ed25519
  workdir: "/srv/${SSH_KEY_PASSPHRASE}"
EOF
export DEPLOY_TOKEN=PlantedToken6 DEPLOY_HOST=deploy.example.com Tenant_Api_Key=PlantedApiKey7
export SSH_KEY_PASSPHRASE=PlantedPassphrase8 MIGSYNC_TEST_DEV_PW=PlantedDevPw9 Short_Secret=abc
inventory_no_planted secret2 "$sec2" "secret-looking variable's value"
grep -qF "before apply:  curl -H 'Authorization: Bearer ***' https://deploy.example.com/hook" "$tmp/secret2_text.out" \
	&& pass "before_apply: the token as ***, the host as it is" || fail "before_apply not redacted as expected: $(grep 'before apply' "$tmp/secret2_text.out")"
grep -qF "api_key = '***'" "$tmp/secret2_text.out" \
	&& pass "discover: the key as ***" || fail "discover not redacted: $(grep 'discover' "$tmp/secret2_text.out")"
unset DEPLOY_TOKEN DEPLOY_HOST Tenant_Api_Key SSH_KEY_PASSPHRASE MIGSYNC_TEST_DEV_PW Short_Secret

# 5. against a real server: the password_env value and secret-looking
# ${VAR}s in no output of status, plan, apply or check
at_exit pg_stop
if pg_start; then
	sec3="$tmp/secret3"
	mkdir -p "$sec3/versions"
	printf -- '-- migsync:revision 7f3a9c21b4e8\n-- migsync:message one\n\n-- migsync:up\nCREATE TABLE t_one (id int);\n\n-- migsync:down\nDROP TABLE t_one;\n' \
		>"$sec3/versions/7f3a9c21b4e8_one.sql"
	cat >"$sec3/inventory.yaml" <<'EOF'
project: demo
migrations: { scripts: versions, executor: sql }
rollout: [dev]
EOF
	cat >"$sec3/dev.yaml" <<EOF
before_apply: "test -n '\${DEPLOY_TOKEN}'"
database:
  host: 127.0.0.1
  port: $PGPORT
  dbname: secretdb
  user: pw_user
  password_env: MIGSYNC_TEST_DEV_PW
  connect_timeout: 20
targets:
  discover: "SELECT datname FROM pg_database WHERE datname = 'secretdb' OR datname = '\${Tenant_Api_Key}'"
gate: { approvals: 0 }
EOF
	export MIGSYNC_TEST_DEV_PW=PlantedDevPw10 DEPLOY_TOKEN=PlantedToken11 Tenant_Api_Key=PlantedApiKey12
	pg_add_password_user pw_user "$MIGSYNC_TEST_DEV_PW" >/dev/null || fail "password user"
	pg_psql -d postgres -c "CREATE DATABASE secretdb OWNER pw_user" >/dev/null || fail "createdb"
	pg_psql -d secretdb -c "GRANT CREATE ON SCHEMA public TO pw_user" >/dev/null || fail "grant"
	for format in text json; do
		for cmd in inventory status plan check; do
			run "pg_${cmd}_$format" "$cmd" -i "$sec3" --format "$format"
			expect_rc "pg_${cmd}_$format" 0
		done
	done
	run pg_apply apply -i "$sec3" --yes
	expect_rc pg_apply 0
	run pg_apply_again apply -i "$sec3" --yes --format json
	expect_rc pg_apply_again 0
	run pg_status_after status -i "$sec3"
	expect_rc pg_status_after 0
	expect_in pg_status_after out current
	if grep -l "Planted" "$tmp"/pg_*.out "$tmp"/pg_*.err >"$tmp/leaks"; then
		fail "a secret leaked in: $(xargs -n1 basename <"$tmp/leaks" | tr '\n' ' ')"
	else
		pass "no password_env value or secret-looking variable in inventory, status, plan, apply, check"
	fi
	unset MIGSYNC_TEST_DEV_PW DEPLOY_TOKEN Tenant_Api_Key
else
	echo "skip: no PostgreSQL here for the status/plan/apply/check part" >&2
fi

finish inventory_cli
