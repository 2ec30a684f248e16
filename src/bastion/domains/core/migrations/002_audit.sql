-- Audit rows carry a client-generated id so that replaying the spill file after an outage
-- is idempotent (INSERT ... ON CONFLICT (id) DO NOTHING). JSON columns are TEXT on both
-- dialects: the rows are written once and read by portable queries.
CREATE TABLE IF NOT EXISTS governance_decisions (
    id VARCHAR(36) NOT NULL PRIMARY KEY,
    trace_id VARCHAR(64) NOT NULL,
    session_id VARCHAR(128),
    user_id VARCHAR(128),
    tenant_id VARCHAR(128),
    api_key_id VARCHAR(128),
    client_id VARCHAR(255),
    tier VARCHAR(16) NOT NULL,
    target_type VARCHAR(32) NOT NULL,
    target_server VARCHAR(255),
    target_name VARCHAR(255),
    decision VARCHAR(16) NOT NULL,
    stage VARCHAR(64),
    rule VARCHAR(255),
    reason TEXT,
    trace TEXT NOT NULL,
    duration_us BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX IF NOT EXISTS ix_governance_decisions_created_at ON governance_decisions (created_at);
CREATE INDEX IF NOT EXISTS ix_governance_decisions_trace_id ON governance_decisions (trace_id);
CREATE INDEX IF NOT EXISTS ix_governance_decisions_decision_created_at ON governance_decisions (decision, created_at);
CREATE TABLE IF NOT EXISTS audit_events (
    id VARCHAR(36) NOT NULL PRIMARY KEY,
    event_type VARCHAR(64) NOT NULL,
    actor_user_id VARCHAR(128),
    actor_tenant_id VARCHAR(128),
    subject VARCHAR(255),
    action VARCHAR(64) NOT NULL,
    details TEXT NOT NULL,
    trace_id VARCHAR(64),
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX IF NOT EXISTS ix_audit_events_created_at ON audit_events (created_at);
CREATE INDEX IF NOT EXISTS ix_audit_events_trace_id ON audit_events (trace_id);
