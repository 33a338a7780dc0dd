#!/usr/bin/env bash
# The structure rules of docs/architecture.md, checked on the source tree
# (TAP). Usage: check.sh SOURCE_ROOT
set -u
root=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$root" || exit 2
n=0
failed=0

check() {	# check DESCRIPTION OFFENDERS: ok when OFFENDERS is empty
	n=$((n + 1))
	if [ -z "$2" ]; then
		echo "ok $n - $1"
	else
		echo "not ok $n - $1"
		printf '%s\n' "$2" | sed 's/^/#   /'
		failed=$((failed + 1))
	fi
}

check "src/cli calls no libpq function" \
	"$(grep -nE '\bPQ[a-zA-Z]+\(' src/cli/*.c src/cli/*/*.c src/cli/*.h 2>/dev/null)"
check "src/cli builds no SQL" \
	"$(grep -nE '"[^"]*\b(SELECT|INSERT INTO|UPDATE [a-z_.]+ SET|DELETE FROM|CREATE TABLE|ALTER TABLE)\b' src/cli/*.c src/cli/*/*.c 2>/dev/null)"
check "src/cli includes no libpq header" \
	"$(grep -nE '#include [<"]libpq' src/cli/*.c src/cli/*/*.c src/cli/*.h src/main.c 2>/dev/null)"

connectors=$(grep -lE '\bPQconnect(Start|db)[a-zA-Z]*\(' $(find src -name '*.c') | sort)
check "exactly one file connects to PostgreSQL (src/db/conn.c)" \
	"$([ "$connectors" = "src/db/conn.c" ] || echo "files calling PQconnectStart/PQconnectdb: ${connectors:-none}")"

big=$(for f in $(find src/cli src/apply src/plan -name '*.c' | sort); do
	lines=$(wc -l <"$f")
	[ "$lines" -le 600 ] || echo "$f: $lines lines"
done)
check "no file in src/cli, src/apply or src/plan over 600 lines" "$big"

check "no memset in src/cli (core structs have _init)" \
	"$(grep -nE '\bmemset\(' src/cli/*.c src/cli/*/*.c 2>/dev/null | grep -v 'memset(&sa, 0, sizeof(sa))')"

check "time is read only through util/clock" \
	"$(grep -nE '\b(clock_gettime|gettimeofday|time)\(' $(find src -name '*.c' ! -path src/util/clock.c) | grep -v 'strftime\|gmtime\|localtime' )"

check "the version table is read in one place (src/db/version.c)" \
	"$(grep -nE 'SELECT[^"]*version_num|version_num[^"]*FROM' $(find src -name '*.c' ! -path src/db/version.c))"

check "the worker pool is util's (no probe_pool_*)" \
	"$(grep -rn 'probe_pool_' src include)"

echo "1..$n"
[ "$failed" = 0 ]
