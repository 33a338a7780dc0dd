#!/bin/bash
# A fleet of tenant databases (MIGSYNC_FLEET_SIZE, default 40; the
# 300-database run is `MIGSYNC_FLEET_SIZE=300 meson test fleet_pg`) on one
# throwaway PostgreSQL: the plan
# groups them by starting rows with one plan hash per group (no database
# identity in it), one approval covers the group; the rollout runs the
# canary alone, then batches of 25% with 8 databases at once; a planted
# failing tenant stops the run at the end of its batch when it is beyond
# the failure budget, and not when it is within; every line names its
# database, the summary and the JSON count each outcome; after the fix,
# apply resumes without a new approval, a tenant created after the
# approval included; on a terminal a progress line shows done, failed and
# remaining. Then --shard K/N: four shards as four processes partition the
# fleet, a Kubernetes Indexed Job's variables are the default shard, and
# adding tenants moves no database to another shard.
#
# Run by meson with MIGSYNC = the binary, MIGSYNC_SOURCE_ROOT = the repo.
set -u

: "${MIGSYNC:?set MIGSYNC to the migsync binary}"
: "${MIGSYNC_SOURCE_ROOT:?set MIGSYNC_SOURCE_ROOT to the repository root}"

. "$MIGSYNC_SOURCE_ROOT/tests/integration/lib/common.sh"
. "$MIGSYNC_SOURCE_ROOT/tests/integration/lib/pg.sh"
. "$MIGSYNC_SOURCE_ROOT/tests/integration/lib/inventory.sh"

N=${MIGSYNC_FLEET_SIZE:-40}
if ! [[ $N =~ ^[0-9]+$ ]] || [ "$N" -lt 8 ] || [ $((N % 4)) != 0 ]; then
	echo "MIGSYNC_FLEET_SIZE must be a multiple of 4 from 8" >&2
	exit 2
fi
B=$((N / 4))          # a batch of 25%
# tn I: the name of tenant I
tn() { printf 'tenant_%04d' "$1"; }
F=$(tn $((2 * B)))    # the planted failure: the last but one of the second batch

# Hundreds of databases are gigabytes of catalogs: in memory when there is room, so
# that creating and removing them costs seconds, not minutes
if [ -w /dev/shm ] && [ "$(df -Pk /dev/shm | awk 'NR == 2 { print $4 }')" -gt 6000000 ]; then
	export TMPDIR=/dev/shm
fi
pg_setup fleet

q() {
	pg_psql -d "$1" -At -c "$2" 2>/dev/null
}

# --- N tenants, created from a template in one session
R1=f1000000000a R2=f2000000000b R3=f3000000000c
mkdir -p "$tmp/versions"
inv_sql_rev "$tmp/versions" $R1 "" "CREATE TABLE accounts (id int PRIMARY KEY);" "DROP TABLE accounts;"
inv_sql_rev "$tmp/versions" $R2 $R1 "ALTER TABLE accounts ADD COLUMN name text;" \
	"ALTER TABLE accounts DROP COLUMN name;"
inv_sql_rev "$tmp/versions" $R3 $R2 "CREATE INDEX accounts_name ON accounts (name);" \
	"DROP INDEX accounts_name;"
t0=$(now)
{
	echo "CREATE DATABASE tenant_tpl TEMPLATE template0;"
	for i in $(seq -f '%04g' 1 "$N"); do
		echo "CREATE DATABASE tenant_$i TEMPLATE tenant_tpl STRATEGY FILE_COPY;"
	done
} | pg_psql -d postgres >/dev/null || fail "create $N databases"
note "$N databases created in $(elapsed "$t0") s"

inv=$tmp/inventory
inv_head "$inv" fleet-test ../versions "connect_timeout: 20, lock_wait: 30s" tenants
cat >"$inv/tenants.yaml" <<EOF
database: { host: 127.0.0.1, port: $PGPORT, dbname: postgres, user: postgres }
gate: { approvals: 1 }
targets:
  discover: "SELECT datname FROM pg_database WHERE datname ~ '^tenant_[0-9]+\$'"
fleet: { canary: 1, batch: 25%, parallel: 8, max_failures: 0 }
EOF
RUN_ARGS=(-i "$inv")

# --- 1: the plan groups the fleet; the hash is the transition's
echo "checking: plan"
run plan_json -- plan --format json
note "plan_json: $(cat "$tmp/plan_json.time") s"
expect_rc plan_json 0
expect_json plan_json '.stages[0].fleet' true
expect_json plan_json '.stages[0].groups | length' 1
expect_json plan_json '.stages[0].groups[0].count' $N
expect_json plan_json '.stages[0].groups[0].steps' "[\"$R1\", \"$R2\", \"$R3\"]"
expect_json plan_json '.stages[0].targets | length' $N
H=$(json_get "$tmp/plan_json.out" '.stages[0].groups[0].plan_hash')
expect_json plan_json '.stages[0].plan_hash' "\"$H\""
expect_json plan_json '.stages[0].targets[].plan_hash | unique' "[\"$H\"]"

run gated -- apply --yes
expect_rc gated 3
check "gated: the approve command names the group's hash" test "$(hash_of gated)" = "$H"
expect_version tenant_0001 none "gated"
run approve USER=alice -- approve -e tenants --plan "$H"
expect_rc approve 0

# --- 2: a failing tenant beyond the budget (max_failures 0): the run stops after its batch
echo "checking: beyond the failure budget"
q $F "CREATE TABLE accounts (id int)" >/dev/null
[ "$(q $F "SELECT count(*) FROM pg_tables WHERE tablename = 'accounts'")" = 1 ] ||
	fail "plant the failure in $F"
run beyond -- apply --yes
note "beyond: $(cat "$tmp/beyond.time") s"
expect_rc beyond 1
# canary tenant_0001 alone, then batches of N/4: $F is in the second
expect_in beyond out "tenants/tenant_0001: applied $R1"
expect_in beyond out "tenants/$(tn $((2 * B + 1))): applied $R3"
expect_not_in beyond out "tenants/$(tn $((2 * B + 2))):"
expect_in beyond out "tenants: $N databases: $((2 * B)) applied, 0 current, 1 failed, $((N - 2 * B - 1)) not run"
expect_in beyond err "migsync: tenants/$F: failed: "
expect_in beyond err "environment \"tenants\": 1 database failed; over the failure budget (fleet.max_failures): stopped after the batch; $((N - 2 * B - 1)) not run"
expect_in beyond err "run migsync apply again"
check "beyond: every applied line names its database" \
	test "$(grep -c ': applied ' "$tmp/beyond.out")" = $((3 * 2 * B))
for db in tenant_0001 $(tn $((B + 1))) $(tn $((2 * B + 1))); do expect_version $db $R3 "beyond"; done
for db in $F $(tn $((2 * B + 2))) $(tn $N); do expect_version $db none "beyond"; done
check "beyond: $F's ledger holds its failure" \
	test "$(q $F "SELECT count(*) FROM migsync.applied WHERE revision = '$R1' AND outcome = 'failed'")" = 1
check "beyond: the canary ran before any other database" \
	test "$(grep -m1 ': applied ' "$tmp/beyond.out" | cut -d: -f1)" = tenants/tenant_0001

# --- 3: within the budget (max_failures 1, no canary): the run goes on, no new approval
echo "checking: within the failure budget, resumed without a new approval"
sed -i 's/^fleet: .*/fleet: { canary: 0, batch: 25%, parallel: 8, max_failures: 1 }/' "$inv/tenants.yaml"
run within -- apply --yes --format json
note "within: $(cat "$tmp/within.time") s"
expect_rc within 1
expect_json within '.stages[0].outcome' '"failed"'
expect_json within '.stages[0].summary' "{\"not_run\": 0, \"current\": $((2 * B)), \"applied\": $((N - 2 * B - 1)), \"failed\": 1}"
expect_json within '.stages[0].targets | length' $N
expect_json within ".stages[0].targets[target=tenants/$F].outcome" '"failed"'
expect_json within ".stages[0].targets[target=tenants/$F].error" =~ 'already exists'
expect_json within ".stages[0].targets[target=tenants/$(tn $N)].outcome" '"applied"'
expect_json within '.stages[0].targets[target=tenants/tenant_0001].outcome' '"current"'
expect_version $(tn $N) $R3 "within"
expect_version $F none "within"

# --- 4: fixed, and a tenant created after the approval: resumed, still no new approval
echo "checking: resume after the fix"
q $F "DROP TABLE accounts" >/dev/null
pg_psql -d postgres -c "CREATE DATABASE $(tn $((N + 1))) TEMPLATE tenant_tpl" >/dev/null || fail "$(tn $((N + 1)))"
sed -i 's/^fleet: .*/fleet: { canary: 1, batch: 25%, parallel: 8, max_failures: 0 }/' "$inv/tenants.yaml"
# on a terminal (script(1) gives apply one): the progress line
TERM=dumb script -qefc "$MIGSYNC apply --yes -i $inv" "$tmp/resume.tty" >"$tmp/resume.out" 2>&1
echo $? >"$tmp/resume.rc"
expect_rc resume 0
expect_in resume out "tenants/$F: applied $R1"
expect_in resume out "tenants/$(tn $((N + 1))): applied $R3"
expect_in resume out "tenants: $((N + 1)) databases: 2 applied, $((N - 1)) current, 0 failed, 0 not run"
expect_in resume out "2 done, 0 failed, 0 remaining"
for db in $F $(tn $((N + 1))); do expect_version $db $R3 "resume"; done
check "resume: one approval in the ledger, none added" \
	test "$(q tenant_0001 "SELECT count(*) FROM migsync.approvals")" = 1
check "resume: the ledger rows carry the group's hash" \
	test "$(q $(tn $((N + 1))) "SELECT DISTINCT plan_hash FROM migsync.applied")" = "$H"
[ "$(q postgres "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'")" = 0 ] ||
	fail "an advisory lock was left behind"

# --- 5: a tenant at other rows is another transition: its own approval
echo "checking: another starting point needs its own approval"
pg_psql -d postgres -c "CREATE DATABASE $(tn $((N + 2))) TEMPLATE tenant_tpl" >/dev/null || fail "$(tn $((N + 2)))"
q $(tn $((N + 2))) "CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY);
	CREATE TABLE accounts (id int PRIMARY KEY); INSERT INTO alembic_version VALUES ('$R1')" >/dev/null
run other -- apply --yes
note "other: $(cat "$tmp/other.time") s"
expect_rc other 3
H2=$(hash_of other)
check "other: a hash of its own" test -n "$H2" -a "$H2" != "$H"
run other_plan -- plan
expect_rc other_plan 0
expect_in other_plan out "$((N + 2)) databases in 2 groups"
expect_in other_plan out "group 1: $((N + 1)) databases: $R3 (nothing to do)"
expect_in other_plan out "group 2: 1 database: $R1 -> $R3 (2 steps)"
expect_in other_plan out "plan $H2, gate closed"
expect_in other_plan out "tenants/$(tn $((N + 2))): $R1 -> $R3 (group 2)"
expect_in other_plan out "to approve: migsync approve -i $inv -e tenants --plan $H2"
expect_version $(tn $((N + 2))) $R1 "other: gated"

# --- 6: four shards as four processes: a partition of the fleet, each
# connecting only to its own databases; the Indexed Job's variables
echo "checking: shards"
run all_status -- status -e tenants --format json
expect_rc all_status 0
json_get "$tmp/all_status.out" '.environments[0].targets[].dbname | join' | sort >"$tmp/all.dbs"
check "status: $((N + 2)) databases" test "$(wc -l <"$tmp/all.dbs")" = $((N + 2))
pids=()
for k in 0 1 2 3; do
	run_bg shard$k -- status -e tenants --format json --shard $k/4
	pids+=("$BG_PID")
done
for k in 0 1 2 3; do
	wait_bg shard$k "${pids[k]}"
	expect_rc shard$k 0
	json_get "$tmp/shard$k.out" '.environments[0].targets[].dbname | join' >"$tmp/shard$k.dbs"
	n=$(grep -c . "$tmp/shard$k.dbs")
	check "shard $k/4: $n databases, a share of the fleet" test "$n" -ge $(((N + 2) / 16)) -a "$n" -le $(((N + 2) / 2))
done
sort "$tmp"/shard[0-3].dbs >"$tmp/union.dbs"
check "shards: together exactly the fleet, no database twice" cmp -s "$tmp/all.dbs" "$tmp/union.dbs"
# a Kubernetes Indexed Job: the variables are the default shard; --shard wins
run job2 JOB_COMPLETION_INDEX=2 JOB_COMPLETION_COUNT=4 -- status -e tenants --format json
expect_rc job2 0
# the same databases in the same states (the documents differ only in generated_at)
same_targets() {
	test "$(json_get "$tmp/$1.out" '.environments[0].targets[].(dbname,state,heads)')" = \
		"$(json_get "$tmp/$2.out" '.environments[0].targets[].(dbname,state,heads)')"
}
check "Indexed Job: JOB_COMPLETION_INDEX=2 of 4 is --shard 2/4" same_targets job2 shard2
run job_flag JOB_COMPLETION_INDEX=0 JOB_COMPLETION_COUNT=4 -- status -e tenants --format json --shard 2/4
expect_rc job_flag 0
check "Indexed Job: --shard is stronger" same_targets job_flag shard2
run job_bad JOB_COMPLETION_INDEX=4 JOB_COMPLETION_COUNT=4 -- status -e tenants
expect_rc job_bad 2
expect_in job_bad err "JOB_COMPLETION_INDEX=4 and JOB_COMPLETION_COUNT=4 are not a shard"
run shard_bad -- status -e tenants --shard 4/4
expect_rc shard_bad 2
expect_in shard_bad err "invalid shard \"4/4\""
# a shard's plan: its databases only, the same transition hash as unsharded
run plan_shard -- plan -e tenants --format json --shard 1/4
expect_rc plan_shard 0
check "plan --shard 1/4: the databases of shard 1" test \
	"$(json_get "$tmp/plan_shard.out" '.stages[0].targets | length')" = "$(grep -c . "$tmp/shard1.dbs")"
if grep -q $(tn $((N + 2))) "$tmp/shard1.dbs"; then
	expect_json plan_shard ".stages[0].groups[plan_hash=$H2].count" 1
else
	expect_json plan_shard '.stages[0].groups[].plan_hash' lacks "$H2"
fi
# adding tenants moves no database to another shard
pg_psql -d postgres -c "CREATE DATABASE $(tn $((N + 3))) TEMPLATE tenant_tpl" \
	-c "CREATE DATABASE $(tn $((N + 4))) TEMPLATE tenant_tpl" >/dev/null || fail "$(tn $((N + 3))), $(tn $((N + 4)))"
# the server logs every connection from here on: which databases a shard reaches
q postgres "ALTER SYSTEM SET log_connections = on" >/dev/null
q postgres "SELECT pg_reload_conf()" >/dev/null
sleep 1
log_from=$(($(stat -c %s "$PG_LOG") + 1))
run shard1_more -- status -e tenants --format json --shard 1/4
expect_rc shard1_more 0
tail -c +"$log_from" "$PG_LOG" | sed -n 's/.*connection authorized: user=postgres database=\(tenant_[0-9]*\).*/\1/p' |
	sort -u >"$tmp/touched.dbs"
json_get "$tmp/shard1_more.out" '.environments[0].targets[].dbname | join' | sort >"$tmp/shard1_more.dbs"
check "shard 1/4 connected to its own databases only" cmp -s "$tmp/touched.dbs" "$tmp/shard1_more.dbs"
check "shard 1/4 keeps its databases when tenants are added" \
	test -z "$(comm -23 <(sort "$tmp/shard1.dbs") <(sort "$tmp/shard1_more.dbs"))"

# --- 7: apply in shards: shard 0 runs the canary, the others wait for it
echo "checking: sharded apply honours the canary"
for db in $(tn $((N + 2))) $(tn $((N + 3))) $(tn $((N + 4))); do
	pg_psql -d postgres -c "DROP DATABASE $db" >/dev/null || fail "drop $db"
done
R4=f4000000000d
inv_sql_rev "$tmp/versions" $R4 $R3 "CREATE TABLE notes (id int);" "DROP TABLE notes;"
canary=$(head -n 1 "$tmp/shard0.dbs")
canary=${canary#tenants/}
q "$canary" "CREATE TABLE notes (id int)" >/dev/null
run g4 -- apply --yes -e tenants
expect_rc g4 3
run approve4 USER=alice -- approve -e tenants --plan "$(hash_of g4)"
expect_rc approve4 0
run_bg s1 -- apply --yes -e tenants --shard 1/4
s1=$BG_PID
sleep 1
run s0 -- apply --yes -e tenants --shard 0/4
expect_rc s0 1
expect_in s0 err "the canary failed"
wait_bg s1 "$s1"
expect_rc s1 1
expect_in s1 err "($canary): the canary failed: revision \"$R4\""
check "canary failed: no database of shard 1 moved" \
	test "$(grep -c ': applied ' "$tmp/s1.out")" = 0
expect_version "$canary" $R3 "canary failed"
# fixed: every shard at once, the canary first
q "$canary" "DROP TABLE notes" >/dev/null
pids=()
for k in 3 2 1 0; do
	run_bg a$k -- apply --yes -e tenants --shard $k/4
	pids+=("$BG_PID")
done
i=0
for k in 3 2 1 0; do
	wait_bg a$k "${pids[i]}"
	i=$((i + 1))
	expect_rc a$k 0
done
check "sharded apply: every tenant at $R4" \
	test "$(for db in $(cut -d/ -f2 "$tmp/all.dbs" | grep -v $(tn $((N + 2)))); do version_of $db; done | sort -u)" = $R4
ms="floor(extract(epoch FROM started_at) * 1000)::bigint"
c0=$(q "$canary" "SELECT max($ms + duration_ms) FROM migsync.applied WHERE revision = '$R4' AND outcome = 'applied'")
first=$(for db in $(cut -d/ -f2 "$tmp/shard1.dbs"); do
	q $db "SELECT min($ms) FROM migsync.applied WHERE revision = '$R4'"; done | sort -n | head -n 1)
check "sharded apply: shard 1 began after the canary was done ($c0 <= $first)" test "$c0" -le "$first"
