#!/bin/bash
# migsync graph --status against a real, throwaway PostgreSQL: dev and qa
# at the head, prod two revisions behind, feature on a side branch
# (version tables set with SQL), and an environment on a closed port.
# The markers must sit on the right nodes in Mermaid, dot and JSON, the
# unreachable environment must be named, and without --status the output
# must not change.
#
# Run by meson with MIGSYNC = the binary, MIGSYNC_SOURCE_ROOT = the repo.
set -u

: "${MIGSYNC:?set MIGSYNC to the migsync binary}"
: "${MIGSYNC_SOURCE_ROOT:?set MIGSYNC_SOURCE_ROOT to the repository root}"

. "$MIGSYNC_SOURCE_ROOT/tests/integration/lib/common.sh"
. "$MIGSYNC_SOURCE_ROOT/tests/integration/lib/pg.sh"
. "$MIGSYNC_SOURCE_ROOT/tests/integration/lib/inventory.sh"

FAIL_GOES_ON=1
pg_setup graph-status

# --- revisions: a line r1..r4 and a side branch x3 off r2
R1=1a0000000001 R2=2b0000000002 R3=3c0000000003 R4=4d0000000004 X3=9e0000000003
versions=$tmp/versions
mkdir -p "$versions"
inv_sql_rev "$versions" $R1 "" "CREATE TABLE t1 (id int);"
inv_sql_rev "$versions" $R2 $R1 "CREATE TABLE t2 (id int);"
inv_sql_rev "$versions" $R3 $R2 "CREATE TABLE t3 (id int);"
inv_sql_rev "$versions" $R4 $R3 "CREATE TABLE t4 (id int);"
inv_sql_rev "$versions" $X3 $R2 "CREATE TABLE x3 (id int);"

# --- databases and inventory; "down" points at a closed port
for at in dev=$R4 qa=$R4 prod=$R2 feature=$X3; do
	db=${at%%=*}
	pg_psql -d postgres -c "CREATE DATABASE $db" >/dev/null &&
		pg_psql -d "$db" -c "CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY);
			INSERT INTO alembic_version VALUES ('${at#*=}')" >/dev/null ||
		fail "could not set up $db"
done
inv=$tmp/inventory
inv_create "$inv" --scripts "$versions" dev=dev qa=qa feature=feature prod=prod down=postgres ||
	fail "inventory"
hold_port closed_port
sed -i "s/^  port: .*/  port: $closed_port/" "$inv/down.yaml"

RUN_ARGS=(-i "$inv")

# The line of a node in Mermaid or dot output (the node's own line, not an edge).
mermaid_node() {	# mermaid_node NAME ID
	grep -F "    r_$2[\"" "$tmp/$1.out"
}
dot_node() {	# dot_node NAME ID
	grep -F "	\"$2\" [label=" "$tmp/$1.out"
}
expect_line() {	# expect_line WHAT GOT EXPECTED
	if [ "$2" = "$3" ]; then
		pass "$1"
	else
		fail "$1: got \"$2\", expected \"$3\""
	fi
}

# --- Mermaid
echo "checking: mermaid"
run mermaid -- graph --status
expect_rc mermaid 0
expect_line "mermaid: $R4 names dev and qa" "$(mermaid_node mermaid $R4)" \
	"    r_$R4[\"$R4<br/>revision $R4<br/>[dev, qa]\"]"
expect_line "mermaid: $R2 names prod" "$(mermaid_node mermaid $R2)" \
	"    r_$R2[\"$R2<br/>revision $R2<br/>[prod]\"]"
expect_line "mermaid: $X3 names feature" "$(mermaid_node mermaid $X3)" \
	"    r_$X3[\"$X3<br/>revision $X3<br/>[feature]\"]"
expect_line "mermaid: $R3 names nobody" "$(mermaid_node mermaid $R3)" \
	"    r_$R3[\"$R3<br/>revision $R3\"]"
expect_contains "$tmp/mermaid.out" "    %% unreachable: down"
expect_contains "$tmp/mermaid.out" "    classDef env "
for id in $R4 $R2 $X3; do
	expect_contains "$tmp/mermaid.out" "    class r_$id env"
done
for id in $R1 $R3; do
	grep -qxF "    class r_$id env" "$tmp/mermaid.out" && fail "mermaid: $id is marked"
done
# the probe's error goes to no output: the graph only names the environment
grep -q "down.*could not connect\|refused" "$tmp/mermaid.out" && fail "mermaid: a probe error in the graph"

# --- dot
echo "checking: dot"
run dot -- graph --status --format=dot
expect_rc dot 0
expect_line "dot: $R4 names dev and qa, bold head" "$(dot_node dot $R4)" \
	"	\"$R4\" [label=\"$R4\\nrevision $R4\\n[dev, qa]\", color=\"#1e7b34\", fontcolor=\"#1e7b34\", style=bold];"
expect_line "dot: $R2 names prod" "$(dot_node dot $R2)" \
	"	\"$R2\" [label=\"$R2\\nrevision $R2\\n[prod]\", color=\"#1e7b34\", fontcolor=\"#1e7b34\"];"
expect_line "dot: $R1 names nobody" "$(dot_node dot $R1)" \
	"	\"$R1\" [label=\"$R1\\nrevision $R1\"];"
expect_contains "$tmp/dot.out" "	// unreachable: down"
if command -v dot >/dev/null; then
	if command dot -Tsvg "$tmp/dot.out" >/dev/null; then
		pass "dot accepts the graph"
	else
		fail "dot rejects the graph"
	fi
fi

# --- JSON
echo "checking: json"
run json -- graph --status --format=json
expect_rc json 0
expect_json json .environments "{\"$R4\": [\"dev\", \"qa\"], \"$R2\": [\"prod\"], \"$X3\": [\"feature\"]}"
expect_json json .unreachable '["down"]'
expect_json json '.nodes | length' 5
expect_json json '.heads | length' '>=' 1

# --- SVG, laid out by Graphviz's libraries
echo "checking: svg"
# How many times an output has a string (fixed, counted per occurrence).
count_in() {	# count_in NAME STRING
	grep -oF -- "$2" "$tmp/$1.out" | wc -l
}
# How many elements of an SVG output have an id starting with PREFIX.
count_ids() {	# count_ids NAME PREFIX
	xmllint --xpath "count(//*[starts-with(@id, '$2')])" "$tmp/$1.out"
}
expect_count() {	# expect_count WHAT GOT EXPECTED
	expect_line "$1" "$2" "$3"
}
run svg -- graph --status --format=svg
expect_rc svg 0
check "svg: valid XML (xmllint)" xmllint --noout "$tmp/svg.out"
expect_count "svg: a node per revision" "$(count_in svg 'class="node rev')" 5
for env in dev qa prod feature; do
	expect_count "svg: one badge for $env" "$(count_ids svg "a_badge-$env-")" 1
done
expect_count "svg: dev's badge on $R4" "$(count_ids svg "a_badge-dev-$R4")" 1
expect_count "svg: prod's badge on $R2" "$(count_ids svg "a_badge-prod-$R2")" 1
expect_count "svg: no badge for the unreachable environment" "$(count_ids svg 'a_badge-down-')" 0
expect_contains "$tmp/svg.out" "unreachable: down"
# prod stands at $R2: $R3 and $R4 are pending, $R1 and $R2 are not
expect_line "svg: $R3 is shaded as pending" \
	"$(xmllint --xpath "string(//*[@id='rev-$R3']/@class)" "$tmp/svg.out")" "node rev pending"
expect_line "svg: $R1 is not pending" \
	"$(xmllint --xpath "string(//*[@id='rev-$R1']/@class)" "$tmp/svg.out")" "node rev"
expect_contains "$tmp/svg.out" "pending: feature, prod"
# the tags as alembic history writes them
expect_contains "$tmp/svg.out" "$R2 (branchpoint)"
expect_contains "$tmp/svg.out" "$R4 (head)"
# the environments' colours: dev is the first in rollout order
expect_contains "$tmp/svg.out" 'fill="#0072b2"'
# text is sized by Courier's metrics, not by the fonts of this machine: the
# SVG names that family alone (check_html measures it in Chromium)
expect_line "svg: one font family, monospace" \
	"$(grep -o 'font-family="[^"]*"' "$tmp/svg.out" | sort -u)" 'font-family="Courier,monospace"'
# Graphviz's plugins come from GVBINDIR when it is set: none there is an error
mkdir -p "$tmp/no-plugins"
run noplugins GVBINDIR="$tmp/no-plugins" -- graph --status --format=svg
expect_rc noplugins 2
expect_in noplugins err "graphviz: $tmp/no-plugins/libgvplugin_dot_layout.so.6: cannot open"
expect_in noplugins err "set GVBINDIR to the directory that holds them"
run plain_svg -- graph --format=svg
expect_rc plain_svg 0
check "svg without --status: valid XML" xmllint --noout "$tmp/plain_svg.out"
expect_count "svg without --status: no badge" "$(count_ids plain_svg 'a_badge-')" 0
expect_count "svg without --status: a node per revision" "$(count_in plain_svg 'class="node rev')" 5

# branch labels, a merge and a depends_on edge, from Alembic revision files
alembic_versions=$tmp/alembic_versions
mkdir -p "$alembic_versions"
py_rev() {	# py_rev ID DOWN [EXTRA LINE]...
	local id=$1 down=$2

	shift 2
	{
		printf '"""revision %s"""\nrevision = "%s"\ndown_revision = %s\n' "$id" "$id" "$down"
		printf '%s\n' "$@"
	} >"$alembic_versions/${id}_rev.py"
}
py_rev aaaa00000001 None 'branch_labels = ("core",)'
py_rev bbbb00000002 '"aaaa00000001"'
py_rev cccc00000003 '"aaaa00000001"' 'depends_on = "bbbb00000002"'
py_rev dddd00000004 '("bbbb00000002", "cccc00000003")'
RUN_ARGS=()
run labels_svg -- graph --format=svg --scripts "$alembic_versions"
expect_rc labels_svg 0
check "svg of an Alembic project: valid XML" xmllint --noout "$tmp/labels_svg.out"
expect_contains "$tmp/labels_svg.out" "aaaa00000001 (core) (branchpoint)"
expect_contains "$tmp/labels_svg.out" "dddd00000004 (core) (head) (mergepoint)"
expect_contains "$tmp/labels_svg.out" "depends on: bbbb00000002"
expect_count "svg: the depends_on edge is drawn dashed" \
	"$(count_in labels_svg 'class="edge depends_on"')" 1
RUN_ARGS=(-i "$inv")

# --- without --status nothing changes, and --status needs an inventory
echo "checking: without --status"
for format in mermaid dot svg json; do
	run "plain_$format" -- graph --format=$format
	expect_rc "plain_$format" 0
	RUN_ARGS=()
	run "scripts_$format" -- graph --format=$format --scripts "$versions"
	expect_rc "scripts_$format" 0
	RUN_ARGS=(-i "$inv")
	# the documents differ in the second they were written
	if cmp -s <(sed 's/"generated_at":"[^"]*"//' "$tmp/plain_$format.out") \
		<(sed 's/"generated_at":"[^"]*"//' "$tmp/scripts_$format.out"); then
		pass "$format without --status: the graph of the scripts alone"
	else
		fail "$format without --status differs from the scripts' graph"
	fi
	grep -q "dev\|unreachable\|environments" "$tmp/plain_$format.out" &&
		fail "$format without --status names environments"
done
RUN_ARGS=()
run noinv -- graph --status -i "$tmp/nowhere"
expect_rc noinv 2

finish graph_status
