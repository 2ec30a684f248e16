CREATE TABLE IF NOT EXISTS users_tenants (
    id VARCHAR(128) PRIMARY KEY,
    display_name VARCHAR(255) NOT NULL,
    created_at TIMESTAMP NOT NULL
);
