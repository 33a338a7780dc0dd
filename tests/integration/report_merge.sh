#!/bin/bash
# migsync report merge on one throwaway PostgreSQL: 17 databases in three
# environments (dev alone, staging a fleet listed by name, prod a fleet
# found by a discovery query) with a database of unknown revision, a
# revision file changed after it was applied (a checksum mismatch each), a
# column added by hand in a fleet (the reference in another shard), and
# a database behind on a revision with a safety finding (so that only
# its shard lists the finding). `check --shard K/4` runs as four
# processes at once; their merged report, in text, JSON, JUnit,
# Markdown and HTML, is byte for byte what one unsharded check prints
# (only the times differ), whatever order the files are given in; the
# same with a revision graph that cannot be built. Then
# exit 2 with a message naming what is wrong: a missing shard (and the
# job to rerun), a shard given twice, shards of another count, a
# database in two shards, shards that read other revision files, a file
# that is not JSON (line and column), a status document, and a shard
# whose check could not run.
#
# Run by meson with MIGSYNC = the binary, MIGSYNC_SOURCE_ROOT = the repo.
set -u

: "${MIGSYNC:?set MIGSYNC to the migsync binary}"
: "${MIGSYNC_SOURCE_ROOT:?set MIGSYNC_SOURCE_ROOT to the repository root}"

. "$MIGSYNC_SOURCE_ROOT/tests/integration/lib/common.sh"
. "$MIGSYNC_SOURCE_ROOT/tests/integration/lib/pg.sh"
. "$MIGSYNC_SOURCE_ROOT/tests/integration/lib/inventory.sh"

pg_setup merge

q() {
	pg_psql -d "$1" -At -c "$2" >/dev/null || fail "$1: $2"
}

# --- three revisions; the third builds an index without CONCURRENTLY (MS101)
R1=a1000000000a R2=b2000000000b R3=c3000000000c
mkdir -p "$tmp/versions"
inv_sql_rev "$tmp/versions" $R1 "" "CREATE TABLE accounts (id int PRIMARY KEY);" "DROP TABLE accounts;"
inv_sql_rev "$tmp/versions" $R2 $R1 "ALTER TABLE accounts ADD COLUMN name text;" \
	"ALTER TABLE accounts DROP COLUMN name;"
inv_sql_rev "$tmp/versions" $R3 $R2 "CREATE INDEX accounts_name ON accounts (name);" \
	"DROP INDEX accounts_name;"

inv=$tmp/inventory
inv_head "$inv" merge-test ../versions "connect_timeout: 20" dev staging prod
inv_env "$inv" dev dev
pg_createdb dev
stg=()
for i in 01 02 03 04 05 06; do
	stg+=("stg_$i")
done
pg_createdb "${stg[@]}"
{
	echo "database: { host: 127.0.0.1, port: $PGPORT, dbname: postgres, user: postgres }"
	echo "targets:"
	echo "  databases: [stg_06, stg_02, stg_04, stg_01, stg_03, stg_05]"
} >"$inv/staging.yaml"
for i in $(seq -f '%02g' 1 10); do
	pg_createdb "tenant_$i"
done
{
	echo "database: { host: 127.0.0.1, port: $PGPORT, dbname: postgres, user: postgres }"
	echo "targets:"
	echo "  discover: \"SELECT datname FROM pg_database WHERE datname ~ '^tenant_[0-9]+\$'\""
} >"$inv/prod.yaml"

run apply apply -i "$inv" --yes
expect_rc apply 0

# tenant_07 holds a revision the scripts do not know; stg_02 got a column
# by hand; tenant_02 is behind, before the index (MS101 matters for it only).
# The shards (SHA-256 of "env/db" mod 4) make the drift a test of its own:
# dev, the reference at R3 of one run, is in shard 2, and stg_02 is the
# first database at R3 in shard 0, which alone takes it as the reference.
q tenant_07 "UPDATE alembic_version SET version_num = 'dead00000000'"
q stg_02 "ALTER TABLE accounts ADD COLUMN note text"
q tenant_02 "DROP INDEX accounts_name; UPDATE alembic_version SET version_num = '$R2'"
# and R1's file changed after it was applied: a checksum mismatch on every database
echo "-- reviewed" >>"$tmp/versions/${R1}_rev.sql"

# --- the unsharded check, and four shards at once
# each run writes its files under the same names (the JUnit and Markdown link to the page)
mkdir -p "$tmp/full" "$tmp/merged"
run full check -i "$inv" --junit "$tmp/full/check.xml" --markdown "$tmp/full/check.md" \
	--html "$tmp/full/check.html"
expect_rc full 1
run full_json check -i "$inv" --format json
expect_rc full_json 1
expect_json full_json '.problems[].check | unique' '["checksums", "drift", "lint", "status"]'
expect_json full_json .shard null

t0=$(now)
for k in 0 1 2 3; do
	run "shard$k" check -i "$inv" --shard "$k/4" --format json &
done
wait
note "4 shards in $(elapsed "$t0") s"
total=0
for k in 0 1 2 3; do
	# each shard exits as its own databases (and the lint) say
	want=0
	[ "$(json_get "$tmp/shard$k.out" .ok)" = true ] || want=1
	expect_rc "shard$k" "$want"
	expect_json "shard$k" .shard "{\"count\": 4, \"index\": $k}"
	n=$(json_get "$tmp/shard$k.out" '.environments[].targets | flatten | length')
	total=$((total + n))
done
check "the shards hold the 17 databases between them" [ "$total" -eq 17 ]
expect_json shard0 '.environments[environment=staging].targets[].dbname' '["stg_02", "stg_03", "stg_05"]'
expect_json shard0 '.environments[environment=staging].checks.drift.summary' '2 of 3 drifted'
# the safety finding is listed only where a database still needs R3
with=0
for k in 0 1 2 3; do
	case $(json_get "$tmp/shard$k.out" '.lint.findings[].code') in
	*MS101*) with=$((with + 1)) ;;
	esac
done
check "one shard lists the safety finding of tenant_02" [ "$with" -eq 1 ]

# same WHAT A B: the two files are equal byte for byte (the difference shown when not)
same() {
	if diff -u "$2" "$3" >"$tmp/same.diff"; then
		pass "$1"
	else
		fail "$1: $(head -c 4000 "$tmp/same.diff")"
	fi
}

files=("$tmp/shard3.out" "$tmp/shard1.out" "$tmp/shard0.out" "$tmp/shard2.out")
run merged report merge "${files[@]}" --junit "$tmp/merged/check.xml" \
	--markdown "$tmp/merged/check.md" --html "$tmp/merged/check.html"
expect_rc merged 1
same "merged text equals the unsharded check's" "$tmp/full.out" "$tmp/merged.out"
same "merged JUnit equals the unsharded check's" "$tmp/full/check.xml" "$tmp/merged/check.xml"
same "merged Markdown equals the unsharded check's" "$tmp/full/check.md" "$tmp/merged/check.md"
untimed() {
	sed -E -e 's/"generated_at":"[^"]*"//' \
		-e 's/<time datetime="[^"]*">[^<]*<\/time>/TIME/g' "$1"
}
untimed "$tmp/full/check.html" >"$tmp/full.html.cmp"
untimed "$tmp/merged/check.html" >"$tmp/merged.html.cmp"
same "merged HTML equals the unsharded check's (times aside)" "$tmp/full.html.cmp" "$tmp/merged.html.cmp"
run merged_json report merge --format json "${files[@]}"
expect_rc merged_json 1
untimed "$tmp/full_json.out" >"$tmp/full.json.cmp"
untimed "$tmp/merged_json.out" >"$tmp/merged.json.cmp"
same "merged JSON equals the unsharded check's (generated_at aside)" "$tmp/full.json.cmp" "$tmp/merged.json.cmp"
expect_json merged_json '.environments[environment=staging].checks.drift.summary' '1 of 6 drifted'
expect_json merged_json '.environments[environment=staging].checks.checksums.summary' '6 mismatches'
expect_json merged_json '.environments[environment=prod].targets[].dbname' \
	'["tenant_01", "tenant_02", "tenant_03", "tenant_04", "tenant_05", "tenant_06", "tenant_07", "tenant_08", "tenant_09", "tenant_10"]'
expect_json merged_json '.environments[environment=staging].targets[].dbname' \
	'["stg_06", "stg_02", "stg_04", "stg_01", "stg_03", "stg_05"]'

# --- a revision graph that cannot be built (a dangling down_revision):
# every shard judges reachability and lint only, and so does the merge
inv_sql_rev "$tmp/versions" e5000000000e ffffffffffff "SELECT 1;"
run nograph check -i "$inv" --format json
expect_rc nograph 1
for k in 0 1; do
	run "nograph$k" check -i "$inv" --shard "$k/2" --format json &
done
wait
expect_rc nograph0 1
expect_rc nograph1 1
rm "$tmp/versions/e5000000000e_rev.sql"
run nograph_merged report merge --format json "$tmp/nograph1.out" "$tmp/nograph0.out"
expect_rc nograph_merged 1
untimed "$tmp/nograph.out" >"$tmp/nograph.cmp"
untimed "$tmp/nograph_merged.out" >"$tmp/nograph_merged.cmp"
same "without a graph: merged JSON equals the unsharded check's" "$tmp/nograph.cmp" "$tmp/nograph_merged.cmp"
expect_json nograph_merged '.graph_error' '!=' null

# --- what cannot be merged: exit 2, saying what and where
run missing report merge "$tmp/shard0.out" "$tmp/shard1.out" "$tmp/shard3.out"
expect_rc missing 2
expect_in missing err "shard 2 of 4 is missing"
expect_in missing err "--shard 2/4"

run twice report merge "$tmp/shard0.out" "$tmp/shard1.out" "$tmp/shard1.out" "$tmp/shard2.out" \
	"$tmp/shard3.out"
expect_rc twice 2
expect_in twice err "$tmp/shard1.out: shard 1 of 4 again (also $tmp/shard1.out)"

# (-e dev: these runs need not read every database, only be of another kind)
run half check -i "$inv" -e dev --shard 0/2 --format json
expect_rc half 1
run counts report merge "$tmp/shard0.out" "$tmp/half.out" "$tmp/shard1.out"
expect_rc counts 2
expect_in counts err "$tmp/half.out: shard 0 of 2, but $tmp/shard0.out is a shard of 4"

# shard 1's databases again, labelled shard 2
sed -e 's/"shard":{"index":1,/"shard":{"index":2,/' "$tmp/shard1.out" >"$tmp/overlap.json"
run overlap report merge "$tmp/shard0.out" "$tmp/shard1.out" "$tmp/overlap.json" "$tmp/shard3.out"
expect_rc overlap 2
expect_in overlap err "in two shards: $tmp/shard1.out (shard 1) and $tmp/overlap.json (shard 2)"

inv_sql_rev "$tmp/versions" d4000000000d $R3 "ALTER TABLE accounts ADD COLUMN email text;"
run newer check -i "$inv" -e dev --shard 3/4 --format json
expect_rc newer 0	# dev is in shard 2: nothing of it to judge
rm "$tmp/versions/d4000000000d_rev.sql"
run revisions report merge "$tmp/shard0.out" "$tmp/shard1.out" "$tmp/shard2.out" "$tmp/newer.out"
expect_rc revisions 2
expect_in revisions err "$tmp/newer.out: \"target\" differs from $tmp/shard0.out's"

printf '{"format": "migsync.check/1",\n  "shard": }\n' >"$tmp/broken.json"
run broken report merge --format json "$tmp/shard0.out" "$tmp/broken.json"
expect_rc broken 2
expect_in broken err "$tmp/broken.json:2:"
expect_in broken err "not JSON"
expect_json broken .error.code parse

run status_doc status -i "$inv" -e dev --shard 0/4 --format json
check "status --shard 0/4 ran (exit $(rc_of status_doc))" [ "$(rc_of status_doc)" -le 1 ]
run status_merge report merge "$tmp/status_doc.out"
expect_rc status_merge 2
expect_in status_merge err "a document of migsync status"

run failed check -i "$tmp/nowhere" --shard 2/4 --format json
expect_rc failed 2
run failed_merge report merge "$tmp/shard0.out" "$tmp/shard1.out" "$tmp/failed.out" "$tmp/shard3.out"
expect_rc failed_merge 2
expect_in failed_merge err "$tmp/failed.out: this shard's check could not run"

run nofile report merge "$tmp/shard0.out" "$tmp/absent.json"
expect_rc nofile 2
expect_in nofile err "$tmp/absent.json: could not read"

run nofiles report merge
expect_rc nofiles 2
expect_in nofiles err "no file to merge"
