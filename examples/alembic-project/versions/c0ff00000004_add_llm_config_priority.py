"""add llm_configs.priority (branch b)

Revision ID: c0ff00000004
Revises: c0ff00000002
"""
from alembic import op
import sqlalchemy as sa

revision = "c0ff00000004"
down_revision = "c0ff00000002"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("llm_configs",
                  sa.Column("priority", sa.Integer, nullable=False, server_default="100"))


def downgrade():
    op.drop_column("llm_configs", "priority")
