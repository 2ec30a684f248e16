-- Issue 16: the rows an A2A agent's task produces carry the agent, the task and its
-- conversation (bastion.infra.audit principal_columns()). Nullable: every other row
-- leaves them empty. Same statements on both dialects.
ALTER TABLE mcp_tool_executions ADD COLUMN agent_id VARCHAR(64);
ALTER TABLE mcp_tool_executions ADD COLUMN task_id VARCHAR(128);
ALTER TABLE mcp_tool_executions ADD COLUMN context_id VARCHAR(128);
CREATE INDEX ix_mcp_tool_executions_task_id ON mcp_tool_executions (task_id);
