"""add stock_daily.amount (branch a)

Revision ID: c0ff00000003
Revises: c0ff00000002
"""
from alembic import op
import sqlalchemy as sa

revision = "c0ff00000003"
down_revision = "c0ff00000002"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("stock_daily", sa.Column("amount", sa.Float))


def downgrade():
    op.drop_column("stock_daily", "amount")
