# A throwaway OpenSSH server on 127.0.0.1 for integration tests. Source
# this file after lib/pg.sh (free_port).
#
#   sshd_start   start sshd from a temporary config; sets and exports
#                SSHD_DIR, SSHD_PORT, SSHD_PID, SSHD_LOG, SSHD_USER,
#                SSHD_CLIENT_KEY (authorized, no passphrase) and three
#                known_hosts files:
#                  SSHD_KNOWN_HOSTS          the server's real key
#                  SSHD_KNOWN_HOSTS_WRONG    another key for the same host
#                  SSHD_KNOWN_HOSTS_MISSING  entries, but not for this host
#                Returns 77 when sshd cannot run here at all.
#   sshd_stop    stop it by its pid and remove its directory
#   sshd_log_mark / sshd_log_since MARK
#                the log lines written after a mark, to check what a
#                client did (LogLevel DEBUG1 logs every auth request)
#   sshd_wait_quiet MARK
#                wait (bounded) until sshd has logged the end of every
#                connection opened since MARK
#   expect_no_auth WHAT MARK
#                pass (lib/common.sh) when sshd saw a connection since MARK
#                and it was refused before any authentication attempt

SSHD_BIN=${SSHD_BIN:-/usr/sbin/sshd}

sshd_start() {
	local tries=0 started=

	if [ ! -x "$SSHD_BIN" ] || ! command -v ssh-keygen >/dev/null; then
		echo "sshd.sh: $SSHD_BIN or ssh-keygen not found" >&2
		return 77
	fi
	# Privilege separation needs this directory when running as root.
	if [ "$(id -u)" = 0 ]; then
		mkdir -p /run/sshd && chmod 755 /run/sshd
	fi
	SSHD_DIR=$(mktemp -d "${TMPDIR:-/tmp}/migsync-sshd.XXXXXX") || return 1
	SSHD_LOG=$SSHD_DIR/sshd.log
	SSHD_PID=
	SSHD_USER=$(id -un)
	SSHD_CLIENT_KEY=$SSHD_DIR/client_key

	ssh-keygen -q -t ed25519 -N '' -C migsync-test-host -f "$SSHD_DIR/host_key" || return 1
	ssh-keygen -q -t ed25519 -N '' -C migsync-test-other -f "$SSHD_DIR/other_host_key" || return 1
	ssh-keygen -q -t ed25519 -N '' -C migsync-test-client -f "$SSHD_CLIENT_KEY" || return 1
	cp "$SSHD_CLIENT_KEY.pub" "$SSHD_DIR/authorized_keys"

	while [ $tries -lt 5 ] && [ -z "$started" ]; do
		tries=$((tries + 1))
		SSHD_PORT=$(free_port) || return 1
		cat > "$SSHD_DIR/sshd_config" <<-CONF
		Port $SSHD_PORT
		ListenAddress 127.0.0.1
		HostKey $SSHD_DIR/host_key
		PidFile $SSHD_DIR/sshd.pid
		AuthorizedKeysFile $SSHD_DIR/authorized_keys
		StrictModes no
		PubkeyAuthentication yes
		PasswordAuthentication no
		KbdInteractiveAuthentication no
		UsePAM no
		PermitRootLogin prohibit-password
		AllowTcpForwarding yes
		AllowAgentForwarding no
		X11Forwarding no
		PermitTTY no
		MaxStartups 100
		LogLevel DEBUG1
		CONF
		: > "$SSHD_LOG"
		"$SSHD_BIN" -f "$SSHD_DIR/sshd_config" -D -e 2>>"$SSHD_LOG" &
		SSHD_PID=$!
		# Wait (bounded) until it listens, or died (port taken, bad config).
		for _ in $(seq 1 50); do
			if ! kill -0 "$SSHD_PID" 2>/dev/null; then
				wait "$SSHD_PID" 2>/dev/null
				SSHD_PID=
				break
			fi
			if grep -q "Server listening on" "$SSHD_LOG"; then
				started=1
				break
			fi
			sleep 0.1
		done
		if [ -z "$started" ] && [ -n "$SSHD_PID" ]; then
			kill "$SSHD_PID" 2>/dev/null
			wait "$SSHD_PID" 2>/dev/null
			SSHD_PID=
		fi
	done
	if [ -z "$started" ]; then
		echo "sshd.sh: sshd did not start; its log:" >&2
		cat "$SSHD_LOG" >&2
		return 77
	fi

	SSHD_KNOWN_HOSTS=$SSHD_DIR/known_hosts
	SSHD_KNOWN_HOSTS_WRONG=$SSHD_DIR/known_hosts_wrong
	SSHD_KNOWN_HOSTS_MISSING=$SSHD_DIR/known_hosts_missing
	echo "[127.0.0.1]:$SSHD_PORT $(cut -d' ' -f1,2 "$SSHD_DIR/host_key.pub")" > "$SSHD_KNOWN_HOSTS"
	echo "[127.0.0.1]:$SSHD_PORT $(cut -d' ' -f1,2 "$SSHD_DIR/other_host_key.pub")" > "$SSHD_KNOWN_HOSTS_WRONG"
	echo "[127.0.0.2]:$SSHD_PORT $(cut -d' ' -f1,2 "$SSHD_DIR/host_key.pub")" > "$SSHD_KNOWN_HOSTS_MISSING"
	echo "[db.example]:22 $(cut -d' ' -f1,2 "$SSHD_DIR/other_host_key.pub")" >> "$SSHD_KNOWN_HOSTS_MISSING"
	export SSHD_DIR SSHD_PORT SSHD_PID SSHD_LOG SSHD_USER SSHD_CLIENT_KEY \
		SSHD_KNOWN_HOSTS SSHD_KNOWN_HOSTS_WRONG SSHD_KNOWN_HOSTS_MISSING
}

sshd_stop() {
	if [ -n "${SSHD_PID:-}" ]; then
		kill "$SSHD_PID" 2>/dev/null
		wait "$SSHD_PID" 2>/dev/null
		SSHD_PID=
	fi
	if [ -n "${SSHD_DIR:-}" ]; then
		rm -rf "$SSHD_DIR"
		SSHD_DIR=
	fi
}

sshd_log_mark() {
	wc -l < "$SSHD_LOG"
}

sshd_log_since() {
	tail -n +"$(($1 + 1))" "$SSHD_LOG"
}

sshd_wait_quiet() {
	local opened closed

	for _ in $(seq 1 50); do
		opened=$(sshd_log_since "$1" | grep -c '^Connection from')
		closed=$(sshd_log_since "$1" | grep -cE '^(Disconnected from|Connection closed by|Received disconnect from)')
		[ "$closed" -ge "$opened" ] && return 0
		sleep 0.1
	done
	return 1
}

expect_no_auth() {
	local what=$1 part

	sshd_wait_quiet "$2"
	part=$(sshd_log_since "$2")
	if ! grep -q '^Connection from' <<<"$part"; then
		fail "$what: sshd saw no connection"
	elif grep -qE 'userauth-request|Accepted publickey|Failed publickey|Postponed publickey|Accepted key|authenticated' <<<"$part"; then
		fail "$what: authentication was attempted"
		sed 's/^/  | /' <<<"$part" >&2
	else
		pass "$what: refused before authentication"
	fi
}
