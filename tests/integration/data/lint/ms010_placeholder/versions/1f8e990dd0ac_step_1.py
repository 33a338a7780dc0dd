"""step 1 of the history

Revision ID: 1f8e990dd0ac
Revises: 
Create Date: 2025-08-24 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = "1f8e990dd0ac"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("t_1f8e990dd0ac", sa.Column("id", sa.Integer, primary_key=True))


def downgrade() -> None:
    op.drop_table("t_1f8e990dd0ac")
