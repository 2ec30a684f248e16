-- A task's webhooks (A2A TaskPushNotificationConfig); config ids are unique per task.
CREATE TABLE IF NOT EXISTS agent_push_configs (
    task_id VARCHAR(128) NOT NULL,
    id VARCHAR(128) NOT NULL,
    url TEXT NOT NULL,
    token TEXT,
    authentication TEXT,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (task_id, id)
);
