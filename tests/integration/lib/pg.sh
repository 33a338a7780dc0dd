# Throwaway PostgreSQL 15 clusters for integration tests. Source this file.
#
#   pg_start            start a cluster on 127.0.0.1 and a free port; sets
#                       PG_DIR, PG_DATA, PG_LOG, PG_PID and exports PGHOST,
#                       PGPORT, PGUSER, PGDATABASE (trust auth for them).
#                       Returns 77 when the server cannot run here at all.
#   pg_stop             stop it by its own pid and remove its directory
#   pg_psql [ARGS]      psql as the superuser, stopping on the first error
#   pg_add_password_user NAME PASSWORD
#                       a role that must log in with a password (scram)
#   free_port           print a TCP port free on 127.0.0.1
#
# PostgreSQL refuses to run as root: as root, initdb and pg_ctl run as the
# postgres user on a directory it owns.

PG_BINDIR=${PG_BINDIR:-/usr/lib/postgresql/15/bin}
# The system Python, not a version manager's shim on PATH (seconds a start
# under load): the helpers need only its standard library.
PYTHON=${PYTHON:-/usr/bin/python3}
PG_PASSWORD_USER=migsync_pw

free_port() {
	"$PYTHON" -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

_pg_run() {
	if [ "$(id -u)" = 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

pg_start() {
	local port tries=0

	if [ ! -x "$PG_BINDIR/initdb" ] || [ ! -x "$PG_BINDIR/pg_ctl" ]; then
		echo "pg.sh: PostgreSQL binaries not found in $PG_BINDIR" >&2
		return 77
	fi
	if [ "$(id -u)" = 0 ] && ! id postgres >/dev/null 2>&1; then
		echo "pg.sh: running as root and there is no postgres user" >&2
		return 77
	fi
	PG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/migsync-pg.XXXXXX") || return 1
	PG_DATA=$PG_DIR/data
	PG_LOG=$PG_DIR/server.log
	PG_PID=
	chmod 755 "$PG_DIR"
	[ "$(id -u)" = 0 ] && chown postgres: "$PG_DIR"

	if ! _pg_run "$PG_BINDIR/initdb" -D "$PG_DATA" -U postgres -A trust \
		-E UTF8 --no-locale --no-sync >"$PG_DIR/initdb.log" 2>&1; then
		echo "pg.sh: initdb failed:" >&2
		cat "$PG_DIR/initdb.log" >&2
		return 77
	fi
	# The password user first: pg_hba.conf stops at the first matching line.
	_pg_run sh -c "cat > '$PG_DATA/pg_hba.conf'" <<-HBA
	local all all trust
	host all $PG_PASSWORD_USER 127.0.0.1/32 scram-sha-256
	host all all 127.0.0.1/32 trust
	HBA

	# A port found free may be taken before the server binds it: retry.
	while [ $tries -lt 5 ]; do
		tries=$((tries + 1))
		port=$(free_port) || return 1
		if _pg_run "$PG_BINDIR/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -w -t 30 \
			-o "-c listen_addresses=127.0.0.1 -k $PG_DIR -c fsync=off -p $port -c max_connections=200" \
			start >/dev/null 2>&1; then
			PG_PID=$(head -n 1 "$PG_DATA/postmaster.pid")
			break
		fi
	done
	if [ -z "$PG_PID" ]; then
		echo "pg.sh: the server did not start; its log:" >&2
		cat "$PG_LOG" >&2
		return 77
	fi
	export PGHOST=127.0.0.1 PGPORT=$port PGUSER=postgres PGDATABASE=postgres
	unset PGPASSWORD PGSERVICE PGHOSTADDR

	# pg_ctl -w waited already; pg_isready makes sure TCP answers too.
	tries=0
	until "$PG_BINDIR/pg_isready" -q -h 127.0.0.1 -p "$PGPORT"; do
		tries=$((tries + 1))
		if [ $tries -ge 50 ]; then
			echo "pg.sh: server not ready after 10 s" >&2
			return 1
		fi
		sleep 0.2
	done
}

pg_stop() {
	if [ -n "${PG_PID:-}" ]; then
		_pg_run "$PG_BINDIR/pg_ctl" -D "$PG_DATA" -m immediate -w -t 10 stop \
			>/dev/null 2>&1 || kill -9 "$PG_PID" 2>/dev/null
		PG_PID=
	fi
	if [ -n "${PG_DIR:-}" ]; then
		rm -rf "$PG_DIR"
		PG_DIR=
	fi
}

pg_psql() {
	"$PG_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PGPORT" -U postgres "$@"
}

pg_add_password_user() {
	pg_psql -d postgres -c "CREATE ROLE \"$1\" LOGIN PASSWORD '$2'"
}
