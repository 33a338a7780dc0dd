"""step 1 of the history

Revision ID: ed3b1f9a2b18
Revises: 
Create Date: 2025-08-24 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = "ed3b1f9a2b18"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("t_ed3b1f9a2b18", sa.Column("id", sa.Integer, primary_key=True))


def downgrade() -> None:
    op.drop_table("t_ed3b1f9a2b18")
