"""initial schema: stock info, daily bars, finance, llm configs

Revision ID: 1a7c3e9b2d40
Revises:
"""
from alembic import op
import sqlalchemy as sa

revision = "1a7c3e9b2d40"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "stock_info",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("third_code", sa.String(16), nullable=False, unique=True),
        sa.Column("symbol", sa.String(16), nullable=False, unique=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("industry", sa.String(64)),
        sa.Column("market", sa.String(16)),
        sa.Column("list_date", sa.Date),
        sa.Column("source", sa.String(16), nullable=False, server_default="tushare"),
        sa.Column("last_finance_sync_date", sa.Date),
    )
    op.create_table(
        "stock_daily",
        sa.Column("third_code", sa.String(16), primary_key=True),
        sa.Column("trade_date", sa.Date, primary_key=True),
        sa.Column("open", sa.Float),
        sa.Column("close", sa.Float),
        sa.Column("vol", sa.Float),
        sa.Column("source", sa.String(16), nullable=False, server_default="tushare"),
    )
    op.create_index("ix_stock_daily_trade_date", "stock_daily", ["trade_date"])
    op.create_table(
        "stock_finance",
        sa.Column("third_code", sa.String(16), primary_key=True),
        sa.Column("ann_date", sa.Date, primary_key=True),
        sa.Column("end_date", sa.Date, primary_key=True),
        sa.Column("eps", sa.Float),
        sa.Column("roe", sa.Float),
        sa.Column("source", sa.String(16), nullable=False, server_default="tushare"),
    )
    op.create_table(
        "llm_configs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("alias", sa.String(64), nullable=False, unique=True),
        sa.Column("vendor", sa.String(32), nullable=False),
        sa.Column("provider_type", sa.String(32), nullable=False),
        sa.Column("model_name", sa.String(64), nullable=False),
        sa.Column("is_active", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
    )


def downgrade():
    op.drop_table("llm_configs")
    op.drop_table("stock_finance")
    op.drop_index("ix_stock_daily_trade_date", table_name="stock_daily")
    op.drop_table("stock_daily")
    op.drop_table("stock_info")
