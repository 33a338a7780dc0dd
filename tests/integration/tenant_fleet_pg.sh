#!/bin/bash
# Many databases times tenant schemas on one throwaway PostgreSQL: three
# databases, each with four tenant schemas at mixed revisions, every
# (database, schema) a target. status lists the 12 with their
# revisions, plan groups them by starting rows across the databases,
# apply (canary, batches, parallel) moves them all under one approval
# per transition, each line naming DATABASE/SCHEMA; drift, check and
# --shard see the 12, and the merged shards of check equal the
# unsharded one; log names each line's DATABASE/SCHEMA; approvals are
# judged on the rows of every schema of the first database (used, an
# older plan named with its schema), and shards applying one at a time
# all find the approval there; discover with discover_schemas finds the
# same 12, and a schema query that fails in one database names it.
#
# Run by meson with MIGSYNC = the binary, MIGSYNC_SOURCE_ROOT = the repo.
set -u

: "${MIGSYNC:?set MIGSYNC to the migsync binary}"
: "${MIGSYNC_SOURCE_ROOT:?set MIGSYNC_SOURCE_ROOT to the repository root}"

. "$MIGSYNC_SOURCE_ROOT/tests/integration/lib/common.sh"
. "$MIGSYNC_SOURCE_ROOT/tests/integration/lib/pg.sh"
. "$MIGSYNC_SOURCE_ROOT/tests/integration/lib/inventory.sh"

pg_setup tenant_fleet

# q DB SQL: one value
q() {
	pg_psql -d "$1" -At -c "$2" 2>/dev/null
}

R1=b1000000000a R2=b2000000000b R3=b3000000000c
mkdir -p "$tmp/versions"
inv_accounts_revs "$tmp/versions" $R1 $R2 $R3 || fail "three revisions"

# at DB SCHEMA REV: create SCHEMA in DB at REV ("" for none: no version table)
at() {
	local sql="CREATE SCHEMA $2;"

	case $3 in
	"") ;;
	*)
		sql+="CREATE TABLE $2.alembic_version (version_num varchar(32) PRIMARY KEY);"
		sql+="CREATE TABLE $2.accounts (id int PRIMARY KEY);"
		[ "$3" = $R1 ] || sql+="ALTER TABLE $2.accounts ADD COLUMN name text;"
		[ "$3" != $R3 ] || sql+="CREATE INDEX accounts_name ON $2.accounts (name);"
		sql+="INSERT INTO $2.alembic_version VALUES ('$3');"
		;;
	esac
	pg_psql -d "$1" -q -c "$sql" >/dev/null || fail "schema $1/$2 at ${3:-none}"
}

# ta: none, R1, R2, R3; tb: R1 everywhere; tc: none, none, R2, R1
pg_createdb ta tb tc
at ta s1 ""
at ta s2 $R1
at ta s3 $R2
at ta s4 $R3
for s in s1 s2 s3 s4; do at tb $s $R1; done
at tc s1 ""
at tc s2 ""
at tc s3 $R2
at tc s4 $R1

inv=$tmp/inventory
inv_head "$inv" tenant-fleet ../versions "connect_timeout: 20, lock_wait: 30s" tenants
cat >"$inv/tenants.yaml" <<EOF
database: { host: 127.0.0.1, port: $PGPORT, dbname: ta, user: postgres }
gate: { approvals: 1 }
targets:
  databases: [ta, tb, tc]
  schemas: [s1, s2, s3, s4]
fleet: { canary: 1, batch: 50%, parallel: 3 }
EOF
RUN_ARGS=(-i "$inv")

# --- 1: status lists every (database, schema) at its own revision
echo "checking: status"
run status_json -- status --format json
expect_rc status_json 0
expect_json status_json '.environments[0].fleet' true
expect_json status_json '.environments[0].targets | length' 12
expect_json status_json '.environments[0].targets[].dbname | unique' '["ta", "tb", "tc"]'
expect_json status_json '.environments[0].targets[?dbname=tb] | length' 4
expect_json status_json '.environments[0].targets[dbname=ta,schema=s1].state' '"uninitialized"'
expect_json status_json '.environments[0].targets[dbname=ta,schema=s3].heads' "[\"$R2\"]"
expect_json status_json '.environments[0].targets[dbname=ta,schema=s4].state' '"current"'
expect_json status_json '.environments[0].targets[dbname=tb,schema=s4].heads' "[\"$R1\"]"
expect_json status_json '.environments[0].targets[dbname=tc,schema=s2].state' '"uninitialized"'
expect_json status_json '.environments[0].targets[dbname=tc,schema=s3].heads' "[\"$R2\"]"
expect_json status_json '.environments[0].targets[dbname=tc,schema=s4].heads' "[\"$R1\"]"
# in the order written: database by database, schema by schema
expect_json status_json '.environments[0].targets[].dbname' '["ta", "ta", "ta", "ta", "tb", "tb", "tb", "tb", "tc", "tc", "tc", "tc"]'
expect_json status_json '.environments[0].targets[].schema' '["s1", "s2", "s3", "s4", "s1", "s2", "s3", "s4", "s1", "s2", "s3", "s4"]'

# --- 2: the plan groups them by starting rows across the databases
echo "checking: plan"
run plan_json -- plan --format json
expect_rc plan_json 0
expect_json plan_json '.stages[0].fleet' true
expect_json plan_json '.stages[0].targets | length' 12
expect_json plan_json '.stages[0].targets[target=tenants/tc/s2].steps | length' 3
expect_json plan_json '.stages[0].targets[target=tenants/tb/s3].steps | length' 2
expect_json plan_json '.stages[0].targets[target=tenants/ta/s4].steps | length' 0
run plan_text -- plan
expect_rc plan_text 0
expect_in plan_text out "12 databases in"
expect_in plan_text out "tenants/tb/s2: $R1 -> $R3"
expect_in plan_text out "tenants/tc/s1: (none) -> $R3"

run gated -- apply --yes
expect_rc gated 3
# none (3), R1 (6), R2 (2), R3 (1: nothing to do)
expect_json plan_json '.stages[0].groups[].count' '[3, 6, 2, 1]'
for g in 0 1 2; do
	h=$(json_get "$tmp/plan_json.out" ".stages[0].groups[$g].plan_hash")
	run approve_$g USER=alice -- approve -e tenants --plan "$h"
	expect_rc approve_$g 0
done
check "approve: the approvals are in the first database's ledger" \
	test "$(q ta "SELECT count(*) FROM migsync.approvals")" = 3
check "approve: no other database holds approvals" \
	test "$(q tb "SELECT count(*) FROM pg_namespace WHERE nspname = 'migsync'")$(q tc "SELECT count(*) FROM pg_namespace WHERE nspname = 'migsync'")" = 00

# --- 3: apply moves all 12 under those approvals, each line naming DB/SCHEMA
echo "checking: apply"
run apply -- apply --yes
expect_rc apply 0
expect_in apply out "tenants/ta/s1: applied $R1"
expect_in apply out "tenants/tb/s4: applied $R2"
expect_in apply out "tenants/tc/s2: applied $R3"
expect_not_in apply out "tenants/ta/s4: applied"
expect_in apply out "tenants: 12 databases: 11 applied, 1 current, 0 failed, 0 not run"
for db in ta tb tc; do
	for s in s1 s2 s3 s4; do expect_version $db/$s $R3 "apply"; done
	check "apply: $db: the index in each of its 4 schemas, none in public" \
		test "$(q $db "SELECT count(*) FILTER (WHERE schemaname LIKE 's_'),
			count(*) FILTER (WHERE schemaname = 'public') FROM pg_indexes
			WHERE indexname = 'accounts_name'")" = "4|0"
done
# ta: 3 + 2 + 1 steps; tb: 4 x 2; tc: 3 + 3 + 1 + 2
check "apply: ledger rows of ta, tb, tc: 6, 8, 9, each naming its schema" \
	test "$(q ta "SELECT count(*) FROM migsync.applied WHERE outcome = 'applied' AND target_schema IS NOT NULL")/$(
		q tb "SELECT count(*) FROM migsync.applied WHERE outcome = 'applied' AND target_schema IS NOT NULL")/$(
		q tc "SELECT count(*) FROM migsync.applied WHERE outcome = 'applied' AND target_schema IS NOT NULL")" = 6/8/9
check "apply: no new approval" test "$(q ta "SELECT count(*) FROM migsync.approvals")" = 3

run again -- apply --yes
expect_rc again 0
expect_not_in again out ": applied "
run status_after -- status --format json
expect_rc status_after 0
expect_json status_after '.environments[0].state' '"current"'
expect_json status_after '.environments[0].targets[].state | unique' '["current"]'

# --- 4: drift and check compare the 12 with each other
echo "checking: drift and check"
run drift_same -- drift --format json
expect_rc drift_same 0
expect_json drift_same '.groups[0].targets | length' 12
q tb "ALTER TABLE s2.accounts ADD COLUMN extra int" >/dev/null || fail "plant drift in tb/s2"
run drift_one -- drift
expect_rc drift_one 1
expect_in drift_one out "tb/s2"
expect_in drift_one out "accounts.extra"
run check_one -- check --format json
expect_rc check_one 1
expect_json check_one '.problems | length' 1
expect_json check_one '.problems[0].message' '"environment \"tenants\" (tb/s2): drift: column accounts.extra: extra"'
run check_text -- check
expect_rc check_text 1

# --- 5: shards split the 12 by ENV/DATABASE/SCHEMA; merged, they are check
echo "checking: shards"
for k in 0 1 2; do
	run shard$k -- check --format json --shard $k/3
	expect_rc shard$k "$([ "$(json_get "$tmp/shard$k.out" .ok)" = true ] && echo 0 || echo 1)"
	paste -d/ <(json_get "$tmp/shard$k.out" '.environments[0].targets[].dbname | join') \
		<(json_get "$tmp/shard$k.out" '.environments[0].targets[].schema | join') >"$tmp/shard$k.targets"
	n=$(json_get "$tmp/shard$k.out" '.environments[0].targets | length')
	check "shard $k/3: $n targets, fewer than 12" test "$n" -lt 12
done
check "shards: together every target once" \
	test "$(cat "$tmp"/shard[012].targets | sort -u | wc -l)/$(cat "$tmp"/shard[012].targets | wc -l)" = 12/12
RUN_ARGS=()
run merged report merge "$tmp/shard2.out" "$tmp/shard0.out" "$tmp/shard1.out"
expect_rc merged 1
check "merged shards: the unsharded check's text" cmp -s "$tmp/check_text.out" "$tmp/merged.out"
RUN_ARGS=(-i "$inv")
q tb "ALTER TABLE s2.accounts DROP COLUMN extra" >/dev/null || fail "remove the drift of tb/s2"

# --- 6: log names each line's database and schema
echo "checking: log"
run log_json -- log -e tenants --format json
expect_rc log_json 0
expect_json log_json '.entries | length' 23
expect_json log_json '.entries[].schema | unique' '["s1", "s2", "s3", "s4"]'
# ta/s2 2 steps, tb/s2 2, tc/s2 3
expect_json log_json '.entries[?schema=s2] | length' 7
expect_json log_json ".entries[dbname=tc,schema=s2,revision=$R3].outcome" '"applied"'
run log_text -- log -e tenants
expect_rc log_text 0
expect_in log_text out "DATABASE"
check "log: a line names tc/s2 as apply does" \
	grep -Eq "^[0-9TZ:-]+  tc/s2 +$R3  up    applied " "$tmp/log_text.out"
check "log: every line names a DATABASE/SCHEMA" \
	test "$(grep -Ec "^[0-9TZ:-]+  t[abc]/s[1-4] " "$tmp/log_text.out")" = 23

# --- 7: approvals and approve read the first database's ledger, every schema's rows
echo "checking: approvals and approve"
run approvals -- approvals -e tenants --format json
expect_rc approvals 0
expect_json approvals '.approvals | length' 3
expect_json approvals '.approvals[].state' '["used", "used", "used"]'
h1=$(json_get "$tmp/plan_json.out" '.stages[0].groups[1].plan_hash')
run older USER=bob -- approve -e tenants --plan "$h1"
expect_rc older 1
expect_in older err "${h1:0:12}... is an older plan: it was applied on"
expect_in older err "(revision $R3, tenants, schema s2)"
expect_in older err "    tenants/tc/s4: $R3 -> $R3 (0 steps)"
check "older: no approval recorded" test "$(q ta "SELECT count(*) FROM migsync.approvals")" = 3

# a fourth revision, approved once, applied by 3 shards one after another:
# each reads the approval from ta, the first database, which not every
# shard holds
R4=b4000000000d
inv_sql_rev "$tmp/versions" $R4 $R3 "ALTER TABLE accounts ADD COLUMN email text;" \
	"ALTER TABLE accounts DROP COLUMN email;"
run plan4 -- plan --format json
expect_rc plan4 0
expect_json plan4 '.stages[0].groups | length' 1
run approve4 JOB_COMPLETION_INDEX=2 JOB_COMPLETION_COUNT=3 USER=alice -- approve -e tenants \
	--plan "$(json_get "$tmp/plan4.out" '.stages[0].groups[0].plan_hash')"
expect_rc approve4 0
check "approve4: recorded in ta, whatever the Job's index" \
	test "$(q ta "SELECT count(*) FROM migsync.approvals")" = 4
for k in 0 1 2; do
	run apply4_$k -- apply --yes --shard $k/3
	expect_rc apply4_$k 0
done
for db in ta tb tc; do
	for s in s1 s2 s3 s4; do expect_version $db/$s $R4 "sharded apply"; done
done
check "sharded apply: 12 rows of $R4, one per schema" \
	test "$(for db in ta tb tc; do q $db "SELECT count(DISTINCT target_schema) FROM migsync.applied WHERE revision = '$R4'"; done | awk '{ n += $1 } END { print n }')" = 12

# --- 8: discovered databases and discovered schemas: the same 12
echo "checking: discover and discover_schemas"
dinv=$tmp/discovered
inv_head "$dinv" tenant-fleet "$tmp/versions" "connect_timeout: 20" found
cat >"$dinv/found.yaml" <<EOF
database: { host: 127.0.0.1, port: $PGPORT, dbname: ta, user: postgres }
targets:
  discover: "SELECT datname FROM pg_database WHERE datname IN ('tc', 'ta', 'tb')"
  discover_schemas: "SELECT nspname FROM pg_namespace WHERE nspname LIKE 's_' ORDER BY 1 DESC"
EOF
RUN_ARGS=(-i "$dinv")
run found_status -- status --format json
expect_rc found_status 0
expect_json found_status '.environments[0].targets | length' 12
expect_json found_status '.environments[0].targets[].state | unique' '["current"]'
expect_json found_status '.environments[0].targets[0].(dbname,schema)' '["ta", "s1"]'
expect_json found_status '.environments[0].targets[11].(dbname,schema)' '["tc", "s4"]'
run found_check -- check --format json
expect_rc found_check 0
expect_json found_check '.environments[0].targets[].position | unique' '[null]'

# shards_merge NAME: check in 3 shards, merged, is the unsharded check's
# JSON (its targets in their order), generated_at aside
shards_merge() {
	local k args=("${RUN_ARGS[@]}")

	run $1_full -- check --format json
	for k in 0 1 2; do
		run $1_shard$k -- check --format json --shard $k/3
		expect_rc $1_shard$k "$([ "$(json_get "$tmp/$1_shard$k.out" .ok)" = true ] && echo 0 || echo 1)"
	done
	RUN_ARGS=()
	run $1_merged report merge --format json "$tmp/$1_shard2.out" "$tmp/$1_shard0.out" "$tmp/$1_shard1.out"
	RUN_ARGS=("${args[@]}")
	expect_rc $1_merged "$(rc_of $1_full)"
	check "$1: the merged shards are the unsharded check" \
		cmp -s <(sed 's/"generated_at":"[^"]*"//' "$tmp/$1_full.out") \
		<(sed 's/"generated_at":"[^"]*"//' "$tmp/$1_merged.out")
}
shards_merge found

# discovered databases, listed schemas: each database's in name order, as a merge orders them
sed -i "s/  discover_schemas: .*/  schemas: [s4, s2, s3, s1]/" "$dinv/found.yaml"
run found_listed -- status --format json
expect_rc found_listed 0
expect_json found_listed '.environments[0].targets[].schema | join' "$(printf 's%s\n' 1 2 3 4 1 2 3 4 1 2 3 4)"
shards_merge found_listed
# listed databases, discovered schemas: in the databases' order, each one's schemas by name
sed -i -e "s/  schemas: .*/  discover_schemas: \"SELECT nspname FROM pg_namespace WHERE nspname LIKE 's_'\"/" \
	-e "s/  discover: .*/  databases: [tc, ta, tb]/" "$dinv/found.yaml"
run found_dbs -- check --format json
expect_rc found_dbs 0
expect_json found_dbs '.environments[0].targets[].dbname | unique' '["ta", "tb", "tc"]'
expect_json found_dbs '.environments[0].targets[0].(dbname,schema)' '["tc", "s1"]'
expect_json found_dbs '.environments[0].targets[].position' '[0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2]'
shards_merge found_dbs

# a schema query that fails in one database names that database
q tb "CREATE TABLE public.tenant_list (name text)" >/dev/null || fail "tenant_list in tb"
sed -i "s/discover_schemas: .*/discover_schemas: \"SELECT name FROM public.tenant_list\"/" "$dinv/found.yaml"
run found_bad -- status
expect_rc found_bad 1
expect_in found_bad out 'environment "found" (tc): targets.discover_schemas failed: relation "public.tenant_list" does not exist'

finish tenant_fleet_pg
