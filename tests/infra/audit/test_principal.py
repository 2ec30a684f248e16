"""One principal schema (issue 21): every audit table carries the same principal columns,
one width each, in its ``Table`` object and in the migrated PostgreSQL schema; every row
builder takes their values from ``principal_row()``."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import String, Table, text

from bastion.domains.agents._store import agent_tasks
from bastion.domains.gateway._records import RequestRecord
from bastion.domains.governance import decision_row
from bastion.domains.mcp._records import Execution
from bastion.infra.audit import (
    AUDIT_TABLES,
    PRINCIPAL_COLUMNS,
    PRINCIPAL_WIDTHS,
    audit_event_row,
    principal_columns,
    principal_row,
)
from bastion.infra.db import create_engine
from bastion.kernel.context import AuthMethod, RequestContext
from bastion.kernel.governance import Decision
from bastion.kernel.ids import ApiKeyId, ClientId, SessionId, TenantId, TraceId, UserId
from bastion.kernel.ledger import MigrationLedger
from bastion.kernel.policy import PolicyContext, PolicyTarget, TargetType
from bastion.kernel.registry import ExtensionRegistry
from bastion.kernel.surfaces import surface
from bastion.kernel.tiers import Tier
from bastion.runtime.discovery import installed_extensions
from bastion.runtime.platform import migration_plan
from tests.conftest import create_pg_database, drop_pg_database

ACTOR = "actor_"

PRINCIPAL = RequestContext(
    trace_id=TraceId("t" * 128),
    tier=Tier.USER,
    auth_method=AuthMethod.API_KEY,
    user_id=UserId("usr_1"),
    tenant_id=TenantId("acme"),
    session_id=SessionId("sess-1"),
    client_id=ClientId("c" * 255),
    api_key_id=ApiKeyId("key_1"),
).for_task("helpdesk", "task-1", "ctx-1")


def installed_registry() -> ExtensionRegistry:
    registry = ExtensionRegistry()
    for ext, source in installed_extensions():
        registry.insert(ext, source)
    return registry


def audit_tables() -> dict[str, Table]:
    """The core audit tables and every installed extension's ``audit_tables()``."""
    tables = {t.name: t for t in AUDIT_TABLES}
    for ext in installed_registry().ordered():
        for table in surface(ext, "audit_tables"):
            tables[table.name] = table
    return tables


def principal_name(column: str) -> str | None:
    """The principal column ``column`` is (``actor_user_id`` is a ``user_id``), or None."""
    name = column.removeprefix(ACTOR)
    return name if name in PRINCIPAL_WIDTHS else None


def declared(tables: dict[str, Table]) -> dict[tuple[str, str], tuple[int | None, bool]]:
    """(table, column) -> (VARCHAR length, nullable) for every principal column."""
    found: dict[tuple[str, str], tuple[int | None, bool]] = {}
    for table in tables.values():
        for column in table.columns:
            if principal_name(column.name) is None:
                continue
            assert isinstance(column.type, String), (table.name, column.name)
            found[(table.name, column.name)] = (column.type.length, bool(column.nullable))
    return found


def test_the_built_in_audit_tables_are_all_checked() -> None:
    assert {
        "governance_decisions",
        "audit_events",
        "ai_requests",
        "mcp_tool_executions",
    } <= audit_tables().keys()


def test_every_audit_table_object_has_the_one_width_of_each_principal_column() -> None:
    tables = audit_tables()
    found = declared(tables)
    wrong = {
        key: length
        for key, (length, _) in found.items()
        if length != PRINCIPAL_WIDTHS[principal_name(key[1]) or ""]
    }
    assert wrong == {}
    # A table that records a request has all of them; audit_events has its actor's.
    for name in ("governance_decisions", "ai_requests", "mcp_tool_executions"):
        assert {c for t, c in found if t == name} == set(PRINCIPAL_COLUMNS), name
        assert found[(name, "trace_id")] == (128, False)
    assert {c for t, c in found if t == "audit_events"} == {
        "actor_user_id",
        "actor_tenant_id",
        "trace_id",
    }
    assert found[("audit_events", "trace_id")] == (128, True)


def test_principal_columns_are_fresh_and_named_by_prefix() -> None:
    first, second = principal_columns(), principal_columns()
    assert [c.name for c in first] == list(PRINCIPAL_COLUMNS)
    assert all(a is not b for a, b in zip(first, second, strict=True))
    actor = principal_columns(prefix=ACTOR, names=("tenant_id", "user_id"))
    assert [(c.name, c.type.length, c.nullable) for c in actor if isinstance(c.type, String)] == [
        ("actor_user_id", 128, True),
        ("actor_tenant_id", 128, True),
    ]
    (trace,) = principal_columns(names=["trace_id"], trace_id_nullable=True)
    assert trace.nullable is True
    with pytest.raises(ValueError, match="not principal columns: \\['actor_id'\\]"):
        principal_columns(names=["actor_id"])


def test_every_row_builder_takes_the_principal_from_principal_row() -> None:
    expected = principal_row(PRINCIPAL)
    assert list(expected) == list(PRINCIPAL_COLUMNS)
    assert expected == {
        "trace_id": "t" * 128,
        "user_id": "usr_1",
        "tenant_id": "acme",
        "api_key_id": "key_1",
        "client_id": "c" * 255,
        "session_id": "sess-1",
        "agent_id": "helpdesk",
        "task_id": "task-1",
        "context_id": "ctx-1",
    }
    rows = {
        "ai_requests": RequestRecord(PRINCIPAL, ingress="anthropic").row(),
        "mcp_tool_executions": Execution(
            PRINCIPAL, "files", "tools/call", "read", {}, None, None
        ).row(),
        "governance_decisions": dict(
            decision_row(
                PolicyContext(PRINCIPAL, PolicyTarget(TargetType.PROMPT)),
                Decision(allowed=True, trace=()),
            )
        ),
    }
    tables = audit_tables()
    for name, row in rows.items():
        assert {k: row[k] for k in PRINCIPAL_COLUMNS} == expected, name
        assert row.keys() <= set(tables[name].c.keys()), name
    # Every column, id and time included (the writer's fast path relies on it).
    assert rows["governance_decisions"].keys() == set(tables["governance_decisions"].c.keys())
    event = audit_event_row(PRINCIPAL, event_type="admin.x", action="x", details={})
    assert (event["actor_user_id"], event["actor_tenant_id"], event["trace_id"]) == (
        "usr_1",
        "acme",
        "t" * 128,
    )
    anonymous = audit_event_row(None, event_type="admin.x", action="x", details={})
    assert (anonymous["actor_user_id"], anonymous["actor_tenant_id"], anonymous["trace_id"]) == (
        None,
        None,
        None,
    )


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    """A PostgreSQL database migrated by every installed extension, through the ledger."""
    url = await create_pg_database()
    engine = create_engine(url)
    try:
        await MigrationLedger(engine).migrate(migration_plan(installed_registry()))
    finally:
        await engine.dispose()
    try:
        yield url
    finally:
        await drop_pg_database(url)


async def test_the_migrated_postgresql_schema_has_the_one_width_of_each_column(
    pg_url: str,
) -> None:
    # The audit tables, and the A2A task table: not written through the audit writer,
    # but a row of every trace that started a task, so of the same principal schema.
    tables = {**audit_tables(), agent_tasks.name: agent_tasks}
    engine = create_engine(pg_url)
    try:
        async with engine.connect() as conn:
            result = await conn.execute(
                text(
                    "SELECT table_name, column_name, data_type, character_maximum_length, "
                    "is_nullable FROM information_schema.columns "
                    "WHERE table_schema = current_schema()"
                )
            )
            rows = result.all()
    finally:
        await engine.dispose()
    migrated = {
        (t, c): (data_type, length, nullable == "YES")
        for t, c, data_type, length, nullable in rows
        if t in tables and principal_name(c) is not None
    }
    # The one width of each column, whatever width the table was created with; nullable
    # as its Table object says.
    assert migrated == {
        (t, c): ("character varying", PRINCIPAL_WIDTHS[principal_name(c) or ""], nullable)
        for (t, c), (_, nullable) in declared(tables).items()
    }
    # Every core table ``bastion audit trace`` reads (any with a trace_id) is one of them;
    # the example extensions' own tables carry a trace id but are written directly.
    traced = {t for t, c, *_ in rows if c == "trace_id"}
    assert {t for t in traced if not t.startswith(("hello_", "helpdesk_"))} <= tables.keys()
