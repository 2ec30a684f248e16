CREATE TABLE IF NOT EXISTS mcp_tool_pins (
    server VARCHAR(64) NOT NULL,
    tool VARCHAR(255) NOT NULL,
    status VARCHAR(16) NOT NULL,
    pinned_sha256 CHAR(64) NOT NULL,
    pinned_definition TEXT NOT NULL,
    observed_sha256 CHAR(64),
    observed_definition TEXT,
    first_seen_at TIMESTAMP NOT NULL,
    changed_at TIMESTAMP,
    approved_at TIMESTAMP,
    approved_by VARCHAR(128),
    PRIMARY KEY (server, tool)
);
CREATE TABLE IF NOT EXISTS mcp_tool_executions (
    id VARCHAR(32) PRIMARY KEY,
    trace_id VARCHAR(128) NOT NULL,
    user_id VARCHAR(128),
    tenant_id VARCHAR(128),
    api_key_id VARCHAR(64),
    client_id VARCHAR(255),
    session_id VARCHAR(128),
    mcp_session_id VARCHAR(64),
    server VARCHAR(64) NOT NULL,
    method VARCHAR(64) NOT NULL,
    tool VARCHAR(1024) NOT NULL,
    arguments_sha256 CHAR(64) NOT NULL,
    status VARCHAR(16) NOT NULL,
    stage VARCHAR(64),
    rule VARCHAR(255),
    reason TEXT,
    protocol_version VARCHAR(32),
    duration_ms DOUBLE PRECISION NOT NULL,
    upstream_ms DOUBLE PRECISION,
    result_findings TEXT,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX IF NOT EXISTS ix_mcp_tool_executions_trace ON mcp_tool_executions (trace_id);
CREATE INDEX IF NOT EXISTS ix_mcp_tool_executions_created ON mcp_tool_executions (created_at);
CREATE INDEX IF NOT EXISTS ix_mcp_tool_executions_server_tool ON mcp_tool_executions (server, tool, created_at);
