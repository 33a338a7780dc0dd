-- migsync:revision 8b2e4f6a9c31
-- migsync:down_revision 3f9a1c2b7d10
-- migsync:message add sync task and sync failure tables

-- migsync:up
CREATE TABLE sync_tasks (
    id              uuid        PRIMARY KEY,
    job_type        varchar(32) NOT NULL,
    status          varchar(16) NOT NULL DEFAULT 'pending',
    current_offset  integer     NOT NULL DEFAULT 0,
    batch_size      integer     NOT NULL DEFAULT 100,
    total_processed integer     NOT NULL DEFAULT 0,
    started_at      timestamptz,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    completed_at    timestamptz,
    config          json
);
CREATE INDEX ix_sync_tasks_job_type_status ON sync_tasks (job_type, status);

CREATE TABLE sync_failure_records (
    id              uuid        PRIMARY KEY,
    job_type        varchar(32) NOT NULL,
    third_code      varchar(16) NOT NULL,
    error_message   text        NOT NULL,
    retry_count     integer     NOT NULL DEFAULT 0,
    max_retries     integer     NOT NULL DEFAULT 3,
    last_attempt_at timestamptz NOT NULL DEFAULT now(),
    resolved_at     timestamptz
);
CREATE INDEX ix_sync_failure_records_unresolved
    ON sync_failure_records (job_type, third_code) WHERE resolved_at IS NULL;

-- migsync:down
DROP TABLE sync_failure_records;
DROP TABLE sync_tasks;
