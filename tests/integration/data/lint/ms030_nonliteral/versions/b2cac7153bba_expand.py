"""expand

Revision ID: b2cac7153bba
Revises: 19b0da72efd1
Create Date: 2025-08-24 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = "b2cac7153bba"
down_revision = "19b0da72efd1"
branch_labels = (cli.EXPAND_BRANCH,)
depends_on = None


def upgrade() -> None:
    op.create_table("t_b2cac7153bba", sa.Column("id", sa.Integer, primary_key=True))


def downgrade() -> None:
    op.drop_table("t_b2cac7153bba")
