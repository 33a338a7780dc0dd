# The probe driver (tests/integration/drivers) for probe_pg.sh and
# probe_ssh.sh. Source after lib/common.sh; needs $WORK.
#
#   find_probe_driver   set PROBE_DRIVER, compiling the driver against a
#                       libmigsync.a when it was not built
#   field FILE NAME COLUMN
#                       a column of the driver's line for target NAME
#                       (2 state, 3 rows, 4 server version, 5 ledger, 6 ms,
#                       7 error, 8 hint)
#   expect_field FILE NAME COLUMN VALUE

find_probe_driver() {
	local build c src=${MIGSYNC_SOURCE_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)}

	for c in "${PROBE_DRIVER:-}" \
		"$(dirname "${MIGSYNC:-/nonexistent/x}")/tests/integration/drivers/probe_driver"; do
		if [ -n "$c" ] && [ -x "$c" ]; then
			PROBE_DRIVER=$c
			return 0
		fi
	done
	for build in "$(dirname "${MIGSYNC:-/nonexistent/x}")" "$src"/build*; do
		if [ -f "$build/libmigsync.a" ] &&
			cc -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE \
				-I"$src/include" -I"$build" $(pkg-config --cflags libpq) \
				-o "$WORK/probe_driver" "$src/tests/integration/probe_driver.c" \
				"$build/libmigsync.a" -lpq -lssh2 -lcrypto -lyaml -pthread 2>/dev/null; then
			PROBE_DRIVER=$WORK/probe_driver
			return 0
		fi
	done
	echo "probe driver not found: set PROBE_DRIVER or build tests/integration/drivers" >&2
	return 1
}

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
