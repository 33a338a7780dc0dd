"""add users

Revision ID: df1659e3227b
Revises: 8043810dbc3c
Create Date: 2025-08-24 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = "df1659e3227b"
down_revision = "8043810dbc3c"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("t_df1659e3227b", sa.Column("id", sa.Integer, primary_key=True))


def downgrade() -> None:
    op.drop_table("t_df1659e3227b")
