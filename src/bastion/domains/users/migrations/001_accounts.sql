CREATE TABLE IF NOT EXISTS users_accounts (
    id VARCHAR(64) PRIMARY KEY,
    name VARCHAR(128) NOT NULL UNIQUE,
    role VARCHAR(64) NOT NULL,
    tenant_id VARCHAR(128) NOT NULL,
    created_at TIMESTAMP NOT NULL,
    disabled BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX IF NOT EXISTS ix_users_accounts_tenant ON users_accounts (tenant_id);
