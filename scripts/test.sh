#!/usr/bin/env bash
# Run the whole migsync test suite: a -Werror build with unit and
# integration tests (real PostgreSQL, sshd and Alembic, started by the
# tests themselves on 127.0.0.1), the unit tests under valgrind, and a
# sanitizer build (address, undefined) running the suite again.
#
# Usage: scripts/test.sh [--quick]     (--quick: skip valgrind and sanitizers)
#
# The integration tests run in parallel (each has its own servers, ports
# and directories) and mostly wait on their servers: MIGSYNC_TEST_JOBS
# (default 6) of them at once keep two cores busy. The sanitizer build is
# CPU-bound and timing checks get tight under it: MIGSYNC_ASAN_JOBS
# (default 2).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
quick=0
[ "${1:-}" = "--quick" ] && quick=1
jobs=${MIGSYNC_TEST_JOBS:-6}
asan_jobs=${MIGSYNC_ASAN_JOBS:-2}

step() { printf '\n==> %s\n' "$*"; }

step "build (werror)"
if [ ! -d build-test ]; then
	meson setup build-test -Dwerror=true --buildtype=debugoptimized
fi
ninja -C build-test

step "unit and integration tests"
meson test -C build-test --print-errorlogs --num-processes "$jobs"

if [ "$quick" = 1 ]; then
	exit 0
fi

step "unit tests under valgrind"
# --run-libc-freeres=no: glibc's exit-time cleanup of getaddrinfo_a's
# state (the bounded name lookups) reads memory valgrind thinks unset;
# it is glibc freeing its own, not ours, and leaks are still checked.
meson test -C build-test --suite unit --print-errorlogs \
	--wrap="valgrind --quiet --run-libc-freeres=no --leak-check=full --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect --error-exitcode=99 --suppressions=$root/tests/unit/graphviz.supp"

# The container image test (suite image) ran in the first pass: it builds
# its own binary in the image, not this one.
step "sanitizer build (address, undefined): the whole suite"
if [ ! -d build-asan ]; then
	meson setup build-asan -Dwerror=true -Db_sanitize=address,undefined \
		-Db_lundef=false --buildtype=debug
fi
ninja -C build-asan
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
LSAN_OPTIONS=suppressions=$root/tests/unit/graphviz-lsan.supp \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	meson test -C build-asan --print-errorlogs --num-processes "$asan_jobs" --no-suite image

step "all tests passed"
