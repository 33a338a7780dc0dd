#!/bin/bash
# Schema-per-tenant fleets on one throwaway PostgreSQL: one database
# holding 100 tenant schemas at mixed revisions, each a target with its
# own version table in its schema. status shows each schema, plan groups
# them by starting rows (one approval per transition), apply moves them
# all with search_path set to the tenant (the tables land in the tenant's
# schema, never in public), a second apply has nothing to do, a tenant
# created later is discovered, a failure names the environment, the
# database and the server's message, and drift and check treat each
# schema as a target. Then the Alembic executor on 5 schemas with an
# env.py that follows Alembic's schema-level multi-tenancy recipe.
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
run status_text -- status
expect_rc status_text 0
expect_in status_text out "app/tenant_042"
