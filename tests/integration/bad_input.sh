#!/bin/bash
# Bad revision directories and files: `migsync heads --scripts DIR` must
# refuse each with exit code 2 (could not run), never crash or hang, and
# name the offending file or directory on stderr.
#
# Run by meson with MIGSYNC = path to the built binary.
set -u

: "${MIGSYNC:?set MIGSYNC to the migsync binary}"

. "$(cd "$(dirname "$0")" && pwd)/lib/common.sh"
work_dir bad-input

# expect_refusal WHAT DIR NAME: heads on DIR exits 2 and stderr names NAME.
expect_refusal() {
	local what=$1 dir=$2 name=$3 rc

	timeout 60 "$MIGSYNC" heads --scripts "$dir" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	if [ "$rc" -eq 124 ]; then
		fail "$what: timed out"
	fi
	if [ "$rc" -ge 128 ]; then
		fail "$what: crashed (exit $rc): $(cat "$tmp/err")"
	fi
	if [ "$rc" -ne 2 ]; then
		fail "$what: exit $rc, expected 2; stderr: $(cat "$tmp/err")"
	fi
	if ! grep -qF -- "$name" "$tmp/err"; then
		fail "$what: stderr does not name \"$name\": $(cat "$tmp/err")"
	fi
	if [ -s "$tmp/out" ]; then
		fail "$what: unexpected stdout: $(cat "$tmp/out")"
	fi
	pass "$what: exit 2, $(head -n 1 "$tmp/err")"
}

# versions DIR: a fresh directory holding one good base revision.
versions() {
	mkdir -p "$1"
	printf '"""base"""\nrevision = "aa01"\ndown_revision = None\n' >"$1/aa01_base.py"
}

# A good directory first, so that a refusal below means the bad input.
versions "$tmp/good"
"$MIGSYNC" heads --scripts "$tmp/good" >"$tmp/out" 2>"$tmp/err" ||
	fail "good directory: exit $?: $(cat "$tmp/err")"
grep -q aa01 "$tmp/out" || fail "good directory: head aa01 not shown: $(cat "$tmp/out")"
pass "a good directory is accepted"

expect_refusal "a missing directory" "$tmp/missing" "$tmp/missing"

printf 'revision = "x"\n' >"$tmp/afile.py"
expect_refusal "a file instead of a directory" "$tmp/afile.py" "$tmp/afile.py"

versions "$tmp/dangling"
ln -s "$tmp/no-such-target.py" "$tmp/dangling/x.py"
expect_refusal "an unreadable file (dangling symlink x.py)" "$tmp/dangling" "x.py"

if [ "$(id -u)" -ne 0 ]; then
	versions "$tmp/noperm"
	printf 'revision = "bb02"\ndown_revision = "aa01"\n' >"$tmp/noperm/bb02_x.py"
	chmod 000 "$tmp/noperm/bb02_x.py"
	expect_refusal "an unreadable file (mode 000)" "$tmp/noperm" "bb02_x.py"
fi

versions "$tmp/binary"
printf 'revision = "bb02"\n\0\1\2\377ELF\0\0' >"$tmp/binary/bb02_bin.py"
expect_refusal "a binary .py file" "$tmp/binary" "bb02_bin.py"

versions "$tmp/huge"
{
	printf 'revision = "bb02"\ndown_revision = "aa01"\n'
	head -c $((50 * 1024 * 1024)) /dev/zero | tr '\0' '#'
	printf '\n'
} >"$tmp/huge/bb02_huge.py"
expect_refusal "a 50 MB .py file" "$tmp/huge" "bb02_huge.py"

versions "$tmp/longline"
{
	printf 'revision = "bb02"\ndown_revision = "aa01"\nX = "'
	head -c $((1024 * 1024 + 1)) /dev/zero | tr '\0' 'x'
	printf '"\n'
} >"$tmp/longline/bb02_long.py"
expect_refusal "a .py file with a 1 MB line" "$tmp/longline" "bb02_long.py"


# Bytes that are not UTF-8 in a revision id and messages: read, and written
# into JSON as U+FFFD, so that the document stays valid UTF-8 (the schema
# check at exit decodes every document strictly).
versions "$tmp/latin1"
printf -- '-- migsync:revision cc03\n-- migsync:down_revision aa01\n-- migsync:message caf\xe9 \xff\n\n-- migsync:up\nSELECT 1;\n-- migsync:down\nSELECT 1;\n' \
	>"$tmp/latin1/cc03_latin1.sql"
printf '"""r\xe9v"""\nrevision = "dd\xff04"\ndown_revision = "cc03"\n' >"$tmp/latin1/dd04_latin1.py"
run latin1 history --scripts "$tmp/latin1" --format json
expect_rc latin1 0
expect_json latin1 .revisions '["dd\ufffd04", "cc03", "aa01"]'
expect_json latin1 '.nodes[id=cc03].message' '"caf\ufffd \ufffd"'
expect_json latin1 '.nodes[].message' has '"r\ufffdv"'
expect_not_in latin1 out $'\xff'
