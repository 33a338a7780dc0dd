"""forward only

Revision ID: 054aeaf4af10
Revises: b0f3a8aabee7
Create Date: 2025-08-24 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = "054aeaf4af10"
down_revision = "b0f3a8aabee7"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("t_054aeaf4af10", sa.Column("id", sa.Integer, primary_key=True))

