"""needs another

Revision ID: b4764bda51c8
Revises: 59764a818b0c
Create Date: 2025-08-24 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = "b4764bda51c8"
down_revision = "59764a818b0c"
branch_labels = None
depends_on = ("fe5e162c3047",)


def upgrade() -> None:
    op.create_table("t_b4764bda51c8", sa.Column("id", sa.Integer, primary_key=True))


def downgrade() -> None:
    op.drop_table("t_b4764bda51c8")
