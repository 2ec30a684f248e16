-- Issue 21: the principal columns of every audit table have one width each (bastion.infra.audit
-- principal_columns()); these were narrower. Widening a VARCHAR rewrites neither the table
-- nor its indexes.
ALTER TABLE governance_decisions ALTER COLUMN trace_id TYPE VARCHAR(128);
ALTER TABLE audit_events ALTER COLUMN trace_id TYPE VARCHAR(128);
