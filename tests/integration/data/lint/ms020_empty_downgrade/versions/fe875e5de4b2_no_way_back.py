"""no way back

Revision ID: fe875e5de4b2
Revises: 0ed441e37741
Create Date: 2025-08-24 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = "fe875e5de4b2"
down_revision = "0ed441e37741"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("t_fe875e5de4b2", sa.Column("id", sa.Integer, primary_key=True))


def downgrade() -> None:
    pass
