"""Alembic environment of the stock assistant.

The database URL comes from the application's settings (stockapp.settings,
which reads DATABASE_URL from the environment), never from alembic.ini.
Applied revisions are kept in the table "stockapp_version" instead of
Alembic's default "alembic_version": inventories of this project say
`version_table: stockapp_version` for each database.

migsync runs `python -m alembic -c alembic.ini -x env=NAME upgrade REV`
with DATABASE_URL in the environment; `-x env=NAME` names the inventory
environment (context.get_x_argument()).
"""
from logging.config import fileConfig

from alembic import context
from sqlalchemy import create_engine, pool

from stockapp import settings
from stockapp.models import Base

config = context.config
if config.config_file_name is not None:
    fileConfig(config.config_file_name)

target_metadata = Base.metadata


def database_url():
    if not settings.DATABASE_URL:
        raise SystemExit("DATABASE_URL is not set: stockapp.settings has no database")
    return settings.DATABASE_URL


def run_migrations_offline():
    context.configure(url=database_url(), target_metadata=target_metadata,
                      literal_binds=True, version_table="stockapp_version")
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online():
    engine = create_engine(database_url(), poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata,
                          version_table="stockapp_version",
                          transaction_per_migration=True)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
