CREATE TABLE IF NOT EXISTS core_job_runs (
    id BIGSERIAL PRIMARY KEY,
    extension_id VARCHAR(128) NOT NULL,
    job_name VARCHAR(128) NOT NULL,
    started_at TIMESTAMPTZ NOT NULL,
    duration_ms DOUBLE PRECISION NOT NULL,
    outcome VARCHAR(16) NOT NULL,
    error TEXT
);
CREATE INDEX IF NOT EXISTS ix_core_job_runs_started ON core_job_runs (started_at);
