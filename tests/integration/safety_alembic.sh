#!/bin/bash
# The safety review of Alembic revisions, through the SQL the project's
# own Alembic generates offline (one `alembic upgrade heads --sql` for
# the whole history): a NOT NULL column without a default in a .py
# revision is found with its revision and statement, an index built
# CONCURRENTLY inside autocommit_block() is not, `# migsync:allow` comments
# with a reason allow, a .py revision Python cannot compile is a lint
# error with line and column (found without running it), and without
# Python the review says it was skipped and why. No database is needed.
set -u

: "${MIGSYNC:?set MIGSYNC to the migsync binary}"
: "${MIGSYNC_SOURCE_ROOT:?set MIGSYNC_SOURCE_ROOT to the repository root}"

. "$MIGSYNC_SOURCE_ROOT/tests/integration/lib/common.sh"
FAIL_GOES_ON=1

if ! /usr/bin/python3 -c 'import alembic, sqlalchemy' 2>/dev/null; then
	skip_all "python3 with alembic and sqlalchemy not found"
fi
work_dir safety-alembic
proj=$tmp/project
mkdir -p "$proj/migrations/versions"
cat >"$proj/alembic.ini" <<'INI'
[alembic]
script_location = %(here)s/migrations
INI
cat >"$proj/migrations/env.py" <<'PY'
"""Offline only: the review never needs a database."""
from alembic import context

if context.is_offline_mode():
    context.configure(url="postgresql://", literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    raise SystemExit("this test project runs offline only")
PY
v=$proj/migrations/versions
cat >"$v/4b1e0c9d2a73_users.py" <<'PY'
"""users

Revision ID: 4b1e0c9d2a73
"""
import sqlalchemy as sa
from alembic import op

revision = "4b1e0c9d2a73"
down_revision = None


def upgrade():
    op.create_table("users", sa.Column("id", sa.Integer(), primary_key=True),
                    sa.Column("email", sa.String(200)))
    op.create_index("ix_users_email_new", "users", ["email"])


def downgrade():
    op.drop_table("users")
PY
cat >"$v/9e6a2f81c05d_age.py" <<'PY'
"""age

Revision ID: 9e6a2f81c05d
"""
import sqlalchemy as sa
from alembic import op

revision = "9e6a2f81c05d"
down_revision = "4b1e0c9d2a73"
# migsync:allow missing-lock-timeout: env.py of the real project sets lock_timeout


def upgrade():
    op.add_column("users", sa.Column("age", sa.Integer(), nullable=False))


def downgrade():
    op.drop_column("users", "age")
PY
cat >"$v/d37c5b0e19a8_index.py" <<'PY'
"""index users.age concurrently

Revision ID: d37c5b0e19a8
"""
from alembic import op

revision = "d37c5b0e19a8"
down_revision = "9e6a2f81c05d"


def upgrade():
    with op.get_context().autocommit_block():
        op.create_index("ix_users_age", "users", ["age"], postgresql_concurrently=True)


def downgrade():
    op.drop_index("ix_users_age", table_name="users")
PY

# lint runs where alembic.ini is (as Alembic itself would)
lint_in() {	# lint_in NAME ARGS...: migsync lint in the project directory
	local name=$1

	shift
	(cd "$proj" && timeout 120 "$MIGSYNC" lint --scripts migrations/versions "$@") \
		>"$tmp/$name.out" 2>"$tmp/$name.err" </dev/null
	echo $? >"$tmp/$name.rc"
}

echo "checking: findings from Alembic's offline SQL"
lint_in lint --format json
expect_rc lint 0
expect_json lint '.safety.(reviewed,skipped,skipped_reason)' '[3, 0, null]'
# the line and column of the op.add_column() call that generates the statement
expect_json lint '.findings[rule=adding-not-null-column].(code,revision,file,line,column)' \
	'["MS103", "9e6a2f81c05d", "migrations/versions/9e6a2f81c05d_age.py", 14, 5]'
expect_json lint '.findings[rule=adding-not-null-column].message' =~ '\(the SQL of the op\.add_column\(\) call\): '
expect_json lint '.findings[rule=adding-not-null-column].statement' \
	'"ALTER TABLE users ADD COLUMN age INTEGER NOT NULL"'
expect_json lint '.findings[?rule=require-concurrent-index]' '[]'
expect_json lint '.findings[?rule=concurrent-index-in-transaction]' '[]'
expect_json lint '.findings[?rule=missing-lock-timeout]' '[]'
expect_json lint '.safety.allowed' 1
lint_in lint_text
expect_rc lint_text 0
expect_in lint_text out "migrations/versions/9e6a2f81c05d_age.py:14:5: warning MS103 adding-not-null-column: ADD COLUMN \"age\" NOT NULL without a DEFAULT on table \"users\" (the SQL of the op.add_column() call)"

echo "checking: CONCURRENTLY outside autocommit_block() is found"
sed -i 's/^    with op.get_context().autocommit_block():$/    if True:/' "$v/d37c5b0e19a8_index.py"
lint_in in_tx --format json
expect_rc in_tx 0
expect_json in_tx '.findings[rule=concurrent-index-in-transaction].revision' '"d37c5b0e19a8"'

echo "checking: SQL that does not match the op.* calls one for one points at def upgrade"
cat >"$v/a5c4e3d2b1f0_execute.py" <<'PY'
"""two statements from one call

Revision ID: a5c4e3d2b1f0
"""
from alembic import op

revision = "a5c4e3d2b1f0"
down_revision = "d37c5b0e19a8"


def upgrade():
    op.execute("SET lock_timeout = '5s'; ALTER TABLE users DROP COLUMN email")


def downgrade():
    op.execute("SET lock_timeout = '5s'")
    op.create_index("ix_users_email", "users", ["email"])
PY
lint_in unmatched --format json
expect_rc unmatched 0
expect_json unmatched '.findings[rule=drop-column].(revision,line,column)' '["a5c4e3d2b1f0", 11, null]'
expect_json unmatched '.findings[rule=drop-column].message' =~ 'in upgrade\(\): its SQL could not be matched to its op\.\* calls one for one'
# its downgrade too, from Alembic's offline downgrade SQL: the lock rules, at the op.* call
expect_json unmatched '.findings[rule=require-concurrent-index].(direction,revision,line,column)' \
	'["down", "a5c4e3d2b1f0", 17, 5]'
expect_json unmatched '.findings[rule=require-concurrent-index].message' =~ '^\(downgrade\) CREATE INDEX .*\(the SQL of the op\.create_index\(\) call\)'
rm "$v/a5c4e3d2b1f0_execute.py"

echo "checking: a revision Python cannot compile"
cat >"$v/f0a9d8c7b6e5_broken.py" <<'PY'
"""broken

Revision ID: f0a9d8c7b6e5
"""
from alembic import op

revision = "f0a9d8c7b6e5"
down_revision = "d37c5b0e19a8"
open("/nonexistent-dir/ran", "w")


def upgrade(:
    pass
PY
lint_in broken
expect_rc broken 1
expect_in broken out "migrations/versions/f0a9d8c7b6e5_broken.py:12:13: error MS100 syntax-error: Python cannot compile the file: invalid syntax"
expect_in broken out "safety review skipped for 4 Alembic revisions: 1 Alembic revision cannot be compiled"

echo "checking: without Python the review says it was skipped"
rm "$v/f0a9d8c7b6e5_broken.py"
mkdir -p "$tmp/inv"
cat >"$tmp/inv/inventory.yaml" <<YAML
project: safety-alembic
migrations:
  scripts: $v
  executor: alembic
  alembic_ini: $proj/alembic.ini
  python: $tmp/no-such-python
rollout: [dev]
YAML
printf 'database: { host: 127.0.0.1, dbname: nothing }\n' >"$tmp/inv/dev.yaml"
lint_in nopython -i "$tmp/inv" --format json
expect_rc nopython 0
expect_json nopython '.safety.(reviewed,skipped)' '[0, 3]'
expect_json nopython '.safety.skipped_reason' =~ 'no-such-python.*no such executable'
lint_in nopython_text -i "$tmp/inv"
expect_rc nopython_text 0
expect_in nopython_text out "safety review skipped for 3 Alembic revisions:"

finish safety_alembic
