# Helpers shared by the integration tests. Source this file first; it
# installs the EXIT trap (use at_exit, not trap ... EXIT).
#
#   at_exit COMMAND     run COMMAND (a string, eval'd) when the script exits;
#                       the last added runs first
#   fail MESSAGE...     "FAIL: MESSAGE" on stderr and exit 1; with
#                       FAIL_GOES_ON=1 count it in $failures and go on
#   pass MESSAGE...     "ok: MESSAGE"
#   finish NAME         after FAIL_GOES_ON checks: exit 1 when any failed,
#                       else print "NAME: all checks passed" and exit 0
#   work_dir NAME       a temporary directory, removed at exit, in $tmp
#   pg_setup NAME       pg_start (lib/pg.sh), stopped at exit, then work_dir
#                       NAME; exits with pg_start's code (77: skip) when the
#                       server cannot start
#   run NAME [VAR=VALUE]... [--] ARGS...
#                       migsync ARGS "${RUN_ARGS[@]}" with VAR=VALUE in its
#                       environment, no terminal and a bound of 120 s; keeps
#                       $tmp/NAME.out, NAME.err and NAME.rc
#   rc_of NAME          the exit code kept by run
#   expect_rc NAME CODE, expect_in NAME out|err TEXT
#                       fail unless NAME exited CODE / its stdout or stderr
#                       contains TEXT
#   expect_contains FILE TEXT, expect_absent FILE TEXT
#                       pass or fail (showing FILE) on whether FILE has TEXT
#   version_of DB       the version rows of a database, sorted, or "none"
#   expect_version DB ROWS WHEN
#                       fail unless version_of DB is ROWS
#   hash_of NAME        the plan hash of the approve command NAME printed

failures=0
tmp=
RUN_ARGS=()
_at_exit=()

at_exit() {
	_at_exit+=("$1")
}

_run_at_exit() {
	local i

	for ((i = ${#_at_exit[@]} - 1; i >= 0; i--)); do
		eval "${_at_exit[i]}"
	done
}
trap _run_at_exit EXIT

fail() {
	echo "FAIL: $*" >&2
	failures=$((failures + 1))
	[ -n "${FAIL_GOES_ON:-}" ] || exit 1
}

pass() {
	echo "ok: $*"
}

finish() {
	if [ "$failures" -ne 0 ]; then
		echo "$1: $failures check(s) failed" >&2
		exit 1
	fi
	echo "$1: all checks passed"
	exit 0
}

work_dir() {
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/migsync-$1.XXXXXX") || exit 1
	at_exit 'rm -rf "$tmp"'
}

pg_setup() {
	local rc

	at_exit pg_stop
	pg_start
	rc=$?
	[ $rc -eq 0 ] || exit $rc
	work_dir "$1"
}

run() {
	local name=$1 vars=()

	shift
	while [[ $# -gt 0 && $1 =~ ^[A-Za-z_][A-Za-z0-9_]*= ]]; do
		vars+=("$1")
		shift
	done
	[ "${1:-}" = -- ] && shift
	env "${vars[@]}" timeout 120 "$MIGSYNC" "$@" "${RUN_ARGS[@]}" \
		>"$tmp/$name.out" 2>"$tmp/$name.err" </dev/null
	echo $? >"$tmp/$name.rc"
}

rc_of() {
	cat "$tmp/$1.rc"
}

expect_rc() {
	[ "$(rc_of "$1")" = "$2" ] ||
		fail "$1: exit $(rc_of "$1"), expected $2; stdout: $(cat "$tmp/$1.out"); stderr: $(cat "$tmp/$1.err")"
}

expect_in() {
	grep -qF -- "$3" "$tmp/$1.$2" || fail "$1: \"$3\" not in $2: $(cat "$tmp/$1.$2")"
}

expect_contains() {
	if grep -qF -- "$2" "$1"; then
		pass "$(basename "$1") contains \"$2\""
	else
		fail "$(basename "$1") does not contain \"$2\""
		sed 's/^/  | /' "$1" >&2
	fi
}

expect_absent() {
	if grep -qF -- "$2" "$1"; then
		fail "$(basename "$1") contains \"$2\""
		sed 's/^/  | /' "$1" >&2
	else
		pass "$(basename "$1") does not contain the secret"
	fi
}

version_of() {
	local v

	v=$(pg_psql -d "$1" -At -c "SELECT string_agg(version_num, ' ' ORDER BY version_num) FROM alembic_version" 2>/dev/null) ||
		v=none
	echo "${v:-none}"
}

expect_version() {
	[ "$(version_of "$1")" = "$2" ] || fail "$3: $1 is at \"$(version_of "$1")\", expected \"$2\""
}

hash_of() {
	sed -n 's/.*migsync approve .*--plan \([0-9a-f]\{64\}\).*/\1/p' "$tmp/$1.err" | head -n 1
}
