"""add the daily report table (reporting branch)

Revision ID: 4d6e0c7a1f58
Revises: e21a9f4c8d36
"""
from alembic import op
import sqlalchemy as sa

from stockapp import labels

revision = "4d6e0c7a1f58"
down_revision = "e21a9f4c8d36"
branch_labels = (labels.REPORTING_BRANCH,)
depends_on = None


def upgrade():
    op.create_table(
        "daily_report",
        sa.Column("trade_date", sa.Date, primary_key=True),
        sa.Column("stocks_synced", sa.Integer, nullable=False, server_default="0"),
        sa.Column("failures", sa.Integer, nullable=False, server_default="0"),
        sa.Column("summary", sa.Text),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
    )


def downgrade():
    op.drop_table("daily_report")
