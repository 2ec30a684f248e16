"""A Bastion on loopback per backend (shared by a module's tests) with the admin API, a
fake Anthropic upstream behind a gateway route, and callers of every tier."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from bastion.kernel.ids import RoleName, TenantId, UserId
from bastion.runtime.platform import Platform
from tests.cli.conftest import query
from tests.domains.agents.conftest import HELPDESK, write_agents
from tests.fakes import FakeAnthropic
from tests.support import ServerThread, write_profile

UPSTREAM_KEY = "sk-ant-upstream-admin-0123456789"
ADMIN = "/api/v1/admin"


def unique(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(4)}"


@dataclass
class Bastion:
    server: ServerThread
    db_url: str
    profile: Path
    upstream: FakeAnthropic

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def platform(self) -> Platform:
        assert self.server.platform is not None
        return self.server.platform

    def token(
        self,
        role: str = "admin",
        *,
        user: str = "usr_root",
        tenant: str = "default",
        scopes: frozenset[str] | None = None,
    ) -> str:
        """A JWT signed by this Bastion (no account needed: JWTs are checked without I/O)."""
        definition = self.platform.roles.resolve(role)
        return self.platform.jwt.issue(
            user_id=UserId(user),
            tenant_id=TenantId(tenant),
            role=RoleName(role),
            tier=definition.tier,
            scopes=definition.scopes if scopes is None else scopes,
        ).token

    def call(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        json: Any = None,
        content: bytes | None = None,
        params: Any = None,
        trace: str | None = None,
    ) -> httpx.Response:
        headers = {"authorization": f"Bearer {token}"} if token else {}
        if trace is not None:
            headers["x-trace-id"] = trace
        with httpx.Client(base_url=self.url, timeout=30) as http:
            return http.request(
                method, path, headers=headers, json=json, content=content, params=params
            )

    def admin(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """A call of the admin API as the admin tier."""
        kwargs.setdefault("token", self.token())
        return self.call(method, ADMIN + path, **kwargs)

    def rows(self, sql: str, **params: Any) -> list[tuple[Any, ...]]:
        return query(self.db_url, sql, **params)

    def events(
        self, event_type: str, subject: str, *, count: int = 1, timeout: float = 10.0
    ) -> list[dict[str, Any]]:
        """The ``audit_events`` rows of one subject once the batched writer has them."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.rows(
                "SELECT event_type, actor_user_id, actor_tenant_id, subject, action, details, "
                "trace_id FROM audit_events WHERE event_type = :e AND subject = :s",
                e=event_type,
                s=subject,
            )
            if len(found) >= count:
                keys = ("event_type", "actor_user_id", "actor_tenant_id", "subject", "action")
                return [
                    {
                        **dict(zip(keys, row[:5], strict=True)),
                        "details": orjson.loads(row[5]),
                        "trace_id": row[6],
                    }
                    for row in found
                ]
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(found)} {event_type} events for {subject}")
            time.sleep(0.05)


def admin_profile(directory: Path, db_url: str, upstream: FakeAnthropic) -> Path:
    path = write_profile(
        directory,
        db_url,
        {
            "gateway": {
                "routes": [
                    {
                        "name": "claude",
                        "model_pattern": "claude-*",
                        "provider": "anthropic",
                        "endpoint": upstream.base_url,
                        "api_key_secret": "anthropic_key",
                        "extra_headers": {"x-team-token": "literal-header-value"},
                    }
                ]
            },
            "governance": {
                "quota": {
                    "rules": [
                        {
                            "name": "tenant-daily",
                            "subject": "tenant",
                            "window": "1d",
                            "limits": {"requests": 100000},
                        },
                        {
                            "name": "user-hourly",
                            "subject": "user",
                            "window": "1h",
                            "limits": {"requests": 1000, "output_tokens": 1000000},
                        },
                        {
                            "name": "key-daily",
                            "subject": "api_key",
                            "window": "1d",
                            "limits": {"requests": 5000},
                        },
                    ]
                }
            },
            "audit": {"flush_interval_ms": 50},
            "rate_limits": {"requests_per_second": 1000},
        },
        {"anthropic_key": UPSTREAM_KEY},
    )
    write_agents(path, {"helpdesk.yaml": HELPDESK})
    return path


@pytest.fixture(scope="module")
def bastion(module_db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bastion]:
    upstream = FakeAnthropic(api_key=UPSTREAM_KEY).start()
    profile = admin_profile(tmp_path_factory.mktemp("profile"), module_db_url, upstream)
    server = ServerThread(profile).start()
    try:
        yield Bastion(server, module_db_url, profile, upstream)
    finally:
        server.stop()
        upstream.stop()
