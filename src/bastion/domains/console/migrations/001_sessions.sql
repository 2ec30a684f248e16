CREATE TABLE IF NOT EXISTS console_sessions (
    id_hash CHAR(64) PRIMARY KEY,
    user_id VARCHAR(64),
    tenant_id VARCHAR(128),
    role VARCHAR(64),
    tier INTEGER NOT NULL,
    scopes TEXT NOT NULL,
    auth_method VARCHAR(16) NOT NULL,
    api_key_id VARCHAR(64),
    login_method VARCHAR(32) NOT NULL,
    remote_addr VARCHAR(64),
    created_at TIMESTAMP NOT NULL,
    last_seen_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX IF NOT EXISTS ix_console_sessions_expires ON console_sessions (expires_at);
