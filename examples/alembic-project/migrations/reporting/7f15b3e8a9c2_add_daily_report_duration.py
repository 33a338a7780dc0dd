"""add daily_report.duration_ms: how long the day's sync took

Revision ID: 7f15b3e8a9c2
Revises: 4d6e0c7a1f58
"""
from alembic import op
import sqlalchemy as sa

revision = "7f15b3e8a9c2"
down_revision = "4d6e0c7a1f58"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("daily_report", sa.Column("duration_ms", sa.Integer))


def downgrade():
    op.drop_column("daily_report", "duration_ms")
