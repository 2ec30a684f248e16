-- Issue 16: usage grouped by the A2A agent whose task made the model call. agent_id joins
-- the rollup key (bastion.domains.analytics._tables USAGE_ROLLUP_KEYS); the width is the
-- audit tables' (PRINCIPAL_WIDTHS). Same statements on both dialects.
ALTER TABLE analytics_usage_hourly ADD COLUMN agent_id VARCHAR(64);
ALTER TABLE analytics_usage_daily ADD COLUMN agent_id VARCHAR(64);
-- Hours rolled up before this migration counted an agent's requests under no agent. If
-- any ai_requests row names an agent, reset the watermark (hour -1: nothing rolled up) and
-- forget every rolled hour: queries read the raw rows, so every answer stays exact, until
-- the job's next run rolls them again from the first raw hour. Otherwise the rolled rows
-- are already right (agent_id null) and are kept. One scan of ai_requests, at most.
UPDATE analytics_watermarks SET hour = -1, updated_at = CURRENT_TIMESTAMP WHERE source = 'usage' AND EXISTS (SELECT 1 FROM ai_requests WHERE agent_id IS NOT NULL);
DELETE FROM analytics_usage_daily WHERE EXISTS (SELECT 1 FROM analytics_watermarks WHERE source = 'usage' AND hour = -1);
DELETE FROM analytics_usage_hourly WHERE EXISTS (SELECT 1 FROM analytics_watermarks WHERE source = 'usage' AND hour = -1);
DELETE FROM analytics_rolled_hours WHERE source = 'usage' AND EXISTS (SELECT 1 FROM analytics_watermarks WHERE source = 'usage' AND hour = -1);
