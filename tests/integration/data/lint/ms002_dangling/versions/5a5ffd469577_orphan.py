"""orphan

Revision ID: 5a5ffd469577
Revises: 275b6fc6bc2f
Create Date: 2025-08-24 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = "5a5ffd469577"
down_revision = "275b6fc6bc2f"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("t_5a5ffd469577", sa.Column("id", sa.Integer, primary_key=True))


def downgrade() -> None:
    op.drop_table("t_5a5ffd469577")
