#!/bin/bash
# The safety review against a real, throwaway PostgreSQL: native SQL
# revisions with a dangerous statement (CREATE INDEX without CONCURRENTLY
# on an existing table) reach prod only with gate.risky_approvals distinct
# approvers; plan lists the finding under its step, approve shows it
# before recording, an allowance with a reason makes the stage ordinary
# again, check reports the findings of pending revisions in text, JSON,
# JUnit and Markdown and fails on them, and a revision PostgreSQL's parser
# refuses is found by lint and plan with line and column and refused by
# apply before anything of it runs.
set -u

: "${MIGSYNC:?set MIGSYNC to the migsync binary}"
: "${MIGSYNC_SOURCE_ROOT:?set MIGSYNC_SOURCE_ROOT to the repository root}"

. "$MIGSYNC_SOURCE_ROOT/tests/integration/lib/common.sh"
. "$MIGSYNC_SOURCE_ROOT/tests/integration/lib/pg.sh"
. "$MIGSYNC_SOURCE_ROOT/tests/integration/lib/inventory.sh"

pg_setup safety
FAIL_GOES_ON=1

versions=$tmp/versions
inv=$tmp/inventory
R1=3c8e1f0a9b27 R2=7d41a9e6c0f3 R3=e5b2970d8a14
mkdir -p "$versions"
inv_gated "$inv" safety-test "connect_timeout: 20, lock_wait: 30s" dev=0 prod=1 || fail "inventory"
echo "  risky_approvals: 2" >>"$inv/prod.yaml"
inv_sql_rev -m "users" "$versions" $R1 "" "CREATE TABLE users (id int PRIMARY KEY, email text);
CREATE INDEX users_id_email ON users (id, email);" "DROP TABLE users;" || fail "revision 1"
inv_sql_rev -m "index email" "$versions" $R2 "$R1" "SET lock_timeout = '5s';
CREATE INDEX users_email ON users (email);" "DROP INDEX users_email;" || fail "revision 2"
RUN_ARGS=(-i "$inv")

# --- lint: the finding with file, line, column, rule and what to write instead
echo "checking: lint finds the index on an existing table"
run lint -- lint --format json
expect_rc lint 0
expect_json lint '.findings[rule=require-concurrent-index].(code,revision,line,column)' \
	"[\"MS101\", \"$R2\", 7, 1]"
expect_json lint '.findings[rule=require-concurrent-index].statement' '"CREATE INDEX users_email ON users (email)"'
expect_json lint '.findings[rule=require-concurrent-index].instead' =~ 'CONCURRENTLY'
expect_json lint '.findings[].rule' '["require-concurrent-index"]'
expect_json lint '.safety.(reviewed,skipped)' '[2, 0]'
expect_json lint '.findings[rule=require-concurrent-index].direction' '"up"'

echo "checking: lint reviews the down section too, with the lock rules only"
mkdir -p "$tmp/down"
inv_sql_rev -m "down" "$tmp/down" $R1 "" "CREATE TABLE t (a int);" "DROP TABLE t;
CREATE INDEX users_a ON users (a);" || fail "downgrade revision"
(RUN_ARGS=() && run lint_down -- lint --scripts "$tmp/down" --format json)
expect_rc lint_down 0
expect_json lint_down '.findings[rule=require-concurrent-index].(direction,severity,line,column)' \
	'["down", "warning", 10, 1]'
expect_json lint_down '.findings[rule=require-concurrent-index].message' =~ '^\(downgrade\) CREATE INDEX'
expect_json lint_down '.findings[?rule=drop-table]' '[]'
expect_json lint_down '.findings[?rule=missing-lock-timeout]' '[]'
run rules -- lint --rules
expect_rc rules 0
expect_in rules out "MS101  require-concurrent-index"
expect_in rules out "    why:     a plain CREATE INDEX holds a SHARE lock"
run rules_json -- lint --rules --format json
expect_rc rules_json 0
expect_json rules_json '.rules[?category=safety][].rule' '["syntax-error", "require-concurrent-index", "concurrent-index-in-transaction", "adding-not-null-column", "volatile-default", "changing-column-type", "set-not-null", "constraint-missing-not-valid", "unique-constraint-without-index", "drop-column", "drop-table", "rename-column", "rename-table", "missing-lock-timeout", "invalid-allowance"]'
expect_json rules_json '.rules[?category=safety][].(why,instead) | unique | length' 15

# --- plan: the finding under its step, two approvals for prod
echo "checking: plan lists the finding and asks prod for two approvers"
run plan -- plan
expect_rc plan 0
expect_in plan out "risk: require-concurrent-index (MS101): CREATE INDEX on table \"users\" without CONCURRENTLY at "
expect_in plan out "${R2}_rev.sql:7:1"
expect_in plan out "gate: 2 approvals (risky: 1 safety finding)"
run plan_json -- plan --format json
expect_rc plan_json 0
expect_json plan_json '.stages[environment=prod].gate.(approvals,risky_approvals,needed,risky_findings)' '[1, 2, 2, 1]'
expect_json plan_json ".stages[environment=prod].steps[revision=$R2].findings[].rule" '["require-concurrent-index"]'
expect_json plan_json ".stages[environment=prod].steps[revision=$R1].findings" '[]'

# --- apply: dev has no gate; prod stops, one approval is not enough
echo "checking: a risky stage needs two distinct approvers"
run first -- apply --yes
expect_rc first 3
expect_version dev $R2 "first apply"
expect_version prod none "first apply"
H=$(hash_of first)
[ -n "$H" ] || fail "no plan hash in: $(cat "$tmp/first.err")"
run approve_alice USER=alice -- approve -e prod --plan "$H"
expect_rc approve_alice 0
expect_in approve_alice err "environment \"prod\": the plan's steps carry safety findings (1 that no comment allows)"
expect_in approve_alice err "risk: require-concurrent-index"
run second -- apply --yes
expect_rc second 3
expect_in second err "1 of 2 approvals"
expect_version prod none "one approval of two"
run approve_alice2 USER=alice -- approve -e prod --plan "$H"
expect_rc approve_alice2 0
run third -- apply --yes
expect_rc third 3
expect_version prod none "the same approver twice"
run approve_bob USER=bob -- approve -e prod --plan "$H"
expect_rc approve_bob 0
run fourth -- apply --yes
expect_rc fourth 0
expect_version prod $R2 "two approvers"

# --- an allowance with a reason: the next risky revision needs one approver
echo "checking: an allowance makes the step ordinary"
inv_sql_rev -m "index id" "$versions" $R3 "$R2" "-- migsync:allow require-concurrent-index: users is tiny in every environment
SET lock_timeout = '5s';
CREATE INDEX users_id ON users (id);" "DROP INDEX users_id;" || fail "revision 3"
run plan3 -- plan --format json
expect_rc plan3 0
expect_json plan3 ".stages[environment=prod].steps[revision=$R3].findings[].(allowed,allow_reason)" \
	'[[true, "users is tiny in every environment"]]'
expect_json plan3 '.stages[environment=prod].gate.needed' 1
run lint3 -- lint --format json
expect_rc lint3 0
expect_json lint3 '.safety.allowed' 1

# --- check: pending findings fail the nightly check, in every format
echo "checking: check reports the findings of pending revisions"
rm "$versions/${R3}_rev.sql"
inv_sql_rev -m "rename" "$versions" $R3 "$R2" "SET lock_timeout = '5s';
ALTER TABLE users RENAME COLUMN email TO mail;" "" || fail "revision 3 (rename)"
run check -- check --format json --junit "$tmp/check.xml" --markdown "$tmp/check.md"
expect_rc check 1
expect_json check '.lint.findings[rule=rename-column].(code,revision)' "[\"MS111\", \"$R3\"]"
check "check: JUnit names the finding" grep -q "rename-column" "$tmp/check.xml"
check "check: Markdown names the finding" grep -q "rename-column" "$tmp/check.md"
xmllint --noout "$tmp/check.xml" 2>"$tmp/xmllint.err" || fail "check.xml is not XML: $(cat "$tmp/xmllint.err")"
pass "check: JUnit parses"
run check_text -- check
expect_rc check_text 1
expect_in check_text out "MS111 rename-column (revision $R3)"

# --- a revision the parser refuses: lint and plan say where, apply refuses it
echo "checking: a syntax error is found before anything runs"
rm "$versions/${R3}_rev.sql"
inv_sql_rev -m "broken" "$versions" $R3 "$R2" "CREATE TABLE audit (id int);
ALTER TABLE users ADD COLUM note text;" "" || fail "revision 3 (broken)"
run lint_bad -- lint
expect_rc lint_bad 1
expect_in lint_bad out "${R3}_rev.sql:7:34: error MS100 syntax-error: syntax error at or near \"text\""
run plan_bad -- plan
expect_rc plan_bad 1
expect_in plan_bad out "risk: syntax-error (MS100)"
run apply_bad -- apply --yes -e dev
expect_rc apply_bad 2
expect_in apply_bad err "revision \"$R3\""
expect_in apply_bad err "line 7, column 34: syntax error at or near \"text\""
check "apply_bad: nothing of the revision ran" \
	test "$(pg_psql -d dev -At -c "SELECT count(*) FROM pg_class WHERE relname = 'audit'")" = 0
expect_version dev $R2 "refused revision"

# --- plan --sql: an Alembic step shows the SQL Alembic generates offline
echo "checking: plan --sql shows Alembic's offline SQL per step"
if /usr/bin/python3 -c 'import alembic, sqlalchemy' 2>/dev/null; then
	RUN_ARGS=()
	proj=$tmp/alembic
	mkdir -p "$proj/versions" "$tmp/ainv"
	printf '[alembic]\nscript_location = %%(here)s\nversion_locations = %%(here)s/versions\n' >"$proj/alembic.ini"
	cat >"$proj/env.py" <<'PY'
import os
from alembic import context

if context.is_offline_mode() and not os.environ.get("NO_OFFLINE"):
    context.configure(url="postgresql://", literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    raise SystemExit("this env.py cannot run offline")
PY
	cat >"$proj/versions/5f0e7a3b9c21_age.py" <<'PY'
"""age"""
import sqlalchemy as sa
from alembic import op

revision = "5f0e7a3b9c21"
down_revision = None


def upgrade():
    op.create_table("people", sa.Column("id", sa.Integer(), primary_key=True))


def downgrade():
    op.drop_table("people")
PY
	pg_psql -d postgres -c "CREATE DATABASE alem" >/dev/null || fail "createdb alem"
	cat >"$tmp/ainv/inventory.yaml" <<YAML
project: safety-alembic
migrations:
  scripts: $proj/versions
  executor: alembic
  alembic_ini: $proj/alembic.ini
rollout: [alem]
YAML
	printf 'database: { host: 127.0.0.1, port: %s, dbname: alem, user: postgres, sslmode: disable }\n' \
		"$PGPORT" >"$tmp/ainv/alem.yaml"
	run aplan -- plan --sql -i "$tmp/ainv"
	expect_rc aplan 0
	expect_in aplan out "       | CREATE TABLE people ("
	run aplan_json -- plan --sql --format json -i "$tmp/ainv"
	expect_rc aplan_json 0
	expect_json aplan_json '.stages[0].steps[0].sql' =~ 'CREATE TABLE people'
	run aplan_off NO_OFFLINE=1 -- plan --sql -i "$tmp/ainv"
	expect_rc aplan_off 0
	expect_in aplan_off out "safety review skipped for 1 Alembic revision: alembic upgrade heads --sql: exit status 1: this env.py cannot run offline"
	expect_in aplan_off out "       | (no SQL to show: alembic upgrade heads --sql: exit status 1: this env.py cannot run offline)"
else
	skip "plan --sql of Alembic steps: python3 with alembic and sqlalchemy not found"
fi

finish safety_pg
