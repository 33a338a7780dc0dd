"""after the broken one

Revision ID: 1608e1af84be
Revises: fd5f06cf6e5a
Create Date: 2025-08-24 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = "1608e1af84be"
down_revision = "fd5f06cf6e5a"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("t_1608e1af84be", sa.Column("id", sa.Integer, primary_key=True))


def downgrade() -> None:
    pass
