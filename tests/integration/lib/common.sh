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
#                       (the pids of kill_at_exit are killed first)
#   pg_up, sshd_up      pg_start (lib/pg.sh) / sshd_start (lib/sshd.sh),
#                       stopped at exit; exit with its code (77: skip) when
#                       the server cannot start
#   pg_setup NAME       pg_up, then work_dir NAME
#   pg_driver NAME DRIVER
#                       pg_setup NAME and run the cmocka DRIVER against the
#                       server; fail, with the server log's tail, unless it
#                       passes
#   run NAME [VAR=VALUE]... [--] ARGS...
#                       migsync "${RUN_PREFIX[@]}" ARGS "${RUN_ARGS[@]}" with
#                       VAR=VALUE in its environment, no terminal and a bound
#                       of 120 s; keeps $tmp/NAME.out, NAME.err, NAME.rc and
#                       NAME.time (seconds, one decimal)
#   run_bg NAME [--] ARGS...
#                       migsync "${RUN_PREFIX[@]}" ARGS "${RUN_ARGS[@]}" in
#                       the background, without timeout (so that a signal
#                       reaches migsync itself); sets BG_PID; killed at exit
#   wait_bg NAME PID    wait for PID (started by run_bg NAME), keep NAME.rc
#   kill_at_exit PID    kill -9 PID at exit, even when called in a subshell
#   rc_of NAME          the exit code kept by run
#   expect_rc NAME CODE, expect_in NAME out|err TEXT, expect_not_in ...
#                       fail unless NAME exited CODE / its stdout or stderr
#                       contains (does not contain) TEXT
#   expect_py FILE EXPR fail unless the Python expression EXPR is true of
#                       FILE, parsed as doc (JSON) or root (.xml,
#                       ElementTree), after the Python code $PY_PRELUDE ran
#   expect_json NAME EXPR
#                       expect_py on the stdout of NAME
#   pg_createdb DB...   create the databases on the pg.sh server, or fail
#   now, elapsed START  the time in seconds; seconds since START (one decimal)
#   expect_contains FILE TEXT, expect_absent FILE TEXT
#                       pass or fail (showing FILE) on whether FILE has TEXT
#   version_of DB       the version rows of a database, sorted, or "none"
#   expect_version DB ROWS WHEN
#                       fail unless version_of DB is ROWS
#   hash_of NAME        the plan hash of the approve command NAME printed

failures=0
tmp=
RUN_PREFIX=()
RUN_ARGS=()
PY_PRELUDE=
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
	at_exit '_kill_bg; rm -rf "$tmp"'
}

# The pids of kill_at_exit, in a file so that subshells may add to it.
_kill_bg() {
	local pid

	[ -f "$tmp/.bg_pids" ] || return 0
	while read -r pid; do
		kill -9 "$pid" 2>/dev/null
	done <"$tmp/.bg_pids"
}

pg_up() {
	at_exit pg_stop
	pg_start || exit
}

sshd_up() {
	at_exit sshd_stop
	sshd_start || exit
}

pg_setup() {
	pg_up
	work_dir "$1"
}

pg_driver() {
	[ -x "$2" ] || fail "$1: driver not found at $2: set its variable or MIGSYNC"
	pg_setup "$1"
	if ! "$2"; then
		tail -n 30 "$PG_LOG" >&2
		fail "$1: $(basename "$2") failed; the server log's tail above"
	fi
	echo "$1: all checks passed"
}

run() {
	local name=$1 vars=() start

	shift
	while [[ $# -gt 0 && $1 =~ ^[A-Za-z_][A-Za-z0-9_]*= ]]; do
		vars+=("$1")
		shift
	done
	[ "${1:-}" = -- ] && shift
	start=$(now)
	env "${vars[@]}" timeout 120 "$MIGSYNC" "${RUN_PREFIX[@]}" "$@" "${RUN_ARGS[@]}" \
		>"$tmp/$name.out" 2>"$tmp/$name.err" </dev/null
	echo $? >"$tmp/$name.rc"
	elapsed "$start" >"$tmp/$name.time"
}

run_bg() {
	local name=$1

	shift
	[ "${1:-}" = -- ] && shift
	"$MIGSYNC" "${RUN_PREFIX[@]}" "$@" "${RUN_ARGS[@]}" \
		>"$tmp/$name.out" 2>"$tmp/$name.err" </dev/null &
	BG_PID=$!
	kill_at_exit "$BG_PID"
}

kill_at_exit() {
	echo "$1" >>"$tmp/.bg_pids"
}

wait_bg() {
	wait "$2"
	echo $? >"$tmp/$1.rc"
}

now() {
	date +%s.%N
}

elapsed() {
	echo "$1 $(now)" | awk '{ printf "%.1f\n", $2 - $1 }'
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

expect_not_in() {
	! grep -qF -- "$3" "$tmp/$1.$2" || fail "$1: unexpected \"$3\" in $2: $(cat "$tmp/$1.$2")"
}

expect_py() {
	python3 - "$1" "$2" "$PY_PRELUDE" <<-'EOF' || fail "$(basename "$1"): check failed: $2; file: $(cat "$1")"
	import json, sys
	import xml.etree.ElementTree as ET
	path, expr, prelude = sys.argv[1:4]
	doc = root = None
	if path.endswith(".xml"):
	    root = ET.parse(path).getroot()
	else:
	    doc = json.load(open(path))
	exec(prelude)
	sys.exit(0 if eval(expr) else 1)
	EOF
}

expect_json() {
	expect_py "$tmp/$1.out" "$2"
}

pg_createdb() {
	local db

	for db in "$@"; do
		pg_psql -d postgres -c "CREATE DATABASE $db" >/dev/null || fail "CREATE DATABASE $db"
	done
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
