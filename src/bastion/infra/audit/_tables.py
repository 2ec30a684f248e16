"""SQLAlchemy Core mirrors of the audit tables.

The schema's source of truth is the core extension's migrations ``002_audit`` and
``003_principal_widths``; these ``Table`` objects exist for inserts and queries and are
checked against the migrated database by the test suite. Their principal columns come
from ``principal_columns()``, like every other audit table's.
"""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import BigInteger, Column, DateTime, Dialect, MetaData, String, Table, Text
from sqlalchemy.types import TypeDecorator

from bastion.infra.audit._principal import principal_columns


def json_dumps(value: Any) -> bytes:
    """orjson with a ``str`` fallback: an audit document with an odd value (a ``Decimal``,
    an enum) is stored as text rather than lost."""
    return orjson.dumps(value, default=str, option=orjson.OPT_NON_STR_KEYS)


class JsonText(TypeDecorator[Any]):
    """A JSON document stored as TEXT on every dialect, (de)serialised with orjson."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return json_dumps(value).decode("utf-8")

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        return orjson.loads(value)


metadata = MetaData()

governance_decisions = Table(
    "governance_decisions",
    metadata,
    Column("id", String(36), primary_key=True),
    *principal_columns(),
    Column("tier", String(16), nullable=False),
    Column("target_type", String(32), nullable=False),
    Column("target_server", String(255)),
    Column("target_name", String(255)),
    Column("decision", String(16), nullable=False),
    Column("stage", String(64)),
    Column("rule", String(255)),
    Column("reason", Text),
    Column("trace", JsonText, nullable=False),
    Column("duration_us", BigInteger, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

audit_events = Table(
    "audit_events",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("event_type", String(64), nullable=False),
    *principal_columns(prefix="actor_", names=("user_id", "tenant_id")),
    Column("subject", String(255)),
    Column("action", String(64), nullable=False),
    Column("details", JsonText, nullable=False),
    *principal_columns(names=("trace_id",), trace_id_nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

AUDIT_TABLES: tuple[Table, ...] = (governance_decisions, audit_events)
