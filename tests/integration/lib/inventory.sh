# Temporary inventories, native SQL revisions and small Alembic projects
# for integration tests and benchmarks. Source this file after lib/pg.sh
# and pg_start (it reads PGPORT).
#
#   inv_create DIR [OPTION]... ENV=DBNAME...
#                       an inventory directory DIR (inventory.yaml and one
#                       ENV.yaml per environment, rollout in the order given),
#                       every environment on the pg.sh server as postgres,
#                       gate approvals 0. Options:
#                         --scripts PATH     versions directory (default DIR/../versions)
#                         --executor NAME    sql (default) or alembic
#                         --alembic-ini PATH required with --executor alembic
#                         --lock-wait DUR    database.lock_wait (default 60s)
#                         --env-yaml TEXT    extra YAML appended to every ENV.yaml
#                       Paths are written absolute. The versions directory is
#                       created when missing.
#   inv_sql_rev [-n] [-m MESSAGE] [-d DEPENDS] DIR ID DOWN UP_SQL [DOWN_SQL]
#                       write DIR/ID_rev.sql, a native SQL revision. DOWN is ""
#                       for a base, or space-separated ids (a merge); -n marks
#                       it `-- migsync:transaction false`. DOWN_SQL defaults
#                       to nothing (an empty down section).
#   inv_accounts_revs DIR R1 R2 R3
#                       three native SQL revisions in DIR, a chain: R1 creates
#                       accounts (id), R2 adds its column name, R3 indexes it
#                       (accounts_name)
#   inv_alembic_project DIR
#                       a minimal Alembic project: DIR/alembic.ini,
#                       DIR/migrations/env.py (reads DATABASE_URL, psycopg2;
#                       a postgresql:// URL or a libpq keyword=value string;
#                       ALEMBIC_TRANSACTION_PER_MIGRATION=1 commits each
#                       revision on its own, else one transaction for all),
#                       DIR/migrations/script.py.mako, DIR/migrations/versions/.
#   inv_alembic_rev DIR ID DOWN UP_SQL [DOWN_SQL]
#                       write DIR/ID_rev.py, an Alembic revision whose
#                       upgrade() is op.execute(UP_SQL) (DOWN as for inv_sql_rev)
#   inv_sql_to_alembic SQL_DIR PY_DIR
#                       the same graph as Alembic scripts: every native SQL
#                       revision of SQL_DIR (revision, down_revision,
#                       depends_on, up and down sections) as a .py file in
#                       PY_DIR, so that migsync and Alembic can be compared
#                       on the same revisions
#   inv_db_url DBNAME   postgresql://postgres@127.0.0.1:$PGPORT/DBNAME
#   inv_gated DIR PROJECT DEFAULTS ENV=APPROVALS...
#                       an inventory directory DIR for the native SQL
#                       revisions in DIR/../versions: rollout in the order
#                       given, defaults.database { DEFAULTS }, and for each
#                       environment ENV.yaml (the database ENV on the pg.sh
#                       server as postgres, gate.approvals APPROVALS), the
#                       database created empty. Append to ENV.yaml for more.
#   inv_head DIR PROJECT SCRIPTS DEFAULTS ENV...
#                       DIR/inventory.yaml alone: native SQL revisions in
#                       SCRIPTS (as given: absolute, or relative to DIR),
#                       rollout ENV... in the order given, defaults.database
#                       { DEFAULTS } (none when DEFAULTS is "")
#   inv_env DIR NAME DBNAME [PORT [USER [CONNECT_TIMEOUT]]]
#                       DIR/NAME.yaml: the database DBNAME on 127.0.0.1:PORT
#                       (default $PGPORT) as USER (postgres), connect_timeout
#                       CONNECT_TIMEOUT (20), no gate. Append for more.
#
# Everything runs as the pg.sh superuser over TCP with trust authentication.

inv_db_url() {
	echo "postgresql://postgres@127.0.0.1:$PGPORT/$1"
}

inv_gated() {
	local dir=$1 project=$2 defaults=$3 pair name envs=()

	shift 3
	mkdir -p "$dir" || return 1
	for pair in "$@"; do
		name=${pair%%=*}
		envs+=("$name")
		{
			echo "database: { host: 127.0.0.1, port: $PGPORT, dbname: $name, user: postgres }"
			echo "gate:"
			echo "  approvals: ${pair#*=}"
		} >"$dir/$name.yaml" || return 1
		pg_psql -d postgres -c "CREATE DATABASE $name" >/dev/null || return 1
	done
	inv_head "$dir" "$project" ../versions "$defaults" "${envs[@]}"
}

inv_head() {
	local dir=$1 project=$2 scripts=$3 defaults=$4 rollout

	shift 4
	rollout=$(printf '%s, ' "$@")
	mkdir -p "$dir" || return 1
	{
		echo "project: $project"
		echo "migrations:"
		echo "  scripts: $scripts"
		echo "  executor: sql"
		echo "rollout: [${rollout%, }]"
		if [ -n "$defaults" ]; then
			echo "defaults:"
			echo "  database: { $defaults }"
		fi
	} >"$dir/inventory.yaml"
}

inv_env() {
	mkdir -p "$1" || return 1
	{
		echo "database:"
		echo "  host: 127.0.0.1"
		echo "  port: ${4:-$PGPORT}"
		echo "  dbname: $3"
		echo "  user: ${5:-postgres}"
		echo "  connect_timeout: ${6:-20}"
	} >"$1/$2.yaml"
}

# An absolute path for $1 (which need not exist yet).
_inv_abspath() {
	case $1 in
	/*) echo "$1" ;;
	*) echo "$PWD/$1" ;;
	esac
}

inv_create() {
	local dir scripts= executor=sql ini= lock_wait=60s env_yaml= pair name db rollout=

	dir=$(_inv_abspath "$1")
	shift
	while [ $# -gt 0 ]; do
		case $1 in
		--scripts) scripts=$(_inv_abspath "$2"); shift 2 ;;
		--executor) executor=$2; shift 2 ;;
		--alembic-ini) ini=$(_inv_abspath "$2"); shift 2 ;;
		--lock-wait) lock_wait=$2; shift 2 ;;
		--env-yaml) env_yaml=$2; shift 2 ;;
		--) shift; break ;;
		-*) echo "inv_create: unknown option $1" >&2; return 2 ;;
		*) break ;;
		esac
	done
	[ $# -gt 0 ] || { echo "inv_create: no ENV=DBNAME given" >&2; return 2; }
	[ -n "$scripts" ] || scripts=$(dirname "$dir")/versions
	if [ "$executor" = alembic ] && [ -z "$ini" ]; then
		echo "inv_create: --executor alembic needs --alembic-ini" >&2
		return 2
	fi
	mkdir -p "$dir" "$scripts" || return 1

	for pair in "$@"; do
		name=${pair%%=*}
		db=${pair#*=}
		if [ -z "$name" ] || [ "$name" = "$pair" ] || [ -z "$db" ]; then
			echo "inv_create: expected ENV=DBNAME, got \"$pair\"" >&2
			return 2
		fi
		rollout="$rollout${rollout:+, }$name"
		{
			echo "name: $name"
			echo "database:"
			echo "  host: 127.0.0.1"
			echo "  port: $PGPORT"
			echo "  dbname: $db"
			echo "  user: postgres"
			echo "  sslmode: disable"
			echo "  connect_timeout: 10"
			echo "  lock_wait: $lock_wait"
			echo "gate:"
			echo "  approvals: 0"
			if [ -n "$env_yaml" ]; then printf '%s\n' "$env_yaml"; fi
		} >"$dir/$name.yaml" || return 1
	done

	{
		echo "project: migsync-test"
		echo "migrations:"
		echo "  scripts: $scripts"
		echo "  executor: $executor"
		if [ -n "$ini" ]; then echo "  alembic_ini: $ini"; fi
		echo "  python: /usr/bin/python3"
		echo "rollout: [$rollout]"
	} >"$dir/inventory.yaml"
}

inv_sql_rev() {
	local notx= message= depends= OPTIND=1 opt

	while getopts 'nm:d:' opt; do
		case $opt in
		n) notx=1 ;;
		m) message=$OPTARG ;;
		d) depends=$OPTARG ;;
		*) return 2 ;;
		esac
	done
	shift $((OPTIND - 1))
	[ $# -ge 4 ] || { echo "inv_sql_rev: DIR ID DOWN UP_SQL [DOWN_SQL]" >&2; return 2; }
	{
		echo "-- migsync:revision $2"
		echo "-- migsync:down_revision ${3:-none}"
		if [ -n "$depends" ]; then echo "-- migsync:depends_on $depends"; fi
		echo "-- migsync:message ${message:-revision $2}"
		if [ -n "$notx" ]; then echo "-- migsync:transaction false"; fi
		echo
		echo "-- migsync:up"
		printf '%s\n' "$4"
		echo
		echo "-- migsync:down"
		if [ -n "${5:-}" ]; then printf '%s\n' "$5"; fi
	} >"$1/$2_rev.sql"
}

inv_accounts_revs() {
	inv_sql_rev "$1" "$2" "" "CREATE TABLE accounts (id int PRIMARY KEY);" "DROP TABLE accounts;" &&
		inv_sql_rev "$1" "$3" "$2" "ALTER TABLE accounts ADD COLUMN name text;" \
			"ALTER TABLE accounts DROP COLUMN name;" &&
		inv_sql_rev "$1" "$4" "$3" "CREATE INDEX accounts_name ON accounts (name);" \
			"DROP INDEX accounts_name;"
}

inv_alembic_project() {
	local dir=$1

	mkdir -p "$dir/migrations/versions" || return 1
	cat >"$dir/alembic.ini" <<-'EOF'
	[alembic]
	script_location = %(here)s/migrations

	[loggers]
	keys = root,sqlalchemy,alembic

	[handlers]
	keys = console

	[formatters]
	keys = generic

	[logger_root]
	level = WARN
	handlers = console

	[logger_sqlalchemy]
	level = WARN
	handlers =
	qualname = sqlalchemy.engine

	[logger_alembic]
	level = INFO
	handlers =
	qualname = alembic

	[handler_console]
	class = StreamHandler
	args = (sys.stderr,)
	level = NOTSET
	formatter = generic

	[formatter_generic]
	format = %(levelname)-5.5s [%(name)s] %(message)s
	EOF
	cat >"$dir/migrations/env.py" <<-'EOF'
	"""Alembic environment for migsync tests: the database is DATABASE_URL."""
	import os
	from logging.config import fileConfig

	from alembic import context
	from sqlalchemy import create_engine, pool

	config = context.config
	if config.config_file_name is not None:
	    fileConfig(config.config_file_name)

	url = os.environ["DATABASE_URL"]


	def engine():
	    if "://" in url:
	        u = url
	        if u.startswith("postgres://"):
	            u = "postgresql://" + u[len("postgres://"):]
	        return create_engine(u, poolclass=pool.NullPool)
	    # a libpq keyword=value conninfo
	    import psycopg2
	    return create_engine("postgresql+psycopg2://", poolclass=pool.NullPool,
	                         creator=lambda: psycopg2.connect(url))


	if context.is_offline_mode():
	    context.configure(url=url, literal_binds=True)
	    with context.begin_transaction():
	        context.run_migrations()
	else:
	    with engine().connect() as connection:
	        context.configure(connection=connection, transaction_per_migration=
	                          os.environ.get("ALEMBIC_TRANSACTION_PER_MIGRATION") == "1")
	        with context.begin_transaction():
	            context.run_migrations()
	EOF
	cat >"$dir/migrations/script.py.mako" <<-'EOF'
	"""${message}

	Revision ID: ${up_revision}
	Revises: ${down_revision | comma,n}
	"""
	from alembic import op

	revision = ${repr(up_revision)}
	down_revision = ${repr(down_revision)}
	branch_labels = ${repr(branch_labels)}
	depends_on = ${repr(depends_on)}


	def upgrade():
	    ${upgrades if upgrades else "pass"}


	def downgrade():
	    ${downgrades if downgrades else "pass"}
	EOF
}

# The Python literal for DOWN ("" -> None, "a" -> 'a', "a b" -> ('a', 'b')).
_inv_py_down() {
	set -- $1
	case $# in
	0) echo None ;;
	1) echo "'$1'" ;;
	*) printf "("; printf "'%s', " "$@"; printf ")\n" ;;
	esac
}

inv_alembic_rev() {
	[ $# -ge 4 ] || { echo "inv_alembic_rev: DIR ID DOWN UP_SQL [DOWN_SQL]" >&2; return 2; }
	"$PYTHON" - "$1/$2_rev.py" "$2" "$(_inv_py_down "$3")" "$4" "${5:-}" <<-'EOF'
	import sys
	path, rev, down, up, dn = sys.argv[1:6]
	with open(path, "w") as f:
	    f.write('"""revision %s\n\nRevision ID: %s\n"""\n' % (rev, rev))
	    f.write("from alembic import op\n\n")
	    f.write("revision = %r\ndown_revision = %s\nbranch_labels = None\ndepends_on = None\n\n\n" % (rev, down))
	    f.write("def upgrade():\n    op.execute(%r)\n\n\n" % up)
	    f.write("def downgrade():\n    %s\n" % ("op.execute(%r)" % dn if dn.strip() else "pass"))
	EOF
}

inv_sql_to_alembic() {
	mkdir -p "$2" || return 1
	"$PYTHON" - "$1" "$2" <<-'EOF'
	import glob, os, re, sys
	src, dst = sys.argv[1:3]
	def ids(v):
	    v = v.split()
	    v = [x for x in v if x.lower() != "none"]
	    if not v:
	        return "None"
	    return repr(v[0]) if len(v) == 1 else repr(tuple(v))
	for path in sorted(glob.glob(os.path.join(src, "*.sql"))):
	    head = {}
	    sections = {"up": [], "down": []}
	    cur = None
	    for line in open(path, encoding="utf-8"):
	        m = re.match(r"--\s*migsync:(\w+)\s*(.*?)\s*$", line)
	        if m and m.group(1) in ("up", "down"):
	            cur = m.group(1)
	            continue
	        if m and cur is None:
	            head[m.group(1)] = m.group(2)
	            continue
	        if cur:
	            sections[cur].append(line)
	    rev = head["revision"]
	    notx = head.get("transaction", "true").lower() == "false"
	    up = "".join(sections["up"]).strip()
	    down = "".join(sections["down"]).strip()
	    with open(os.path.join(dst, "%s_rev.py" % rev), "w", encoding="utf-8") as f:
	        f.write('"""%s\n\nRevision ID: %s\n"""\n' % (head.get("message", rev), rev))
	        f.write("from alembic import op\n\n")
	        f.write("revision = %r\ndown_revision = %s\nbranch_labels = None\ndepends_on = %s\n\n\n"
	                % (rev, ids(head.get("down_revision", "")), ids(head.get("depends_on", ""))))
	        f.write("def upgrade():\n")
	        if notx:
	            f.write("    with op.get_context().autocommit_block():\n        op.execute(%r)\n\n\n" % up)
	        else:
	            f.write("    op.execute(%r)\n\n\n" % up if up else "    pass\n\n\n")
	        f.write("def downgrade():\n    %s\n" % ("op.execute(%r)" % down if down else "pass"))
	EOF
}
