"""add stock_daily.amount (branch a)

Revision ID: 9c4f6a0e7b12
Revises: 5e0b8d21f9a3
"""
from alembic import op
import sqlalchemy as sa

revision = "9c4f6a0e7b12"
down_revision = "5e0b8d21f9a3"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("stock_daily", sa.Column("amount", sa.Float))


def downgrade():
    op.drop_column("stock_daily", "amount")
