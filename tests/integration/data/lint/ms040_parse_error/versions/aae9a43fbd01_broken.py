"""broken

Revision ID: aae9a43fbd01
Revises: fd5f06cf6e5a
Create Date: 2025-08-24 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = make_id()
down_revision = "fd5f06cf6e5a"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("t_aae9a43fbd01", sa.Column("id", sa.Integer, primary_key=True))


def downgrade() -> None:
    op.drop_table("t_aae9a43fbd01")
