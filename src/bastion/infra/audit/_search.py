"""Audit search: one read model over the audit tables, for ``bastion audit`` and the admin
API alike.

Four kinds, each one table: governance ``decisions``, ``requests`` (``ai_requests``, the
gateway's), ``tool_executions`` (``mcp_tool_executions``, the mcp domain's) and
``admin_events``. The tables are those registered with the audit writer, so a kind whose
domain is disabled is simply absent; nothing imports a domain. Rows come newest first,
``limit`` at a time (at most ``MAX_LIMIT``), with an opaque cursor for the next page
(``created_at`` and ``id`` of the last row: stable while rows are being added).
``trace(trace_id)`` is every row of one trace in every table with ``trace_id`` and
``created_at`` columns, whoever owns it, in time order.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import datetime as dt
import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import MetaData, Table, and_, inspect, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bastion.kernel.errors import InvalidInputError, NotFoundError

MAX_LIMIT = 500
DEFAULT_LIMIT = 50


class AuditKind(enum.StrEnum):
    DECISIONS = "decisions"
    REQUESTS = "requests"
    TOOL_EXECUTIONS = "tool_executions"
    ADMIN_EVENTS = "admin_events"


@dataclass(frozen=True, slots=True)
class _Spec:
    table: str
    user: str
    tenant: str
    status: str
    stage: str | None = None
    rule: str | None = None


_SPECS: Mapping[AuditKind, _Spec] = {
    AuditKind.DECISIONS: _Spec(
        "governance_decisions", "user_id", "tenant_id", "decision", "stage", "rule"
    ),
    # ``status`` is the outcome (success, denied, error ...) or, given digits, the HTTP status.
    AuditKind.REQUESTS: _Spec("ai_requests", "user_id", "tenant_id", "outcome"),
    AuditKind.TOOL_EXECUTIONS: _Spec(
        "mcp_tool_executions", "user_id", "tenant_id", "status", "stage", "rule"
    ),
    # ``status`` is the event type (``admin.user.create``, ``mcp.tool_quarantined`` ...).
    AuditKind.ADMIN_EVENTS: _Spec("audit_events", "actor_user_id", "actor_tenant_id", "event_type"),
}


@dataclass(frozen=True, slots=True)
class AuditFilter:
    user: str | None = None
    tenant: str | None = None
    status: str | None = None
    stage: str | None = None
    rule: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    trace_id: str | None = None


@dataclass(frozen=True, slots=True)
class AuditPage:
    kind: AuditKind
    rows: list[dict[str, Any]]
    next_cursor: str | None


def _aware(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def _plain(row: Mapping[Any, Any]) -> dict[str, Any]:
    # Reflected tables hand JSON columns back as text; column names may be ``quoted_name``.
    out: dict[str, Any] = {}
    for key, value in row.items():
        if key in ("trace", "details") and isinstance(value, str):
            with contextlib.suppress(orjson.JSONDecodeError):
                value = orjson.loads(value)
        if isinstance(value, dt.datetime):
            value = _aware(value)
        out[str(key)] = value
    return out


def encode_cursor(created_at: dt.datetime, row_id: object) -> str:
    raw = orjson.dumps([_aware(created_at).isoformat(), str(row_id)])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[dt.datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        when, row_id = orjson.loads(raw)
        return _aware(dt.datetime.fromisoformat(when)), str(row_id)
    except (binascii.Error, ValueError, TypeError, orjson.JSONDecodeError):
        raise InvalidInputError("cursor: not a cursor this API returned") from None


def _tenant_of(row: Mapping[str, Any]) -> Any:
    return row["tenant_id"] if "tenant_id" in row else row.get("actor_tenant_id")


class AuditSearch:
    """Search the audit tables of one database."""

    def __init__(self, engine: AsyncEngine, tables: Mapping[str, Table]) -> None:
        self._engine = engine
        self._tables = tables
        self._traced: list[Table] | None = None

    def kinds(self) -> list[AuditKind]:
        """The kinds whose table is registered here."""
        return [kind for kind, spec in _SPECS.items() if spec.table in self._tables]

    def _table(self, kind: AuditKind) -> tuple[Table, _Spec]:
        spec = _SPECS[kind]
        table = self._tables.get(spec.table)
        if table is None:
            raise NotFoundError(f"no {kind.value} are recorded here (its domain is not enabled)")
        return table, spec

    def _where(self, kind: AuditKind, table: Table, spec: _Spec, f: AuditFilter) -> list[Any]:
        c = table.c
        where: list[Any] = []
        for value, column, name in (
            (f.user, spec.user, "user"),
            (f.tenant, spec.tenant, "tenant"),
            (f.stage, spec.stage, "stage"),
            (f.rule, spec.rule, "rule"),
        ):
            if value is None:
                continue
            if column is None:
                raise InvalidInputError(f"{name}: {kind.value} have no {name}")
            where.append(c[column] == value)
        if f.status is not None:
            if kind is AuditKind.REQUESTS and f.status.isdigit():
                where.append(c.status == int(f.status))
            else:
                where.append(c[spec.status] == f.status)
        if f.since is not None:
            where.append(c.created_at >= _aware(f.since))
        if f.until is not None:
            where.append(c.created_at < _aware(f.until))
        if f.trace_id is not None:
            where.append(c.trace_id == f.trace_id)
        return where

    async def search(
        self,
        kind: AuditKind,
        where: AuditFilter | None = None,
        *,
        limit: int = DEFAULT_LIMIT,
        cursor: str | None = None,
    ) -> AuditPage:
        if not 1 <= limit <= MAX_LIMIT:
            raise InvalidInputError(f"limit: between 1 and {MAX_LIMIT}")
        table, spec = self._table(kind)
        conditions = self._where(kind, table, spec, where or AuditFilter())
        if cursor is not None:
            at, row_id = decode_cursor(cursor)
            created = table.c.created_at
            conditions.append(or_(created < at, and_(created == at, table.c.id < row_id)))
        query = (
            select(table)
            .where(*conditions)
            .order_by(table.c.created_at.desc(), table.c.id.desc())
            .limit(limit + 1)
        )
        async with self._engine.connect() as conn:
            rows = [_plain(r) for r in (await conn.execute(query)).mappings()]
        more = len(rows) > limit
        rows = rows[:limit]
        next_cursor = encode_cursor(rows[-1]["created_at"], rows[-1]["id"]) if more else None
        return AuditPage(kind, rows, next_cursor)

    async def _traced_tables(self, conn: AsyncConnection) -> list[Table]:
        """Every table with ``trace_id`` and ``created_at`` columns, whoever owns it."""
        if self._traced is not None:
            return self._traced

        def reflect(sync_conn: Any) -> list[Table]:
            inspector = inspect(sync_conn)
            found: list[Table] = []
            metadata = MetaData()
            for name in sorted(inspector.get_table_names()):
                columns = {c["name"] for c in inspector.get_columns(name)}
                if {"trace_id", "created_at"} <= columns:
                    found.append(Table(name, metadata, autoload_with=sync_conn))
            return found

        self._traced = await conn.run_sync(reflect)
        return self._traced

    async def trace(self, trace_id: str, *, tenant: str | None = None) -> list[dict[str, Any]]:
        """Every row of ``trace_id``, each with its ``table``, oldest first. With
        ``tenant``, only a trace of that tenant's: some row names it, none another."""
        found: list[dict[str, Any]] = []
        async with self._engine.connect() as conn:
            for table in await self._traced_tables(conn):
                query = select(table).where(table.c.trace_id == trace_id)
                for row in (await conn.execute(query)).mappings():
                    found.append({"table": table.name, **_plain(row)})
        found.sort(key=lambda r: (str(r["created_at"]), r["table"]))
        if tenant is not None and {_tenant_of(r) for r in found} - {None} != {tenant}:
            return []
        return found
