"""step 2 of the history

Revision ID: 6a70263679f8
Revises: fbf1c0e0c67c
Create Date: 2025-08-24 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = "6a70263679f8"
down_revision = "fbf1c0e0c67c"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("t_6a70263679f8", sa.Column("id", sa.Integer, primary_key=True))


def downgrade() -> None:
    op.drop_table("t_6a70263679f8")
