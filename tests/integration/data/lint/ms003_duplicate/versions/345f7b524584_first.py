"""first

Revision ID: 345f7b524584
Revises: faa6fa0b1419
Create Date: 2025-08-24 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = "345f7b524584"
down_revision = "faa6fa0b1419"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("t_345f7b524584", sa.Column("id", sa.Integer, primary_key=True))


def downgrade() -> None:
    op.drop_table("t_345f7b524584")
