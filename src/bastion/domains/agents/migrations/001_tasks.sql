CREATE TABLE IF NOT EXISTS agent_tasks (
    id VARCHAR(128) PRIMARY KEY,
    agent VARCHAR(64) NOT NULL,
    context_id VARCHAR(128) NOT NULL,
    state VARCHAR(32) NOT NULL,
    trace_id VARCHAR(128) NOT NULL,
    user_id VARCHAR(128),
    tenant_id VARCHAR(128),
    api_key_id VARCHAR(128),
    client_id VARCHAR(255),
    remote_task_id VARCHAR(128),
    document TEXT NOT NULL,
    seq INTEGER NOT NULL,
    cancel_requested BOOLEAN NOT NULL,
    lease_until TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX IF NOT EXISTS ix_agent_tasks_context ON agent_tasks (context_id, created_at);
CREATE INDEX IF NOT EXISTS ix_agent_tasks_user_updated ON agent_tasks (user_id, updated_at);
CREATE INDEX IF NOT EXISTS ix_agent_tasks_tenant_updated ON agent_tasks (tenant_id, updated_at);
CREATE INDEX IF NOT EXISTS ix_agent_tasks_trace ON agent_tasks (trace_id);

CREATE TABLE IF NOT EXISTS agent_task_events (
    task_id VARCHAR(128) NOT NULL,
    seq INTEGER NOT NULL,
    event TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (task_id, seq)
);
