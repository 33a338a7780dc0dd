#!/usr/bin/env bash
#
# cli_basics.sh: the graph commands (heads, history, branches, show,
# graph) and the basics of the command line, on a small Alembic project
# written here by hand: a branch point, a merge, a branch label on a
# second base, a depends_on across branches, a prefix shared by two ids.
#
# Text output must be byte-identical to Alembic 1.8's. Alembic's order
# depends on os.listdir() and on the iteration order of Python sets; the
# Alembic runs here fix both to sorted order (the order migsync always
# uses), so that the comparison is exact and stable.
#
# Environment: MIGSYNC (the binary), MIGSYNC_SOURCE_ROOT (the
# repository), ALEMBIC_PYTHON (a Python with Alembic; default
# /usr/bin/python3). Without Alembic, the comparisons are skipped.
#
# Output: TAP (lib/common.sh); exit 0 all passed, 1 at the first failure
# (with what differed).

set -euo pipefail

: "${MIGSYNC:?set MIGSYNC to the migsync binary}"
: "${MIGSYNC_SOURCE_ROOT:?set MIGSYNC_SOURCE_ROOT to the repository}"
ALEMBIC_PYTHON=${ALEMBIC_PYTHON:-/usr/bin/python3}
MIGSYNC=$(cd "$(dirname "$MIGSYNC")" && pwd)/$(basename "$MIGSYNC")

. "$MIGSYNC_SOURCE_ROOT/tests/integration/lib/common.sh"
work_dir cli
tmp=$(cd "$tmp" && pwd -P)
unset MIGSYNC_INVENTORY

# run DIR ARGS...: migsync in DIR; sets rc, leaves $tmp/out and $tmp/err
# (instead of lib/common.sh's run)
run() {
	local dir=$1

	shift
	rc=0
	(cd "$dir" && "$MIGSYNC" "$@") >"$tmp/out" 2>"$tmp/err" </dev/null || rc=$?
	if _json_asked "$@"; then
		json_spool "$*" "$tmp/out"
	fi
}

# expect_rc WANT WHAT: the last run exited WANT (instead of lib/common.sh's)
expect_rc() {
	local want=$1 what=$2

	if [ "$rc" -ne "$want" ]; then
		echo "--- stdout" >&2; cat "$tmp/out" >&2
		echo "--- stderr" >&2; cat "$tmp/err" >&2
		fail "$what: exit code $rc, expected $want"
	fi
	pass "$what: exit $want"
}

expect_out() {
	local file=$1 pattern=$2 what=$3

	if ! grep -qF -- "$pattern" "$tmp/$file"; then
		echo "--- $file" >&2; cat "$tmp/$file" >&2
		fail "$what: $file lacks \"$pattern\""
	fi
	pass "$what: $file has \"$pattern\""
}

# Alembic with sorted directory listings and sorted sets of next revisions.
alembic_py='import os, sys
_listdir = os.listdir
os.listdir = lambda p=".": sorted(_listdir(p))
from alembic.script import revision as R
class SortedSet(frozenset):
    def __iter__(self):
        return iter(sorted(frozenset.__iter__(self)))
    def union(self, other):
        return SortedSet(frozenset.union(self, other))
R.Revision.nextrev = SortedSet()
R.Revision._all_nextrev = SortedSet()
from alembic.config import main
main(argv=sys.argv[1:], prog="alembic")'

have_alembic=true
if ! "$ALEMBIC_PYTHON" -c 'import alembic' </dev/null 2>/dev/null; then
	have_alembic=false
	note "no Alembic in $ALEMBIC_PYTHON, comparisons skipped"
fi

# same DIR ARGS...: migsync ARGS in DIR prints what alembic ARGS prints
same() {
	local dir=$1 arc=0

	shift
	$have_alembic || return 0
	(cd "$dir" && PYTHONHASHSEED=0 PYTHONIOENCODING=utf-8 \
		"$ALEMBIC_PYTHON" -c "$alembic_py" "$@") >"$tmp/alembic.out" 2>"$tmp/alembic.err" </dev/null || arc=$?
	[ "$arc" -eq 0 ] || fail "alembic $* (in $dir) failed: $(cat "$tmp/alembic.err")"
	run "$dir" "$@"
	expect_rc 0 "migsync $*"
	if ! cmp -s "$tmp/alembic.out" "$tmp/out"; then
		diff -u --label "alembic $*" --label "migsync $*" "$tmp/alembic.out" "$tmp/out" >&2 || true
		fail "migsync $* (in $dir) differs from alembic"
	fi
	pass "same as alembic: $* ($(basename "$dir"))"
}

# --- the project -------------------------------------------------------

# rev DIR FILE: a revision file from standard input
rev() {
	mkdir -p "$1"
	cat >"$1/$2"
}

write_revisions() {
	local core=$1 reporting=$2

	rev "$core" 1975ea83b712_create_account_table.py <<'EOF'
"""create account table

Revision ID: 1975ea83b712
Revises:
Create Date: 2023-01-01 00:00:00
"""
from alembic import op

revision = "1975ea83b712"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
EOF
	rev "$core" ae1027a6acf_add_a_column.py <<'EOF'
"""add a column

Revision ID: ae1027a6acf
"""
revision = 'ae1027a6acf'
down_revision = '1975ea83b712'
EOF
	rev "$core" 27c6a30d7c24_add_table_one.py <<'EOF'
"""add table one"""
revision = "27c6a30d7c24"
down_revision = "ae1027a6acf"
EOF
	rev "$core" ae10b3e2a1f0_add_table_two.py <<'EOF'
"""add table two

with a second paragraph
  indented
"""
revision = "ae10b3e2a1f0"
down_revision = "ae1027a6acf"
EOF
	rev "$core" 4f2e8a9c1b3d_merge.py <<'EOF'
'''merge "one" & <two> #2'''
revision = "4f2e8a9c1b3d"
down_revision = ("27c6a30d7c24", "ae10b3e2a1f0")
EOF
	rev "$core" 55a2c3e4d5f6_after_merge.py <<'EOF'
"""after merge"""
from typing import Sequence, Union

revision: str = "55a2c3e4d5f6"
down_revision: Union[str, None] = "4f2e8a9c1b3d"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None
EOF
	rev "$core" __init__.py </dev/null
	rev "$reporting" 3a9b8c7d6e5f_reporting_base.py <<'EOF'
"""reporting base, café"""
revision = "3a9b8c7d6e5f"
down_revision = None
branch_labels = ("reporting",)
EOF
	rev "$reporting" 6c5d4e3f2a1b_reporting_views.py <<'EOF'
"""reporting views"""
revision = "6c5d4e3f2a1b"
down_revision = "3a9b8c7d6e5f"
depends_on = "27c6a30d7c24"
EOF
	rev "$reporting" 7d6e5f4a3b2c_reporting_totals.py <<'EOF'
"""reporting totals"""
revision = "7d6e5f4a3b2c"
down_revision = "6c5d4e3f2a1b"
EOF
}

# p1: one versions directory, found through script_location
p1=$tmp/p1
mkdir -p "$p1/alembic"
printf '[alembic]\nscript_location = alembic\n' >"$p1/alembic.ini"
printf '# heads, history, branches and show do not run env.py\n' >"$p1/alembic/env.py"
write_revisions "$p1/alembic/versions" "$p1/alembic/versions"

# p2: the same revisions in two directories, found through version_locations
p2=$tmp/p2
mkdir -p "$p2/migrations"
cat >"$p2/alembic.ini" <<'EOF'
[alembic]
# a comment
script_location = migrations
version_locations = %(here)s/core %(here)s/reporting

[loggers]
keys = root
EOF
cp "$p1/alembic/env.py" "$p2/migrations/env.py"
write_revisions "$p2/core" "$p2/reporting"

# --- basics --------------------------------------------------------------

run "$tmp" --version
expect_rc 0 "--version"
grep -qE '^migsync [0-9]+\.[0-9]+\.[0-9]+' "$tmp/out" || fail "--version printed \"$(cat "$tmp/out")\""
pass "--version"

run "$tmp" --help
expect_rc 0 "--help"
for c in heads history branches show graph; do
	expect_out out "$c" "--help"
done
pass "--help"

for c in heads history branches show graph; do
	run "$tmp" "$c" --help
	expect_rc 0 "$c --help"
	expect_out out "Usage:" "$c --help"
	expect_out out "  migsync $c [OPTION]..." "$c --help"
	expect_out out "--scripts=DIR" "$c --help"
	[ ! -s "$tmp/err" ] || fail "$c --help wrote to stderr"
done
run "$tmp" heads --help
expect_out out "--resolve-dependencies" "heads --help"
pass "COMMAND --help"

run "$p1" heads --no-such-option
expect_rc 2 "heads --no-such-option"
expect_out err "Try 'migsync heads --help' for more information." "heads --no-such-option"
[ ! -s "$tmp/out" ] || fail "a bad option wrote to stdout"
run "$p1" history -r
expect_rc 2 "history -r (no argument)"
expect_out err "Try 'migsync history --help' for more information." "history -r"
run "$p1" history -r ae1027a6acf
expect_rc 2 "history -r without a colon"
expect_out err "START:END" "history -r without a colon"
run "$p1" heads extra
expect_rc 2 "heads with an argument"
run "$p1" show
expect_rc 2 "show without a revision"
run "$p1" graph --format=text
expect_rc 2 "graph --format=text"
expect_out err "mermaid" "graph --format=text"
run "$p1" graph --status
expect_rc 2 "graph --status without an inventory"
expect_out err "inventory \"environments\"" "graph --status without an inventory"
[ -s "$tmp/out" ] && fail "graph --status without an inventory drew a graph"
pass "bad options and arguments exit 2 with a Try line"

# one style for every bad option, never getopt's own message
for args in "heads --no-such-option|heads|unrecognized option \"--no-such-option\"" \
	"status --no-such=1|status|unrecognized option \"--no-such\"" \
	"plan -Q|plan|unrecognized option \"-Q\"" \
	"history -r|history|option \"-r\" requires an argument" \
	"apply --to|apply|option \"--to\" requires an argument" \
	"lint --help=x|lint|option \"--help\" doesn't allow an argument" \
	"--no-such status||unrecognized option \"--no-such\""; do
	IFS='|' read -r line cmd msg <<<"$args"
	read -ra words <<<"$line"
	run "$p1" "${words[@]}"
	expect_rc 2 "$line"
	expect_out err "migsync${cmd:+ $cmd}: $msg" "$line"
	expect_out err "Try 'migsync${cmd:+ $cmd} --help' for more information." "$line"
	[ "$(wc -l <"$tmp/err")" -eq 2 ] || fail "$line: more than the two lines: $(cat "$tmp/err")"
done
pass "bad options: migsync COMMAND: MESSAGE, then the Try line, nothing else"

# common options before the command, as git -C and kubectl -n take them
run / history --scripts "$p1/alembic/versions"
expect_rc 0 "history --scripts DIR"
cp "$tmp/out" "$tmp/after.out"
for line in "--scripts $p1/alembic/versions history" "--scripts=$p1/alembic/versions history" \
	"--scr $p1/alembic/versions -- history"; do
	read -ra words <<<"$line"
	run / "${words[@]}"
	expect_rc 0 "$line"
	cmp -s "$tmp/out" "$tmp/after.out" || fail "$line printed another history"
done
run / --format json --scripts "$p1/alembic/versions" heads
expect_rc 0 "--format json --scripts DIR heads"
expect_json_file "$tmp/out" '.heads | length' 2
run / --format=json heads --format text --scripts "$p1/alembic/versions"
expect_rc 0 "--format=json heads --format text"
expect_out out "(head)" "the option after the command wins"
run "$tmp" -i "$tmp/nowhere" inventory
expect_rc 2 "-i PATH inventory"
expect_out err "$tmp/nowhere" "-i before the command reaches the command"
run "$tmp" --format bogus status
expect_rc 2 "--format bogus status"
expect_out err "migsync status: unknown format \"bogus\"" "a bad value before the command"
run "$tmp" -e prod status
expect_rc 2 "-e before the command (not a common option)"
expect_out err "migsync: unrecognized option \"-e\"" "-e before the command"
run "$tmp" -i
expect_rc 2 "-i without a value nor a command"
expect_out err "option \"-i\" requires an argument" "-i without a value"
run "$tmp" --scripts "$p1/alembic/versions"
expect_rc 2 "common options without a command"
expect_out err "Usage:" "common options without a command"
pass "common options before the command mean the same as after it"

# -h is --help everywhere
for c in $(awk '/^Options every command takes/ { exit } /^  [a-z]+  +[a-z]/ { print $1 }' <("$MIGSYNC" --help)); do
	run "$tmp" "$c" --help
	expect_rc 0 "$c --help"
	cp "$tmp/out" "$tmp/long.out"
	for form in "$c -h" "-h $c" "--help $c" "help $c"; do
		read -ra words <<<"$form"
		run "$tmp" "${words[@]}"
		expect_rc 0 "$form"
		cmp -s "$tmp/out" "$tmp/long.out" || fail "$form differs from $c --help"
	done
done
run "$tmp" -h
expect_rc 0 "migsync -h"
expect_out out "Usage:" "migsync -h"
pass "-h, -h COMMAND, help COMMAND: the same help as --help"

# a mistyped command: did you mean
for typo in "stauts|status" "aprove|approve" "hstory|history" "chek|check"; do
	IFS='|' read -r word want <<<"$typo"
	run "$tmp" "$word"
	expect_rc 2 "$word"
	expect_out err "\"$word\" is not a migsync command" "$word"
	expect_out err "did you mean \"$want\"?" "$word"
done
run "$tmp" help stauts
expect_rc 2 "help stauts"
expect_out err "did you mean \"status\"?" "help stauts"
run "$tmp" frobnicate
expect_rc 2 "frobnicate"
grep -q "did you mean" "$tmp/err" && fail "frobnicate got a suggestion: $(cat "$tmp/err")"
pass "a mistyped command: did you mean the nearest ones"

# an inventory problem: printed once, with its line and column, by every command
bad=$tmp/bad_inventory
mkdir -p "$bad"
printf 'project: x\nmigrations:\n  scripts: %s\nrollout: [dev]\n' "$p1/alembic/versions" >"$bad/inventory.yaml"
printf 'database:\n  host: 127.0.0.1\n  prot: 5432\n  dbname: x\n' >"$bad/dev.yaml"
for line in "status" "plan" "check" "hook -e dev" "apply" "heads" "lint" "drift"; do
	read -ra words <<<"$line"
	run "$tmp" "${words[@]}" -i "$bad"
	expect_rc 2 "$line with an unknown inventory key"
	n=$(grep -c '"database.prot": unknown key' "$tmp/err")
	[ "$n" -eq 1 ] || fail "$line: the unknown key is reported $n times: $(cat "$tmp/err")"
	expect_out err "$bad/dev.yaml:3:3: \"database.prot\": unknown key" "$line"
	n=$(grep -c 'did you mean "port"' "$tmp/err")
	[ "$n" -eq 1 ] || fail "$line: the hint is printed $n times: $(cat "$tmp/err")"
done
pass "an inventory problem is printed once, as file:line:column"

# a versions directory that does not exist: the hint names where it came from
printf 'database:\n  host: 127.0.0.1\n  port: 5432\n  dbname: x\n' >"$bad/dev.yaml"
run "$tmp" status -i "$bad" --scripts "$tmp/nope"
expect_rc 2 "--scripts to nowhere"
expect_out err "hint: check the directory given with --scripts" "--scripts to nowhere"
grep -q "migrations.scripts" "$tmp/err" && fail "--scripts to nowhere hints at migrations.scripts: $(cat "$tmp/err")"
sed -i "s#scripts: .*#scripts: $tmp/nope#" "$bad/inventory.yaml"
run "$tmp" status -i "$bad"
expect_rc 2 "migrations.scripts to nowhere"
expect_out err "hint: check migrations.scripts in $bad/inventory.yaml" "migrations.scripts to nowhere"
mkdir -p "$tmp/ini"
printf '[alembic]\nscript_location = nowhere\n' >"$tmp/ini/alembic.ini"
run "$tmp/ini" heads
expect_rc 2 "script_location to nowhere"
expect_out err "hint: check script_location and version_locations in $tmp/ini/alembic.ini" "script_location to nowhere"
pass "a missing versions directory: the hint names the setting that named it"

run "$tmp" heads
expect_rc 2 "heads with no scripts"
expect_out err "no revision scripts" "heads with no scripts"
pass "no scripts: a clear error"

# --- the same text as Alembic --------------------------------------------

for dir in "$p1" "$p2"; do
	same "$dir" heads
	same "$dir" heads --verbose
	same "$dir" heads --resolve-dependencies
	same "$dir" history
	same "$dir" history --verbose
	same "$dir" branches
	same "$dir" branches --verbose
	same "$dir" show ae1027a6acf
	same "$dir" show 4f2e
	same "$dir" show heads
	same "$dir" show reporting@head
	same "$dir" show 6c5d4e3f2a1b
done
same "$p1" history -r ae1027a6acf:
same "$p1" history -r :27c6a30d7c24
same "$p1" history -r ae1027a6acf:4f2e8a9c1b3d
same "$p1" history -r reporting@base:
same "$p1" history -r 3a9b8c7d6e5f:heads --verbose

# scripts found through alembic.ini, with version_locations, and --scripts
run "$p2" history
expect_rc 0 "history via version_locations"
[ "$(wc -l <"$tmp/out")" -eq 9 ] || fail "history via version_locations: $(wc -l <"$tmp/out") lines, expected 9"
cp "$tmp/out" "$tmp/p2.history"
run "$p1" history
cmp -s "$tmp/out" "$tmp/p2.history" || fail "history differs between one directory and version_locations"
run / history --scripts "$p2/core" --scripts "$p2/reporting"
expect_rc 0 "history --scripts twice"
cmp -s "$tmp/out" "$tmp/p2.history" || fail "history --scripts differs from alembic.ini discovery"
pass "scripts from alembic.ini (script_location, version_locations) and --scripts"

# --- JSON ----------------------------------------------------------------

# check_json WHAT PATH [OP] VALUE: a check of the last run's stdout (JSON),
# kept as $tmp/WHAT.json
check_json() {
	cp "$tmp/out" "$tmp/$1.json"
	expect_json_file "$tmp/$1.json" "${@:2}"
}

# node_checks WHAT: every node has exactly the keys of the contract, every
# edge one of the two kinds
node_checks() {
	check_json "$1" '.nodes | map keys | unique' '[["branch_labels", "depends_on", "down_revisions", "file", "id", "is_base", "is_branch_point", "is_head", "is_merge_point", "message"]]'
	check_json "$1" '.edges[?kind!=down_revision][?kind!=depends_on]' '[]'
}

HEADS='["55a2c3e4d5f6", "7d6e5f4a3b2c"]'
run "$p1" heads --format json
expect_rc 0 "heads --format json"
node_checks heads
check_json heads .heads "$HEADS"
check_json heads '.nodes[].id' "$HEADS"
check_json heads '.nodes[1].branch_labels' '["reporting"]'

run "$p1" history
expect_rc 0 "history"
# the order of the text output: the revision after the first " -> " of each line
awk '{ s = substr($0, index($0, " -> ") + 4); sub(/[ ,].*/, "", s); printf "%s\"%s\"", (NR > 1 ? ", " : "["), s } END { print "]" }' \
	"$tmp/out" >"$tmp/order"
run "$p1" history --format=json
expect_rc 0 "history --format json"
node_checks history
check_json history .revisions "$(cat "$tmp/order")"
check_json history '.edges[].(from,to,kind)' has '["27c6a30d7c24", "4f2e8a9c1b3d", "down_revision"]'
check_json history '.edges[].(from,to,kind)' has '["27c6a30d7c24", "6c5d4e3f2a1b", "depends_on"]'
check_json history '.nodes[id=4f2e8a9c1b3d].(message,is_merge_point)' '["merge \"one\" & <two> #2", true]'
check_json history '.nodes[id=ae1027a6acf].is_branch_point' true
check_json history '.nodes[id=1975ea83b712].is_base' true
check_json history '.nodes[id=55a2c3e4d5f6].is_head' true
check_json history '.nodes[id=6c5d4e3f2a1b].depends_on' '["27c6a30d7c24"]'

run "$p1" branches --format json
expect_rc 0 "branches --format json"
node_checks branches
check_json branches .branch_points '["ae1027a6acf"]'

run "$p1" show ae10b --format json
expect_rc 0 "show --format json"
node_checks show
check_json show '.nodes[].id' '["ae10b3e2a1f0"]'
check_json show '.nodes[0].message' 'add table two'

run "$p1" graph --format json
expect_rc 0 "graph --format json"
node_checks graph
check_json graph '.nodes | length' 9
check_json graph '.edges | length' 9
check_json graph .heads "$HEADS"
check_json graph .bases '["1975ea83b712", "3a9b8c7d6e5f"]'

# --- graph ---------------------------------------------------------------

run "$p1" graph
expect_rc 0 "graph"
for line in "graph TD" \
	"    r_1975ea83b712 --> r_ae1027a6acf" \
	"    r_ae1027a6acf --> r_27c6a30d7c24" \
	"    r_ae1027a6acf --> r_ae10b3e2a1f0" \
	"    r_27c6a30d7c24 --> r_4f2e8a9c1b3d" \
	"    r_ae10b3e2a1f0 --> r_4f2e8a9c1b3d" \
	"    r_27c6a30d7c24 -.-> r_6c5d4e3f2a1b" \
	'    r_4f2e8a9c1b3d["4f2e8a9c1b3d<br/>merge #quot;one#quot; #amp; #lt;two#gt; #35;2"]' \
	'    r_3a9b8c7d6e5f["3a9b8c7d6e5f (reporting)<br/>reporting base, café"]' \
	"    class r_55a2c3e4d5f6 head" \
	"    class r_4f2e8a9c1b3d merge"; do
	grep -qxF -- "$line" "$tmp/out" || { cat "$tmp/out" >&2; fail "graph (mermaid) lacks the line \"$line\""; }
done
pass "graph: mermaid"

run "$p1" graph --format=dot
expect_rc 0 "graph --format=dot"
for line in "digraph revisions {" \
	'	"1975ea83b712" -> "ae1027a6acf";' \
	'	"ae10b3e2a1f0" -> "4f2e8a9c1b3d";' \
	'	"27c6a30d7c24" -> "6c5d4e3f2a1b" [style=dashed];' \
	'	"4f2e8a9c1b3d" [label="4f2e8a9c1b3d\nmerge \"one\" & <two> #2", style=filled, fillcolor="#e8e8f8"];' \
	"}"; do
	grep -qxF -- "$line" "$tmp/out" || { cat "$tmp/out" >&2; fail "graph (dot) lacks the line \"$line\""; }
done
if command -v dot >/dev/null; then
	dot -Tsvg "$tmp/out" >/dev/null || fail "dot rejects migsync's graph"
fi
pass "graph: dot"

# --- identifiers ----------------------------------------------------------

run "$p1" show ae10
expect_rc 2 "show of an ambiguous prefix"
expect_out err "ae1027a6acf" "show ae10"
expect_out err "ae10b3e2a1f0" "show ae10"
[ ! -s "$tmp/out" ] || fail "show ae10 wrote to stdout"
pass "show: an ambiguous prefix exits 2 listing the candidates"

run "$p1" show 0000ffff
expect_rc 2 "show of an unknown revision"
expect_out err "0000ffff" "show 0000ffff"
pass "show: an unknown revision exits 2"

run "$p1" show current
expect_rc 2 "show current"
expect_out err "database" "show current"
run "$p1" history -r current:
expect_rc 2 "history -r current:"
expect_out err "database" "history -r current:"
pass "\"current\" is refused: it needs a database"

run "$p1" history -r 27c6a30d7c24:ae10b3e2a1f0
expect_rc 2 "history over two branches"
expect_out err "27c6a30d7c24:ae10b3e2a1f0" "history over two branches"
pass "history: a range across branches exits 2"

# reporting is three revisions long: two steps back is its base, three is past it
run "$p1" show reporting@-2
expect_rc 0 "show reporting@-2"
expect_out out "Rev: 3a9b8c7d6e5f" "show reporting@-2"
for args in "show reporting@-3" "history -r reporting@-3:" "history -r :7d6e5f4a3b2c-4"; do
	read -ra words <<<"$args"
	run "$p1" "${words[@]}"
	expect_rc 2 "$args"
	expect_out err "didn't produce" "$args"
	expect_out err "from 7d6e5f4a3b2c, base is 3 steps back: take at most 2" "$args"
done
pass "a relative form that reaches base or walks past it exits 2"

