#!/usr/bin/env bash
#
# alembic_compat.sh: migsync's heads, history, branches and show against
# real Alembic 1.8 on generated projects.
#
# For each seed, gen_alembic_project.py writes a random but valid project
# (several bases, branch points, merges, labels, depends_on, every quoting
# and annotation style, CRLF, BOM, files Alembic skips). Alembic runs the
# planned command lines once (lib/alembic_driver.py, one interpreter per
# project); migsync runs the same ones twice, with --scripts DIR and with
# alembic.ini discovery from the project directory. lib/compat_check.py
# compares them (see its docstring for what counts as identical) and checks
# that migsync's history is in topological order.
#
# Environment: MIGSYNC (the binary), MIGSYNC_SOURCE_ROOT (the repository),
# ALEMBIC_PYTHON (a Python with Alembic 1.8; default /usr/bin/python3),
# COMPAT_SEEDS (default "1:150 2h:250 3:400 4:300 5:200", seed:revisions;
# a seed ending in "h" uses script_location = %(here)s/migrations),
# COMPAT_EXTRA=1 (also relative identifiers: show REV-1, show -- -1,
# label@-1, label@+1, history -r X:+N; migsync was seen to
# differ there, see lib/compat_check.py), COMPAT_KEEP=DIR (keep failing projects there).
#
# Output: TAP (lib/common.sh), one check per seed; exit 0 all identical,
# 1 a mismatch (unified diffs on stderr); skipped when Alembic is not
# available.

set -euo pipefail

: "${MIGSYNC:?set MIGSYNC to the migsync binary}"
: "${MIGSYNC_SOURCE_ROOT:?set MIGSYNC_SOURCE_ROOT to the repository}"
ALEMBIC_PYTHON=${ALEMBIC_PYTHON:-/usr/bin/python3}
SEEDS=${COMPAT_SEEDS:-"1:150 2h:250 3:400 4:300 5:200"}
here="$MIGSYNC_SOURCE_ROOT/tests/integration"
lib="$here/lib"
. "$lib/common.sh"
FAIL_GOES_ON=1

if ! "$ALEMBIC_PYTHON" -c 'import alembic, sys; sys.exit(not alembic.__version__.startswith("1."))' </dev/null 2>/dev/null; then
	skip_all "no Alembic 1.x in $ALEMBIC_PYTHON"
fi
MIGSYNC=$(cd "$(dirname "$MIGSYNC")" && pwd)/$(basename "$MIGSYNC")
work_dir compat

echo "alembic: $("$ALEMBIC_PYTHON" -m alembic --version </dev/null)"
echo "migsync: $("$MIGSYNC" --version </dev/null)"

for spec in $SEEDS; do
	seed=${spec%%:*}
	n=${spec##*:}
	loc=relative
	case $seed in
	*h) seed=${seed%h}; loc=here ;;
	esac
	proj="$tmp/p$seed"
	out="$tmp/alembic-$seed"
	mkdir -p "$out"
	start=$SECONDS
	"$ALEMBIC_PYTHON" "$here/gen_alembic_project.py" --seed "$seed" --revisions "$n" \
		--style mixed --script-location "$loc" --out "$proj" </dev/null ||
		FAIL_GOES_ON= fail "seed $seed: gen_alembic_project.py failed"
	"$ALEMBIC_PYTHON" "$lib/compat_check.py" plan "$proj" "$seed" >"$out/commands.tsv" </dev/null ||
		FAIL_GOES_ON= fail "seed $seed: compat_check.py plan failed"
	(cd "$proj" && "$ALEMBIC_PYTHON" "$lib/alembic_driver.py" "$out" <"$out/commands.tsv") ||
		FAIL_GOES_ON= fail "seed $seed: alembic_driver.py failed"
	echo "seed $seed: $n revisions, script_location $loc, $(wc -l <"$out/commands.tsv") command lines"
	if "$ALEMBIC_PYTHON" "$lib/compat_check.py" compare "$proj" "$out" "$MIGSYNC" scripts ini </dev/null; then
		pass "seed $seed ($n revisions, script_location $loc): migsync matches Alembic"
	else
		fail "seed $seed ($n revisions, script_location $loc): migsync differs from Alembic (MISMATCH above)"
		if [ -n "${COMPAT_KEEP:-}" ]; then
			mkdir -p "$COMPAT_KEEP"
			cp -r "$proj" "$out" "$COMPAT_KEEP"/
			echo "  kept in $COMPAT_KEEP"
		fi
	fi
	echo "  ($((SECONDS - start)) s)"
done

finish alembic_compat
