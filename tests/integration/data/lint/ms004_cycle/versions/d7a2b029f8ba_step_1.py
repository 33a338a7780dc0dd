"""step 1 of the history

Revision ID: d7a2b029f8ba
Revises: 
Create Date: 2025-08-24 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = "d7a2b029f8ba"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("t_d7a2b029f8ba", sa.Column("id", sa.Integer, primary_key=True))


def downgrade() -> None:
    op.drop_table("t_d7a2b029f8ba")
