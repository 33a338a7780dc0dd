#!/usr/bin/env bash
# completion.sh: the bash completion (completion/migsync.bash), sourced
# into this shell as bash sources it, completes commands, their options,
# environment names from the inventory and option values: each check sets
# COMP_WORDS and COMP_CWORD as bash does, calls the completion function
# and compares COMPREPLY. The zsh completion is checked for syntax with
# zsh -n when zsh is installed.
#
# Environment: MIGSYNC (the binary), MIGSYNC_SOURCE_ROOT (the repository).
set -u

: "${MIGSYNC:?set MIGSYNC to the migsync binary}"
: "${MIGSYNC_SOURCE_ROOT:?set MIGSYNC_SOURCE_ROOT to the repository root}"

. "$MIGSYNC_SOURCE_ROOT/tests/integration/lib/common.sh"
FAIL_GOES_ON=1
work_dir completion
unset MIGSYNC_INVENTORY

# shellcheck source=../../completion/migsync.bash
. "$MIGSYNC_SOURCE_ROOT/completion/migsync.bash" || fail "sourcing completion/migsync.bash"
[ "$(complete -p migsync 2>/dev/null)" = "complete -F _migsync migsync" ] &&
	pass "sourcing registers _migsync for migsync" || fail "complete -p migsync: $(complete -p migsync 2>&1)"

# an inventory with three environments, in a directory of its own
mkdir -p "$tmp/project/environments" "$tmp/project/envs2"
printf 'project: p\nmigrations: { scripts: versions }\nrollout: [dev, staging, prod]\n' \
	>"$tmp/project/environments/inventory.yaml"
for e in dev staging prod; do
	printf 'database: { host: h, dbname: %s }\n' "$e" >"$tmp/project/environments/$e.yaml"
done
printf 'database: { host: h }\n' >"$tmp/project/envs2/eu-west.2.yaml"
cd "$tmp/project" || fail "cd"

# expect WHAT WANT WORD...: completing the last WORD (the line so far,
# split as bash splits it) gives the words WANT (sorted, space-separated)
expect() {
	local what=$1 want=$2 got

	shift 2
	COMP_WORDS=("$MIGSYNC" "$@")
	COMP_CWORD=$(($# ))
	COMPREPLY=()
	_migsync
	got=$(printf "%s\n" "${COMPREPLY[@]}" | sed "/^$/d" | LC_ALL=C sort | tr '\n' ' ')
	got=${got% }
	if [ "$got" = "$want" ]; then
		pass "$what"
	else
		fail "$what: COMPREPLY is \"$got\", expected \"$want\""
	fi
}

# expect_has WHAT WORD WORD...: COMPREPLY holds WORD (the first argument
# after WHAT) among others
expect_has() {
	local what=$1 want=$2

	shift 2
	COMP_WORDS=("$MIGSYNC" "$@")
	COMP_CWORD=$#
	COMPREPLY=()
	_migsync
	if printf '%s\n' "${COMPREPLY[@]}" | grep -qxF -- "$want"; then
		pass "$what"
	else
		fail "$what: \"$want\" not in COMPREPLY: ${COMPREPLY[*]}"
	fi
}

# commands: every one that migsync --help lists
all=$("$MIGSYNC" --help | awk '/^Options every command takes/ { exit } /^  [a-z]+  +[a-z]/ { print $1 }' | sort | tr '\n' ' ')
[ -n "$all" ] || fail "no command in migsync --help"
expect "every command, and help" "$(printf "%s\n" $all help | LC_ALL=C sort | tr '\n' ' ' | sed 's/ $//')" ""
expect "st: stamp, status" "stamp status" st
expect "app: apply, approvals, approve" "apply approvals approve" app
expect "after common options, still the commands" "status" -i environments --format json stat
expect "help COMMAND" "heads history hook" help h

# options of the command, from its --help
expect_has "status --exit-zero" --exit-zero status --exit
expect_has "status -h" -h status -
expect_has "hook --on-unapproved=" --on-unapproved= hook --on
expect "plan --to=" "--to=" plan --to
expect "options before the command: the common ones" "--format=" --f
expect_has "-i before the command" -i -

# environment names from the inventory's files
expect "-e: the environments" "dev prod staging" status -e ""
expect "-e p: prod" "prod" apply -e p
expect "--environment=: the environments" "dev prod staging" hook --environment = ""
expect "--environment=s: staging" "staging" hook --environment = s
expect "drift --against" "dev prod staging" drift --against ""
expect "-i DIR: that inventory's environments" "eu-west.2" status -i envs2 -e ""
expect "-i DIR before the command" "eu-west.2" -i envs2 approvals -e ""
MIGSYNC_INVENTORY=envs2 expect "\$MIGSYNC_INVENTORY" "eu-west.2" status -e ""

# option values
expect "--format: text, json" "json text" status --format ""
expect "graph --format: mermaid, dot, json" "dot json mermaid" graph --format ""
expect "-i: directories" "environments envs2" -i ""
expect "--on-unapproved" "fail skip" hook --on-unapproved ""

# report: its one command, then the shards' files
expect "report: merge" "merge" report ""
expect_has "report merge --junit=" --junit= report merge --ju
printf '{}\n' >shard-0.json
expect "report merge FILE: the files" "shard-0.json" report merge shard
expect "report merge --html FILE" "shard-0.json" report merge --html shard

# the zsh completion at least parses
if command -v zsh >/dev/null; then
	zsh -n "$MIGSYNC_SOURCE_ROOT/completion/_migsync" && pass "zsh -n completion/_migsync" ||
		fail "zsh -n completion/_migsync"
else
	skip "zsh is not installed: completion/_migsync not parsed"
fi
finish completion
