"""Helpers for the audit tests: migrations, row factories, metrics, a cuttable TCP proxy."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from prometheus_client import REGISTRY
from sqlalchemy import Table, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bastion.infra.audit import new_row_id
from bastion.kernel.migration import migrations_from_package


async def migrate(engine: AsyncEngine) -> None:
    """Apply the core extension's migrations, statement by statement."""
    dialect = engine.dialect.name
    async with engine.begin() as conn:
        for migration in migrations_from_package("bastion.domains.core"):
            for statement in migration.statements(dialect):
                await conn.exec_driver_sql(statement)


def decision_row(n: int, **overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": new_row_id(),
        "trace_id": f"trace-{n}",
        "session_id": "sess-1",
        "user_id": "usr_1",
        "tenant_id": "default",
        "api_key_id": None,
        "client_id": "cli",
        "tier": "user",
        "target_type": "mcp_tool",
        "target_server": "files",
        "target_name": "read",
        "decision": "deny" if n % 7 == 0 else "allow",
        "stage": "blocklist" if n % 7 == 0 else None,
        "rule": "no-rm" if n % 7 == 0 else None,
        "reason": "blocked" if n % 7 == 0 else None,
        "trace": [
            {"stage": "scope", "outcome": "allow", "duration_us": 4},
            {"stage": "secret_scan", "outcome": "allow", "duration_us": 31},
        ],
        "duration_us": 35 + n % 10,
        "created_at": datetime.now(UTC),
    }
    row.update(overrides)
    return row


def event_row(n: int, **overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": new_row_id(),
        "event_type": "admin.user.updated",
        "actor_user_id": "usr_admin",
        "actor_tenant_id": "default",
        "subject": f"usr_{n}",
        "action": "update",
        "details": {"fields": ["role"], "n": n},
        "trace_id": f"trace-{n}",
        "created_at": datetime.now(UTC),
    }
    row.update(overrides)
    return row


async def count_rows(engine: AsyncEngine, table: Table) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(table))).scalar_one())


async def ids_of(engine: AsyncEngine, table: Table) -> list[str]:
    async with engine.connect() as conn:
        return [str(i) for i in (await conn.execute(select(table.c.id))).scalars()]


def metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def wait_until(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.005)


class TcpProxy:
    """A loopback TCP proxy to a real server that a test can cut (listener closed, live
    connections aborted, so clients see resets and refused connections) and restore on
    the same port, or freeze (connections stay open, bytes stop flowing: a network
    partition) and thaw."""

    def __init__(self, host: str, port: int) -> None:
        self._target = (host, port)
        self._server: asyncio.Server | None = None
        self._transports: set[asyncio.WriteTransport] = set()
        self._flowing = asyncio.Event()
        self._flowing.set()
        self.port = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        assert self._server is not None
        self._server.close()
        for transport in list(self._transports):
            transport.abort()
        self._transports.clear()
        await self._server.wait_closed()
        self._server = None

    async def restore(self) -> None:
        await self.start()

    def freeze(self) -> None:
        self._flowing.clear()

    def thaw(self) -> None:
        self._flowing.set()

    async def close(self) -> None:
        if self._server is not None:
            await self.cut()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self._target)
        except OSError:
            writer.transport.abort()
            return
        pair = {writer.transport, upstream_writer.transport}
        self._transports |= pair
        try:
            await asyncio.gather(
                self._pipe(reader, upstream_writer), self._pipe(upstream_reader, writer)
            )
        finally:
            self._transports -= pair

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                await self._flowing.wait()
                writer.write(data)
                await writer.drain()
        except OSError:
            pass
        finally:
            writer.transport.abort()


@dataclass
class Outage:
    """A migrated database the test can take away and give back for real: PostgreSQL
    behind a TCP proxy that is cut; SQLite in a directory that is renamed away (pooled
    connections are closed, so new ones cannot open the file). Or that stops answering:
    see ``freeze``."""

    engine: AsyncEngine
    proxy: TcpProxy | None
    directory: Path | None
    _lock_holder: sqlite3.Connection | None = None

    async def cut(self) -> None:
        if self.proxy is not None:
            await self.proxy.cut()
            return
        assert self.directory is not None
        os.rename(self.directory, self._offline)
        await self.engine.dispose()

    async def restore(self) -> None:
        if self.proxy is not None:
            await self.proxy.restore()
            return
        assert self.directory is not None
        os.rename(self._offline, self.directory)

    def freeze(self) -> None:
        """The database stops answering: PostgreSQL's bytes stop flowing; SQLite's file is
        held under an exclusive lock by another connection, so writes wait."""
        if self.proxy is not None:
            self.proxy.freeze()
            return
        assert self.directory is not None
        self._lock_holder = sqlite3.connect(self.directory / "bastion.db", isolation_level=None)
        self._lock_holder.execute("BEGIN EXCLUSIVE")

    def thaw(self) -> None:
        if self.proxy is not None:
            self.proxy.thaw()
            return
        assert self._lock_holder is not None
        self._lock_holder.execute("COMMIT")
        self._lock_holder.close()
        self._lock_holder = None

    @property
    def _offline(self) -> Path:
        assert self.directory is not None
        return self.directory.with_name(self.directory.name + "-offline")
