#!/bin/bash
# migsync status and apply through an SSH tunnel, against a real sshd and
# PostgreSQL: an inventory whose "tunnel" environment has an ssh: block
# (the test sshd, the authorized client key, the right known_hosts file)
# beside a "direct" one. status reports tunnel behind, then current, and
# sshd's log shows the key accepted and the forward to the database;
# apply -e tunnel --yes applies through the tunnel. With a changed host
# key, and with the host missing from known_hosts, status reports tunnel
# unreachable with a message naming the host key problem, still reports
# direct, and sshd's log shows no authentication attempt.
#
# Run by meson with MIGSYNC = the binary, MIGSYNC_SOURCE_ROOT = the repo.
set -u

: "${MIGSYNC:?set MIGSYNC to the migsync binary}"
: "${MIGSYNC_SOURCE_ROOT:?set MIGSYNC_SOURCE_ROOT to the repository root}"

. "$MIGSYNC_SOURCE_ROOT/tests/integration/lib/common.sh"
. "$MIGSYNC_SOURCE_ROOT/tests/integration/lib/pg.sh"
. "$MIGSYNC_SOURCE_ROOT/tests/integration/lib/sshd.sh"
. "$MIGSYNC_SOURCE_ROOT/tests/integration/lib/inventory.sh"
FAIL_GOES_ON=1

pg_setup ssh-cli
sshd_up

# --- two revisions; direct at r2, tunnel at r1
mkdir -p "$tmp/versions"
inv_sql_rev "$tmp/versions" 1111aaaa0001 "" "CREATE TABLE t1 (id int);" "DROP TABLE t1;"
inv_sql_rev "$tmp/versions" 2222bbbb0002 1111aaaa0001 "CREATE TABLE t2 (id int);" "DROP TABLE t2;"
inv=$tmp/inventory
inv_create "$inv" --scripts "$tmp/versions" direct=direct tunnel=tunnel || fail "inventory"
for db in direct tunnel; do
	pg_psql -d postgres -c "CREATE DATABASE $db" >/dev/null || fail "createdb $db"
done
RUN_ARGS=(-i "$inv")
run setup_direct -- apply -e direct --yes
expect_rc setup_direct 0
pg_psql -d tunnel -c "CREATE TABLE t1 (id int);
	CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY);
	INSERT INTO alembic_version VALUES ('1111aaaa0001')" || fail "tunnel at r1"

# ssh_env KNOWN_HOSTS: tunnel.yaml reaches the database through the test sshd
ssh_env() {
	inv_create "$inv" --scripts "$tmp/versions" direct=direct tunnel=tunnel || fail "inventory"
	cat >>"$inv/tunnel.yaml" <<-YAML
	ssh:
	  host: 127.0.0.1
	  port: $SSHD_PORT
	  user: $SSHD_USER
	  identity: $SSHD_CLIENT_KEY
	  known_hosts: $1
	  connect_timeout: 5s
	YAML
}
# row NAME ENV STATE: the text output of NAME has ENV in STATE (its
# DATABASE cell says "via ssh USER@HOST:PORT" when it goes through a tunnel)
row() {
	grep -Eq "^$2 +[^ ]+( via ssh [^ ]+)? +$3( |\$)" "$tmp/$1.out" && pass "$1: $2 is $3" ||
		fail "$1: $2 is not $3: $(cat "$tmp/$1.out" "$tmp/$1.err")"
}

# --- status through the tunnel: behind
ssh_env "$SSHD_KNOWN_HOSTS"
mark=$(sshd_log_mark)
run behind -- status
expect_rc behind 0
row behind direct current
row behind tunnel behind
grep -Eq "^tunnel +[^ ]+ via ssh $SSHD_USER@127\.0\.0\.1:$SSHD_PORT +behind " "$tmp/behind.out" && pass "behind: tunnel says via ssh" ||
	fail "behind: no \"via ssh $SSHD_USER@127.0.0.1:$SSHD_PORT\": $(cat "$tmp/behind.out")"
sshd_wait_quiet "$mark"
sshd_log_since "$mark" | grep -q 'Accepted publickey' &&
	pass "behind: sshd accepted the client key" || fail "behind: no accepted key in sshd's log"
sshd_log_since "$mark" | grep -q "server_request_direct_tcpip: .*port $PGPORT" &&
	pass "behind: sshd forwarded to the database" || fail "behind: no forward in sshd's log"

# --- apply through the tunnel
mark=$(sshd_log_mark)
run apply -- apply -e tunnel --yes
expect_rc apply 0
expect_version tunnel 2222bbbb0002 "apply through the tunnel"
[ "$(pg_psql -d tunnel -At -c "SELECT to_regclass('public.t2') IS NOT NULL")" = t ] &&
	pass "apply: t2 created" || fail "apply: no table t2"
sshd_wait_quiet "$mark"
sshd_log_since "$mark" | grep -q "server_request_direct_tcpip: .*port $PGPORT" &&
	pass "apply: through sshd" || fail "apply: no forward in sshd's log"
run current -- status
expect_rc current 0
row current tunnel current
row current direct current

# --- host key problems: refused before authentication, direct still reported
check_refused() {	# check_refused NAME KNOWN_HOSTS MESSAGE
	local start

	ssh_env "$2"
	mark=$(sshd_log_mark)
	start=$(date +%s)
	run "$1" -- status
	cat "$tmp/$1.out" "$tmp/$1.err"
	expect_rc "$1" 1	# an unreachable environment is a problem found, as in status_pg.sh
	row "$1" tunnel unreachable
	row "$1" direct current
	grep -qF -- "$3" "$tmp/$1.out" "$tmp/$1.err" && pass "$1: says \"$3\"" ||
		fail "$1: no \"$3\" in: $(cat "$tmp/$1.out" "$tmp/$1.err")"
	expect_no_auth "$1" "$mark"
	[ $(($(date +%s) - start)) -lt 10 ] && pass "$1: within 10 s" || fail "$1: took too long"
}
check_refused wrong_key "$SSHD_KNOWN_HOSTS_WRONG" \
	"ssh server \"127.0.0.1:$SSHD_PORT\": host key does not match known_hosts file \"$SSHD_KNOWN_HOSTS_WRONG\""
check_refused missing_host "$SSHD_KNOWN_HOSTS_MISSING" \
	"ssh server \"127.0.0.1:$SSHD_PORT\": host \"[127.0.0.1]:$SSHD_PORT\" is not in known_hosts file \"$SSHD_KNOWN_HOSTS_MISSING\""

finish ssh_cli
