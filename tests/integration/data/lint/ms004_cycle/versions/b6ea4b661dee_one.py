"""one

Revision ID: b6ea4b661dee
Revises: ce8364eea93f
Create Date: 2025-08-24 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = "b6ea4b661dee"
down_revision = "ce8364eea93f"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("t_b6ea4b661dee", sa.Column("id", sa.Integer, primary_key=True))


def downgrade() -> None:
    op.drop_table("t_b6ea4b661dee")
