CREATE TABLE IF NOT EXISTS console_sessions (
    id_hash CHAR(64) PRIMARY KEY,
    user_id VARCHAR(64),
    tenant_id VARCHAR(128),
    role VARCHAR(64),
    tier SMALLINT NOT NULL,
    scopes TEXT NOT NULL,
    auth_method VARCHAR(16) NOT NULL,
    api_key_id VARCHAR(64),
    login_method VARCHAR(32) NOT NULL,
    remote_addr VARCHAR(64),
    created_at TIMESTAMP WITHOUT TIME ZONE NOT NULL,
    last_seen_at TIMESTAMP WITHOUT TIME ZONE NOT NULL,
    expires_at TIMESTAMP WITHOUT TIME ZONE NOT NULL
);
CREATE INDEX IF NOT EXISTS ix_console_sessions_expires ON console_sessions (expires_at);
CREATE INDEX IF NOT EXISTS ix_console_sessions_user ON console_sessions (user_id);
