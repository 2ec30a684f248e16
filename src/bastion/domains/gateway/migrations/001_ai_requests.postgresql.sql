CREATE TABLE IF NOT EXISTS ai_requests (
    id VARCHAR(32) PRIMARY KEY,
    trace_id VARCHAR(128) NOT NULL,
    user_id VARCHAR(64),
    tenant_id VARCHAR(128),
    session_id VARCHAR(128),
    client_id VARCHAR(128),
    api_key_id VARCHAR(64),
    ingress VARCHAR(16) NOT NULL,
    requested_model VARCHAR(255),
    route VARCHAR(255),
    provider VARCHAR(64),
    upstream_model VARCHAR(255),
    streaming BOOLEAN NOT NULL,
    status INTEGER NOT NULL,
    outcome VARCHAR(16) NOT NULL,
    input_tokens INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL,
    cache_read_tokens INTEGER NOT NULL,
    cache_write_tokens INTEGER NOT NULL,
    cost_microdollars BIGINT NOT NULL,
    latency_ms DOUBLE PRECISION NOT NULL,
    ttfb_ms DOUBLE PRECISION,
    overhead_ms DOUBLE PRECISION NOT NULL,
    attempts INTEGER NOT NULL,
    error TEXT,
    response_findings TEXT,
    request_sha256 CHAR(64),
    prompt TEXT,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX IF NOT EXISTS ix_ai_requests_created ON ai_requests (created_at);
CREATE INDEX IF NOT EXISTS ix_ai_requests_trace ON ai_requests (trace_id);
CREATE INDEX IF NOT EXISTS ix_ai_requests_user_created ON ai_requests (user_id, created_at);
