#!/bin/bash
# migsync drift against a real, throwaway PostgreSQL: dev, staging and
# prod built by running the same SQL (the up sections of the
# stock-assistant example, plus an enum and a view) with the same version
# row, and an "old" database one revision behind. Identical schemas give
# no drift; a column added by hand, an INVALID index left by a failed
# CREATE INDEX CONCURRENTLY, a changed column default, a changed view and
# an extra enum label are each found and named; a database at another
# revision is not compared; --against picks the reference; an unreachable
# database makes the check fail without hiding the others; the version
# table, the ledger schema and (with --schemas) other schemas are left
# out; JSON parses.
#
# Run by meson with MIGSYNC = the binary, MIGSYNC_SOURCE_ROOT = the repo.
set -u

: "${MIGSYNC:?set MIGSYNC to the migsync binary}"
: "${MIGSYNC_SOURCE_ROOT:?set MIGSYNC_SOURCE_ROOT to the repository root}"

. "$MIGSYNC_SOURCE_ROOT/tests/integration/lib/common.sh"
. "$MIGSYNC_SOURCE_ROOT/tests/integration/lib/pg.sh"
. "$MIGSYNC_SOURCE_ROOT/tests/integration/lib/inventory.sh"

if "$MIGSYNC" drift --help 2>&1 | grep -q 'is not a migsync command'; then
	skip_all "this migsync has no drift command (src/main.c does not list it)"
fi

VERSIONS=$MIGSYNC_SOURCE_ROOT/examples/stock-assistant/versions
HEAD=e19b6f3d2a77
OLD=c52d9e07a4f8

pg_setup drift

# --- the schema: the up sections of the example revisions, in order
up_sections() {	# up_sections FILE...: the SQL between "-- migsync:up" and "-- migsync:down"
	awk '/^-- migsync:up/ { up = 1; next } /^-- migsync:down/ { up = 0 } up' "$@"
}
extra_sql="CREATE TYPE sync_status AS ENUM ('pending', 'running', 'done');
CREATE VIEW active_llm_configs AS SELECT alias, model_name FROM llm_configs WHERE is_active;"

build() {	# build DB VERSION FILE...: create DB from the files' up sections
	local db=$1 version=$2

	shift 2
	pg_createdb "$db"
	{
		up_sections "$@"
		echo "$extra_sql"
		echo "CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY);"
		echo "INSERT INTO alembic_version VALUES ('$version');"
	} >"$tmp/$db.sql"
	pg_psql -d "$db" -f "$tmp/$db.sql" >/dev/null || fail "could not build $db"
}
all_up=$(ls "$VERSIONS"/*.sql | sort)
old_up=$(ls "$VERSIONS"/*.sql | sort | grep -v $HEAD)
# shellcheck disable=SC2086
{
	build dev $HEAD $all_up
	build staging $HEAD $all_up
	build prod $HEAD $all_up
	build old $OLD $old_up
}

# prod's objects get other OIDs and another catalog order: drop and
# recreate a view and a table (as the example creates it), create an
# unrelated table first
stock_finance=$(sed -n '/^CREATE TABLE stock_finance (/,/^);/p' "$VERSIONS"/*.sql)
[ -n "$stock_finance" ] || fail "no CREATE TABLE stock_finance in $VERSIONS"
pg_psql -d prod >/dev/null <<EOF || fail "could not shuffle prod"
CREATE TABLE zz_tmp (a int);
DROP VIEW active_llm_configs;
DROP TABLE stock_finance;
$stock_finance
CREATE VIEW active_llm_configs AS SELECT alias, model_name FROM llm_configs WHERE is_active;
DROP TABLE zz_tmp;
EOF

# --- the inventory
hold_port closed_port
inv=$tmp/inventory
inv_head "$inv" drift-test "$VERSIONS" "connect_timeout: 20" dev staging prod old down fleet
for db in dev staging prod old; do
	inv_env "$inv" $db $db
done
inv_env "$inv" down postgres "$closed_port" postgres 2
cat >"$inv/fleet.yaml" <<EOF
database: { host: 127.0.0.1, port: $PGPORT, dbname: postgres, user: postgres }
targets: { databases: [dev, prod] }
EOF

REACHABLE=(-e dev -e staging -e prod -e old)

# run NAME ARGS... (lib/common.sh): migsync drift -i $inv ARGS
RUN_PREFIX=(drift -i "$inv")
# expect_line NAME LINE: stdout has exactly this line
expect_line() {
	grep -Fxq -- "$2" "$tmp/$1.out" || fail "$1: no line \"$2\" in: $(cat "$tmp/$1.out")"
}
# expect_json NAME PATH [OP] VALUE (lib/common.sh): checks of the JSON
# output of NAME; T_x is the path of the target of environment x (in any
# group), G_rev the path of the group of a revision (G_none: no revision),
# D_x the [kind, object, change] of each difference of environment x
for e in dev staging prod old down; do
	declare "T_$e=.groups[].targets | flatten | [environment=$e]"
	declare "D_$e=.groups[].targets | flatten | [environment=$e].differences[].(kind,object,change)"
done
G_head=".groups[revision=$HEAD]"
G_none='.groups[revision=null]'

# --- 1: identical schemas
echo "checking: identical schemas, no drift"
run same "${REACHABLE[@]}"
expect_rc same 0
expect_line same "revision $HEAD: compared with dev"
grep -Eq '^  staging +[0-9a-f]{12} +same$' "$tmp/same.out" || fail "same: staging row: $(cat "$tmp/same.out")"
grep -Eq '^  prod +[0-9a-f]{12} +same$' "$tmp/same.out" || fail "same: prod row: $(cat "$tmp/same.out")"
grep -Eq '^  dev +[0-9a-f]{12} +reference$' "$tmp/same.out" || fail "same: dev row: $(cat "$tmp/same.out")"
grep -Eq '^  old +[0-9a-f]{12} +not compared: no other target at this revision$' "$tmp/same.out" ||
	fail "same: old row: $(cat "$tmp/same.out")"
expect_line same "no drift: 3 targets compared, 1 not compared"

run same_json "${REACHABLE[@]}" --format json
expect_rc same_json 0
expect_json same_json '.(drift,drifted,invalid_indexes)' '[false, 0, 0]'
expect_json same_json '.groups[].revision' "[[\"$HEAD\"], [\"$OLD\"]]"
expect_json same_json "$G_head.reference" dev
expect_json same_json "$G_head.targets[].environment" '["dev", "staging", "prod"]'
fp=$(json_get "$tmp/same_json.out" "$T_dev.fingerprint")
expect_json same_json "$T_dev.fingerprint" =~ '^[0-9a-f]{64}$'
expect_json same_json "$T_staging.fingerprint" "\"$fp\""
expect_json same_json "$T_prod.fingerprint" "\"$fp\""
expect_json same_json "$T_old.state" not-compared
expect_json same_json "$T_old.fingerprint" != "\"$fp\""
expect_json same_json "$T_dev.state" reference
expect_json same_json "$T_staging.state" same
expect_json same_json '.groups[].targets | flatten | [].differences | unique' '[[]]'

# --- 2: what is left out: the version table, the ledger schema
echo "checking: version table and ledger schema are left out"
pg_psql -d staging >/dev/null <<'EOF' || fail "could not change staging"
ALTER TABLE alembic_version ALTER COLUMN version_num TYPE varchar(64);
CREATE INDEX ix_alembic_version_extra ON alembic_version (version_num);
CREATE SCHEMA migsync;
CREATE TABLE migsync.applied (id int);
EOF
run ignored "${REACHABLE[@]}"
expect_rc ignored 0

# --- 3: a column added by hand
echo "checking: a column added by hand"
pg_psql -d staging -c "ALTER TABLE stock_daily ADD COLUMN note text" >/dev/null || fail "add column"
run column "${REACHABLE[@]}"
expect_rc column 1
expect_line column "staging: column public.stock_daily.note: extra (text)"
grep -Eq '^  staging +[0-9a-f]{12} +drift, 1 difference$' "$tmp/column.out" || fail "column: staging row: $(cat "$tmp/column.out")"
grep -Eq '^  prod +[0-9a-f]{12} +same$' "$tmp/column.out" || fail "column: prod row: $(cat "$tmp/column.out")"
expect_line column "drift in 1 of 4 targets"
run column_json "${REACHABLE[@]}" --format json
expect_rc column_json 1
expect_json column_json '.(drift,drifted)' '[true, 1]'
expect_json column_json "$T_staging.state" drift
expect_json column_json "$T_staging.differences" '[{"kind": "column", "object": "public.stock_daily.note", "change": "extra", "reference": null, "actual": "text"}]'
expect_json column_json "$T_staging.fingerprint" != "\"$(json_get "$tmp/column_json.out" "$T_dev.fingerprint")\""
pg_psql -d staging -c "ALTER TABLE stock_daily DROP COLUMN note" >/dev/null || fail "drop column"
run column_back "${REACHABLE[@]}"
expect_rc column_back 0

# --- 4: an INVALID index from a failed CREATE INDEX CONCURRENTLY
echo "checking: an INVALID index"
pg_psql -d prod -c "INSERT INTO llm_configs (alias, vendor, provider_type, model_name) VALUES ('a', 'same', 'x', 'm'), ('b', 'same', 'x', 'm')" >/dev/null ||
	fail "insert duplicates"
pg_psql -d prod -c "CREATE UNIQUE INDEX CONCURRENTLY ix_llm_configs_vendor ON llm_configs (vendor)" >/dev/null 2>&1 &&
	fail "the unique index on duplicates was created"
[ "$(pg_psql -d prod -Atc "SELECT count(*) FROM pg_index WHERE NOT indisvalid")" = 1 ] || fail "no invalid index in prod"
run invalid "${REACHABLE[@]}"
expect_rc invalid 1
expect_line invalid "prod: INVALID index public.ix_llm_configs_vendor"
grep -Fq "prod: index public.ix_llm_configs_vendor: extra (CREATE UNIQUE INDEX ix_llm_configs_vendor ON public.llm_configs USING btree (vendor) /* INVALID */)" \
	"$tmp/invalid.out" || fail "invalid: no extra index line: $(cat "$tmp/invalid.out")"
expect_line invalid "drift in 1 of 4 targets, 1 INVALID index"
run invalid_json "${REACHABLE[@]}" --format json
expect_rc invalid_json 1
expect_json invalid_json "$T_prod.invalid_indexes" '["public.ix_llm_configs_vendor"]'
expect_json invalid_json .invalid_indexes 1
expect_json invalid_json "$T_dev.invalid_indexes" '[]'
expect_json invalid_json "$T_staging.invalid_indexes" '[]'
# an invalid index is reported even with no one to compare with
run invalid_alone -e prod
expect_rc invalid_alone 1
expect_line invalid_alone "prod: INVALID index public.ix_llm_configs_vendor"
pg_psql -d prod -c "DROP INDEX ix_llm_configs_vendor" >/dev/null || fail "drop index"
run invalid_back "${REACHABLE[@]}"
expect_rc invalid_back 0

# --- 5: a changed column default
echo "checking: a changed default"
pg_psql -d staging -c "ALTER TABLE sync_tasks ALTER COLUMN batch_size SET DEFAULT 500" >/dev/null || fail "set default"
run default "${REACHABLE[@]}"
expect_rc default 1
expect_line default 'staging: column public.sync_tasks.batch_size: changed: reference "integer NOT NULL DEFAULT 100" vs "integer NOT NULL DEFAULT 500"'
pg_psql -d staging -c "ALTER TABLE sync_tasks ALTER COLUMN batch_size SET DEFAULT 100" >/dev/null || fail "reset default"

# --- 6: a changed view and an extra enum label; --against
echo "checking: a changed view, an extra enum label"
pg_psql -d prod -c "CREATE OR REPLACE VIEW active_llm_configs AS SELECT alias, model_name FROM llm_configs WHERE is_active AND priority > 0" >/dev/null ||
	fail "replace view"
pg_psql -d staging -c "ALTER TYPE sync_status ADD VALUE 'failed'" >/dev/null || fail "add enum label"
run objects "${REACHABLE[@]}"
expect_rc objects 1
expect_line objects "staging: enum public.sync_status: changed: reference \"ENUM ('pending', 'running', 'done')\" vs \"ENUM ('pending', 'running', 'done', 'failed')\""
grep -Eq '^prod: view public.active_llm_configs: changed: reference ".*is_active;" vs ".*is_active AND llm_configs.priority > 0;"$' "$tmp/objects.out" ||
	fail "objects: no view line: $(cat "$tmp/objects.out")"
expect_line objects "drift in 2 of 4 targets"
run objects_json "${REACHABLE[@]}" --format json
expect_rc objects_json 1
expect_json objects_json "$D_staging" '[["enum", "public.sync_status", "changed"]]'
expect_json objects_json "$D_prod" '[["view", "public.active_llm_configs", "changed"]]'
expect_json objects_json "$T_prod.differences[0].actual" has 'priority > 0'
expect_json objects_json "$T_prod.differences[0].reference" lacks priority

echo "checking: --against"
run against "${REACHABLE[@]}" --against prod --format json
expect_rc against 1
expect_json against "$G_head.reference" prod
expect_json against "$T_prod.state" reference
expect_json against "$D_dev" '[["view", "public.active_llm_configs", "changed"]]'
expect_json against "$D_staging | sort" '[["enum", "public.sync_status", "changed"], ["view", "public.active_llm_configs", "changed"]]'
expect_json against "$T_old.state" not-compared
expect_json against "$T_old.note" '"prod" is at another revision'
# --against joins the environments -e names
run against_e -e staging --against dev
expect_rc against_e 1
expect_line against_e "revision $HEAD: compared with dev"
expect_not_in against_e out "prod"
run against_bad "${REACHABLE[@]}" --against nosuch
expect_rc against_bad 2
grep -q 'environment "nosuch": not in the inventory' "$tmp/against_bad.err" || fail "--against nosuch: $(cat "$tmp/against_bad.err")"
[ -s "$tmp/against_bad.out" ] && fail "--against nosuch: unexpected stdout"

# --- 7: --schemas
echo "checking: --schemas"
pg_psql -d dev -c "CREATE SCHEMA reporting; CREATE TABLE reporting.daily (d date)" >/dev/null || fail "reporting schema"
run schemas_default -e dev -e staging --against dev
expect_rc schemas_default 1
expect_line schemas_default "staging: schema reporting: missing (schema)"
expect_line schemas_default "staging: table reporting.daily: missing (table)"
expect_not_in schemas_default out "column reporting.daily.d"
run schemas_public -e dev -e staging --schemas public --format json
expect_rc schemas_public 1
expect_json schemas_public "$D_staging" '[["enum", "public.sync_status", "changed"]]'
run schemas_reporting -e dev -e staging --schemas reporting,nosuch --format json
expect_rc schemas_reporting 1
expect_json schemas_reporting "$D_staging" '[["schema", "reporting", "missing"], ["table", "reporting.daily", "missing"]]'

# --- 8: the other kinds of objects
echo "checking: constraints, triggers, functions, sequences, nullability"
pg_psql -d staging >/dev/null <<'EOF' || fail "could not change staging"
ALTER TABLE stock_info ADD CONSTRAINT ck_stock_info_id CHECK (id > 0);
ALTER TABLE stock_info ALTER COLUMN industry SET NOT NULL;
ALTER TABLE stock_info ALTER COLUMN id SET INCREMENT BY 2;
DROP TRIGGER llm_configs_touch ON llm_configs;
CREATE OR REPLACE FUNCTION llm_configs_touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := clock_timestamp();
    RETURN NEW;
END;
$$;
EOF
run kinds -e dev -e staging --schemas public --format json
expect_rc kinds 1
expect_json kinds "$D_staging | sort" '[["column", "public.stock_info.industry", "changed"], ["constraint", "public.stock_info.ck_stock_info_id", "extra"], ["enum", "public.sync_status", "changed"], ["function", "public.llm_configs_touch()", "changed"], ["sequence", "public.stock_info_id_seq", "changed"], ["trigger", "public.llm_configs.llm_configs_touch", "missing"]]'
expect_json kinds "$T_staging.differences[?kind=column][].actual" '["character varying(64) NOT NULL"]'
expect_json kinds "$T_staging.differences[?kind=constraint][].actual" '["CHECK (id > 0)"]'
expect_json kinds "$T_staging.differences[?kind=function][0].actual" has 'clock_timestamp()'

# --- 9: a fleet: each database is a target of its own
echo "checking: a fleet"
run fleet -e dev -e fleet --schemas public --format json
expect_rc fleet 1
expect_json fleet '.groups[0].reference' dev
expect_json fleet '.groups[0].targets[].(environment,dbname,state) | [1]' '["fleet", "dev", "same"]'
expect_json fleet '.groups[0].targets[].(environment,dbname,state) | [2]' '["fleet", "prod", "drift"]'
expect_json fleet '.groups[0].targets | length' 3
run fleet_text -e dev -e fleet --schemas public
expect_rc fleet_text 1
grep -Eq '^  fleet/prod +[0-9a-f]{12} +drift, 1 difference$' "$tmp/fleet_text.out" || fail "fleet: text: $(cat "$tmp/fleet_text.out")"
expect_line fleet_text 'fleet/prod: view public.active_llm_configs: changed: reference "SELECT llm_configs.alias, llm_configs.model_name FROM public.llm_configs WHERE llm_configs.is_active;" vs "SELECT llm_configs.alias, llm_configs.model_name FROM public.llm_configs WHERE llm_configs.is_active AND llm_configs.priority > 0;"'

# --- 10: an unreachable database is reported, and fails the check
echo "checking: an unreachable database"
run down -e dev -e prod -e down
expect_rc down 1
expect_line down "could not compare"
grep -Eq '^  down +- +unreachable: environment "down": could not connect' "$tmp/down.out" || fail "down: row: $(cat "$tmp/down.out")"
grep -Eq '^  prod +[0-9a-f]{12} +drift, ' "$tmp/down.out" || fail "down: prod not compared: $(cat "$tmp/down.out")"
run down_json -e dev -e down --format json
expect_rc down_json 1
expect_json down_json "$T_down.(state,fingerprint)" '["unreachable", null]'
expect_json down_json "$T_down.error" =~ .
expect_json down_json "$G_none.reference" null
expect_json down_json "$T_dev.state" not-compared
expect_json down_json .unreachable 1

# --- 11: usage
echo "checking: usage"
run help --help
expect_rc help 0
grep -q '^Usage:' "$tmp/help.out" || fail "--help: $(cat "$tmp/help.out")"
run badopt --nosuch
expect_rc badopt 2
grep -q "Try 'migsync drift --help'" "$tmp/badopt.err" || fail "bad option: $(cat "$tmp/badopt.err")"
run badarg extra
expect_rc badarg 2
run badjobs -j 0
expect_rc badjobs 2
run badenv -e nosuch
expect_rc badenv 2

finish drift_pg
