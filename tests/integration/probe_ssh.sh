#!/bin/bash
# The probe through SSH tunnels, against a real sshd and PostgreSQL: ok
# with the right known_hosts; refused with a changed host key, with a host
# missing from known_hosts and with no known_hosts file, each time before
# any authentication (sshd's DEBUG1 log shows no userauth request although
# the client key is authorized); a key with a passphrase from the
# environment; an unreachable sshd and an unreachable database behind it.

set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib/common.sh"
. "$HERE/lib/pg.sh"
. "$HERE/lib/sshd.sh"
. "$HERE/lib/probe.sh"
FAIL_GOES_ON=1

WORK=$(mktemp -d "${TMPDIR:-/tmp}/migsync-probe-ssh.XXXXXX")
at_exit 'rm -rf "$WORK"'

find_probe_driver || exit 1
pg_up
sshd_up

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
sshd_wait_quiet "$mark"
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
hold_port CLOSED_PORT
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

finish probe_ssh
