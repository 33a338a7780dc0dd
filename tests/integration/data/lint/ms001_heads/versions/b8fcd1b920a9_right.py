"""add right

Revision ID: b8fcd1b920a9
Revises: cc7a4e3e5774
Create Date: 2025-08-24 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = "b8fcd1b920a9"
down_revision = "cc7a4e3e5774"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("t_b8fcd1b920a9", sa.Column("id", sa.Integer, primary_key=True))


def downgrade() -> None:
    op.drop_table("t_b8fcd1b920a9")
