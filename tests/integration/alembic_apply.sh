#!/bin/bash
# The Alembic executor through the commands (apply, downgrade, hook), with
# the real Alembic (/usr/bin/python3 -m alembic's library) on a copy of
# examples/alembic-project and a real, throwaway PostgreSQL:
#
#  - apply --to a revision that is not a head: Alembic stops there; one
#    ledger row per revision with its file's SHA-256;
#  - the child's environment: its own password variable and DATABASE_URL,
#    no other environment's password, no secret in its arguments (env.py
#    writes what it was given); a variable migrations.pass_env names;
#  - files Alembic would see that the plan was not made from (or the
#    reverse): exit 2, the difference listed, nothing run;
#  - a failing revision: its id and the exception's own line (not
#    SQLAlchemy's footer); the traceback with --verbose and in the ledger;
#  - downgrade through a gate (exit 3, approve, downgrade), ledger rows;
#  - hook on the same path; its --verbose shows Alembic's output, scrubbed.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib/common.sh"
. "$HERE/lib/pg.sh"
. "$HERE/lib/alembic_project.sh"
FAIL_GOES_ON=1

SRC_ROOT=${MIGSYNC_SOURCE_ROOT:-$(cd "$HERE/../.." && pwd)}
DEV_PW='Dev-Secret-7310'
PROD_PW='Prod-Secret-8642'
alembic_project_setup alembic-apply "$DEV_PW" a_dev a_prod
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
cat >>"$proj/migrations/env.py" <<'EOF'

import os
import sys as _sys
with open(os.path.join(os.getcwd(), "child-env.txt"), "w") as _f:
    _f.write("\n".join(sorted(os.environ)) + "\n")
    _f.write("ARGV " + " ".join(_sys.argv) + "\n")
    _f.write("REPORT_TZ " + os.environ.get("STOCKAPP_REPORT_TZ", "-") + "\n")
# a careless env.py prints its URL: --verbose shows it without the password
print("env.py: DATABASE_URL=" + os.environ.get("DATABASE_URL", ""), file=_sys.stderr)
EOF

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
  version_table: stockapp_version
gate:
  approvals: $([ $env = prod ] && echo 1 || echo 0)
YAML
done
export MIGSYNC_TEST_DEV_PW=$DEV_PW MIGSYNC_TEST_PROD_PW=$PROD_PW
export MIGSYNC_TEST_OTHER_TOKEN=Other-Token-4411
export STOCKAPP_REPORT_TZ=Asia/Shanghai
RUN_ARGS=(-i "$inv")

version_of() {	# version_of DB: the rows of stockapp_version, sorted, or "none"
	local v

	v=$(pg_psql -d "$1" -At -c "SELECT string_agg(version_num, ' ' ORDER BY version_num) FROM stockapp_version" 2>/dev/null) ||
		v=none
	echo "${v:-none}"
}
ledger() {	# ledger DB: "revision direction outcome sha256" per row, oldest first
	pg_psql -d "$1" -At -F ' ' -c "SELECT revision, direction, outcome, coalesce(sha256, '-')
		FROM migsync.applied WHERE executor = 'alembic' ORDER BY id"
}
file_of() {	# file_of REV: the revision's file
	local d

	for d in $versions; do
		grep -l "^revision = \"$1\"" "$d"/*.py
	done | head -n 1
}
sha_of() {
	sha256sum "$(file_of "$1")" | awk '{ print $1 }'
}

# --- apply --to a revision that is not a head -----------------------------
run to3 -- apply -e dev --to 9c4f6a0e7b12 --yes
expect_rc to3 0
expect_version a_dev 9c4f6a0e7b12 "apply --to 9c4f6a0e7b12 (not a head)"
want=""
for r in 1a7c3e9b2d40 5e0b8d21f9a3 9c4f6a0e7b12; do
	want+="$r up applied $(sha_of $r)"$'\n'
	expect_in to3 out "dev: applied $r"
done
check "ledger: one row per revision with its file's sha256" [ "$(ledger a_dev)" = "${want%$'\n'}" ]
check "ledger: durations and rows after each revision" [ "$(pg_psql -d a_dev -At -c "SELECT string_agg(rows_after, ',' ORDER BY id) || ' ' || bool_and(duration_ms >= 0) FROM migsync.applied")" = "1a7c3e9b2d40,5e0b8d21f9a3,9c4f6a0e7b12 true" ]
expect_not_in to3 err "Running upgrade"

# --- the child's environment ------------------------------------------------
envf=$proj/child-env.txt
check "child env: DATABASE_URL and its own password variable" \
	grep -qx DATABASE_URL "$envf"
check "child env: its own password_env variable" grep -qx MIGSYNC_TEST_DEV_PW "$envf"
check "child env: PATH and HOME" bash -c "grep -qx PATH '$envf' && grep -qx HOME '$envf'"
check "child env: no other environment's password variable" bash -c "! grep -q MIGSYNC_TEST_PROD_PW '$envf'"
check "child env: no unrelated secret" bash -c "! grep -q MIGSYNC_TEST_OTHER_TOKEN '$envf'"
check "child env: no variable migrations.pass_env does not name" grep -qx 'REPORT_TZ -' "$envf"
check "child argv: no password, exact revision id" bash -c "grep -q '^ARGV .* upgrade 9c4f6a0e7b12\$' '$envf' && ! grep -q '$DEV_PW' '$envf'"
expect_not_in to3 out "$DEV_PW"
expect_not_in to3 err "$DEV_PW"

# --- the files Alembic sees must be the planned ones -----------------------
extra=$tmp/extra
mkdir -p "$extra"
cat >"$extra/c0ff00000099_extra.py" <<'EOF'
"""an extra revision Alembic does not see"""
revision = "c0ff00000099"
down_revision = "7f15b3e8a9c2"
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
expect_in differ err "only migsync planned from: $extra/c0ff00000099_extra.py"
expect_not_in differ err "only Alembic sees"
expect_version a_dev 9c4f6a0e7b12 "files differ: nothing ran"
check "files differ: no ledger row" [ "$(ledger a_dev | wc -l)" = 3 ]

# a file that changes after the plan was read (here by before_apply, which
# runs before the lock): Alembic would run other code than was approved
f5=$(file_of e21a9f4c8d36)
cp "$f5" "$tmp/f5.orig"
cp "$inv/dev.yaml" "$tmp/dev.yaml.orig"
echo "before_apply: echo '# edited' >> $f5" >>"$inv/dev.yaml"
run changed -- apply -e dev --yes
expect_rc changed 2
expect_in changed err "changed since the plan: $f5 (sha256 $(sha256sum "$tmp/f5.orig" | cut -c1-12), Alembic reads $(sha256sum "$f5" | cut -c1-12))"
expect_version a_dev 9c4f6a0e7b12 "a changed file: nothing ran"
cp "$tmp/f5.orig" "$f5"
cp "$tmp/dev.yaml.orig" "$inv/dev.yaml"

# --- a failing revision -----------------------------------------------------
pg_psql -d a_dev -c "ALTER TABLE llm_configs ADD COLUMN priority integer" >/dev/null ||
	fail "prepare the failure"
run fails -- apply -e dev --yes
expect_rc fails 1
expect_in fails err 'revision "b83d2f5c6e07"'
expect_in fails err 'psycopg2.errors.DuplicateColumn: column "priority" of relation "llm_configs" already exists'
expect_not_in fails err "Background on this error"
expect_not_in fails err "Traceback"
expect_version a_dev 9c4f6a0e7b12 "after the failure"
check "ledger: the failed revision with Alembic's traceback" \
	[ "$(pg_psql -d a_dev -At -c "SELECT revision || ' ' || (error LIKE '%DuplicateColumn%') || ' ' || (error LIKE '%Traceback%') FROM migsync.applied WHERE outcome = 'failed'")" = "b83d2f5c6e07 true true" ]
run fails_v -- apply -e dev --yes --verbose
expect_rc fails_v 1
expect_in fails_v err "Traceback (most recent call last)"
expect_in fails_v err "Running upgrade 5e0b8d21f9a3 -> b83d2f5c6e07"
pg_psql -d a_dev -c "ALTER TABLE llm_configs DROP COLUMN priority" >/dev/null || fail "undo the failure"
run dev_all -- apply -e dev --yes
expect_rc dev_all 0
expect_version a_dev "$heads" "apply after the fix"

# --- prod through its gate, then downgrade through it ---------------------
# from here on env.py also gets STOCKAPP_REPORT_TZ, named in migrations.pass_env
sed -i "s|^  python: .*|&\n  pass_env: [STOCKAPP_REPORT_TZ, STOCKAPP_NOT_SET]|" "$inv/inventory.yaml"
run prod_gate -- apply -e prod --yes
expect_rc prod_gate 3
h=$(hash_of prod_gate)
run prod_ok USER=alice -- approve -e prod --plan "$h"
expect_rc prod_ok 0
run prod_up -- apply -e prod --yes
expect_rc prod_up 0
expect_in prod_up err 'inventory.yaml:7:34: "migrations.pass_env": STOCKAPP_NOT_SET is not set; Alembic will not get it'
check "child env: env.py reads the variable migrations.pass_env names" grep -qx 'REPORT_TZ Asia/Shanghai' "$envf"
check "child argv: not the value of a pass_env variable" bash -c "! grep -q '^ARGV .*Asia/Shanghai' '$envf'"
expect_not_in prod_up out "Asia/Shanghai"
expect_not_in prod_up err "Asia/Shanghai"
expect_version a_prod "$heads" "prod applied after approval"
run down_gate -- downgrade -e prod --to 5e0b8d21f9a3 --yes
expect_rc down_gate 3
h=$(hash_of down_gate)
run down_ok USER=alice -- approve -e prod --downgrade --to 5e0b8d21f9a3 --plan "$h"
expect_rc down_ok 0
run down -- downgrade -e prod --to 5e0b8d21f9a3 --yes
expect_rc down 0
expect_version a_prod 5e0b8d21f9a3 "downgrade --to 5e0b8d21f9a3"
check "ledger: one down row per revision in Alembic's order, the head first" \
	[ "$(pg_psql -d a_prod -At -c "SELECT string_agg(revision, ' ' ORDER BY id) FROM migsync.applied WHERE direction = 'down' AND outcome = 'applied'" | cut -d" " -f1-3)" = "7f15b3e8a9c2 4d6e0c7a1f58 e21a9f4c8d36" ]
check "ledger: five down rows with sha256" \
	[ "$(pg_psql -d a_prod -At -c "SELECT count(*) FROM migsync.applied WHERE direction = 'down' AND outcome = 'applied' AND sha256 ~ '^[0-9a-f]{64}\$'")" = 5 ]
check "child argv: an exact downgrade target" grep -q '^ARGV .* downgrade 5e0b8d21f9a3$' "$envf"
check "child env (prod): its own password, not dev's" \
	bash -c "grep -qx MIGSYNC_TEST_PROD_PW '$envf' && ! grep -q MIGSYNC_TEST_DEV_PW '$envf'"

# --- hook: the same path ---------------------------------------------------
run dev_down -- downgrade -e dev --to 5e0b8d21f9a3 --yes
expect_rc dev_down 0
expect_version a_dev "5e0b8d21f9a3" "dev downgraded"
run hook -- hook -e dev
expect_rc hook 0
expect_version a_dev "$heads" "hook"
expect_in hook err "applied b83d2f5c6e07"
expect_not_in hook err "Running upgrade"
check "hook: ledger rows for the five revisions above 5e0b8d21f9a3" \
	[ "$(pg_psql -d a_dev -At -c "SELECT string_agg(revision, ' ' ORDER BY revision) FROM (SELECT id, revision FROM migsync.applied WHERE direction = 'up' AND outcome = 'applied' ORDER BY id DESC LIMIT 5) x")" = "4d6e0c7a1f58 7f15b3e8a9c2 9c4f6a0e7b12 b83d2f5c6e07 e21a9f4c8d36" ]
run dev_base -- downgrade -e dev --to base --yes
expect_rc dev_base 0
expect_version a_dev none "downgrade --to base"
check "child argv: downgrade base" grep -q '^ARGV .* downgrade base$' "$envf"
run hook_v -- hook -e dev --verbose
expect_rc hook_v 0
expect_version a_dev "$heads" "hook --verbose"
expect_in hook_v err "Running upgrade 5e0b8d21f9a3 -> b83d2f5c6e07"
expect_in hook_v err "env.py: DATABASE_URL=postgresql://$PG_PASSWORD_USER:"
expect_not_in hook_v err "$DEV_PW"

# --- an ini of several sections: migrations.alembic_section is Alembic's -n
sed 's/^\[alembic\]$/[stock]/' "$ini" >"$proj/multi.ini"
printf '\n[alembic]\nscript_location = %%(here)s/nowhere\n' >>"$proj/multi.ini"
mkdir -p "$tmp/inv_sec"
sed -e "s|alembic_ini: .*|alembic_ini: $proj/multi.ini\n  alembic_section: stock|" \
	-e 's/rollout: .*/rollout: [dev]/' "$inv/inventory.yaml" >"$tmp/inv_sec/inventory.yaml"
sed 's/dbname: a_dev/dbname: a_sec/' "$inv/dev.yaml" >"$tmp/inv_sec/dev.yaml"
pg_psql -d postgres -c "CREATE DATABASE a_sec OWNER $PG_PASSWORD_USER" >/dev/null || fail "createdb a_sec"
RUN_ARGS=(-i "$tmp/inv_sec")
run section -- apply -e dev --yes
expect_rc section 0
expect_version a_sec "$heads" "alembic_section: stock"
check "child argv: -n stock" grep -q '^ARGV .* -n stock ' "$envf"

finish alembic_apply
