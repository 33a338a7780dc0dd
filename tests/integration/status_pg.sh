#!/bin/bash
# migsync status against a real, throwaway PostgreSQL: an inventory whose
# environments sit at different revisions (version tables set with SQL),
# a fleet of 50 tenant databases found by a discovery query, a closed
# port and a server that never answers, a wrong password; every state in
# text and JSON, the rollout order check, -e filtering, exit codes, and
# no password ever in any output.
#
# Run by meson with MIGSYNC = the binary, MIGSYNC_SOURCE_ROOT = the repo.
set -u

: "${MIGSYNC:?set MIGSYNC to the migsync binary}"
: "${MIGSYNC_SOURCE_ROOT:?set MIGSYNC_SOURCE_ROOT to the repository root}"

. "$MIGSYNC_SOURCE_ROOT/tests/integration/lib/common.sh"
. "$MIGSYNC_SOURCE_ROOT/tests/integration/lib/pg.sh"
. "$MIGSYNC_SOURCE_ROOT/tests/integration/lib/inventory.sh"

URL_SECRET='Url-Secret-4242'
ENV_SECRET='Env-Secret-7731'
WRONG_SECRET='Wrong-Secret-9913'
TIMEOUT=2
TENANTS=50

pg_setup status

# --- revision scripts: a line r1..r4, and a copy with a branch x3 off r2
mkdir -p "$tmp/versions" "$tmp/branched"
rev() {	# rev DIR ID DOWN
	inv_sql_rev "$1" "$2" "$3" "CREATE TABLE t_$2 (id int);" "DROP TABLE t_$2;"
}
R1=1a0000000001 R2=2b0000000002 R3=3c0000000003 R4=4d0000000004 X3=9e0000000003
rev "$tmp/versions" $R1 ""
rev "$tmp/versions" $R2 $R1
rev "$tmp/versions" $R3 $R2
rev "$tmp/versions" $R4 $R3
cp "$tmp/versions"/*.sql "$tmp/branched/"
rev "$tmp/branched" $X3 $R2

# --- databases
set_version() {	# set_version DB ROW...
	local db=$1 sql="CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY); GRANT SELECT ON alembic_version TO PUBLIC;"

	shift
	for row in "$@"; do
		sql="$sql INSERT INTO alembic_version VALUES ('$row');"
	done
	pg_psql -d "$db" -c "$sql" >/dev/null || fail "could not set the version of $db"
}
pg_createdb dev staging prod feature fresh
set_version dev $R4
set_version staging $R3
set_version prod $R2
set_version feature $X3

# staging logs in with PGPASSWORD, prod with a password in its URL
pg_add_password_user "$PG_PASSWORD_USER" "$ENV_SECRET" >/dev/null || fail "password user"
pg_psql -d postgres -c "CREATE ROLE url_user LOGIN PASSWORD '$URL_SECRET'" >/dev/null || fail "url_user"
_pg_run sh -c "sed -i '1a host all url_user 127.0.0.1/32 scram-sha-256' '$PG_DATA/pg_hba.conf'" ||
	fail "pg_hba.conf for url_user"
pg_psql -d postgres -c "SELECT pg_reload_conf()" >/dev/null || fail "reload"

# the fleet: tenant_001 .. tenant_050, all at r4 but two at r3
{
	for i in $(seq -f '%03g' 1 $TENANTS); do
		echo "CREATE DATABASE tenant_$i;"
	done
	for i in $(seq -f '%03g' 1 $TENANTS); do
		row=$R4
		{ [ "$i" = 007 ] || [ "$i" = 042 ]; } && row=$R3
		echo "\\c tenant_$i"
		echo "CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY);"
		echo "INSERT INTO alembic_version VALUES ('$row');"
	done
} >"$tmp/fleet.sql"
pg_psql -d postgres -f "$tmp/fleet.sql" >/dev/null || fail "could not create the fleet"

# a port nobody listens on, and a listener that never answers
hold_port closed_port
hold_port hung_port listen

# --- the inventory
inv=$tmp/inventory
inv_head "$inv" status-test ../versions "connect_timeout: 20" \
	dev tenants staging prod feature fresh down hung locked
# plain_env NAME DBNAME [PORT [USER [CONNECT_TIMEOUT]]]: the servers that
# answer get a generous timeout (scram is slow under valgrind); the two
# that do not get $TIMEOUT, which bounds the whole report.
plain_env() {
	inv_env "$inv" "$@"
}
plain_env dev dev
plain_env staging staging "$PGPORT" "$PG_PASSWORD_USER"
cat >"$inv/prod.yaml" <<EOF
database:
  url: postgresql://url_user:$URL_SECRET@127.0.0.1:$PGPORT/prod
EOF
plain_env feature feature
plain_env fresh fresh
plain_env down postgres "$closed_port" postgres $TIMEOUT
plain_env hung postgres "$hung_port" postgres $TIMEOUT
cat >"$inv/locked.yaml" <<EOF
database:
  url: postgresql://url_user:$WRONG_SECRET@127.0.0.1:$PGPORT/prod
EOF
cat >"$inv/tenants.yaml" <<EOF
database: { host: 127.0.0.1, port: $PGPORT, dbname: postgres, user: postgres }
targets:
  discover: "SELECT datname FROM pg_database WHERE datname LIKE 'tenant\\\\_%'"
EOF

export PGPASSWORD=$ENV_SECRET

# run NAME ARGS... (lib/common.sh): migsync status -i $inv ARGS, timed
RUN_PREFIX=(status -i "$inv")
# expect_json NAME PATH [OP] VALUE (lib/common.sh): checks of the JSON
# output of NAME; E.x is the path of environment x
for e in dev tenants staging prod feature fresh down hung locked ck tunnelled direct; do
	declare "E_$e=.environments[environment=$e]"
done

# --- 1: every state, in JSON
echo "checking: JSON report"
run json --format json
expect_rc json 1
time_json=$(cat "$tmp/json.time")
expect_json json .target "[\"$R4\"]"
expect_json json '.environments[].environment' '["dev", "tenants", "staging", "prod", "feature", "fresh", "down", "hung", "locked"]'
expect_json json "$E_dev.(state,heads,pending,error)" "[\"current\", [\"$R4\"], [], null]"
expect_json json "$E_staging.(state,pending)" "[\"behind\", [\"$R4\"]]"
expect_json json "$E_prod.(state,heads,pending)" "[\"behind\", [\"$R2\"], [\"$R3\", \"$R4\"]]"
expect_json json "$E_feature.(state,heads)" "[\"unknown\", [\"$X3\"]]"
expect_json json "$E_fresh.(state,pending)" "[\"uninitialized\", [\"$R1\", \"$R2\", \"$R3\", \"$R4\"]]"
expect_json json "$E_down.state" unreachable
expect_json json "$E_down.error" =~ .
expect_json json "$E_hung.state" unreachable
expect_json json "$E_hung.error | lower" =~ 'timeout|timed out'
expect_json json "$E_locked.state" unreachable
expect_json json "$E_locked.error | lower" has password
expect_json json "$E_dev.targets | length" 1
expect_json json "$E_dev.fleet" false
expect_json json "$E_dev.database" =~ '127\.0\.0\.1:[0-9]+/dev$'
expect_json json "$E_prod.database" =~ '^url_user@127\.0\.0\.1:[0-9]+/prod$'
expect_json json "$E_dev.targets[0].database" "$(json_get "$tmp/json.out" "$E_dev.database")"
expect_json json "$E_dev.targets[0].(state,heads,pending)" "[\"current\", [\"$R4\"], []]"
echo "checking: pending is null when it cannot be known"
expect_json json "$E_down.pending" null
expect_json json "$E_down.targets[0].pending" null
expect_json json "$E_feature.pending" null
expect_json json "$E_prod.database?" lacks password
expect_json json .violations '[]'

echo "checking: the fleet"
expect_json json "$E_tenants.state" behind
expect_json json "$E_tenants.targets[].dbname | sort" "$(printf '"tenant_%03d", ' $(seq $TENANTS) | sed 's/^/[/; s/, $/]/')"
expect_json json "$E_tenants.targets[?state=behind][].dbname" '["tenant_007", "tenant_042"]'
expect_json json "$E_tenants.targets[?state=behind][].database | join" =~ '@127\.0\.0\.1:[0-9]+/tenant_007'
expect_json json "$E_tenants.database" null
expect_json json "$E_tenants.targets[?state=current] | length" $((TENANTS - 2))
expect_json json "$E_tenants.targets[?state=current][].(heads,error) | unique" "[[[\"$R4\"], null]]"
expect_json json "$E_tenants.(heads,pending)" "[[\"$R3\", \"$R4\"], [\"$R4\"]]"

echo "checking: unreachable within connect_timeout ($TIMEOUT s), took $time_json s"
awk -v t="$time_json" -v limit="$((TIMEOUT + 8))" 'BEGIN { exit !(t < limit) }' ||
	fail "the report took $time_json s with connect_timeout $TIMEOUT"

# --- 2: the same in text
echo "checking: text report"
run zero --exit-zero
expect_rc zero 0
expect_in zero out unreachable
run text
expect_rc text 1
out=$tmp/text.out
grep -q "^target: $R4\$" "$out" || fail "text: no target line: $(cat "$out")"
grep -Eq '^ENVIRONMENT +DATABASE +STATE +CURRENT +PENDING +NOTE$' "$out" || fail "text: no header: $(cat "$out")"
text_row() {	# text_row ENV DB STATE CURRENT PENDING
	grep -Eq "^$1 +$2 +$3 +$4 +$5( |\$)" "$out" ||
		fail "text: no row \"$1 $2 $3 $4 $5\" in: $(cat "$out")"
}
text_row dev "postgres@127.0.0.1:$PGPORT/dev" current $R4 0
text_row staging "$PG_PASSWORD_USER@127.0.0.1:$PGPORT/staging" behind $R3 1
text_row prod "url_user@127.0.0.1:$PGPORT/prod" behind $R2 2
text_row feature "[^ ]+" unknown $X3 -
text_row fresh "[^ ]+" uninitialized - 4
text_row down "[^ ]+" unreachable - -
text_row hung "[^ ]+" unreachable - -
text_row locked "[^ ]+" unreachable - -
grep -Eq "^tenants +$TENANTS databases +behind +$R3,$R4 +1 +2 behind, 48 current\$" "$out" ||
	fail "text: no fleet row: $(grep tenants "$out")"
[ "$(grep -Ec '^ +tenant_[0-9]{3} ' "$out")" = $TENANTS ] || fail "text: not one row per tenant"
grep -Eq "^ +tenant_007 +behind +$R3 +1" "$out" || fail "text: tenant_007 row"
grep -q "no version table" "$out" || fail "text: fresh has no note"
grep -q "not in the scripts: $X3" "$out" || fail "text: feature has no note"
grep -q violation "$out" && fail "text: unexpected violation: $(cat "$out")"

# --- 3: --to: ahead; a branched checkout: diverged
echo "checking: --to (ahead) and diverged"
run ahead --format json -e dev -e staging --to $R3
expect_rc ahead 0
expect_json ahead "$E_dev.state" ahead
expect_json ahead "$E_staging.state" current
run diverged --format json -e feature -e prod --scripts "$tmp/branched" --to $R4
expect_rc diverged 1
expect_json diverged "$E_feature.state" diverged
expect_json diverged "$E_prod.state" behind
run diverged_text -e feature --scripts "$tmp/branched" --to $R4
expect_rc diverged_text 1
grep -Eq "^feature +[^ ]+ +diverged +$X3 +2 +not on the way to the target: $X3\$" "$tmp/diverged_text.out" ||
	fail "text: diverged row: $(cat "$tmp/diverged_text.out")"

# --- 4: -e filtering keeps rollout order
echo "checking: -e filtering"
run filter --format json -e prod -e dev
expect_rc filter 0
expect_json filter '.environments[].environment' '["dev", "prod"]'
run filter_bad -e nosuch
expect_rc filter_bad 2
grep -q 'environment "nosuch": not in the inventory' "$tmp/filter_bad.err" || fail "-e nosuch: $(cat "$tmp/filter_bad.err")"
[ -s "$tmp/filter_bad.out" ] && fail "-e nosuch: unexpected stdout"

# --- 5: an order violation: prod ahead of staging
echo "checking: order violation"
pg_psql -d prod -c "UPDATE alembic_version SET version_num = '$R4'" >/dev/null || fail "prod to $R4"
pg_psql -d staging -c "UPDATE alembic_version SET version_num = '$R2'" >/dev/null || fail "staging to $R2"
run order --format json -j 4
expect_rc order 1
expect_json order '.violations[].(kind,environment)' '[["order", "prod"]]'
expect_json order '.violations[0].(earlier,revisions)' "[\"staging\", [\"$R3\", \"$R4\"]]"
expect_json order '.violations[0].detail' has staging
expect_json order "$E_prod.state" current
expect_json order "$E_staging.state" behind
run order_text -e staging -e prod
expect_rc order_text 1
grep -q '^1 rollout order violation:$' "$tmp/order_text.out" || fail "text: no violation: $(cat "$tmp/order_text.out")"
grep -q "environment \"prod\" holds 2 revisions that \"staging\" lacks: $R3, $R4" "$tmp/order_text.out" ||
	fail "text: violation detail: $(cat "$tmp/order_text.out")"

# --- 6: exit codes when it cannot run
echo "checking: exit codes"
run bad_option --bogus
expect_rc bad_option 2
grep -q "Try 'migsync status --help'" "$tmp/bad_option.err" || fail "bad option: no Try line"
run bad_jobs -j 0
expect_rc bad_jobs 2
run bad_to --to ffffffffffff
expect_rc bad_to 2
grep -q 'ffffffffffff' "$tmp/bad_to.err" || fail "--to: error does not name the revision"
run bad_format --format yaml
expect_rc bad_format 2
RUN_PREFIX=(status)
run noinv -i "$tmp/nowhere"
expect_rc noinv 2
run help --help
expect_rc help 0
expect_in help out --environment=ENV
RUN_PREFIX=(status -i "$inv")

# --- 7: a revision file changed after it was applied
echo "checking: checksum mismatch"
ck=$tmp/ck
mkdir -p "$ck/versions"
cp "$tmp/versions"/*.sql "$ck/versions/"
inv_gated "$ck/inventory" checksum-test "connect_timeout: 20" ck=0 || fail "checksum inventory"
RUN_PREFIX=()
run ck_apply -- apply -i "$ck/inventory" -e ck --yes
expect_rc ck_apply 0
RUN_PREFIX=(status -i "$inv")
run ck_clean --format json -i "$ck/inventory"
expect_rc ck_clean 0
expect_json ck_clean "$E_ck.(state,checksum_mismatches,checksum_error)" '["current", [], null]'
ck_file=$ck/versions/${R2}_rev.sql
old_sha=$(sha256sum "$ck_file" | cut -d' ' -f1)
echo "-- edited after it was applied" >>"$ck_file"
new_sha=$(sha256sum "$ck_file" | cut -d' ' -f1)
run ck_json --format json -i "$ck/inventory"
expect_rc ck_json 0
expect_json ck_json "$E_ck.state" current
expect_json ck_json "$E_ck.checksum_mismatches[].(revision,applied_sha256,file_sha256)" "[[\"$R2\", \"$old_sha\", \"$new_sha\"]]"
expect_json ck_json "$E_ck.checksum_mismatches | length" 1
expect_json ck_json "$E_ck.checksum_mismatches[0] | keys" '["applied_sha256", "database", "file", "file_sha256", "revision"]'
expect_json ck_json "$E_ck.targets[0].checksum_mismatches[0] | keys" '["applied_sha256", "file", "file_sha256", "revision"]'
check "ck_json: the mismatch names $(basename "$ck_file")" \
	test "$(realpath "$(json_get "$tmp/ck_json.out" "$E_ck.checksum_mismatches[0].file")")" = "$(realpath "$ck_file")"
run ck_text -i "$ck/inventory"
expect_rc ck_text 0
grep -Eq "^ck +[^ ]+ +current +$R4 +0 +checksum mismatch: $R2 \(file changed after it was applied\)\$" "$tmp/ck_text.out" ||
	fail "text: no checksum mismatch note: $(cat "$tmp/ck_text.out")"

# --- 7b: an environment behind an SSH server says so (the server is a closed port)
echo "checking: via ssh in the DATABASE cell"
inv_head "$tmp/ssh_inventory" ssh-test ../versions "" direct tunnelled
inv_env "$tmp/ssh_inventory" direct dev
cat >"$tmp/ssh_inventory/tunnelled.yaml" <<EOF
database: { host: 10.0.0.5, port: 5432, dbname: app, user: postgres }
ssh:
  host: 127.0.0.1
  port: $closed_port
  user: deploy
  identity: $tmp/no_such_key
  known_hosts: $tmp/known_hosts
  connect_timeout: $TIMEOUT
EOF
run ssh_text -i "$tmp/ssh_inventory"
expect_rc ssh_text 1
grep -Eq "^tunnelled +postgres@10\.0\.0\.5:5432/app via ssh deploy@127\.0\.0\.1:$closed_port +unreachable " "$tmp/ssh_text.out" ||
	fail "text: no \"via ssh\" in the DATABASE cell: $(cat "$tmp/ssh_text.out")"
grep -E "^direct " "$tmp/ssh_text.out" | grep -q "via ssh" && fail "text: \"via ssh\" for a direct connection"
run ssh_json --format json -i "$tmp/ssh_inventory"
expect_rc ssh_json 1
expect_json ssh_json "$E_tunnelled.(ssh,database)" "[\"deploy@127.0.0.1:$closed_port\", \"postgres@10.0.0.5:5432/app\"]"
expect_json ssh_json "$E_direct.ssh" null

# --- 8: no password anywhere
echo "checking: no secret in any output"
for f in "$tmp"/*.out "$tmp"/*.err; do
	for s in "$URL_SECRET" "$ENV_SECRET" "$WRONG_SECRET"; do
		grep -qF -- "$s" "$f" && fail "secret found in $(basename "$f"): $(grep -F -- "$s" "$f")"
	done
done

finish status_pg
