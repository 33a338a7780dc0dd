"""The stock assistant's tables, as the migrations leave them at head."""
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import declarative_base

Base = declarative_base()


class StockInfo(Base):
    __tablename__ = "stock_info"

    id = sa.Column(sa.Integer, primary_key=True)
    third_code = sa.Column(sa.String(16), nullable=False, unique=True)
    symbol = sa.Column(sa.String(16), nullable=False, unique=True)
    name = sa.Column(sa.String(64), nullable=False)
    industry = sa.Column(sa.String(64))
    market = sa.Column(sa.String(16))
    list_date = sa.Column(sa.Date)
    source = sa.Column(sa.String(16), nullable=False, server_default="tushare")
    last_finance_sync_date = sa.Column(sa.Date)


class StockDaily(Base):
    __tablename__ = "stock_daily"

    third_code = sa.Column(sa.String(16), primary_key=True)
    trade_date = sa.Column(sa.Date, primary_key=True, index=True)
    open = sa.Column(sa.Float)
    close = sa.Column(sa.Float)
    vol = sa.Column(sa.Float)
    amount = sa.Column(sa.Float)
    source = sa.Column(sa.String(16), nullable=False, server_default="tushare")


class StockFinance(Base):
    __tablename__ = "stock_finance"

    third_code = sa.Column(sa.String(16), primary_key=True)
    ann_date = sa.Column(sa.Date, primary_key=True)
    end_date = sa.Column(sa.Date, primary_key=True)
    eps = sa.Column(sa.Float)
    roe = sa.Column(sa.Float)
    source = sa.Column(sa.String(16), nullable=False, server_default="tushare")


class LlmConfig(Base):
    __tablename__ = "llm_configs"

    id = sa.Column(sa.Integer, primary_key=True)
    alias = sa.Column(sa.String(64), nullable=False, unique=True)
    vendor = sa.Column(sa.String(32), nullable=False)
    provider_type = sa.Column(sa.String(32), nullable=False)
    model_name = sa.Column(sa.String(64), nullable=False)
    is_active = sa.Column(sa.Boolean, nullable=False, server_default=sa.true())
    priority = sa.Column(sa.Integer, nullable=False, server_default="100")
    created_at = sa.Column(sa.DateTime(timezone=True), server_default=sa.func.now())
    updated_at = sa.Column(sa.DateTime(timezone=True), server_default=sa.func.now())


class SyncTask(Base):
    __tablename__ = "sync_tasks"

    id = sa.Column(postgresql.UUID(as_uuid=True), primary_key=True)
    job_type = sa.Column(sa.String(32), nullable=False)
    status = sa.Column(sa.String(16), nullable=False)
    current_offset = sa.Column(sa.Integer, nullable=False, server_default="0")
    batch_size = sa.Column(sa.Integer, nullable=False, server_default="50")
    total_processed = sa.Column(sa.Integer, nullable=False, server_default="0")
    started_at = sa.Column(sa.DateTime(timezone=True))
    updated_at = sa.Column(sa.DateTime(timezone=True))
    completed_at = sa.Column(sa.DateTime(timezone=True))
    config = sa.Column(sa.JSON)


class SyncFailureRecord(Base):
    __tablename__ = "sync_failure_records"

    id = sa.Column(postgresql.UUID(as_uuid=True), primary_key=True)
    job_type = sa.Column(sa.String(32), nullable=False)
    third_code = sa.Column(sa.String(16), nullable=False)
    error_message = sa.Column(sa.Text)
    retry_count = sa.Column(sa.Integer, nullable=False, server_default="0")
    max_retries = sa.Column(sa.Integer, nullable=False, server_default="3")
    last_attempt_at = sa.Column(sa.DateTime(timezone=True))
    resolved_at = sa.Column(sa.DateTime(timezone=True))


class DailyReport(Base):
    __tablename__ = "daily_report"

    trade_date = sa.Column(sa.Date, primary_key=True)
    stocks_synced = sa.Column(sa.Integer, nullable=False, server_default="0")
    failures = sa.Column(sa.Integer, nullable=False, server_default="0")
    summary = sa.Column(sa.Text)
    duration_ms = sa.Column(sa.Integer)
    created_at = sa.Column(sa.DateTime(timezone=True), server_default=sa.func.now())
