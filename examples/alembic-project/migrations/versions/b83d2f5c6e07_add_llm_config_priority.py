"""add llm_configs.priority (branch b)

Revision ID: b83d2f5c6e07
Revises: 5e0b8d21f9a3
"""
from alembic import op
import sqlalchemy as sa

revision = "b83d2f5c6e07"
down_revision = "5e0b8d21f9a3"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("llm_configs",
                  sa.Column("priority", sa.Integer, nullable=False, server_default="100"))


def downgrade():
    op.drop_column("llm_configs", "priority")
