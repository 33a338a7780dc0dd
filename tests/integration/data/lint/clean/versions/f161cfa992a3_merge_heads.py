"""merge heads

Revision ID: f161cfa992a3
Revises: 426416e5c800, b4e657a75beb
Create Date: 2025-08-24 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = "f161cfa992a3"
down_revision = ("426416e5c800", "b4e657a75beb")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
