"""add sync tables: sync tasks and failure records

Revision ID: 5e0b8d21f9a3
Revises: 1a7c3e9b2d40
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = "5e0b8d21f9a3"
down_revision = "1a7c3e9b2d40"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "sync_tasks",
        sa.Column("id", postgresql.UUID(as_uuid=True), primary_key=True),
        sa.Column("job_type", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("current_offset", sa.Integer, nullable=False, server_default="0"),
        sa.Column("batch_size", sa.Integer, nullable=False, server_default="50"),
        sa.Column("total_processed", sa.Integer, nullable=False, server_default="0"),
        sa.Column("started_at", sa.DateTime(timezone=True)),
        sa.Column("updated_at", sa.DateTime(timezone=True)),
        sa.Column("completed_at", sa.DateTime(timezone=True)),
        sa.Column("config", sa.JSON),
    )
    op.create_table(
        "sync_failure_records",
        sa.Column("id", postgresql.UUID(as_uuid=True), primary_key=True),
        sa.Column("job_type", sa.String(32), nullable=False),
        sa.Column("third_code", sa.String(16), nullable=False),
        sa.Column("error_message", sa.Text),
        sa.Column("retry_count", sa.Integer, nullable=False, server_default="0"),
        sa.Column("max_retries", sa.Integer, nullable=False, server_default="3"),
        sa.Column("last_attempt_at", sa.DateTime(timezone=True)),
        sa.Column("resolved_at", sa.DateTime(timezone=True)),
    )


def downgrade():
    op.drop_table("sync_failure_records")
    op.drop_table("sync_tasks")
