"""Settings of the stock assistant, read from the environment.

DATABASE_URL is the SQLAlchemy URL of the application's database, e.g.
postgresql://app@db.internal:5432/stock. The deploy platform (or migsync,
when it runs Alembic) sets it.
"""
import os

DATABASE_URL = os.environ.get("DATABASE_URL", "")
