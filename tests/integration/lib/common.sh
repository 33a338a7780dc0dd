# Helpers shared by the integration tests. Source this file first; it
# installs the EXIT trap (use at_exit, not trap ... EXIT).
#
# Output is TAP (meson reads it with protocol: 'tap'): each check prints
# "ok N - what" or "not ok N - what" on the test's stdout, and the EXIT
# trap prints the plan "1..N". Sourcing this file sends everything else
# the script prints to stderr (fd 3 is the TAP stream). A script that
# exits 77 before any check prints "1..0 # SKIP reason"; one that exits
# non-zero without a failed check gets a "not ok" saying so; one that ran
# no check at all fails.
#
#   at_exit COMMAND     run COMMAND (a string, eval'd) when the script exits;
#                       the last added runs first
#   pass WHAT...        "ok N - WHAT"
#   fail WHAT...        "not ok N - WHAT" (its first line; all of it on
#                       stderr) and exit 1; with FAIL_GOES_ON=1 go on
#   check WHAT COMMAND...
#                       pass WHAT when COMMAND succeeds, else fail WHAT
#   skip WHAT...        "ok N - # SKIP WHAT": a check that cannot run here
#   skip_all REASON     end the script as skipped (exit 77 -> "1..0 # SKIP")
#   note TEXT...        a "# TEXT" comment in the TAP stream
#   finish NAME         after FAIL_GOES_ON checks: exit 1 when any failed,
#                       else 0
#   work_dir NAME       a temporary directory, removed at exit, in $tmp
#                       (the pids of kill_at_exit are killed first)
#   pg_up, sshd_up      pg_start (lib/pg.sh) / sshd_start (lib/sshd.sh),
#                       stopped at exit; the test is skipped when the
#                       server cannot run here
#   pg_setup NAME       pg_up, then work_dir NAME
#   pg_driver NAME DRIVER
#                       pg_setup NAME and run the cmocka DRIVER against the
#                       server: one check per cmocka test (its TAP output),
#                       the server log's tail on stderr when one fails
#   run NAME [VAR=VALUE]... [--] ARGS...
#                       migsync "${RUN_PREFIX[@]}" ARGS "${RUN_ARGS[@]}" with
#                       VAR=VALUE in its environment, no terminal and a bound
#                       of 120 s; keeps $tmp/NAME.out, NAME.err, NAME.rc and
#                       NAME.time (seconds, one decimal)
#                       With --format json among the arguments (and no
#                       --help), NAME.out is also kept for the schema check
#                       below.
#   run_bg NAME [--] ARGS...
#                       migsync "${RUN_PREFIX[@]}" ARGS "${RUN_ARGS[@]}" in
#                       the background, without timeout (so that a signal
#                       reaches migsync itself); sets BG_PID; killed at exit
#   wait_bg NAME PID    wait for PID (started by run_bg NAME), keep NAME.rc
#                       (and NAME.out for the schema check, as run does)
#   json_spool NAME FILE
#                       keep FILE, a JSON document migsync wrote (a test
#                       that runs migsync itself, not through run), for the
#                       schema check: at exit, every document kept is
#                       checked against docs/json (lib/json_schema.py), one
#                       check for all of them, one failed check per bad one
#   kill_at_exit PID    kill -9 PID at exit, even when called in a subshell
#   rc_of NAME          the exit code kept by run
#   expect_rc NAME CODE, expect_in NAME out|err TEXT, expect_not_in ...
#                       check that NAME exited CODE / its stdout or stderr
#                       contains (does not contain) TEXT
#   json_get FILE PATH  the value at PATH of a JSON file (lib/jsonq.py: the
#                       path syntax, functions and operators)
#   expect_json_file FILE PATH [OP] EXPECTED
#                       check that the value at PATH of FILE (JSON, or a
#                       JUnit .xml) satisfies OP (default ==) EXPECTED
#   expect_json NAME PATH [OP] EXPECTED
#                       expect_json_file on the stdout of NAME
#   pg_createdb DB...   create the databases on the pg.sh server, or fail
#   now, elapsed START  the time in seconds; seconds since START (one decimal)
#   expect_contains FILE TEXT, expect_absent FILE TEXT
#                       pass or fail (showing FILE) on whether FILE has TEXT
#   version_of DB       the version rows of a database, sorted, or "none"
#   expect_version DB ROWS WHEN
#                       check that version_of DB is ROWS
#   hash_of NAME        the plan hash of the approve command NAME printed
#   hold_port VAR [listen]
#                       a TCP port of 127.0.0.1 in $VAR, held until the script
#                       exits (so that no other test's server takes it, the
#                       tests running in parallel): nothing listens on it
#                       (connections refused), or with "listen" a server
#                       that accepts connections and never says a word

# The TAP stream is the script's stdout; all other output goes to stderr.
exec 3>&1 1>&2
tmp=
RUN_PREFIX=()
RUN_ARGS=()
# The system Python, not a version manager's shim on PATH (seconds a start
# under load): the helpers need only its standard library.
PYTHON=${PYTHON:-/usr/bin/python3}
_jsonq=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/jsonq.py
_at_exit=()
_skip_reason=
_schemas=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../../docs/json" 2>/dev/null && pwd)
# The JSON documents kept for the schema check, and their list.
_json_spool=$(mktemp -d "${TMPDIR:-/tmp}/migsync-json.XXXXXX") || exit 1
# The number of checks and of failed ones, in a file so that checks in
# subshells count too.
_tap_count=$(mktemp "${TMPDIR:-/tmp}/migsync-tap.XXXXXX") || exit 1
echo "0 0" >"$_tap_count"

at_exit() {
	_at_exit+=("$1")
}

_run_at_exit() {
	local rc=$? i

	_json_check
	for ((i = ${#_at_exit[@]} - 1; i >= 0; i--)); do
		eval "${_at_exit[i]}"
	done
	_tap_end "$rc"
}
trap _run_at_exit EXIT

# _tap ok|"not ok"|skip WHAT: one TAP line, WHAT on one line ("#" would
# start a directive)
_tap() {
	local n f what

	read -r n f <"$_tap_count"
	n=$((n + 1))
	[ "$1" != "not ok" ] || f=$((f + 1))
	echo "$n $f" >"$_tap_count"
	what=${2%%$'\n'*}
	what=${what:0:400}
	what=${what//#/\\#}
	if [ "$1" = skip ]; then
		printf 'ok %d - # SKIP %s\n' "$n" "$what" >&3
	else
		printf '%s %d - %s\n' "$1" "$n" "$what" >&3
	fi
}

# _tap_end RC: the plan, and the exit code of the script (see above)
_tap_end() {
	local rc=$1 n f

	read -r n f <"$_tap_count"
	rm -f "$_tap_count"
	if [ "$rc" = 77 ] && [ "$n" = 0 ]; then
		echo "1..0 # SKIP ${_skip_reason:-cannot run here}" >&3
		exit 0
	elif [ "$rc" = 77 ]; then
		_tap skip "the rest: ${_skip_reason:-cannot run here}"
		n=$((n + 1))
		rc=0
	elif [ "$rc" != 0 ] && [ "$f" = 0 ]; then
		printf 'not ok %d - the script exited with status %s\n' $((n += 1)) "$rc" >&3
	elif [ "$n" = 0 ]; then
		printf 'not ok %d - no check ran\n' $((n += 1)) >&3
		rc=1
	fi
	echo "1..$n" >&3
	[ "$f" = 0 ] || rc=1
	exit "$rc"
}

fail() {
	echo "FAIL: $*" >&2
	_tap "not ok" "$*"
	[ -n "${FAIL_GOES_ON:-}" ] || exit 1
}

json_spool() {
	local f

	# a file of its own: runs in parallel subshells keep theirs too
	f=$(mktemp "$_json_spool/doc.XXXXXX") || fail "json_spool: mktemp"
	cp -- "$2" "$f" 2>/dev/null
	printf '%s\t%s\n' "$1" "$f" >>"$_json_spool/list"
}

# _json_asked ARGS...: true when the last --format of the arguments is json
# (and --help is not asked for)
_json_asked() {
	local prev= a json=1

	for a in "$@"; do
		[ "$a" = --help ] && return 1
		case $prev/$a in
		*/--format=json | --format/json) json=0 ;;
		*/--format=* | --format/*) json=1 ;;
		esac
		prev=$a
	done
	return $json
}

# The schema check of every document kept (see json_spool).
_json_check() {
	local line n bad=0

	if [ -s "$_json_spool/list" ]; then
		n=$(wc -l <"$_json_spool/list")
		# its exit code says what the lines say (and must not end a set -e script here)
		"$PYTHON" "$(dirname "$_jsonq")/json_schema.py" "$_schemas" "$_json_spool/list" \
			>"$_json_spool/result" 2>&1 || :
		while IFS= read -r line; do
			case $line in
			ok\ *) ;;
			*)
				bad=1
				echo "$line" >&2
				_tap "not ok" "JSON schema: $line"
				;;
			esac
		done <"$_json_spool/result"
		[ "$bad" = 1 ] || _tap ok "JSON schema: the $n document(s) of --format json match docs/json"
	fi
	rm -rf "$_json_spool"
}

pass() {
	_tap ok "$*"
}

check() {
	local what=$1

	shift
	if "$@"; then
		pass "$what"
	else
		fail "$what"
	fi
}

skip() {
	echo "SKIP: $*" >&2
	_tap skip "$*"
}

skip_all() {
	_skip_reason=$1
	exit 77
}

note() {
	echo "# $*" >&3
}

finish() {
	local n f

	read -r n f <"$_tap_count"
	if [ "$f" -ne 0 ]; then
		echo "$1: $f check(s) failed" >&2
		exit 1
	fi
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
	pg_start || { [ $? = 77 ] && skip_all "PostgreSQL cannot run here"; fail "pg_start"; }
}

sshd_up() {
	at_exit sshd_stop
	sshd_start || { [ $? = 77 ] && skip_all "sshd cannot run here"; fail "sshd_start"; }
}

pg_setup() {
	pg_up
	work_dir "$1"
}

pg_driver() {
	local rc line bad=0 drv

	drv=$(basename "$2")
	[ -x "$2" ] || fail "$1: driver not found at $2: set its variable or MIGSYNC"
	pg_setup "$1"
	CMOCKA_MESSAGE_OUTPUT=TAP "$2" >"$tmp/driver.tap"
	rc=$?
	while IFS= read -r line; do
		if [[ $line =~ ^ok\ [0-9]+\ -\ (.*)$ ]]; then
			pass "$drv: ${BASH_REMATCH[1]}"
		elif [[ $line =~ ^not\ ok\ [0-9]+\ -\ (.*)$ ]]; then
			bad=1
			FAIL_GOES_ON=1 fail "$drv: ${BASH_REMATCH[1]}"
		elif [[ ! $line =~ ^1\.\. ]]; then
			echo "$line" >&2
		fi
	done <"$tmp/driver.tap"
	if [ "$rc" -ne 0 ] && [ "$bad" = 0 ]; then
		bad=1
		FAIL_GOES_ON=1 fail "$drv: exit status $rc"
	fi
	if [ "$bad" = 1 ]; then
		tail -n 30 "$PG_LOG" >&2
		echo "$1: the server log's tail above" >&2
	fi
	finish "$1"
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
	if _json_asked "${RUN_PREFIX[@]}" "$@" "${RUN_ARGS[@]}"; then
		json_spool "$name" "$tmp/$name.out"
	fi
}

run_bg() {
	local name=$1

	shift
	[ "${1:-}" = -- ] && shift
	rm -f "$tmp/$name.json_asked"
	_json_asked "${RUN_PREFIX[@]}" "$@" "${RUN_ARGS[@]}" && : >"$tmp/$name.json_asked"
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
	[ ! -e "$tmp/$1.json_asked" ] || json_spool "$1" "$tmp/$1.out"
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
	if [ "$(rc_of "$1")" = "$2" ]; then
		pass "$1: exit $2"
	else
		fail "$1: exit $(rc_of "$1"), expected $2; stdout: $(cat "$tmp/$1.out"); stderr: $(cat "$tmp/$1.err")"
	fi
}

expect_in() {
	if grep -qF -- "$3" "$tmp/$1.$2"; then
		pass "$1: $2 has \"$3\""
	else
		fail "$1: \"$3\" not in $2: $(cat "$tmp/$1.$2")"
	fi
}

expect_not_in() {
	if ! grep -qF -- "$3" "$tmp/$1.$2"; then
		pass "$1: no \"$3\" in $2"
	else
		fail "$1: unexpected \"$3\" in $2: $(cat "$tmp/$1.$2")"
	fi
}

json_get() {
	"$PYTHON" "$_jsonq" "$@"
}

expect_json_file() {
	local file=$1 what

	shift
	what="$(basename "$file"): $*"
	if "$PYTHON" "$_jsonq" "$file" "$@" 2>"$file.jsonq"; then
		pass "$what"
	else
		fail "$what: $(cat "$file.jsonq")"$'\n'"the document: $(cat "$file")"
	fi
}

expect_json() {
	expect_json_file "$tmp/$1.out" "${@:2}"
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

# The version rows of database $1, or of DATABASE/SCHEMA's own version table.
version_of() {
	local v table=alembic_version

	[[ $1 != */* ]] || table="\"${1#*/}\".alembic_version"
	v=$(pg_psql -d "${1%%/*}" -At -c "SELECT string_agg(version_num, ' ' ORDER BY version_num) FROM $table" 2>/dev/null) ||
		v=none
	echo "${v:-none}"
}

expect_version() {
	local v

	v=$(version_of "$1")
	if [ "$v" = "$2" ]; then
		pass "$3: $1 is at $2"
	else
		fail "$3: $1 is at \"$v\", expected \"$2\""
	fi
}

hold_port() {
	local f pid

	f=$(mktemp "${TMPDIR:-/tmp}/migsync-port.XXXXXX") || fail "hold_port: mktemp"
	"$PYTHON" - "$f" "${2:-}" >/dev/null 2>&1 3>&- <<-'EOF' &
	import os, socket, sys, time
	s = socket.socket()
	s.bind(("127.0.0.1", 0))
	if sys.argv[2] == "listen":
	    s.listen(64)
	with open(sys.argv[1] + ".new", "w") as f:
	    f.write(str(s.getsockname()[1]))
	os.rename(sys.argv[1] + ".new", sys.argv[1])
	conns = []
	while True:
	    if sys.argv[2] == "listen":
	        conns.append(s.accept()[0])
	    else:
	        time.sleep(3600)
	EOF
	pid=$!
	at_exit "kill $pid 2>/dev/null"
	for _ in $(seq 100); do
		[ -s "$f" ] && break
		sleep 0.05
	done
	printf -v "$1" '%s' "$(cat "$f")"
	rm -f "$f"
	[ -n "${!1}" ] || fail "hold_port: the port holder did not start"
}

hash_of() {
	sed -n 's/.*migsync approve .*--plan \([0-9a-f]\{64\}\).*/\1/p' "$tmp/$1.err" | head -n 1
}
