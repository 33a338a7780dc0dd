#!/usr/bin/env bash
# docs_check: the documentation matches the binary.
#
#   - every command that `migsync --help` lists has a man page
#     docs/man/migsync-COMMAND.1, and migsync(1) exists;
#   - every long option that `migsync COMMAND --help` prints (on an option
#     line, or in its Usage line) is an entry of the OPTIONS section of the
#     command's man page, and every entry there is an option of --help;
#     the same for migsync(1) against `migsync --help`;
#   - the man pages render without groff warnings (skipped when groff is
#     not installed);
#   - the systemd units in deploy/systemd pass `systemd-analyze verify`
#     (skipped when systemd-analyze is not installed or cannot run here);
#   - the YAML files under deploy/ parse (skipped when /usr/bin/python3
#     has no yaml module), and deploy/railway.toml parses as TOML (skipped
#     when the interpreter has no tomllib).
#
# An option entry in a man page's OPTIONS section is a .TP paragraph whose
# tag line names it: \fB\-\-name\fR[=\fIARG\fR]. Options mentioned in
# running text do not count as entries.
#
# Environment: MIGSYNC (the binary), MIGSYNC_SOURCE_ROOT (the source tree).
set -u

: "${MIGSYNC:?set MIGSYNC to the migsync binary}"
ROOT=${MIGSYNC_SOURCE_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
MAN=$ROOT/docs/man

. "$ROOT/tests/integration/lib/common.sh"
FAIL_GOES_ON=1

[ -x "$MIGSYNC" ] || FAIL_GOES_ON= fail "docs_check: MIGSYNC=$MIGSYNC is not an executable file"
work_dir docs-check

# The long options of a --help text: those on option lines (an indented
# line that starts with "-"), and those of the Usage lines.
help_options() {
	awk '
		/^Usage:/ { usage = 1; next }
		usage && /^[[:space:]]*$/ { usage = 0 }
		usage || /^[[:space:]]+-/ {
			line = $0
			if (!usage) {
				# only the option column, not the description after it
				sub(/^[[:space:]]+/, "", line)
				sub(/[[:space:]][[:space:]].*$/, "", line)
			}
			while (match(line, /--[a-z][a-z0-9-]*/)) {
				print substr(line, RSTART, RLENGTH)
				line = substr(line, RSTART + RLENGTH)
			}
		}
	' | sort -u
}

# The long options of a man page's OPTIONS section: the tag lines of its
# .TP paragraphs.
man_options() {
	awk '
		/^\.SH / { in_opts = ($0 ~ /^\.SH "?OPTIONS"?[[:space:]]*$/); next }
		!in_opts { next }
		/^\.TP/ { tag = 1; next }
		tag {
			tag = 0
			line = $0
			gsub(/\\-/, "-", line)
			gsub(/\\f[BIRP]/, "", line)
			while (match(line, /--[a-z][a-z0-9-]*/)) {
				print substr(line, RSTART, RLENGTH)
				line = substr(line, RSTART + RLENGTH)
			}
		}
	' "$1" | sort -u
}

# compare_options NAME PAGE HELP-TEXT-FILE
compare_options() {
	local name=$1 page=$2 helpfile=$3 missing extra
	help_options <"$helpfile" >"$tmp/help.opts"
	man_options "$page" >"$tmp/man.opts"
	if [ ! -s "$tmp/help.opts" ]; then
		fail "$name: no option found in its --help"
		return
	fi
	missing=$(comm -23 "$tmp/help.opts" "$tmp/man.opts" | tr '\n' ' ')
	extra=$(comm -13 "$tmp/help.opts" "$tmp/man.opts" | tr '\n' ' ')
	if [ -n "$missing" ]; then
		fail "$name: options of --help missing from OPTIONS in $(basename "$page"): $missing"
	else
		pass "$name: every option of --help is in OPTIONS of $(basename "$page")"
	fi
	if [ -n "$extra" ]; then
		fail "$name: OPTIONS in $(basename "$page") lists options --help does not have: $extra"
	else
		pass "$name: OPTIONS of $(basename "$page") lists only options of --help"
	fi
}

# ---- the commands and their pages ----

if ! "$MIGSYNC" --help >"$tmp/help.txt" 2>&1; then
	fail "migsync --help exited non-zero"
fi
# Commands are listed in groups ("Promotion:" ...) before the common options.
commands=$(awk '/^Options every command takes:/ { exit } /^  [a-z]+  +[a-z]/ { print $1 }' "$tmp/help.txt")
if [ -z "$commands" ]; then
	fail "no command found in migsync --help"
fi

if [ -f "$MAN/migsync.1" ]; then
	pass "docs/man/migsync.1 exists"
	compare_options "migsync" "$MAN/migsync.1" "$tmp/help.txt"
	for c in $commands; do
		if grep -q "migsync\\\\-$c (1)" "$MAN/migsync.1" ||
		   grep -q "^\.BR migsync\\\\-$c (1)" "$MAN/migsync.1"; then
			pass "migsync.1 refers to migsync-$c(1)"
		else
			fail "migsync.1 does not refer to migsync-$c(1)"
		fi
	done
else
	fail "docs/man/migsync.1 is missing"
fi

for c in $commands; do
	page=$MAN/migsync-$c.1
	if [ ! -f "$page" ]; then
		fail "$c: no man page docs/man/migsync-$c.1"
		continue
	fi
	pass "$c: docs/man/migsync-$c.1 exists"
	if ! "$MIGSYNC" "$c" --help >"$tmp/cmd.txt" 2>&1; then
		fail "$c: migsync $c --help exited non-zero"
		continue
	fi
	compare_options "$c" "$page" "$tmp/cmd.txt"
	for section in NAME SYNOPSIS DESCRIPTION OPTIONS "EXIT STATUS" EXAMPLES "SEE ALSO"; do
		if grep -Eq "^\.SH \"?$section\"?[[:space:]]*$" "$page"; then
			pass "$c: migsync-$c.1 has a $section section"
		else
			fail "$c: migsync-$c.1 has no $section section"
		fi
	done
done

# every command whose --help offers JSON has a schema of its document
for c in $commands; do
	"$MIGSYNC" "$c" --help 2>&1 | grep -q 'json' || continue
	if [ -f "$ROOT/docs/json/$c.schema.json" ]; then
		pass "$c: docs/json/$c.schema.json exists"
	else
		fail "$c: --format json, but no docs/json/$c.schema.json"
	fi
done

# pages of commands that do not exist
for page in "$MAN"/migsync-*.1; do
	[ -e "$page" ] || continue
	c=$(basename "$page" .1)
	c=${c#migsync-}
	if printf '%s\n' $commands | grep -qx "$c"; then
		pass "docs/man/$(basename "$page"): migsync has the command"
	else
		fail "docs/man/$(basename "$page"): migsync has no command \"$c\""
	fi
done

# ---- rendering ----

if command -v groff >/dev/null 2>&1; then
	for page in "$MAN"/*.1; do
		warnings=$(groff -man -Tutf8 -ww -z "$page" 2>&1)
		if [ -n "$warnings" ]; then
			fail "$(basename "$page"): groff warns:"
			printf '%s\n' "$warnings" | sed 's/^/    /'
		else
			pass "$(basename "$page"): groff renders it without warnings"
		fi
	done
else
	skip "groff is not installed: man pages not rendered"
fi

# ---- deploy/ ----

units=()
for u in "$ROOT"/deploy/systemd/*.service "$ROOT"/deploy/systemd/*.timer; do
	[ -e "$u" ] && units+=("$u")
done
if [ ${#units[@]} -eq 0 ]; then
	fail "no systemd units in deploy/systemd"
elif ! command -v systemd-analyze >/dev/null 2>&1; then
	skip "systemd-analyze is not installed: units not verified"
else
	# verify checks that ExecStart's binary exists: the units name
	# /usr/local/bin/migsync, so verify copies of them that name a stand-in.
	mkdir -p "$tmp/units" "$tmp/bin"
	printf '#!/bin/sh\nexit 0\n' >"$tmp/bin/migsync"
	chmod +x "$tmp/bin/migsync"
	for u in "${units[@]}"; do
		sed "s#/usr/local/bin/migsync#$tmp/bin/migsync#g" "$u" >"$tmp/units/$(basename "$u")"
	done
	out=$(cd "$tmp/units" && SYSTEMD_LOG_LEVEL=warning systemd-analyze verify --man=no \
		"$tmp/units"/*.service "$tmp/units"/*.timer 2>&1)
	rc=$?
	# outside a booted systemd (a container), verify may be unable to run at all
	if printf '%s' "$out" | grep -qiE 'failed to (initialize|connect|create).*(manager|bus)|System has not been booted|Failed to setup working directory'; then
		skip "systemd-analyze verify cannot run here: $(printf '%s' "$out" | head -n 1)"
	else
		# Warnings about units the test does not own (e.g. system drop-ins) are
		# not ours; anything naming our units is.
		ours=$(printf '%s\n' "$out" | grep -E 'migsync-check\.(service|timer)' || true)
		if [ $rc -ne 0 ] || [ -n "$ours" ]; then
			fail "systemd-analyze verify:"
			printf '%s\n' "$out" | sed 's/^/    /'
		else
			pass "systemd-analyze verify: the units of deploy/systemd"
		fi
	fi
fi

yaml_files=$(find "$ROOT/deploy" -type f \( -name '*.yml' -o -name '*.yaml' \) | sort)
if [ -z "$yaml_files" ]; then
	fail "no YAML files under deploy/"
elif /usr/bin/python3 -c 'import yaml' >/dev/null 2>&1; then
	for f in $yaml_files; do
		if err=$(/usr/bin/python3 - "$f" 2>&1 <<'EOF'
import sys, yaml
with open(sys.argv[1]) as fh:
    docs = [d for d in yaml.safe_load_all(fh)]
if not docs or any(d is None for d in docs):
    sys.exit("empty document")
EOF
		); then
			pass "${f#$ROOT/}: parses as YAML"
		else
			fail "${f#$ROOT/}: does not parse as YAML: $err"
		fi
	done
else
	skip "/usr/bin/python3 has no yaml module (apt-get install python3-yaml): YAML not parsed"
fi

if [ -f "$ROOT/deploy/railway.toml" ]; then
	if /usr/bin/python3 -c 'import tomllib' >/dev/null 2>&1; then
		if err=$(/usr/bin/python3 -c 'import sys, tomllib; tomllib.load(open(sys.argv[1], "rb"))' \
			"$ROOT/deploy/railway.toml" 2>&1); then
			pass "deploy/railway.toml parses as TOML"
		else
			fail "deploy/railway.toml does not parse as TOML: $err"
		fi
	else
		skip "/usr/bin/python3 has no tomllib (Python < 3.11): railway.toml not parsed"
	fi
else
	fail "deploy/railway.toml is missing"
fi

finish docs_check
