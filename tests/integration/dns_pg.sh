#!/bin/bash
# Name lookups with a deadline, against the real resolver library and a
# real PostgreSQL. migsync runs in a mount namespace of its own (unshare
# -m) in which /etc/resolv.conf names a silent name server on loopback
# (a UDP socket on 127.x.y.53:53 that never answers, held by a small
# Python process) and /etc/hosts is a file of this test; the machine's own
# files are never touched.
#
#  1. status with connect_timeout 2 and a name only the silent server
#     could answer: unreachable within about 2 s (glibc alone would wait
#     2 x 5 s), the message naming the name and the name server.
#  2. hook --wait: the name appears in the hosts file only after a few
#     seconds; hook waits for it (with the backoff of a refused
#     connection) and applies.
#  3. A name in the hosts file from the start: status is current.
#
# Skipped (77) only when a mount namespace or the port cannot be had here.
#
# Run by meson with MIGSYNC = the binary, MIGSYNC_SOURCE_ROOT = the repo.
set -u

: "${MIGSYNC:?set MIGSYNC to the migsync binary}"
: "${MIGSYNC_SOURCE_ROOT:?set MIGSYNC_SOURCE_ROOT to the repository root}"

. "$MIGSYNC_SOURCE_ROOT/tests/integration/lib/common.sh"
. "$MIGSYNC_SOURCE_ROOT/tests/integration/lib/pg.sh"
. "$MIGSYNC_SOURCE_ROOT/tests/integration/lib/inventory.sh"

unshare -m true 2>/dev/null || skip_all "unshare -m is not permitted here"
pg_setup dns

NAME=db.migsync.test
NS=127.$((RANDOM % 200 + 20)).$((RANDOM % 250 + 1)).53
RESOLV=$tmp/resolv.conf
HOSTS=$tmp/hosts
printf 'nameserver %s\noptions timeout:5 attempts:2\n' "$NS" >"$RESOLV"
printf '127.0.0.1 localhost\n::1 localhost\n' >"$HOSTS"

# the silent name server: reads every query, answers none
"$PYTHON" - "$NS" "$tmp/ns.ready" >/dev/null 2>&1 3>&- <<-'EOF' &
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 53))
open(sys.argv[2], "w").close()
while True:
    s.recvfrom(4096)
EOF
NS_PID=$!
kill_at_exit "$NS_PID"
for _ in $(seq 50); do
	[ -e "$tmp/ns.ready" ] && break
	kill -0 "$NS_PID" 2>/dev/null || break
	sleep 0.1
done
[ -e "$tmp/ns.ready" ] || skip_all "cannot bind a silent name server on $NS:53 here"

# migsync in its own mount namespace, with our resolv.conf and hosts
NS_MIGSYNC=$tmp/ns-migsync
cat >"$NS_MIGSYNC" <<EOF
#!/bin/sh
exec unshare -m sh -c 'mount --bind "\$0" /etc/resolv.conf && mount --bind "\$1" /etc/hosts && shift && exec "\$@"' \
	"$RESOLV" "$HOSTS" "$MIGSYNC" "\$@"
EOF
chmod +x "$NS_MIGSYNC"
REAL_MIGSYNC=$MIGSYNC
MIGSYNC=$NS_MIGSYNC

check "the namespace sees the test's resolv.conf, the machine keeps its own" \
	test "$(unshare -m sh -c "mount --bind '$RESOLV' /etc/resolv.conf && cat /etc/resolv.conf")" = "$(cat "$RESOLV")" -a \
	"$(cat /etc/resolv.conf)" != "$(cat "$RESOLV")"

pg_createdb dnsdb
V=$tmp/versions
INV=$tmp/inv
R1=7a0000000001
mkdir -p "$V"
inv_sql_rev "$V" $R1 "" "CREATE TABLE d_t (id int);" "DROP TABLE d_t;"
inv_head "$INV" dns "$V" "" dns
inv_env "$INV" dns dnsdb "$PGPORT" postgres 2
sed -i "s/^  host: 127.0.0.1$/  host: $NAME/" "$INV/dns.yaml"
grep -q "host: $NAME" "$INV/dns.yaml" || fail "inventory: host not set"

# --- 1: a name server that never answers: bounded by connect_timeout
# expect_rc_in NAME CODE...: the exit code is one of CODE (status's code for
# an unreachable environment is 0 in some versions, 1 in later ones)
expect_rc_in() {
	local name=$1 rc

	rc=$(rc_of "$name")
	shift
	case " $* " in
	*" $rc "*) pass "$name: exit $rc" ;;
	*) fail "$name: exit $rc, expected one of $*; stderr: $(cat "$tmp/$name.err")" ;;
	esac
}

run silent status -i "$INV" --format json
expect_rc_in silent 0 1
expect_json silent '.environments[0].state' unreachable
expect_json silent '.environments[0].error' has "could not resolve host name \"$NAME\": no answer from the name server in time"
t=$(cat "$tmp/silent.time")
awk -v t="$t" 'BEGIN { exit !(t >= 1.5 && t < 4.5) }' && pass "status returned in $t s (connect_timeout 2)" ||
	fail "status took $t s with connect_timeout 2 (glibc alone: 10 s)"
run silent_text status -i "$INV"
expect_rc_in silent_text 0 1
expect_in silent_text out "could not resolve host name \"$NAME\""

# --- 2: hook --wait waits for a name that appears later
( sleep 4; echo "127.0.0.1 $NAME" >>"$HOSTS" ) &
kill_at_exit $!
run hook hook -i "$INV" -e dns --wait 30
expect_rc hook 0
t=$(cat "$tmp/hook.time")
awk -v t="$t" 'BEGIN { exit !(t >= 3.5 && t < 20) }' && pass "hook waited $t s for the name" ||
	fail "hook took $t s; the name appeared after 4 s"
expect_in hook err "could not resolve host name \"$NAME\""
check "hook applied once the name resolved" test "$(version_of dnsdb)" = $R1

# --- 3: the name resolves: status is current
run found status -i "$INV" --format json
expect_rc found 0
expect_json found '.environments[0].state' current
