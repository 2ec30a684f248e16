-- Issue 21: the principal columns of every audit table have one width each (bastion.infra.audit
-- principal_columns()); these were narrower. Widening a VARCHAR rewrites neither the table
-- nor its indexes.
ALTER TABLE ai_requests ALTER COLUMN user_id TYPE VARCHAR(128);
ALTER TABLE ai_requests ALTER COLUMN client_id TYPE VARCHAR(255);
ALTER TABLE ai_requests ALTER COLUMN api_key_id TYPE VARCHAR(128);
