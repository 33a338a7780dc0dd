"""Alembic environment for schema-per-tenant migrations.

Alembic's cookbook recipe "Rudimental Schema-Level Multi Tenancy for
PostgreSQL Databases": the tenant comes from `-x tenant=NAME` (migsync
passes it for each tenant schema), the connection's search_path is set
to that schema alone, and the dialect's default schema follows it, so
that every CREATE and ALTER of a revision lands in the tenant's schema.
The version table is the tenant's too (migsync's driver passes
version_table_schema=NAME unless this file names one). The database is
DATABASE_URL, as migsync hands it over.
"""
import os
from logging.config import fileConfig

from alembic import context
from sqlalchemy import create_engine, pool, text

config = context.config
if config.config_file_name is not None:
    fileConfig(config.config_file_name)

tenant = context.get_x_argument(as_dictionary=True).get("tenant")
if not tenant:
    raise SystemExit("give the tenant schema with -x tenant=NAME")

url = os.environ["DATABASE_URL"]
if url.startswith("postgres://"):
    url = "postgresql://" + url[len("postgres://"):]

with create_engine(url, poolclass=pool.NullPool).connect() as connection:
    connection.execute(text('set search_path to "%s"' % tenant.replace('"', '""')))
    if hasattr(connection, "commit"):   # SQLAlchemy 2: keep the setting past the next transaction
        connection.commit()
    connection.dialect.default_schema_name = tenant
    context.configure(connection=connection, version_table_schema=tenant)
    with context.begin_transaction():
        context.run_migrations()
