#!/usr/bin/env bash
# migsync lint against the crafted repositories in data/lint: each msNNN_*
# repository breaks exactly the rule in its name (MS002 also leaves two
# heads, MS005 three; MS040 has a second file with an empty downgrade, to
# show the files after a broken one are still checked), and "clean"
# breaks none.
#
# Environment: MIGSYNC (the binary), MIGSYNC_SOURCE_ROOT (the repository).
set -u

: "${MIGSYNC:?set MIGSYNC to the migsync binary}"
: "${MIGSYNC_SOURCE_ROOT:?set MIGSYNC_SOURCE_ROOT to the source tree}"

. "$MIGSYNC_SOURCE_ROOT/tests/integration/lib/common.sh"
FAIL_GOES_ON=1
data="$MIGSYNC_SOURCE_ROOT/tests/integration/data/lint"
work_dir lint

# expect_out NAME ERE, expect_no_out NAME ERE: a line of NAME's stdout
# matches ERE (none does)
expect_out() {
	if grep -qE -- "$2" "$tmp/$1.out"; then
		pass "$1: a line matching /$2/ on stdout"
	else
		fail "$1: no line matching /$2/ on stdout"
	fi
}

expect_no_out() {
	if grep -qE -- "$2" "$tmp/$1.out"; then
		fail "$1: unexpected /$2/ on stdout"
		grep -E -- "$2" "$tmp/$1.out" | sed 's/^/  | /' >&2
	else
		pass "$1: no line matching /$2/ on stdout"
	fi
}

# expect_parses NAME: NAME's stdout is JSON
expect_parses() {
	if json_get "$tmp/$1.out" "" >/dev/null 2>"$tmp/$1.json.err"; then
		pass "$1: stdout is JSON"
	else
		fail "$1: stdout is not JSON: $(cat "$tmp/$1.json.err")"
	fi
}

# json_codes NAME: the codes of the findings, one a line
json_codes() {
	json_get "$tmp/$1.out" '.findings[].code | join'
}

# Error-level rules make lint exit 1; warnings alone leave it at 0.
severity=(warning error)
declare -A status=(
	[MS001]=1 [MS002]=1 [MS003]=1 [MS004]=1 [MS005]=1 [MS006]=1
	[MS010]=0 [MS011]=0 [MS012]=0 [MS013]=0
	[MS020]=0 [MS021]=0 [MS022]=0 [MS023]=0 [MS024]=1
	[MS030]=0 [MS031]=0 [MS040]=1
)

for dir in "$data"/ms*; do
	repo=$(basename "$dir")
	code=$(echo "${repo%%_*}" | tr a-z A-Z)

	run "$repo" lint --scripts "$dir/versions"
	expect_rc "$repo" "${status[$code]}"
	expect_out "$repo" "^[^ ]+: ${severity[${status[$code]}]} $code: (revisions? |file )\""
	expect_out "$repo" "^  hint: "

	run "$repo.json" lint --scripts "$dir/versions" --format json
	expect_rc "$repo.json" "${status[$code]}"
	expect_parses "$repo.json"
	expect_json "$repo.json" '.findings[].code' has "$code"

	# findings of every other code come only from the expected companions
	others=$(json_codes "$repo.json" | grep -vx "$code" | sort -u | tr '\n' ' ')
	case "$code:$others" in
	"$code:" | "MS002:MS001 " | "MS005:MS001 " | "MS040:MS020 ") ;;
	*) fail "$repo: other findings: $others" ;;
	esac
	pass "$repo: other findings only from the expected companions (${others:-none})"

	# --disable takes the rule's findings away
	run "$repo.disabled" lint --scripts "$dir/versions" --disable "$code" --format json
	# still exit 1 where an error-level companion finding is left
	case $code in
	MS002 | MS005) expect_rc "$repo.disabled" 1 ;;
	*) expect_rc "$repo.disabled" 0 ;;
	esac
	expect_parses "$repo.disabled"
	expect_json "$repo.disabled" '.findings[].code' lacks "$code"
done

# the clean repository: no finding, every category at 100%, exit 0
run clean lint --scripts "$data/clean/versions"
expect_rc clean 0
expect_out clean "^5 revisions, 0 errors, 0 warnings$"
expect_no_out clean "(error|warning) MS"
for cat in integrity naming dependencies documentation safety; do
	expect_out clean "^$cat +5/5 +100\.0%$"
done
run clean.json lint --scripts "$data/clean/versions" --format json
expect_rc clean.json 0
expect_parses clean.json
expect_json clean.json .findings '[]'
expect_json clean.json '.summary.(revisions,errors,warnings)' '[5, 0, 0]'
expect_json clean.json '.summary.categories[].name' '["integrity", "naming", "dependencies", "documentation", "safety"]'
expect_json clean.json '.summary.categories[].(clean,total,percent) | unique' '[[5, 5, 100]]'

# JSON findings carry every field, line null for whole-file rules
run ms021.json lint --scripts "$data/ms021_no_downgrade/versions" --format json
expect_rc ms021.json 0
expect_json ms021.json '.findings[0] | keys' '["code", "file", "hint", "line", "message", "revision", "severity"]'
expect_json ms021.json '.findings[0].(severity,line)' '["warning", null]'
expect_json ms021.json '.findings[0].file' =~ '_forward_only\.py$'

# the health table counts a broken graph too
run ms002 lint --scripts "$data/ms002_dangling/versions"
expect_rc ms002 1
expect_out ms002 "^integrity +1/2 +50\.0%$"
expect_out ms002 "^dependencies +0/2 +0\.0%$"

# an id pattern of one's own
run custom lint --scripts "$data/ms011_id_pattern/versions" --id-pattern '^[0-9a-f]{8,12}$'
expect_rc custom 0
expect_no_out custom "MS011"

# several --disable codes in one argument, any case
run disable2 lint --scripts "$data/ms002_dangling/versions" --disable ms001,MS002
expect_rc disable2 0
expect_no_out disable2 "MS00[12]"

# findings sorted by file, then line
run sorted lint --scripts "$data/ms040_parse_error/versions"
expect_rc sorted 1
grep -E '^[^ ].*: (error|warning) MS' "$tmp/sorted.out" | cut -d: -f1 | sort -c &&
	pass "sorted: findings in file order" || fail "sorted: findings not in file order"

# could not run: exit 2 and a message on stderr
run badopt lint --no-such-option
expect_rc badopt 2
run badre lint --scripts "$data/clean/versions" --id-pattern '(['
expect_rc badre 2
expect_in badre err 'id pattern'
run badcode lint --scripts "$data/clean/versions" --disable MS999
expect_rc badcode 2
run nodir lint --scripts "$tmp/does-not-exist"
expect_rc nodir 2
run extra lint --scripts "$data/clean/versions" stray-argument
expect_rc extra 2

# --help in the style of PostgreSQL's programs
run help lint --help
expect_rc help 0
expect_out help "^Usage:$"
expect_out help "^  migsync lint \[OPTION\]\.\.\.$"
expect_out help "--id-pattern=ERE"
expect_out help "^  MS040 "

finish lint_rules
