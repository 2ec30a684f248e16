"""The table the ``console`` domain owns."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, Text

metadata = MetaData()

# One row per signed-in browser. ``id_hash`` is the SHA-256 of the session id the cookie
# carries: a copy of the table does not sign anyone in.
sessions = Table(
    "console_sessions",
    metadata,
    Column("id_hash", String(64), primary_key=True),
    Column("user_id", String(64)),
    Column("tenant_id", String(128)),
    Column("role", String(64)),
    Column("tier", Integer, nullable=False),
    Column("scopes", Text, nullable=False),
    Column("auth_method", String(16), nullable=False),
    Column("api_key_id", String(64)),
    Column("login_method", String(32), nullable=False),
    Column("remote_addr", String(64)),
    Column("created_at", DateTime, nullable=False),
    Column("last_seen_at", DateTime, nullable=False),
    Column("expires_at", DateTime, nullable=False),
)


def utc_now() -> dt.datetime:
    """Naive UTC, as the table's timestamp columns hold."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)
