"""The Table objects mirror what migration 002 creates, on both backends."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import DateTime, Table, inspect
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from bastion.infra.audit import AUDIT_TABLES, JsonText, audit_events, governance_decisions

INDEXES = {
    "governance_decisions": {
        "ix_governance_decisions_created_at": ["created_at"],
        "ix_governance_decisions_trace_id": ["trace_id"],
        "ix_governance_decisions_decision_created_at": ["decision", "created_at"],
        "ix_governance_decisions_task_id": ["task_id"],
    },
    "audit_events": {
        "ix_audit_events_created_at": ["created_at"],
        "ix_audit_events_trace_id": ["trace_id"],
    },
}


def _describe(conn: Connection, name: str) -> dict[str, Any]:
    inspector = inspect(conn)
    return {
        "columns": [(c["name"], c["nullable"]) for c in inspector.get_columns(name)],
        "primary_key": inspector.get_pk_constraint(name)["constrained_columns"],
        "indexes": {i["name"]: i["column_names"] for i in inspector.get_indexes(name)},
    }


@pytest.mark.parametrize("table", AUDIT_TABLES, ids=lambda t: t.name)
async def test_migrated_columns_equal_the_table_objects(engine: AsyncEngine, table: Table) -> None:
    async with engine.connect() as conn:
        migrated = await conn.run_sync(_describe, table.name)
    # By name: the order of a table's columns is where its migrations put them (an
    # extension's principal columns come from principal_columns(), in its order).
    assert dict(migrated["columns"]) == {c.name: c.nullable for c in table.columns}
    assert len(migrated["columns"]) == len(table.columns)
    assert migrated["primary_key"] == ["id"]
    assert migrated["indexes"] == INDEXES[table.name]


def test_json_columns_and_the_time_column() -> None:
    assert isinstance(governance_decisions.c.trace.type, JsonText)
    assert isinstance(audit_events.c.details.type, JsonText)
    for table in AUDIT_TABLES:
        created_at = table.c.created_at.type
        assert isinstance(created_at, DateTime)
        assert created_at.timezone is True
