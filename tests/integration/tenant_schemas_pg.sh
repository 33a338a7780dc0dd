#!/bin/bash
# Schema-per-tenant fleets on one throwaway PostgreSQL: one database
# holding 100 tenant schemas at mixed revisions, each a target with its
# own version table in its schema. status shows each schema, plan groups
# them by starting rows (one approval per transition), apply moves them
# all with search_path set to the tenant (the tables land in the tenant's
# schema, never in public), a second apply has nothing to do, a tenant
# created later is discovered (and waits for the lock of its own schema),
# a failing discovery query names the environment, the database and the
# server's message, and drift and check treat each schema as a target.
# Then the Alembic executor on 5 schemas with an env.py that follows
# Alembic's schema-level multi-tenancy recipe.
#
# Run by meson with MIGSYNC = the binary, MIGSYNC_SOURCE_ROOT = the repo.
set -u

: "${MIGSYNC:?set MIGSYNC to the migsync binary}"
: "${MIGSYNC_SOURCE_ROOT:?set MIGSYNC_SOURCE_ROOT to the repository root}"

. "$MIGSYNC_SOURCE_ROOT/tests/integration/lib/common.sh"
. "$MIGSYNC_SOURCE_ROOT/tests/integration/lib/pg.sh"
. "$MIGSYNC_SOURCE_ROOT/tests/integration/lib/inventory.sh"

pg_setup tenants

q() {
	pg_psql -d app -At -c "$1" 2>/dev/null
}

# --- 100 tenant schemas at mixed revisions, in one psql session:
# 1-40 empty, 41-70 at R1, 71-100 at R2
R1=a1000000000a R2=a2000000000b R3=a3000000000c
mkdir -p "$tmp/versions"
inv_sql_rev "$tmp/versions" $R1 "" "CREATE TABLE accounts (id int PRIMARY KEY);" "DROP TABLE accounts;"
inv_sql_rev "$tmp/versions" $R2 $R1 "ALTER TABLE accounts ADD COLUMN name text;" \
	"ALTER TABLE accounts DROP COLUMN name;"
inv_sql_rev "$tmp/versions" $R3 $R2 "CREATE INDEX accounts_name ON accounts (name);" \
	"DROP INDEX accounts_name;"
# a `transaction false` revision runs on the tenant's search_path too
R4=a4000000000d
inv_sql_rev -n "$tmp/versions" $R4 $R3 "CREATE INDEX CONCURRENTLY accounts_id_name ON accounts (id, name);" \
	"DROP INDEX CONCURRENTLY accounts_id_name;"
pg_createdb app
t0=$(now)
{
	echo "BEGIN;"
	for i in $(seq -f '%03g' 1 100); do
		s=tenant_$i
		echo "CREATE SCHEMA $s;"
		[ "$i" -gt 40 ] || continue
		echo "CREATE TABLE $s.alembic_version (version_num varchar(32) PRIMARY KEY);"
		echo "CREATE TABLE $s.accounts (id int PRIMARY KEY);"
		if [ "$i" -le 70 ]; then
			echo "INSERT INTO $s.alembic_version VALUES ('$R1');"
		else
			echo "ALTER TABLE $s.accounts ADD COLUMN name text;"
			echo "INSERT INTO $s.alembic_version VALUES ('$R2');"
		fi
	done
	echo "COMMIT;"
} | pg_psql -d app -q >/dev/null || fail "create 100 tenant schemas"
note "100 schemas created in $(elapsed "$t0") s"

inv=$tmp/inventory
inv_head "$inv" tenant-test ../versions "connect_timeout: 20, lock_wait: 30s" tenants
cat >"$inv/tenants.yaml" <<EOF
database: { host: 127.0.0.1, port: $PGPORT, dbname: app, user: postgres }
gate: { approvals: 1 }
targets:
  discover_schemas: "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'tenant\\\\_%'"
fleet: { canary: 1, batch: 25%, parallel: 4 }
EOF
RUN_ARGS=(-i "$inv")

# --- 1: status shows every schema, at its own revision
echo "checking: status"
run status_json -- status --format json
expect_rc status_json 0
expect_json status_json '.environments[0].targets | length' 100
expect_json status_json '.environments[0].fleet' true
expect_json status_json '.environments[0].targets[schema=tenant_001].dbname' '"app"'
expect_json status_json '.environments[0].targets[schema=tenant_001].state' '"uninitialized"'
expect_json status_json '.environments[0].targets[schema=tenant_041].heads' "[\"$R1\"]"
expect_json status_json '.environments[0].targets[schema=tenant_100].heads' "[\"$R2\"]"

# --- 2: the plan groups the schemas by starting rows, one hash per transition
echo "checking: plan"
run plan_json -- plan --format json
expect_rc plan_json 0
expect_json plan_json '.stages[0].fleet' true
expect_json plan_json '.stages[0].groups | length' 3
expect_json plan_json '.stages[0].targets | length' 100
expect_json plan_json '.stages[0].targets[target=tenants/app/tenant_001].steps | length' 4
run plan_text -- plan
expect_rc plan_text 0
expect_in plan_text out "100 databases in 3 groups"
expect_in plan_text out "tenants/app/tenant_071: $R2 -> $R4"

run gated -- apply --yes
expect_rc gated 3
for h in $(json_get "$tmp/plan_json.out" '.stages[0].groups[].plan_hash | join'); do
	run approve_$h USER=alice -- approve -e tenants --plan "$h"
	expect_rc approve_$h 0
done

# --- 3: apply moves every schema, each with search_path set to it
echo "checking: apply"
run apply -- apply --yes
note "apply: $(cat "$tmp/apply.time") s"
expect_rc apply 0
expect_in apply out "tenants/app/tenant_001: applied $R1"
expect_in apply out "tenants/app/tenant_100: applied $R4"
expect_not_in apply out "tenants/app/tenant_100: applied $R1"
for s in tenant_001 tenant_050 tenant_100; do expect_version app/$s $R4 "apply"; done
check "apply: both indexes in every tenant's schema" test "$(q "SELECT count(*) FROM pg_namespace n
	WHERE nspname LIKE 'tenant\\_%' AND EXISTS (SELECT 1 FROM pg_class c WHERE c.relnamespace = n.oid
	AND c.relname = 'accounts_name') AND EXISTS (SELECT 1 FROM pg_class c
	WHERE c.relnamespace = n.oid AND c.relname = 'accounts_id_name')")" = 100
check "apply: nothing landed in public" \
	test "$(q "SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace")" = 0
check "apply: each schema's ledger rows name it" \
	test "$(q "SELECT count(DISTINCT target_schema) FROM migsync.applied WHERE outcome = 'applied'")" = 100
check "apply: 40 x 4 + 30 x 3 + 30 x 2 steps = 310 rows" \
	test "$(q "SELECT count(*) FROM migsync.applied WHERE outcome = 'applied'")" = 310
check "apply: no advisory lock left behind" \
	test "$(q "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'")" = 0

run again -- apply --yes
expect_rc again 0
expect_not_in again out ": applied "
check "again: no new ledger row" \
	test "$(q "SELECT count(*) FROM migsync.applied")" = 310

# --- 4: a tenant created after the approval is discovered and applied
# under the same approval
echo "checking: a new tenant"
q "CREATE SCHEMA tenant_101" >/dev/null || fail "CREATE SCHEMA tenant_101"
# migsync's lock is per schema: a session holding tenant_101's makes its
# apply wait (database.lock_wait), and the other tenants' locks are free
PGAPPNAME=tenant_holder "$PG_BINDIR/psql" -X -q -h 127.0.0.1 -p "$PGPORT" -U postgres -d app \
	-c "SELECT pg_advisory_lock(1836280939, hashtext('app/tenant_101'))" \
	-c "SELECT pg_sleep(120)" >/dev/null 2>&1 &
holder=$!
kill_at_exit "$holder"
for _ in $(seq 50); do
	[ "$(q "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'")" = 1 ] && break
	sleep 0.1
done
cp "$inv/tenants.yaml" "$tmp/tenants.yaml.good"
sed -i 's/user: postgres }/user: postgres, lock_wait: 2s }/' "$inv/tenants.yaml"
run locked -- apply --yes
expect_rc locked 1
expect_in locked err 'tenants/app/tenant_101: failed (canary): environment "tenants" (app/tenant_101): timed out waiting for the lock'
expect_version app/tenant_101 none "locked"
q "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'tenant_holder'" >/dev/null ||
	fail "end the lock holder"
wait "$holder" 2>/dev/null
cp "$tmp/tenants.yaml.good" "$inv/tenants.yaml"
run newcomer -- apply --yes
expect_rc newcomer 0
expect_in newcomer out "tenants/app/tenant_101: applied $R4"
expect_in newcomer out "tenants: 101 databases: 1 applied, 100 current, 0 failed, 0 not run"
expect_version app/tenant_101 $R4 "newcomer"
check "newcomer: no new approval" test "$(q "SELECT count(*) FROM migsync.approvals")" = 3

# --- 5: a discovery query that fails names the environment and the
# database, and shows the server's message
echo "checking: a failing discovery query"
sed -i 's/SELECT nspname FROM/SELECT nspnam FROM/' "$inv/tenants.yaml"
run bad_discovery -- status
expect_rc bad_discovery 1
expect_in bad_discovery out 'environment "tenants": targets.discover_schemas in database "app" failed: column "nspnam" does not exist'
cp "$tmp/tenants.yaml.good" "$inv/tenants.yaml"

# --- 6: drift and check compare the tenants with each other
echo "checking: drift and check"
run drift_same -- drift --format json
expect_rc drift_same 0
expect_json drift_same '.groups | length' 1
expect_json drift_same '.groups[0].targets | length' 101
expect_json drift_same '.groups[0].targets[].state | unique' '["reference", "same"]'
q "ALTER TABLE tenant_013.accounts ADD COLUMN extra int" >/dev/null || fail "plant drift in tenant_013"
run drift_one -- drift
expect_rc drift_one 1
expect_in drift_one out "app/tenant_013"
expect_in drift_one out "accounts.extra"
expect_not_in drift_one out "tenant_013.accounts"
run check_one -- check --format json
expect_rc check_one 1
expect_json check_one '.problems | length' 1
expect_json check_one '.problems[0].message' '"environment \"tenants\" (app/tenant_013): drift: column accounts.extra: extra"'

# --- 7: the Alembic executor on 5 tenant schemas, with the recipe's env.py
echo "checking: the Alembic executor"
if ! /usr/bin/python3 -c 'import alembic, sqlalchemy, psycopg2' 2>/dev/null; then
	skip "python3 with alembic, sqlalchemy and psycopg2 not found: the Alembic executor is not run"
	finish tenant_schemas_pg
fi
export PYTHONDONTWRITEBYTECODE=1
proj=$tmp/alembic
inv_alembic_project "$proj" || fail "an Alembic project"
cp "$MIGSYNC_SOURCE_ROOT/tests/integration/data/tenant-alembic/env.py" "$proj/migrations/env.py"
inv_alembic_rev "$proj/migrations/versions" $R1 "" "CREATE TABLE accounts (id int PRIMARY KEY)" \
	"DROP TABLE accounts"
inv_alembic_rev "$proj/migrations/versions" $R2 $R1 "ALTER TABLE accounts ADD COLUMN name text" \
	"ALTER TABLE accounts DROP COLUMN name"
inv_alembic_rev "$proj/migrations/versions" $R3 $R2 "CREATE INDEX accounts_name ON accounts (name)" \
	"DROP INDEX accounts_name"
pg_createdb shop
pg_psql -d shop -q -c "CREATE SCHEMA shop_1; CREATE SCHEMA shop_2; CREATE SCHEMA \"Shop 3\";
	CREATE SCHEMA shop_4; CREATE SCHEMA shop_5;
	CREATE TABLE shop_4.accounts (id int PRIMARY KEY);
	CREATE TABLE shop_4.alembic_version (version_num varchar(32) PRIMARY KEY);
	INSERT INTO shop_4.alembic_version VALUES ('$R1');
	CREATE TABLE shop_5.accounts (id int PRIMARY KEY, name text);
	CREATE TABLE shop_5.alembic_version (version_num varchar(32) PRIMARY KEY);
	INSERT INTO shop_5.alembic_version VALUES ('$R2');" >/dev/null || fail "5 shop schemas"
ainv=$tmp/alembic-inventory
mkdir -p "$ainv"
cat >"$ainv/inventory.yaml" <<EOF
project: tenant-alembic
migrations: { executor: alembic, alembic_ini: $proj/alembic.ini, python: /usr/bin/python3 }
rollout: [shop]
EOF
cat >"$ainv/shop.yaml" <<EOF
database: { host: 127.0.0.1, port: $PGPORT, dbname: shop, user: postgres, lock_wait: 30s }
targets:
  schemas: [shop_1, shop_2, "Shop 3", shop_4, shop_5]
fleet: { parallel: 2 }
EOF
RUN_ARGS=(-i "$ainv")
run alembic_inventory -- inventory --format json
expect_rc alembic_inventory 0
expect_json alembic_inventory '.environments[0].fleet.schemas' '["shop_1", "shop_2", "Shop 3", "shop_4", "shop_5"]'
run alembic_plan -- plan --format json
expect_rc alembic_plan 0
expect_json alembic_plan '.stages[0].groups | length' 3
run alembic_apply -- apply --yes
note "alembic_apply: $(cat "$tmp/alembic_apply.time") s"
expect_rc alembic_apply 0
expect_in alembic_apply out "shop/shop/Shop 3: applied $R1"
expect_in alembic_apply out "shop/shop/shop_5: applied $R3"
for s in shop_1 "Shop 3" shop_4 shop_5; do expect_version "shop/$s" $R3 "alembic"; done
check "alembic: every schema has its own accounts table with its index" \
	test "$(pg_psql -d shop -At -c "SELECT count(*) FROM pg_indexes WHERE indexname = 'accounts_name'")" = 5
check "alembic: nothing landed in public" \
	test "$(pg_psql -d shop -At -c "SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace")" = 0
check "alembic: each schema's ledger rows name it" \
	test "$(pg_psql -d shop -At -c "SELECT count(DISTINCT target_schema) FROM migsync.applied WHERE executor = 'alembic'")" = 5
run alembic_status -- status --format json
expect_rc alembic_status 0
expect_json alembic_status '.environments[0].state' '"current"'
run alembic_again -- apply --yes
expect_rc alembic_again 0
expect_not_in alembic_again out ": applied "

finish tenant_schemas_pg
