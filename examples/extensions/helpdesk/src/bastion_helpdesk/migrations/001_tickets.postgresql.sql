CREATE TABLE IF NOT EXISTS helpdesk_tickets (
    id VARCHAR(32) NOT NULL PRIMARY KEY,
    trace_id VARCHAR(128) NOT NULL,
    user_id VARCHAR(128),
    tenant_id VARCHAR(128),
    category VARCHAR(32) NOT NULL,
    subject VARCHAR(200) NOT NULL,
    body TEXT NOT NULL,
    about_trace_id VARCHAR(128),
    status VARCHAR(16) NOT NULL,
    resolution TEXT,
    created_at TIMESTAMPTZ NOT NULL,
    closed_at TIMESTAMPTZ
);
CREATE INDEX IF NOT EXISTS ix_helpdesk_tickets_user_status ON helpdesk_tickets (user_id, status);
