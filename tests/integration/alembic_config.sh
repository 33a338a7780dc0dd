#!/bin/bash
# An Alembic project configured the way Alembic finds it, on a copy of
# examples/alembic-project (two version locations, a branch label written
# as an imported constant, env.py's own version table) with the real
# Alembic and a real, throwaway PostgreSQL:
#
#  - an inventory without migrations: alembic.ini beside it gives the
#    scripts, the executor is inferred; heads, history and status agree
#    with `alembic heads` / `alembic current`; the label resolves;
#  - env.py's version table differing from the inventory's: a warning
#    naming both; inventory locations that differ from alembic.ini's:
#    exit 2 naming both lists;
#  - one database without an inventory: --url URL, then $DATABASE_URL
#    (status, plan, apply, hook), like `alembic current`; the password
#    in the URL never shows.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib/common.sh"
. "$HERE/lib/pg.sh"
. "$HERE/lib/alembic_project.sh"
FAIL_GOES_ON=1

SRC_ROOT=${MIGSYNC_SOURCE_ROOT:-$(cd "$HERE/../.." && pwd)}
SECRET='Url-Secret-4471'
alembic_project_setup alembic-config "$SECRET" c_dev c_one c_env
url_of() {	# url_of DB: the password user's URL
	echo "postgresql://$PG_PASSWORD_USER:$SECRET@127.0.0.1:$PGPORT/$1"
}
alembic_in() {	# alembic_in DB ARGS...: real Alembic in the project on DB
	local db=$1

	shift
	(cd "$proj" && DATABASE_URL=$(url_of "$db") timeout 60 $PY -m alembic "$@" 2>/dev/null)
}
first_words() {	# the first word of each line, sorted, space separated
	awk 'NF { print $1 }' | sort | tr '\n' ' ' | sed 's/ $//'
}

# --- an inventory that says nothing about migrations -----------------------
inv=$proj/environments
mkdir -p "$inv"
printf 'project: stockapp\nrollout: [dev]\n' >"$inv/inventory.yaml"
cat >"$inv/dev.yaml" <<YAML
database:
  host: 127.0.0.1
  port: $PGPORT
  dbname: c_dev
  user: $PG_PASSWORD_USER
  password_env: MIGSYNC_TEST_PW
  sslmode: disable
  version_table: stockapp_version
YAML
export MIGSYNC_TEST_PW=$SECRET

want_heads=$(alembic_in c_dev heads | first_words)
[ -n "$want_heads" ] || fail "alembic heads printed nothing"
(cd "$proj" && run heads heads --format json)
expect_rc heads 0
expect_json heads '.heads' "[\"$want_heads\"]"
expect_json heads '.nodes[id='"$want_heads"'].branch_labels' '["reporting"]'
(cd "$proj" && run label show reporting@head)
expect_rc label 0
expect_in label out "Rev: $want_heads (head)"
expect_in label out "Branch names: reporting"
(cd "$proj" && run lint lint)
expect_rc lint 0
expect_in lint out "7 revisions, 0 errors"
expect_not_in lint out MS030

# the app package under src/, found only through prepend_sys_path: lint
# looks where heads does (and where Alembic imports from)
srcp=$tmp/srclayout
mkdir -p "$srcp/src"
cp -r "$SRC_ROOT/examples/alembic-project/." "$srcp/" && mv "$srcp/stockapp" "$srcp/src/" &&
	sed -i 's|^prepend_sys_path = .*|prepend_sys_path = %(here)s/src|' "$srcp/alembic.ini" ||
	FAIL_GOES_ON= fail "the src/ layout"
got=$(cd "$srcp" && timeout 60 $PY -m alembic heads 2>/dev/null)
[ "$got" = "$want_heads (reporting) (head)" ] && pass "alembic heads finds the label on prepend_sys_path" ||
	fail "alembic heads in the src/ layout: \"$got\""
(cd "$srcp" && run src_heads heads --format json)
expect_rc src_heads 0
expect_json src_heads '.nodes[id='"$want_heads"'].branch_labels' '["reporting"]'
(cd "$srcp" && run src_lint lint)
expect_rc src_lint 0
expect_in src_lint out "7 revisions, 0 errors"
expect_not_in src_lint out MS030
sed -i 's|^prepend_sys_path = .*|prepend_sys_path = %(here)s/nowhere|' "$srcp/alembic.ini"
(cd "$srcp" && run src_lint2 lint)
expect_rc src_lint2 0
expect_in src_lint2 out "MS030"

(cd "$proj" && run inv inventory --format json)
expect_rc inv 0
expect_json inv '.migrations.executor' alembic
expect_json inv '.migrations.alembic_ini' "$proj/alembic.ini"
expect_json inv '.migrations.scripts' "[\"$proj/migrations/versions\", \"$proj/migrations/reporting\"]"
expect_json inv '.migrations.python' =~ 'python3?$'
expect_json inv '.migrations.alembic_version' =~ '^[0-9]+\.[0-9]+'

alembic_in c_dev upgrade 9c4f6a0e7b12 >/dev/null || fail "alembic upgrade 9c4f6a0e7b12"
want_current=$(alembic_in c_dev current | first_words)
(cd "$proj" && run st1 status --format json)
expect_rc st1 0
expect_json st1 '.environments[environment=dev].heads' "[\"$want_current\"]"
expect_json st1 '.environments[environment=dev].state' behind
(cd "$proj" && run up1 apply -e dev --yes)
expect_rc up1 0
want_current=$(alembic_in c_dev current | first_words)
[ "$want_current" = "$want_heads" ] && pass "after apply, alembic current is the head" ||
	fail "after apply: alembic current \"$want_current\", heads \"$want_heads\""
(cd "$proj" && run st2 status --format json)
expect_rc st2 0
expect_json st2 '.environments[environment=dev].state' current

# env.py keeps its rows in stockapp_version: an inventory that says otherwise is warned
sed -i '/version_table: stockapp_version/d' "$inv/dev.yaml"
(cd "$proj" && run vt status)
expect_in vt err 'environment "dev": version_table is "alembic_version" but env.py configures version_table="stockapp_version"'
expect_in vt err 'set version_table: stockapp_version under database:'
# migsync inventory shows that warning as every other command does, word for word
vt_line=$(grep -F 'version_table is "alembic_version"' "$tmp/vt.err")
check "status: the warning is \"migsync: warning: env.py:LINE: ...\"" \
	grep -qE '^migsync: warning: .*/env\.py:[0-9]+: environment "dev"' "$tmp/vt.err"
(cd "$proj" && run vt_inv inventory)
expect_rc vt_inv 0
expect_in vt_inv err "$vt_line"
printf '  version_table: stockapp_version\n' >>"$inv/dev.yaml"

# the inventory's scripts must be alembic.ini's locations
printf 'project: stockapp\nmigrations: { scripts: ../migrations/versions }\nrollout: [dev]\n' \
	>"$inv/inventory.yaml"
(cd "$proj" && run differ status)
expect_rc differ 2
expect_in differ err "migrations.scripts (migrations/versions) and the version locations of \"$proj/alembic.ini\" ($proj/migrations/versions, $proj/migrations/reporting) name different directories"
rm -rf "$inv"

# --- one database, no inventory: --url, then DATABASE_URL ----------------
(cd "$proj" && run one1 status --url "$(url_of c_one)" --format json)
expect_rc one1 0
expect_json one1 '.environments[environment=default].state' uninitialized
(cd "$proj" && run one_plan plan --url "$(url_of c_one)")
expect_rc one_plan 0
expect_in one_plan out "(none) -> $want_heads (7 steps)"
(cd "$proj" && run one_apply apply --url "$(url_of c_one)" --yes)
expect_rc one_apply 0
got=$(alembic_in c_one current | first_words)
[ "$got" = "$want_heads" ] && pass "apply --url: alembic current is the head" ||
	fail "apply --url: alembic current \"$got\", want \"$want_heads\""
(cd "$proj" && run one2 status --url "$(url_of c_one)" --format json)
expect_rc one2 0
expect_json one2 '.environments[environment=default].heads' "[\"$want_heads\"]"
expect_json one2 '.environments[environment=default].state' current

alembic_in c_env upgrade 5e0b8d21f9a3 >/dev/null || fail "alembic upgrade 5e0b8d21f9a3"
(cd "$proj" && run env1 DATABASE_URL="$(url_of c_env)" status --format json)
expect_rc env1 0
expect_json env1 '.environments[environment=default].heads' '["5e0b8d21f9a3"]'
expect_json env1 '.environments[environment=default].state' behind
(cd "$proj" && run env_hook DATABASE_URL="$(url_of c_env)" hook)
expect_rc env_hook 0
got=$(alembic_in c_env current | first_words)
[ "$got" = "$want_heads" ] && pass "hook with DATABASE_URL: alembic current is the head" ||
	fail "hook with DATABASE_URL: alembic current \"$got\""
(cd "$proj" && run both status --url "$(url_of c_env)" -i "$tmp")
expect_rc both 2
expect_in both err "--url and -i"
(cd "$proj" && run badurl status --url "postgresql://u:$SECRET@h/d?nosuch=1")
expect_rc badurl 2
expect_in badurl err "the database URL: libpq cannot parse it"

if grep -qF "$SECRET" "$tmp"/*.out "$tmp"/*.err; then
	fail "the URL's password appears in the output: $(grep -lF "$SECRET" "$tmp"/*.out "$tmp"/*.err)"
else
	pass "the URL's password never appears in the output"
fi

finish alembic_config
