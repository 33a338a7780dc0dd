"""nothing yet

Revision ID: 8512b2246524
Revises: 899623ad80ee
Create Date: 2025-08-24 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = "8512b2246524"
down_revision = "899623ad80ee"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    op.drop_table("t_8512b2246524")
