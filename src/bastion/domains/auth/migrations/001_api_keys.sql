CREATE TABLE IF NOT EXISTS auth_api_keys (
    id VARCHAR(64) PRIMARY KEY,
    user_id VARCHAR(64) NOT NULL,
    name VARCHAR(128) NOT NULL,
    prefix VARCHAR(32) NOT NULL UNIQUE,
    secret_hash CHAR(64) NOT NULL,
    created_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP
);
CREATE INDEX IF NOT EXISTS ix_auth_api_keys_user ON auth_api_keys (user_id);
