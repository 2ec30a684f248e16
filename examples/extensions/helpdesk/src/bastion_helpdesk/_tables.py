from __future__ import annotations

from sqlalchemy import Column, DateTime, MetaData, String, Table, Text

from bastion.extension import principal_columns

metadata = MetaData()

# The schema's source of truth is migrations/001_tickets*.sql; this mirror is for queries.
# Who opened a ticket is recorded in the principal columns every audit table uses, at
# their widths, so the ticket's trace_id finds its governance decision.
helpdesk_tickets = Table(
    "helpdesk_tickets",
    metadata,
    Column("id", String(32), primary_key=True),
    *principal_columns(names=("trace_id", "user_id", "tenant_id")),
    Column("category", String(32), nullable=False),
    Column("subject", String(200), nullable=False),
    Column("body", Text, nullable=False),
    Column("about_trace_id", String(128)),
    Column("status", String(16), nullable=False),
    Column("resolution", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("closed_at", DateTime(timezone=True)),
)
