CREATE TABLE IF NOT EXISTS hello_greetings (
    id VARCHAR(32) PRIMARY KEY,
    name VARCHAR(128) NOT NULL,
    message VARCHAR(256) NOT NULL,
    user_id VARCHAR(64),
    created_at TIMESTAMP NOT NULL
);
