#!/bin/bash
# The Alembic executor on examples/alembic-project (two version locations,
# the version table stockapp_version) against a real,
# throwaway PostgreSQL: upgrades and downgrades through a branch and its
# merge, locally (a password user: DATABASE_URL carries the password, which
# never shows in output) and on an ssh host (a real sshd on this machine,
# ssh.run: true, workdir = the example project); version rows checked
# after each run; a failing run and a cancelled one.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib/common.sh"
. "$HERE/lib/pg.sh"
. "$HERE/lib/sshd.sh"
FAIL_GOES_ON=1

# Alembic imports env.py and the revisions: keep __pycache__ out of the source tree.
export PYTHONDONTWRITEBYTECODE=1
SRC_ROOT=${MIGSYNC_SOURCE_ROOT:-$(cd "$HERE/../.." && pwd)}
PROJECT=$SRC_ROOT/examples/alembic-project
SECRET='Pw-Secret-5150'
driver=${EXEC_TEST:-$(dirname "${MIGSYNC:-/nonexistent/x}")/tests/integration/drivers/exec_test}
[ -x "$driver" ] || FAIL_GOES_ON= fail "exec_test not found: set EXEC_TEST or MIGSYNC"
if ! /usr/bin/python3 -c 'import alembic, sqlalchemy, psycopg2' 2>/dev/null; then
	skip_all "python3 with alembic, sqlalchemy and psycopg2 not found"
fi

pg_up
work_dir exec-alembic
WORK=$tmp
pg_add_password_user "$PG_PASSWORD_USER" "$SECRET" || FAIL_GOES_ON= fail "password user"
pg_psql -d postgres -c "CREATE DATABASE alem OWNER $PG_PASSWORD_USER" || FAIL_GOES_ON= fail "createdb alem"
pg_psql -d postgres -c "CREATE DATABASE remote OWNER postgres" || FAIL_GOES_ON= fail "createdb remote"

rows() {	# rows DB: the version rows, sorted, space separated
	pg_psql -d "$1" -At -c "SELECT coalesce(string_agg(version_num, ' ' ORDER BY version_num), '') FROM stockapp_version"
}

expect_rows() {	# expect_rows DB WHAT WANT
	local got

	got=$(rows "$1")
	if [ "$got" = "$3" ]; then
		pass "$2: rows \"$3\""
	else
		fail "$2: rows \"$got\", expected \"$3\""
	fi
}

drive() {	# drive NAME ENV COMMAND REV: the executor, output in $WORK/NAME.out
	"$driver" --alembic "$WORK/inv" "$2" "$3" "$4" >"$WORK/$1.out" 2>&1
}

mkdir -p "$WORK/inv"
cat >"$WORK/inv/inventory.yaml" <<YAML
project: alembic-example
migrations:
  scripts: [$PROJECT/migrations/versions, $PROJECT/migrations/reporting]
  executor: alembic
  alembic_ini: $PROJECT/alembic.ini
  python: /usr/bin/python3
rollout: [dev]
YAML
cat >"$WORK/inv/dev.yaml" <<YAML
database:
  host: 127.0.0.1
  port: $PGPORT
  dbname: alem
  user: $PG_PASSWORD_USER
  password_env: MIGSYNC_TEST_PW
  sslmode: disable
  version_table: stockapp_version
YAML
export MIGSYNC_TEST_PW=$SECRET

# --- local: one branch, the other (inserted), the merge, back down -------
for step in "up1:upgrade:9c4f6a0e7b12:9c4f6a0e7b12" \
	"up2:upgrade:b83d2f5c6e07:9c4f6a0e7b12 b83d2f5c6e07" \
	"up3:upgrade:heads:7f15b3e8a9c2" \
	"down1:downgrade:9c4f6a0e7b12:9c4f6a0e7b12 b83d2f5c6e07" \
	"down2:downgrade:1a7c3e9b2d40:1a7c3e9b2d40"; do
	IFS=: read -r name cmd rev want <<<"$step"
	if drive "$name" dev "$cmd" "$rev"; then
		pass "local $cmd $rev: exit 0"
	else
		fail "local $cmd $rev: exit status $?"
		sed 's/^/  | /' "$WORK/$name.out" >&2
	fi
	expect_rows alem "local $cmd $rev" "$want"
done
if grep -q "| INFO  \[alembic.runtime.migration\] Running upgrade 5e0b8d21f9a3 -> 9c4f6a0e7b12" "$WORK/up1.out"; then
	pass "Alembic's output streamed line by line"
else
	fail "Alembic's output not seen"; cat "$WORK/up1.out" >&2
fi
if grep -qF "$SECRET" "$WORK"/*.out; then
	fail "the password appears in the output"
else
	pass "the password never appears in the output"
fi

# --- a failing run: unknown revision ------------------------------------
if drive bad dev upgrade ffffffffffff; then
	fail "unknown revision: exit 0"
else
	grep -q "error: alembic upgrade ffffffffffff: alembic.util.exc.CommandError: Can.t locate revision identified by .ffffffffffff." "$WORK/bad.out" &&
		pass "unknown revision: error names the run" ||
		{ fail "unknown revision: no error"; cat "$WORK/bad.out" >&2; }
fi
expect_rows alem "after a failing run" "1a7c3e9b2d40"

# --- cancel: SIGTERM to the driver stops Alembic in a long run -----------
# alem_backend CONDITION: wait (60 s at most) for a backend of alem that
# matches the SQL CONDITION
alem_backend() {
	for _ in $(seq 600); do
		[ "$(pg_psql -d postgres -At -c "SELECT count(*) FROM pg_stat_activity WHERE datname = 'alem' AND $1")" -ge 1 ] &&
			return 0
		sleep 0.1
	done
	return 1
}
# hold a lock on stock_daily so that the next upgrade (ALTER TABLE) waits
( pg_psql -d alem -c "BEGIN; LOCK TABLE stock_daily IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(120); COMMIT" >/dev/null 2>&1 ) &
locker=$!
alem_backend "state = 'active' AND query LIKE '%pg_sleep(120)%'" || fail "cancel: the lock was not taken"
"$driver" --alembic "$WORK/inv" dev upgrade 9c4f6a0e7b12 >"$WORK/cancel.out" 2>&1 &
drv=$!
alem_backend "wait_event_type = 'Lock'" || fail "cancel: Alembic never waited for the lock"
start=$(date +%s%N)
kill -TERM $drv
wait $drv
rc=$?
took=$(( ($(date +%s%N) - start) / 1000000 ))
[ $rc -ne 0 ] && grep -q "cancelled" "$WORK/cancel.out" &&
	pass "cancel: stopped with an error in $took ms" ||
	{ fail "cancel: rc $rc"; cat "$WORK/cancel.out" >&2; }
[ $took -lt 5000 ] || fail "cancel took $took ms"
pg_psql -d postgres -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = 'alem' AND query LIKE '%pg_sleep(120)%'" >/dev/null ||
	fail "end the lock holder"
wait $locker 2>/dev/null
expect_rows alem "after a cancelled run" "5e0b8d21f9a3"

# --- on the ssh host (ssh.run: true) ---------------------------------------
at_exit sshd_stop
if ! sshd_start; then
	skip "sshd unavailable: remote checks"
else
	cat >"$WORK/inv/inventory.yaml" <<YAML
project: alembic-example
migrations:
  scripts: [$PROJECT/migrations/versions, $PROJECT/migrations/reporting]
  executor: alembic
  alembic_ini: $PROJECT/alembic.ini
  python: /usr/bin/python3
  pass_env: [MIGSYNC_TEST_PASSED]
rollout: [remote]
YAML
	# sent on the child's stdin after DATABASE_URL: the driver must still start
	export MIGSYNC_TEST_PASSED='passed value'

	rm -f "$WORK/inv/dev.yaml"
	cat >"$WORK/inv/remote.yaml" <<YAML
database:
  host: 127.0.0.1
  port: $PGPORT
  dbname: remote
  user: postgres
  sslmode: disable
  version_table: stockapp_version
ssh:
  host: 127.0.0.1
  port: $SSHD_PORT
  user: $SSHD_USER
  identity: $SSHD_CLIENT_KEY
  known_hosts: $SSHD_KNOWN_HOSTS
  run: true
  workdir: $PROJECT
YAML
	mark=$(sshd_log_mark)
	if drive rup remote upgrade heads; then
		pass "remote upgrade heads: exit 0"
	else
		fail "remote upgrade heads: exit status $?"
		sed 's/^/  | /' "$WORK/rup.out" >&2
	fi
	expect_rows remote "remote upgrade heads" "7f15b3e8a9c2"
	grep -q "Running upgrade 9c4f6a0e7b12, b83d2f5c6e07 -> e21a9f4c8d36" "$WORK/rup.out" &&
		pass "remote: Alembic's output came back" || fail "remote: no Alembic output"
	if sshd_log_since "$mark" | grep -q "Accepted publickey"; then
		pass "remote: ran through sshd"
	else
		fail "remote: sshd saw no login"
	fi
	if drive rdown remote downgrade base; then
		pass "remote downgrade base: exit 0"
	else
		fail "remote downgrade base: exit status $?"; cat "$WORK/rdown.out" >&2
	fi
	expect_rows remote "remote downgrade base" ""
	# a changed host key stops it before authentication
	sed -i "s|known_hosts: .*|known_hosts: $SSHD_KNOWN_HOSTS_WRONG|" "$WORK/inv/remote.yaml"
	if drive rwrong remote upgrade heads; then
		fail "remote with a wrong host key: exit 0"
	else
		grep -q "host key does not match" "$WORK/rwrong.out" &&
			pass "remote: a changed host key refused" ||
			{ fail "remote: wrong key not reported"; cat "$WORK/rwrong.out" >&2; }
	fi
	expect_rows remote "after a refused host key" ""
fi

finish exec_alembic
