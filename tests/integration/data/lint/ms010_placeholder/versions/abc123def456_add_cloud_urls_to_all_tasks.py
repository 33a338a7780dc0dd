"""add cloud urls to all tasks

Revision ID: abc123def456
Revises: 1f8e990dd0ac
Create Date: 2025-08-24 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = "abc123def456"
down_revision = "1f8e990dd0ac"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("t_abc123def456", sa.Column("id", sa.Integer, primary_key=True))


def downgrade() -> None:
    op.drop_table("t_abc123def456")
