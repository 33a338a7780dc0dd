# The setup the Alembic project tests share (alembic_apply.sh,
# alembic_config.sh): a copy of examples/alembic-project run with the real
# Alembic of /usr/bin/python3 against a throwaway PostgreSQL. Source this
# file after lib/common.sh and lib/pg.sh.
#
#   alembic_project_setup NAME PASSWORD DB...
#                       skip the whole test when /usr/bin/python3 lacks
#                       alembic, sqlalchemy or psycopg2; start PostgreSQL;
#                       make the work directory $tmp (migsync-NAME.*);
#                       copy the example project to $proj (no __pycache__,
#                       and Python writes none); create $PG_PASSWORD_USER
#                       with PASSWORD and the databases DB..., owned by it.
#                       Sets PY (the interpreter) and proj.

alembic_project_setup() {
	local name=$1 password=$2 db

	shift 2
	PY=/usr/bin/python3
	if ! $PY -c 'import alembic, sqlalchemy, psycopg2' 2>/dev/null; then
		skip_all "python3 with alembic, sqlalchemy and psycopg2 not found"
	fi
	pg_up
	work_dir "$name"
	export PYTHONDONTWRITEBYTECODE=1
	proj=$tmp/proj
	mkdir -p "$proj"
	cp -r "$SRC_ROOT/examples/alembic-project/." "$proj/" ||
		FAIL_GOES_ON= fail "copy the example project"
	find "$proj" -name __pycache__ -prune -exec rm -rf {} +
	pg_add_password_user "$PG_PASSWORD_USER" "$password" || FAIL_GOES_ON= fail "password user"
	for db in "$@"; do
		pg_psql -d postgres -c "CREATE DATABASE $db OWNER $PG_PASSWORD_USER" >/dev/null ||
			FAIL_GOES_ON= fail "createdb $db"
	done
}
