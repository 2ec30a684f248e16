"""Tool pins: the definition of each tool as first seen (or last approved), in
``mcp_tool_pins``. A tool whose definition changes is quarantined until approved.

What is pinned is what reaches the model or the user when the tool is offered: the name,
title, description, input and output schemas and annotations. The fingerprint is the
SHA-256 of that object serialised with sorted keys, so key order does not matter.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Column, DateTime, MetaData, String, Table, Text, and_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from bastion.domains.mcp.errors import PinError

PINNED_FIELDS = ("name", "title", "description", "inputSchema", "outputSchema", "annotations")

metadata = MetaData()

mcp_tool_pins = Table(
    "mcp_tool_pins",
    metadata,
    Column("server", String(64), primary_key=True),
    Column("tool", String(255), primary_key=True),
    Column("status", String(16), nullable=False),
    Column("pinned_sha256", String(64), nullable=False),
    Column("pinned_definition", Text, nullable=False),
    Column("observed_sha256", String(64)),
    Column("observed_definition", Text),
    Column("first_seen_at", DateTime(timezone=True), nullable=False),
    Column("changed_at", DateTime(timezone=True)),
    Column("approved_at", DateTime(timezone=True)),
    Column("approved_by", String(128)),
)


class PinStatus(enum.StrEnum):
    PINNED = "pinned"
    QUARANTINED = "quarantined"


def pinned_definition(tool: Mapping[str, Any]) -> dict[str, Any]:
    return {key: tool[key] for key in PINNED_FIELDS if key in tool}


def fingerprint(definition: Mapping[str, Any]) -> str:
    return hashlib.sha256(orjson.dumps(definition, option=orjson.OPT_SORT_KEYS)).hexdigest()


def changed_fields(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    return [key for key in PINNED_FIELDS if before.get(key) != after.get(key)]


@dataclass(frozen=True, slots=True)
class ToolPin:
    server: str
    tool: str
    status: PinStatus
    pinned_sha256: str
    pinned_definition: dict[str, Any]
    observed_sha256: str | None
    observed_definition: dict[str, Any] | None
    first_seen_at: dt.datetime
    changed_at: dt.datetime | None
    approved_at: dt.datetime | None
    approved_by: str | None

    @property
    def quarantined(self) -> bool:
        return self.status is PinStatus.QUARANTINED

    def changes(self) -> list[str]:
        """The pinned fields that differ in the quarantined definition."""
        if self.observed_definition is None:
            return []
        return changed_fields(self.pinned_definition, self.observed_definition)

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> ToolPin:
        observed = row["observed_definition"]
        return cls(
            server=row["server"],
            tool=row["tool"],
            status=PinStatus(row["status"]),
            pinned_sha256=row["pinned_sha256"],
            pinned_definition=orjson.loads(row["pinned_definition"]),
            observed_sha256=row["observed_sha256"],
            observed_definition=orjson.loads(observed) if observed is not None else None,
            first_seen_at=_aware(row["first_seen_at"]),
            changed_at=_aware(row["changed_at"]),
            approved_at=_aware(row["approved_at"]),
            approved_by=row["approved_by"],
        )


def _aware(value: Any) -> Any:
    # SQLite hands back naive datetimes for what was stored as UTC.
    if isinstance(value, dt.datetime) and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class PinStore:
    """Reads and conditional writes of ``mcp_tool_pins``; safe with several replicas:
    every change states what it expects to replace, and reports whether it did."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def for_server(self, server: str) -> dict[str, ToolPin]:
        query = select(mcp_tool_pins).where(mcp_tool_pins.c.server == server)
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return {row["tool"]: ToolPin.from_row(row) for row in rows}

    async def get(self, server: str, tool: str) -> ToolPin | None:
        query = select(mcp_tool_pins).where(
            and_(mcp_tool_pins.c.server == server, mcp_tool_pins.c.tool == tool)
        )
        async with self._engine.connect() as conn:
            row = (await conn.execute(query)).mappings().first()
        return ToolPin.from_row(row) if row is not None else None

    async def pin(self, server: str, tool: str, definition: Mapping[str, Any]) -> ToolPin:
        """Pin ``definition`` unless the tool already has a pin; return the stored pin."""
        values = {
            "server": server,
            "tool": tool,
            "status": PinStatus.PINNED.value,
            "pinned_sha256": fingerprint(definition),
            "pinned_definition": orjson.dumps(definition).decode(),
            "first_seen_at": _now(),
        }
        dialect = self._engine.dialect.name
        insert = (postgresql if dialect == "postgresql" else sqlite).insert(mcp_tool_pins)
        async with self._engine.begin() as conn:
            await conn.execute(
                insert.values(**values).on_conflict_do_nothing(index_elements=["server", "tool"])
            )
        stored = await self.get(server, tool)
        assert stored is not None
        return stored

    async def quarantine(
        self, server: str, tool: str, pinned_sha256: str, definition: Mapping[str, Any]
    ) -> bool:
        """Record ``definition`` as a change to the pin ``pinned_sha256``. True only for
        the one caller that recorded this particular change."""
        observed = fingerprint(definition)
        t = mcp_tool_pins.c
        statement = (
            update(mcp_tool_pins)
            .where(
                and_(
                    t.server == server,
                    t.tool == tool,
                    t.pinned_sha256 == pinned_sha256,
                    (t.observed_sha256.is_(None)) | (t.observed_sha256 != observed),
                )
            )
            .values(
                status=PinStatus.QUARANTINED.value,
                observed_sha256=observed,
                observed_definition=orjson.dumps(definition).decode(),
                changed_at=_now(),
            )
        )
        async with self._engine.begin() as conn:
            result = await conn.execute(statement)
        return bool(result.rowcount)

    async def approve(self, server: str, tool: str, by: str | None) -> ToolPin:
        """Make the quarantined definition the pinned one."""
        current = await self.get(server, tool)
        if current is None:
            raise PinError(f"no pin for tool '{tool}' on MCP server '{server}'")
        if not current.quarantined or current.observed_sha256 is None:
            raise PinError(f"tool '{tool}' on MCP server '{server}' is not quarantined")
        t = mcp_tool_pins.c
        statement = (
            update(mcp_tool_pins)
            .where(
                and_(
                    t.server == server,
                    t.tool == tool,
                    t.status == PinStatus.QUARANTINED.value,
                    t.observed_sha256 == current.observed_sha256,
                )
            )
            .values(
                status=PinStatus.PINNED.value,
                pinned_sha256=current.observed_sha256,
                pinned_definition=orjson.dumps(current.observed_definition).decode(),
                observed_sha256=None,
                observed_definition=None,
                approved_at=_now(),
                approved_by=by,
            )
        )
        async with self._engine.begin() as conn:
            result = await conn.execute(statement)
        if not result.rowcount:
            raise PinError(
                f"tool '{tool}' on MCP server '{server}' changed again while being approved; "
                "review it and approve again"
            )
        approved = await self.get(server, tool)
        assert approved is not None
        return approved
