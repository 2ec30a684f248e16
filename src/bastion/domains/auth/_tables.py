"""The tables the ``auth`` domain reads and writes."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Column, DateTime, MetaData, String, Table

metadata = MetaData()

api_keys = Table(
    "auth_api_keys",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("user_id", String(64), nullable=False),
    Column("name", String(128), nullable=False),
    Column("prefix", String(32), nullable=False, unique=True),
    Column("secret_hash", String(64), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("revoked_at", DateTime),
)

# JWTs issued by ``bastion admin tokens issue`` (their expiry, so a revocation can be
# pruned once the token has expired) and every revoked ``jti``.
tokens = Table(
    "auth_tokens",
    metadata,
    Column("jti", String(128), primary_key=True),
    Column("user_id", String(64)),
    Column("issued_at", DateTime),
    Column("expires_at", DateTime),
    Column("revoked_at", DateTime),
)

# Declared dependency: ``auth`` depends on ``users`` and reads its accounts table.
accounts = Table(
    "users_accounts",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("role", String(64)),
    Column("tenant_id", String(128)),
    Column("disabled"),
)


def utc_now() -> dt.datetime:
    """Naive UTC, as every timestamp column of these tables holds."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)
