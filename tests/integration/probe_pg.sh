#!/bin/bash
# The probe against a real PostgreSQL 15: version rows (one head, two
# heads, no table), a closed port and a server that never answers reported
# unreachable within connect_timeout while the others are still reported,
# a fleet of 50 databases with 8 workers, a statement blocked by a lock,
# and passwords (conninfo, URL, PGPASSWORD) never shown in any output.

set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib/common.sh"
. "$HERE/lib/pg.sh"
. "$HERE/lib/probe.sh"
FAIL_GOES_ON=1

WORK=$(mktemp -d "${TMPDIR:-/tmp}/migsync-probe-pg.XXXXXX")
LOCKER_PID=
at_exit 'rm -rf "$WORK"'
at_exit '[ -n "$LOCKER_PID" ] && kill "$LOCKER_PID" 2>/dev/null'

find_probe_driver || exit 1
pg_up

# --- fixtures ---------------------------------------------------------
for db in dev staging prod schemed; do
	pg_psql -d postgres -c "CREATE DATABASE $db" || exit 1
done
pg_psql -d dev -c "CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY);
	INSERT INTO alembic_version VALUES ('ae1027a6acf');
	CREATE SCHEMA migsync; CREATE TABLE migsync.applied (revision text)" || exit 1
pg_psql -d staging -c "CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY);
	INSERT INTO alembic_version VALUES ('27c6a30d7c24'), ('1975ea83b712');
	CREATE SCHEMA migsync" || exit 1
pg_psql -d schemed -c "CREATE SCHEMA \"App Schema\";
	CREATE TABLE \"App Schema\".\"odd \"\"version\"\" table\" (version_num varchar(32) PRIMARY KEY);
	INSERT INTO \"App Schema\".\"odd \"\"version\"\" table\" VALUES ('3f2a9c1d0b7e')" || exit 1

hold_port CLOSED_PORT
# A server that accepts connections and never says a word.
hold_port BLACKHOLE_PORT listen

base="host=127.0.0.1 port=$PGPORT user=postgres sslmode=disable"

# --- states, and unreachable targets bounded by connect_timeout -------
TIMEOUT=3
start=$(date +%s%N)
"$PROBE_DRIVER" -t $TIMEOUT -j 8 \
	dev="$base dbname=dev" \
	staging="$base dbname=staging" \
	prod="$base dbname=prod" \
	closed="host=127.0.0.1 port=$CLOSED_PORT dbname=x" \
	blackhole="host=127.0.0.1 port=$BLACKHOLE_PORT dbname=x" \
	>"$WORK/states.out" 2>"$WORK/states.err"
rc=$?
elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 ))
cat "$WORK/states.out"
[ $rc -eq 1 ] && pass "exit status 1 with unreachable targets" || fail "exit status $rc, expected 1"
[ "$(wc -l < "$WORK/states.out")" -eq 5 ] && pass "five results" || fail "expected five result lines"
if [ $elapsed_ms -lt $(( (TIMEOUT + 2) * 1000 )) ]; then
	pass "whole run took $elapsed_ms ms (< connect_timeout + 2 s)"
else
	fail "whole run took $elapsed_ms ms, connect_timeout is $TIMEOUT s"
fi
expect_field "$WORK/states.out" dev 2 ok
expect_field "$WORK/states.out" dev 3 ae1027a6acf
expect_field "$WORK/states.out" dev 5 applied
expect_field "$WORK/states.out" staging 2 ok
expect_field "$WORK/states.out" staging 3 1975ea83b712,27c6a30d7c24
expect_field "$WORK/states.out" staging 5 schema
expect_field "$WORK/states.out" prod 2 uninitialized
expect_field "$WORK/states.out" prod 3 -
expect_field "$WORK/states.out" prod 5 none
expect_field "$WORK/states.out" closed 2 unreachable
expect_field "$WORK/states.out" blackhole 2 unreachable
expect_field "$WORK/states.out" blackhole 7 "target \"blackhole\": could not connect: timeout after $TIMEOUT s"
case $(field "$WORK/states.out" dev 4) in
15????) pass "server version reported" ;;
*) fail "server version is \"$(field "$WORK/states.out" dev 4)\"" ;;
esac
case $(field "$WORK/states.out" closed 7) in
"target \"closed\": could not connect: "*) pass "closed port message" ;;
*) fail "closed port message: $(field "$WORK/states.out" closed 7)" ;;
esac

# --- configured schema and table, quoted as identifiers ---------------
"$PROBE_DRIVER" -t 5 --schema 'App Schema' --table 'odd "version" table' \
	schemed="$base dbname=schemed" dev="$base dbname=dev" \
	>"$WORK/schema.out" 2>&1
expect_field "$WORK/schema.out" schemed 2 ok
expect_field "$WORK/schema.out" schemed 3 3f2a9c1d0b7e
# The schema does not exist there: uninitialized, not an error.
expect_field "$WORK/schema.out" dev 2 uninitialized

# --- a fleet of 50 databases with 8 workers ---------------------------
pg_psql -d postgres -c "CREATE DATABASE fleet_tpl" || exit 1
pg_psql -d fleet_tpl -c "CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY);
	INSERT INTO alembic_version VALUES ('9b2fcf59ac80')" || exit 1
: > "$WORK/fleet.targets"
for i in $(seq -w 1 50); do
	pg_psql -d postgres -c "CREATE DATABASE tenant_$i TEMPLATE fleet_tpl" || exit 1
	echo "tenant_$i=$base dbname=tenant_$i" >> "$WORK/fleet.targets"
done
"$PROBE_DRIVER" -t 10 -j 8 -f "$WORK/fleet.targets" >"$WORK/fleet.out" 2>"$WORK/fleet.err"
rc=$?
[ $rc -eq 0 ] && pass "fleet: exit status 0" || fail "fleet: exit status $rc"
n=$(awk -F '\t' '$2 == "ok" && $3 == "9b2fcf59ac80"' "$WORK/fleet.out" | wc -l)
[ "$n" -eq 50 ] && pass "fleet: 50 databases at 9b2fcf59ac80" || fail "fleet: $n of 50 ok"
n=$(cut -f1 "$WORK/fleet.out" | sort -u | wc -l)
[ "$n" -eq 50 ] && pass "fleet: each target reported once" || fail "fleet: $n distinct targets"

# --- a statement blocked by a lock: bounded by statement_timeout ------
pg_psql -d dev -c "BEGIN; LOCK TABLE alembic_version IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(30)" \
	>/dev/null 2>&1 &
LOCKER_PID=$!
for _ in $(seq 1 50); do
	pg_psql -d postgres -Atc "SELECT count(*) FROM pg_locks WHERE mode = 'AccessExclusiveLock' AND relation IS NOT NULL" \
		| grep -qv '^0$' && break
	sleep 0.1
done
start=$(date +%s%N)
"$PROBE_DRIVER" -t 5 -s 1000 dev="$base dbname=dev" staging="$base dbname=staging" \
	>"$WORK/lock.out" 2>&1
elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 ))
kill "$LOCKER_PID" 2>/dev/null
wait "$LOCKER_PID" 2>/dev/null
LOCKER_PID=
expect_field "$WORK/lock.out" dev 2 error
expect_contains "$WORK/lock.out" "statement timeout"
expect_field "$WORK/lock.out" staging 2 ok
[ $elapsed_ms -lt 4000 ] && pass "locked probe took $elapsed_ms ms" || fail "locked probe took $elapsed_ms ms"

# --- secrets never shown ----------------------------------------------
pg_add_password_user "$PG_PASSWORD_USER" 'Right-Pa55word' || exit 1
S_CONNINFO='Wr0ng-Conninfo-Secret'
S_URL='Wr0ng-Url-Secret'
S_ENV='Wr0ng-Env-Secret'
PGPASSWORD=$S_ENV "$PROBE_DRIVER" -t 5 \
	kv="host=127.0.0.1 port=$PGPORT user=$PG_PASSWORD_USER password=$S_CONNINFO dbname=postgres sslmode=disable" \
	quoted="host=127.0.0.1 port=$PGPORT user=$PG_PASSWORD_USER password='$S_CONNINFO x' dbname=postgres sslmode=disable" \
	url="postgresql://$PG_PASSWORD_USER:$S_URL@127.0.0.1:$PGPORT/postgres?sslmode=disable" \
	env="host=127.0.0.1 port=$PGPORT user=$PG_PASSWORD_USER dbname=postgres sslmode=disable" \
	asdb="host=127.0.0.1 port=$PGPORT user=postgres dbname=$S_ENV sslmode=disable" \
	right="host=127.0.0.1 port=$PGPORT user=$PG_PASSWORD_USER password=Right-Pa55word dbname=postgres sslmode=disable" \
	bad="host=127.0.0.1 $S_CONNINFO password" \
	>"$WORK/secrets.out" 2>"$WORK/secrets.err"
cat "$WORK/secrets.out" "$WORK/secrets.err" > "$WORK/secrets.all"
cat "$WORK/secrets.all"
for t in kv quoted url env; do
	expect_field "$WORK/secrets.out" $t 2 error
done
expect_contains "$WORK/secrets.all" "password authentication failed"
expect_field "$WORK/secrets.out" asdb 2 missing
expect_field "$WORK/secrets.out" right 2 uninitialized
expect_field "$WORK/secrets.out" bad 7 'target "bad": invalid connection string'
for s in "$S_CONNINFO" "$S_URL" "$S_ENV" Right-Pa55word; do
	expect_absent "$WORK/secrets.all" "$s"
done

finish probe_pg
