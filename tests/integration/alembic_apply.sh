#!/bin/bash
# The Alembic executor through the commands (apply, downgrade, hook), with
# the real Alembic (/usr/bin/python3 -m alembic's library) on a copy of
# examples/alembic-project and a real, throwaway PostgreSQL:
#
#  - apply --to a revision that is not a head: Alembic stops there; one
#    ledger row per revision with its file's SHA-256;
#  - the child's environment: its own password variable and DATABASE_URL,
#    no other environment's password, no secret in its arguments (env.py
#    writes what it was given);
#  - files Alembic would see that the plan was not made from (or the
#    reverse): exit 2, the difference listed, nothing run;
#  - a failing revision: its id and the exception's own line (not
#    SQLAlchemy's footer); the traceback with --verbose and in the ledger;
#  - downgrade through a gate (exit 3, approve, downgrade), ledger rows;
#  - hook on the same path.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib/common.sh"
. "$HERE/lib/pg.sh"
FAIL_GOES_ON=1

SRC_ROOT=${MIGSYNC_SOURCE_ROOT:-$(cd "$HERE/../.." && pwd)}
PY=/usr/bin/python3
DEV_PW='Dev-Secret-7310'
PROD_PW='Prod-Secret-8642'
if ! $PY -c 'import alembic, sqlalchemy, psycopg2' 2>/dev/null; then
	skip_all "python3 with alembic, sqlalchemy and psycopg2 not found"
fi

pg_up
work_dir alembic-apply
export PYTHONDONTWRITEBYTECODE=1

proj=$tmp/proj
mkdir -p "$proj"
cp -r "$SRC_ROOT/examples/alembic-project/." "$proj/" || FAIL_GOES_ON= fail "copy the example project"
rm -rf "$proj"/__pycache__ "$proj"/*/__pycache__ "$proj"/*/*/__pycache__
ini=$proj/alembic.ini
# The revision files as Alembic reads them from the ini.
versions=$(cd "$proj" && $PY -c '
import os
from alembic.config import Config
from alembic.script import ScriptDirectory
s = ScriptDirectory.from_config(Config("alembic.ini"))
print(" ".join(sorted({os.path.dirname(os.path.realpath(r.path)) for r in s.walk_revisions()})))
') || FAIL_GOES_ON= fail "read the example's version locations"
heads=$(cd "$proj" && $PY -m alembic heads 2>/dev/null | awk '{ print $1 }' | sort | tr '\n' ' ' | sed 's/ $//')
echo "project: $proj, versions: $versions, heads: $heads"
# env.py notes what it was given: the names of its environment variables and its arguments
cat >>"$proj/env.py" <<'EOF'

import sys as _sys
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "child-env.txt"), "w") as _f:
    _f.write("\n".join(sorted(os.environ)) + "\n")
    _f.write("ARGV " + " ".join(_sys.argv) + "\n")
EOF

pg_add_password_user "$PG_PASSWORD_USER" "$DEV_PW" || FAIL_GOES_ON= fail "password user"
for db in a_dev a_prod; do
	pg_psql -d postgres -c "CREATE DATABASE $db OWNER $PG_PASSWORD_USER" >/dev/null ||
		FAIL_GOES_ON= fail "createdb $db"
done

inv=$tmp/inv
mkdir -p "$inv"
{
	echo "project: alembic-apply"
	echo "migrations:"
	echo "  scripts: [$(echo "$versions" | sed 's/ /, /g')]"
	echo "  executor: alembic"
	echo "  alembic_ini: $ini"
	echo "  python: $PY"
	echo "rollout: [dev, prod]"
} >"$inv/inventory.yaml"
for env in dev prod; do
	cat >"$inv/$env.yaml" <<YAML
database:
  host: 127.0.0.1
  port: $PGPORT
  dbname: a_$env
  user: $([ $env = prod ] && echo postgres || echo "$PG_PASSWORD_USER")
  password_env: MIGSYNC_TEST_$(echo $env | tr a-z A-Z)_PW
  sslmode: disable
gate:
  approvals: $([ $env = prod ] && echo 1 || echo 0)
YAML
done
export MIGSYNC_TEST_DEV_PW=$DEV_PW MIGSYNC_TEST_PROD_PW=$PROD_PW
export MIGSYNC_TEST_OTHER_TOKEN=Other-Token-4411
RUN_ARGS=(-i "$inv")

ledger() {	# ledger DB: "revision direction outcome sha256" per row, oldest first
	pg_psql -d "$1" -At -F ' ' -c "SELECT revision, direction, outcome, coalesce(sha256, '-')
		FROM migsync.applied WHERE executor = 'alembic' ORDER BY id"
}
file_of() {	# file_of REV: the revision's file
	grep -l "^revision = \"$1\"" $versions/*.py | head -n 1
}
sha_of() {
	sha256sum "$(file_of "$1")" | awk '{ print $1 }'
}

# --- apply --to a revision that is not a head -----------------------------
run to3 -- apply -e dev --to c0ff00000003 --yes
expect_rc to3 0
expect_version a_dev c0ff00000003 "apply --to c0ff00000003 (not a head)"
want=""
for r in c0ff00000001 c0ff00000002 c0ff00000003; do
	want+="$r up applied $(sha_of $r)"$'\n'
	expect_in to3 out "dev: applied $r"
done
check "ledger: one row per revision with its file's sha256" [ "$(ledger a_dev)" = "${want%$'\n'}" ]
check "ledger: durations and rows after each revision" [ "$(pg_psql -d a_dev -At -c "SELECT string_agg(rows_after, ',' ORDER BY id) || ' ' || bool_and(duration_ms >= 0) FROM migsync.applied")" = "c0ff00000001,c0ff00000002,c0ff00000003 true" ]
expect_not_in to3 err "Running upgrade"

# --- the child's environment ------------------------------------------------
envf=$proj/child-env.txt
check "child env: DATABASE_URL and its own password variable" \
	grep -qx DATABASE_URL "$envf"
check "child env: its own password_env variable" grep -qx MIGSYNC_TEST_DEV_PW "$envf"
check "child env: PATH and HOME" bash -c "grep -qx PATH '$envf' && grep -qx HOME '$envf'"
check "child env: no other environment's password variable" bash -c "! grep -q MIGSYNC_TEST_PROD_PW '$envf'"
check "child env: no unrelated secret" bash -c "! grep -q MIGSYNC_TEST_OTHER_TOKEN '$envf'"
check "child argv: no password, exact revision id" bash -c "grep -q '^ARGV .* upgrade c0ff00000003\$' '$envf' && ! grep -q '$DEV_PW' '$envf'"
expect_not_in to3 out "$DEV_PW"
expect_not_in to3 err "$DEV_PW"

# --- the files Alembic sees must be the planned ones -----------------------
extra=$tmp/extra
mkdir -p "$extra"
cat >"$extra/c0ff00000006_extra.py" <<'EOF'
"""an extra revision Alembic does not see"""
revision = "c0ff00000006"
down_revision = "c0ff00000005"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
EOF
scripts=()
for d in $versions; do scripts+=(--scripts "$d"); done
run differ -- apply -e dev --yes "${scripts[@]}" --scripts "$extra"
expect_rc differ 2
expect_in differ err "the revision files Alembic would run are not the ones migsync planned from"
expect_in differ err "only migsync planned from: $extra/c0ff00000006_extra.py"
expect_not_in differ err "only Alembic sees"
expect_version a_dev c0ff00000003 "files differ: nothing ran"
check "files differ: no ledger row" [ "$(ledger a_dev | wc -l)" = 3 ]

# a file that changes after the plan was read (here by before_apply, which
# runs before the lock): Alembic would run other code than was approved
f5=$(file_of c0ff00000005)
cp "$f5" "$tmp/f5.orig"
cp "$inv/dev.yaml" "$tmp/dev.yaml.orig"
echo "before_apply: echo '# edited' >> $f5" >>"$inv/dev.yaml"
run changed -- apply -e dev --yes
expect_rc changed 2
expect_in changed err "changed since the plan: $f5 (sha256 $(sha256sum "$tmp/f5.orig" | cut -c1-12), Alembic reads $(sha256sum "$f5" | cut -c1-12))"
expect_version a_dev c0ff00000003 "a changed file: nothing ran"
cp "$tmp/f5.orig" "$f5"
cp "$tmp/dev.yaml.orig" "$inv/dev.yaml"

# --- a failing revision -----------------------------------------------------
pg_psql -d a_dev -c "ALTER TABLE llm_configs ADD COLUMN priority integer" >/dev/null ||
	fail "prepare the failure"
run fails -- apply -e dev --yes
expect_rc fails 1
expect_in fails err 'revision "c0ff00000004"'
expect_in fails err 'psycopg2.errors.DuplicateColumn: column "priority" of relation "llm_configs" already exists'
expect_not_in fails err "Background on this error"
expect_not_in fails err "Traceback"
expect_version a_dev c0ff00000003 "after the failure"
check "ledger: the failed revision with Alembic's traceback" \
	[ "$(pg_psql -d a_dev -At -c "SELECT revision || ' ' || (error LIKE '%DuplicateColumn%') || ' ' || (error LIKE '%Traceback%') FROM migsync.applied WHERE outcome = 'failed'")" = "c0ff00000004 true true" ]
run fails_v -- apply -e dev --yes --verbose
expect_rc fails_v 1
expect_in fails_v err "Traceback (most recent call last)"
expect_in fails_v err "Running upgrade c0ff00000002 -> c0ff00000004"
pg_psql -d a_dev -c "ALTER TABLE llm_configs DROP COLUMN priority" >/dev/null || fail "undo the failure"
run dev_all -- apply -e dev --yes
expect_rc dev_all 0
expect_version a_dev "$heads" "apply after the fix"

# --- prod through its gate, then downgrade through it ---------------------
run prod_gate -- apply -e prod --yes
expect_rc prod_gate 3
h=$(hash_of prod_gate)
run prod_ok USER=alice -- approve -e prod --plan "$h"
expect_rc prod_ok 0
run prod_up -- apply -e prod --yes
expect_rc prod_up 0
expect_version a_prod "$heads" "prod applied after approval"
run down_gate -- downgrade -e prod --to c0ff00000002 --yes
expect_rc down_gate 3
h=$(hash_of down_gate)
run down_ok USER=alice -- approve -e prod --downgrade --to c0ff00000002 --plan "$h"
expect_rc down_ok 0
run down -- downgrade -e prod --to c0ff00000002 --yes
expect_rc down 0
expect_version a_prod c0ff00000002 "downgrade --to c0ff00000002"
check "ledger: one down row per revision, merge first" \
	[ "$(pg_psql -d a_prod -At -c "SELECT string_agg(revision, ' ' ORDER BY id) FROM migsync.applied WHERE direction = 'down' AND outcome = 'applied'" | cut -d" " -f1)" = "c0ff00000005" ]
check "ledger: three down rows with sha256" \
	[ "$(pg_psql -d a_prod -At -c "SELECT count(*) FROM migsync.applied WHERE direction = 'down' AND outcome = 'applied' AND sha256 ~ '^[0-9a-f]{64}\$'")" = 3 ]
check "child argv: an exact downgrade target" grep -q '^ARGV .* downgrade c0ff00000002$' "$envf"
check "child env (prod): its own password, not dev's" \
	bash -c "grep -qx MIGSYNC_TEST_PROD_PW '$envf' && ! grep -q MIGSYNC_TEST_DEV_PW '$envf'"

# --- hook: the same path ---------------------------------------------------
run dev_down -- downgrade -e dev --to c0ff00000002 --yes
expect_rc dev_down 0
expect_version a_dev "c0ff00000002" "dev downgraded"
run hook -- hook -e dev
expect_rc hook 0
expect_version a_dev "$heads" "hook"
expect_in hook err "applied c0ff00000004"
check "hook: ledger rows for c0ff00000003, c0ff00000004 and c0ff00000005" \
	[ "$(pg_psql -d a_dev -At -c "SELECT string_agg(revision, ' ' ORDER BY revision) FROM (SELECT id, revision FROM migsync.applied WHERE direction = 'up' AND outcome = 'applied' ORDER BY id DESC LIMIT 3) x")" = "c0ff00000003 c0ff00000004 c0ff00000005" ]
run dev_base -- downgrade -e dev --to base --yes
expect_rc dev_base 0
expect_version a_dev none "downgrade --to base"
check "child argv: downgrade base" grep -q '^ARGV .* downgrade base$' "$envf"

finish alembic_apply
