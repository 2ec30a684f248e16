-- Issue 21: the principal columns of every audit table have one width each (bastion.infra.audit
-- principal_columns()); this one was narrower. Widening a VARCHAR rewrites neither the table
-- nor its indexes.
ALTER TABLE mcp_tool_executions ALTER COLUMN api_key_id TYPE VARCHAR(128);
