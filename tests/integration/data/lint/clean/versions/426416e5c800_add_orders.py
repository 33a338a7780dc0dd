"""add orders

Revision ID: 426416e5c800
Revises: 6a70263679f8
Create Date: 2025-08-24 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = "426416e5c800"
down_revision = "6a70263679f8"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("t_426416e5c800", sa.Column("id", sa.Integer, primary_key=True))


def downgrade() -> None:
    op.drop_table("t_426416e5c800")
