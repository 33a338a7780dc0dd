"""two

Revision ID: ce8364eea93f
Revises: b6ea4b661dee
Create Date: 2025-08-24 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = "ce8364eea93f"
down_revision = "b6ea4b661dee"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("t_ce8364eea93f", sa.Column("id", sa.Integer, primary_key=True))


def downgrade() -> None:
    op.drop_table("t_ce8364eea93f")
