"""Fixtures for the governance surfaces: a real Bastion on loopback per backend, tokens
signed by that server, and direct reads of ``governance_decisions``."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bastion.infra.audit import governance_decisions
from bastion.infra.db import create_engine
from bastion.infra.security import BUILTIN_ROLES
from bastion.kernel.ids import RoleName, SessionId, TenantId, UserId
from bastion.runtime.platform import Platform
from tests.support import ServerThread, running_server, write_profile

ROLES = {str(role.name): role for role in BUILTIN_ROLES}

API_GOVERNANCE: dict[str, Any] = {
    "blocklist": {
        "tools": [
            {"id": "no-shell-as-root", "pattern": "sudo*", "reason": "privileged shell"},
            {"id": "payroll-export", "pattern": "payroll/export_*", "reason": "payroll export"},
        ],
        "content": [
            {
                "id": "rm-root",
                "regex": r"rm\s+-rf\s+/(\s|$)",
                "targets": ["tool"],
                "reason": "deletes the filesystem root",
            },
            {"id": "codename", "literal": "project nightjar", "reason": "internal codename"},
        ],
    }
}


def issue_token(
    platform: Platform,
    user: str,
    role: str = "user",
    *,
    tenant: str = "default",
    session: str | None = None,
) -> str:
    """A JWT signed by ``platform`` for a principal with the role's tier and scopes."""
    definition = ROLES[role]
    return platform.jwt.issue(
        user_id=UserId(user),
        tenant_id=TenantId(tenant),
        role=RoleName(role),
        tier=definition.tier,
        scopes=definition.scopes,
        session_id=SessionId(session) if session else None,
    ).token


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


@dataclass
class Bastion:
    """A running server, its platform and a reader of its decision rows."""

    server: ServerThread
    db_url: str
    db: AsyncEngine

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def platform(self) -> Platform:
        assert self.server.platform is not None
        return self.server.platform

    def token(self, user: str, role: str = "user", **kwargs: Any) -> str:
        return issue_token(self.platform, user, role, **kwargs)

    async def post(self, path: str, token: str | None, body: Any, **headers: str) -> httpx.Response:
        all_headers = {**(bearer(token) if token else {}), **headers}
        async with httpx.AsyncClient(base_url=self.url, timeout=30) as client:
            if isinstance(body, bytes | str):
                return await client.post(path, content=body, headers=all_headers)
            return await client.post(path, json=body, headers=all_headers)

    async def rows(self, **where: Any) -> list[dict[str, Any]]:
        query = select(governance_decisions)
        for column, value in where.items():
            query = query.where(governance_decisions.c[column] == value)
        async with self.db.connect() as conn:
            return [dict(row._mapping) for row in (await conn.execute(query)).all()]

    async def row_for(self, trace_id: str, timeout: float = 10.0) -> dict[str, Any]:
        """The one decision row of ``trace_id``, once the audit writer has flushed it."""
        deadline = time.monotonic() + timeout
        while True:
            rows = await self.rows(trace_id=trace_id)
            if rows:
                assert len(rows) == 1, rows
                return rows[0]
            if time.monotonic() > deadline:
                raise AssertionError(f"no governance_decisions row for trace {trace_id}")
            await asyncio.sleep(0.02)


@pytest.fixture(scope="module")
async def bastion(
    module_db_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Bastion]:
    """One server per backend for the API shape tests: the default chain plus a few
    blocklist rules, limits high enough never to deny."""
    profile = write_profile(
        tmp_path_factory.mktemp("profile"),
        module_db_url,
        {
            "governance": API_GOVERNANCE,
            "rate_limits": {"requests_per_second": 1000},
            "gateway": {
                "routes": [
                    {"name": "claude-sonnet", "model_pattern": "claude-*", "provider": "mock"}
                ]
            },
        },
    )
    db = create_engine(module_db_url)
    try:
        with running_server(profile) as server:
            yield Bastion(server, module_db_url, db)
    finally:
        await db.dispose()


@pytest.fixture
def servers() -> Iterator[Callable[[Path], ServerThread]]:
    """Start servers on demand; stop them all at the end of the test."""
    started: list[ServerThread] = []

    def start(profile: Path) -> ServerThread:
        server = ServerThread(profile).start()
        started.append(server)
        return server

    yield start
    for server in reversed(started):
        server.stop()
