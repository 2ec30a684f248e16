CREATE TABLE IF NOT EXISTS auth_tokens (
    jti VARCHAR(128) PRIMARY KEY,
    user_id VARCHAR(64),
    issued_at TIMESTAMP,
    expires_at TIMESTAMP,
    revoked_at TIMESTAMP
);
CREATE INDEX IF NOT EXISTS ix_auth_tokens_expires ON auth_tokens (expires_at);
CREATE INDEX IF NOT EXISTS ix_auth_tokens_revoked ON auth_tokens (revoked_at);
