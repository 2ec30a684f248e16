"""A Bastion on loopback per backend in front of real MCP servers, tokens signed by it, the
official SDK client pointed at it, and direct reads of the rows it writes."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from typer.testing import CliRunner, Result

from bastion.cli import build_app
from bastion.domains.mcp import mcp_tool_executions
from bastion.infra.audit import audit_events, governance_decisions
from bastion.infra.security import BUILTIN_ROLES
from bastion.kernel.ids import RoleName, TenantId, UserId
from bastion.runtime.platform import Platform
from tests.support import ServerThread

ROLES = {str(role.name): role for role in BUILTIN_ROLES}
# The governance block of the modules' profiles: one tool glob refused by the blocklist.
NO_REPO_DELETION = {
    "blocklist": {
        "tools": [
            {
                "id": "no-repo-deletion",
                "pattern": "*/delete_repository",
                "reason": "repositories are deleted by people, not agents",
            }
        ]
    }
}
PROTOCOL_MODES = ["auto", "legacy"]  # 2026-07-28 (the SDK's default) and 2025-11-25


def user_id(prefix: str = "usr") -> str:
    return f"{prefix}_{secrets.token_hex(4)}"


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


@dataclass
class Bastion:
    """A running server, its profile, and readers of what it recorded."""

    server: ServerThread
    profile: Path
    db: AsyncEngine

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def platform(self) -> Platform:
        assert self.server.platform is not None
        return self.server.platform

    def endpoint(self, server: str) -> str:
        return f"{self.url}/api/v1/mcp/{server}/mcp"

    def token(self, user: str, role: str = "user", *, scopes: frozenset[str] | None = None) -> str:
        definition = ROLES[role]
        return self.platform.jwt.issue(
            user_id=UserId(user),
            tenant_id=TenantId("default"),
            role=RoleName(role),
            tier=definition.tier,
            scopes=definition.scopes if scopes is None else scopes,
        ).token

    @asynccontextmanager
    async def client(
        self,
        server: str,
        token: str,
        *,
        mode: str = "auto",
        trace_id: str | None = None,
        read_timeout: float = 30.0,
    ) -> AsyncIterator[Client]:
        """The official SDK client, connected to ``server`` through Bastion."""
        headers = bearer(token)
        if trace_id is not None:
            headers["x-trace-id"] = trace_id
        http = httpx2.AsyncClient(headers=headers, timeout=read_timeout)
        async with http:
            transport = streamable_http_client(self.endpoint(server), http_client=http)
            async with Client(transport, mode=mode, read_timeout_seconds=read_timeout) as client:
                yield client

    async def post(
        self, server: str, body: Any, *, token: str | None, **headers: str
    ) -> httpx.Response:
        """A raw POST to the MCP endpoint (``body`` bytes are sent as they are)."""
        all_headers = {
            "accept": "application/json, text/event-stream",
            "content-type": "application/json",
            **(bearer(token) if token else {}),
            **{k.replace("_", "-"): v for k, v in headers.items()},
        }
        async with httpx.AsyncClient(timeout=30) as http:
            if isinstance(body, bytes):
                return await http.post(self.endpoint(server), content=body, headers=all_headers)
            return await http.post(self.endpoint(server), json=body, headers=all_headers)

    async def registry(self, token: str) -> dict[str, Any]:
        async with httpx.AsyncClient(timeout=30) as http:
            response = await http.get(f"{self.url}/api/v1/mcp/registry", headers=bearer(token))
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def _select(self, table: Any, **where: Any) -> list[dict[str, Any]]:
        query = select(table)
        for column, value in where.items():
            query = query.where(table.c[column] == value)
        async with self.db.connect() as conn:
            return [dict(row._mapping) for row in (await conn.execute(query)).all()]

    async def wait_rows(
        self, table: Any, count: int = 1, timeout: float = 10.0, **where: Any
    ) -> list[dict[str, Any]]:
        """Rows matching ``where`` once at least ``count`` are committed."""
        deadline = time.monotonic() + timeout
        while True:
            rows = await self._select(table, **where)
            if len(rows) >= count:
                return rows
            if time.monotonic() > deadline:
                raise AssertionError(f"{table.name}: {len(rows)} rows for {where}, want {count}")
            await asyncio.sleep(0.02)

    async def executions(self, count: int = 1, **where: Any) -> list[dict[str, Any]]:
        return await self.wait_rows(mcp_tool_executions, count, **where)

    async def execution(self, trace_id: str) -> dict[str, Any]:
        rows = await self.executions(trace_id=trace_id)
        assert len(rows) == 1, rows
        return rows[0]

    async def decisions(self, trace_id: str) -> list[dict[str, Any]]:
        return await self._select(governance_decisions, trace_id=trace_id)

    async def events(self, count: int = 1, **where: Any) -> list[dict[str, Any]]:
        return await self.wait_rows(audit_events, count, **where)

    async def no_rows(self, table: Any, **where: Any) -> None:
        """Give the audit writer time to flush, then assert nothing matched."""
        await asyncio.sleep(0.3)
        assert await self._select(table, **where) == []


def run_cli(profile: Path, *args: str) -> Result:
    """``bastion mcp ...``: the mcp domain's ``cli()`` app, found as any extension's."""
    return CliRunner().invoke(build_app(profile), ["--profile", str(profile), *args])


async def cli(profile: Path, *args: str) -> Result:
    """Run ``bastion`` from an async test: the command owns an event loop of its own."""
    return await asyncio.to_thread(run_cli, profile, *args)


@pytest.fixture
def sentinel_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A variable in Bastion's own environment that no spawned server may inherit."""
    value = "do-not-leak-" + secrets.token_hex(4)
    monkeypatch.setenv("BASTION_TEST_SENTINEL", value)
    yield value
