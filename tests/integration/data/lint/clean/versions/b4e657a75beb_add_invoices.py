"""add invoices

Revision ID: b4e657a75beb
Revises: 6a70263679f8
Create Date: 2025-08-24 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = "b4e657a75beb"
down_revision = "6a70263679f8"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("t_b4e657a75beb", sa.Column("id", sa.Integer, primary_key=True))


def downgrade() -> None:
    op.drop_table("t_b4e657a75beb")
