"""final merge

Revision ID: f74da88f4012
Revises: e178677e25da
Create Date: 2025-08-24 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = "f74da88f4012"
down_revision = "e178677e25da"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("t_f74da88f4012", sa.Column("id", sa.Integer, primary_key=True))


def downgrade() -> None:
    op.drop_table("t_f74da88f4012")
