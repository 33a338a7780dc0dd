#!/usr/bin/env bash
# Run the whole migsync test suite: a -Werror build with its unit tests,
# also under valgrind, and a -Werror sanitizer build (address, undefined,
# optimized as a release is) running the whole suite: unit tests and the
# integration tests (real PostgreSQL, sshd, Alembic and Chromium, started
# by the tests themselves on 127.0.0.1).
#
# Usage: scripts/test.sh [--quick]
#   --quick: the plain build only, every test once (no valgrind, no
#   sanitizers, no container image): the fast loop while developing.
#
# The integration tests run once, on the sanitizer build: they run the
# same code as the plain build with every memory and undefined-behaviour
# error made fatal, so a second run on the plain build would find nothing
# more and cost half of the time. They run in parallel (each has its own
# servers, ports and directories) and mostly wait on their servers:
# MIGSYNC_TEST_JOBS (default 4) of them at once keep two cores busy.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
quick=0
[ "${1:-}" = "--quick" ] && quick=1
jobs=${MIGSYNC_TEST_JOBS:-4}

step() { printf '\n==> %s\n' "$*"; }

# The container image test (deploy/test-image.sh) builds migsync in an
# image of its own: minutes, mostly waiting on apt, dpkg and the network,
# and nothing built here is needed. So it starts first, in the background,
# alongside every step below, and its result is read at the end.
if [ "$quick" = 0 ]; then
	image_out=$(mktemp -d "${TMPDIR:-/tmp}/migsync-image-test.XXXXXX")
	deploy/test-image.sh >"$image_out/tap" 2>"$image_out/log" &
	image_pid=$!
fi

step "build (werror)"
if [ ! -d build-test ]; then
	meson setup build-test -Dwerror=true --buildtype=debugoptimized
fi
ninja -C build-test

if [ "$quick" = 1 ]; then
	step "unit and integration tests"
	meson test -C build-test --print-errorlogs --num-processes "$((jobs + 2))"
	exit 0
fi

step "unit and structure tests"
meson test -C build-test --suite unit --suite arch --print-errorlogs

step "unit tests under valgrind"
# --run-libc-freeres=no: glibc's exit-time cleanup of getaddrinfo_a's
# state (the bounded name lookups) reads memory valgrind thinks unset;
# it is glibc freeing its own, not ours, and leaks are still checked.
meson test -C build-test --suite unit --print-errorlogs \
	--wrap="valgrind --quiet --run-libc-freeres=no --leak-check=full --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect --error-exitcode=99 --suppressions=$root/tests/unit/graphviz.supp"

step "sanitizer build (address, undefined): the whole suite"
if [ ! -d build-asan ]; then
	meson setup build-asan -Dwerror=true -Db_sanitize=address,undefined \
		-Db_lundef=false --buildtype=debugoptimized
fi
ninja -C build-asan
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
LSAN_OPTIONS=suppressions=$root/tests/unit/graphviz-lsan.supp \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	meson test -C build-asan --print-errorlogs --num-processes "$jobs"

step "container image (deploy/test-image.sh, started first)"
image_rc=0
wait "$image_pid" || image_rc=$?
cat "$image_out/tap"
if [ "$image_rc" != 0 ]; then
	tail -n 60 "$image_out/log"
	echo "the container image test failed (exit $image_rc); its log: $image_out/log"
	exit 1
fi
rm -rf "$image_out"

step "all tests passed"
