#!/bin/bash
# The probe through SSH tunnels, against a real sshd and PostgreSQL: ok
# with the right known_hosts; refused with a changed host key, with a host
# missing from known_hosts and with no known_hosts file, each time before
# any authentication (sshd's DEBUG1 log shows no userauth request although
# the client key is authorized); a key with a passphrase from the
# environment; an unreachable sshd and an unreachable database behind it.

set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib/pg.sh"
. "$HERE/lib/sshd.sh"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/migsync-probe-ssh.XXXXXX")

cleanup() {
	sshd_stop
	pg_stop
	rm -rf "$WORK"
}
trap cleanup EXIT

SRC_ROOT=${MIGSYNC_SOURCE_ROOT:-$(cd "$HERE/../.." && pwd)}
failures=0

fail() {
	echo "FAIL: $*" >&2
	failures=$((failures + 1))
}

pass() {
	echo "ok: $*"
}

# The driver is built next to migsync (tests/integration/drivers); until
# that is wired into the build, compile it against a libmigsync.a.
find_probe_driver() {
	local build c

	for c in "${PROBE_DRIVER:-}" \
		"$(dirname "${MIGSYNC:-/nonexistent/x}")/tests/integration/drivers/probe_driver"; do
		if [ -n "$c" ] && [ -x "$c" ]; then
			PROBE_DRIVER=$c
			return 0
		fi
	done
	for build in "$(dirname "${MIGSYNC:-/nonexistent/x}")" "$SRC_ROOT"/build*; do
		if [ -f "$build/libmigsync.a" ] &&
			cc -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE \
				-I"$SRC_ROOT/include" -I"$build" $(pkg-config --cflags libpq) \
				-o "$WORK/probe_driver" "$SRC_ROOT/tests/integration/probe_driver.c" \
				"$build/libmigsync.a" -lpq -lssh2 -lcrypto -lyaml -pthread 2>/dev/null; then
			PROBE_DRIVER=$WORK/probe_driver
			return 0
		fi
	done
	echo "probe driver not found: set PROBE_DRIVER or build tests/integration/drivers" >&2
	return 1
}

# field FILE NAME COLUMN: a column of the driver's line for target NAME
# (2 state, 3 rows, 4 server version, 5 ledger, 6 ms, 7 error, 8 hint).
field() {
	awk -F '\t' -v n="$2" -v c="$3" '$1 == n { print $c }' "$1"
}

expect_field() {
	local got

	got=$(field "$1" "$2" "$3")
	if [ "$got" = "$4" ]; then
		pass "$2: column $3 is \"$4\""
	else
		fail "$2: column $3 is \"$got\", expected \"$4\""
	fi
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

# Wait (bounded) until sshd has logged the end of every connection since MARK.
wait_sshd_quiet() {
	local opened closed

	for _ in $(seq 1 50); do
		opened=$(sshd_log_since "$1" | grep -c '^Connection from')
		closed=$(sshd_log_since "$1" | grep -cE '^(Disconnected from|Connection closed by|Received disconnect from)')
		[ "$closed" -ge "$opened" ] && return 0
		sleep 0.1
	done
	return 1
}

# The host was refused before any authentication was attempted.
expect_no_auth() {
	local what=$1 mark=$2

	wait_sshd_quiet "$mark"
	sshd_log_since "$mark" > "$WORK/sshd.part"
	if ! grep -q '^Connection from' "$WORK/sshd.part"; then
		fail "$what: sshd saw no connection"
	elif grep -qE 'userauth-request|Accepted publickey|Failed publickey|Postponed publickey|Accepted key|authenticated' "$WORK/sshd.part"; then
		fail "$what: authentication was attempted"
		sed 's/^/  | /' "$WORK/sshd.part" >&2
	else
		pass "$what: refused before authentication"
	fi
}

find_probe_driver || exit 1
pg_start
rc=$?
[ $rc -ne 0 ] && exit $rc
sshd_start
rc=$?
[ $rc -ne 0 ] && exit $rc

pg_psql -d postgres -c "CREATE DATABASE dev" || exit 1
pg_psql -d dev -c "CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY);
	INSERT INTO alembic_version VALUES ('ae1027a6acf')" || exit 1

ssh_opts=(--ssh-host 127.0.0.1 --ssh-port "$SSHD_PORT" --ssh-user "$SSHD_USER"
	--ssh-identity "$SSHD_CLIENT_KEY" --ssh-timeout 5)
# host= is the name as seen from the ssh server; libpq keeps it for TLS checks.
db="host=localhost port=$PGPORT user=postgres dbname=dev sslmode=disable"

# --- through the tunnel -----------------------------------------------
mark=$(sshd_log_mark)
"$PROBE_DRIVER" -t 10 -j 4 "${ssh_opts[@]}" --ssh-known-hosts "$SSHD_KNOWN_HOSTS" \
	a="$db" b="$db" c="$db" d="$db" e="$db" f="$db" \
	>"$WORK/ok.out" 2>"$WORK/ok.err"
rc=$?
cat "$WORK/ok.out" "$WORK/ok.err"
[ $rc -eq 0 ] && pass "tunnel: exit status 0" || fail "tunnel: exit status $rc"
n=$(awk -F '\t' '$2 == "ok" && $3 == "ae1027a6acf"' "$WORK/ok.out" | wc -l)
[ "$n" -eq 6 ] && pass "tunnel: six probes read ae1027a6acf" || fail "tunnel: $n of 6 ok"
wait_sshd_quiet "$mark"
n=$(sshd_log_since "$mark" | grep -c 'server_request_direct_tcpip: .*target localhost port '"$PGPORT")
[ "$n" -ge 6 ] && pass "tunnel: sshd forwarded to localhost:$PGPORT" || fail "tunnel: $n forwards in sshd's log"

# --- a changed host key -----------------------------------------------
mark=$(sshd_log_mark)
"$PROBE_DRIVER" -t 10 "${ssh_opts[@]}" --ssh-known-hosts "$SSHD_KNOWN_HOSTS_WRONG" \
	changed="$db" >"$WORK/wrong.out" 2>&1
rc=$?
cat "$WORK/wrong.out"
[ $rc -eq 1 ] && pass "changed key: exit status 1" || fail "changed key: exit status $rc"
expect_field "$WORK/wrong.out" changed 2 error
expect_contains "$WORK/wrong.out" "ssh server \"127.0.0.1:$SSHD_PORT\": host key does not match known_hosts file \"$SSHD_KNOWN_HOSTS_WRONG\""
expect_contains "$WORK/wrong.out" "ssh-keygen -R '[127.0.0.1]:$SSHD_PORT'"
expect_contains "$WORK/wrong.out" "$(ssh-keygen -lf "$SSHD_DIR/host_key.pub" | cut -d' ' -f2)"
expect_no_auth "changed key" "$mark"

# --- a host missing from known_hosts ------------------------------------
mark=$(sshd_log_mark)
"$PROBE_DRIVER" -t 10 "${ssh_opts[@]}" --ssh-known-hosts "$SSHD_KNOWN_HOSTS_MISSING" \
	unknown="$db" >"$WORK/missing.out" 2>&1
cat "$WORK/missing.out"
expect_field "$WORK/missing.out" unknown 2 error
expect_contains "$WORK/missing.out" "host \"[127.0.0.1]:$SSHD_PORT\" is not in known_hosts file \"$SSHD_KNOWN_HOSTS_MISSING\""
expect_contains "$WORK/missing.out" "ssh-keyscan -p $SSHD_PORT 127.0.0.1 >> $SSHD_KNOWN_HOSTS_MISSING"
expect_no_auth "unknown host" "$mark"

# --- no known_hosts file at all -----------------------------------------
mark=$(sshd_log_mark)
"$PROBE_DRIVER" -t 10 "${ssh_opts[@]}" --ssh-known-hosts "$WORK/does-not-exist" \
	nofile="$db" >"$WORK/nofile.out" 2>&1
cat "$WORK/nofile.out"
expect_field "$WORK/nofile.out" nofile 2 error
expect_contains "$WORK/nofile.out" "could not read known_hosts file \"$WORK/does-not-exist\""
expect_no_auth "no known_hosts file" "$mark"

# --- a key with a passphrase from the environment ------------------------
PASSPHRASE='Key-Pa55phrase-Secret'
ssh-keygen -q -t ed25519 -N "$PASSPHRASE" -f "$WORK/locked_key" || exit 1
cat "$WORK/locked_key.pub" >> "$SSHD_DIR/authorized_keys"
locked_opts=(--ssh-host 127.0.0.1 --ssh-port "$SSHD_PORT" --ssh-user "$SSHD_USER"
	--ssh-identity "$WORK/locked_key" --ssh-known-hosts "$SSHD_KNOWN_HOSTS"
	--ssh-passphrase-env MIGSYNC_TEST_PASSPHRASE)
MIGSYNC_TEST_PASSPHRASE=$PASSPHRASE "$PROBE_DRIVER" -t 10 "${locked_opts[@]}" \
	locked="$db" >"$WORK/locked.out" 2>&1
MIGSYNC_TEST_PASSPHRASE="$PASSPHRASE-wrong" "$PROBE_DRIVER" -t 10 "${locked_opts[@]}" \
	badphrase="$db" >>"$WORK/locked.out" 2>&1
cat "$WORK/locked.out"
expect_field "$WORK/locked.out" locked 2 ok
expect_field "$WORK/locked.out" badphrase 2 error
expect_absent "$WORK/locked.out" "$PASSPHRASE"

# --- nothing listening: the ssh server, the database behind it -----------
CLOSED_PORT=$(free_port)
start=$(date +%s%N)
"$PROBE_DRIVER" -t 3 --ssh-host 127.0.0.1 --ssh-port "$CLOSED_PORT" --ssh-user "$SSHD_USER" \
	--ssh-identity "$SSHD_CLIENT_KEY" --ssh-known-hosts "$SSHD_KNOWN_HOSTS" \
	nossh="$db" >"$WORK/down.out" 2>&1
"$PROBE_DRIVER" -t 3 "${ssh_opts[@]}" --ssh-known-hosts "$SSHD_KNOWN_HOSTS" \
	nodb="host=localhost port=$CLOSED_PORT user=postgres dbname=dev" >>"$WORK/down.out" 2>&1
elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 ))
cat "$WORK/down.out"
expect_field "$WORK/down.out" nossh 2 unreachable
expect_contains "$WORK/down.out" "ssh server \"127.0.0.1:$CLOSED_PORT\": could not connect"
expect_field "$WORK/down.out" nodb 2 unreachable
expect_contains "$WORK/down.out" "could not open a channel to \"localhost:$CLOSED_PORT\""
[ $elapsed_ms -lt 8000 ] && pass "unreachable probes took $elapsed_ms ms" || fail "unreachable probes took $elapsed_ms ms"

if [ $failures -ne 0 ]; then
	echo "probe_ssh: $failures check(s) failed" >&2
	exit 1
fi
echo "probe_ssh: all checks passed"
