"""End-to-end fixtures for the gateway: fake upstreams (real HTTP servers on loopback),
one Bastion per database backend whose routes point at them, the official SDKs as
callers, and a reader of ``ai_requests`` rows.

The fakes and the server are shared by every test of a backend (booting is the slow
part); each test resets the fakes and finds its own rows by the ``x-trace-id`` it sent.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import socket
import threading
import time
from collections.abc import Coroutine, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import anthropic
import httpx
import openai
import orjson
import pytest
from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncEngine
from typer.testing import CliRunner

from bastion.cli import build_app
from bastion.domains.gateway._records import ai_requests
from bastion.infra.db import create_engine
from bastion.infra.security import BUILTIN_ROLES
from bastion.kernel.ids import RoleName, TenantId, UserId
from bastion.runtime.platform import Platform
from tests.conftest import create_pg_database, drop_pg_database
from tests.fakes import FakeAnthropic, FakeGemini, FakeOpenAI, FakeUpstream, RecordedRequest, Reply
from tests.fakes._server import JSONResponse, Response, StreamResponse
from tests.support import ServerThread, running_server, write_profile

T = TypeVar("T")

# What the routes' upstream keys are (secrets file) and what each fake insists on.
ANTHROPIC_KEY = "route-key-anthropic"
BACKUP_KEY = "route-key-backup"
OPENAI_KEY = "route-key-openai"
GEMINI_KEY = "route-key-gemini"
WRONG_KEY = "route-key-revoked"

QUOTA_TENANT = "quota-tenant"
QUOTA_OUTPUT_TOKENS = 10
INPUT_QUOTA_TENANTS = ("input-quota-a", "input-quota-b")
INPUT_QUOTA_TOKENS = 100
MAX_BODY_BYTES = 64 * 1024
TIMEOUT_SECONDS = 0.4
RETRY_ATTEMPTS = 2

# What may reach an Anthropic upstream: the route's key, the protocol headers, the HTTP
# basics (``anthropic-beta`` too when the caller sent one); nothing else of the caller's.
UPSTREAM_HEADERS = frozenset(
    {
        "host",
        "user-agent",
        "accept",
        "accept-encoding",
        "content-type",
        "content-length",
        "x-api-key",
        "anthropic-version",
    }
)
# Caller headers that must never reach an upstream.
IDENTITY_HEADERS = {
    "x-session-id": "sess-e2e",
    "x-client-id": "claude-code",
    "x-user-id": "usr_spoofed",
    "x-tenant-id": "tenant-spoofed",
    "x-policy-version": "7",
    "x-call-source": "cowork",
    "cookie": "bastion_session=caller-cookie",
}

ROLES = {str(role.name): role for role in BUILTIN_ROLES}


class RecordingAnthropic(FakeAnthropic):
    """A FakeAnthropic that also keeps the exact bytes of each answer it renders (the
    whole stream, before any scripted failure cuts it), so a test can compare what a
    caller received through Bastion with what the upstream sent."""

    def __init__(self, *, api_key: str | None = None) -> None:
        super().__init__(api_key=api_key)
        self.sent: list[bytes] = []

    def handle(self, request: RecordedRequest, reply: Reply) -> Response:
        response = super().handle(request, reply)
        if isinstance(response, StreamResponse):
            self.sent.append(b"".join(response.events))
        elif isinstance(response, JSONResponse):
            self.sent.append(orjson.dumps(response.body))
        return response

    def reset(self) -> None:
        super().reset()
        self.sent.clear()
        self.count_tokens_result = None


class DbReader:
    """Reads the server's database from a loop of its own in a background thread, so
    that sync tests (the SDKs' blocking clients) can poll for audit rows."""

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._engine: AsyncEngine | None = None

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 60) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def connect(self, url: str) -> None:
        async def make() -> AsyncEngine:
            return create_engine(url)

        self._engine = self.run(make())

    def rows(self, **where: Any) -> list[dict[str, Any]]:
        return self.select(ai_requests, **where)

    def select(self, table: Table, **where: Any) -> list[dict[str, Any]]:
        """The rows of ``table`` whose columns equal ``where``."""
        assert self._engine is not None
        engine = self._engine

        async def go() -> list[dict[str, Any]]:
            query = select(table)
            for column, value in where.items():
                query = query.where(table.c[column] == value)
            async with engine.connect() as conn:
                return [dict(row._mapping) for row in (await conn.execute(query)).all()]

        return self.run(go())

    def close(self) -> None:
        if self._engine is not None:
            self.run(self._engine.dispose())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()


_trace_numbers = itertools.count(1)


def new_trace(tag: str = "gw") -> str:
    """A trace id the server accepts as given (well formed, low entropy, unique)."""
    return f"e2e-{tag}-{os.getpid()}-{next(_trace_numbers):05d}"


def dead_endpoint() -> str:
    """A loopback URL nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@dataclass
class Upstreams:
    anthropic: RecordingAnthropic
    backup: RecordingAnthropic
    openai: FakeOpenAI
    gemini: FakeGemini

    def all(self) -> list[FakeUpstream]:
        return [self.anthropic, self.backup, self.openai, self.gemini]

    def reset(self) -> None:
        for fake in self.all():
            fake.reset()

    def requests(self) -> list[RecordedRequest]:
        return [request for fake in self.all() for request in fake.requests]


def route_pricing() -> dict[str, float]:
    return {"input": 2.0, "output": 10.0}


def gateway_routes(up: Upstreams, dead: str) -> list[dict[str, Any]]:
    """Every route of the shared server; first match wins."""
    anthropic_route = {
        "provider": "anthropic",
        "endpoint": up.anthropic.base_url,
        "api_key_secret": "anthropic_key",
    }
    openai_route = {"endpoint": up.openai.base_url + "/v1", "api_key_secret": "openai_key"}
    return [
        {**anthropic_route, "model_pattern": "alias-sonnet", "upstream_model": "claude-sonnet-4-5"},
        {**anthropic_route, "model_pattern": "priced-model", "pricing": route_pricing()},
        {
            **anthropic_route,
            "model_pattern": "slow-model",
            "timeout_seconds": TIMEOUT_SECONDS,
        },
        {**anthropic_route, "model_pattern": "primary-model", "fallbacks": ["backup"]},
        {
            "name": "backup",
            "model_pattern": "backup-model",
            "provider": "anthropic",
            "endpoint": up.backup.base_url,
            "api_key_secret": "backup_key",
            "upstream_model": "backup-upstream",
        },
        {**anthropic_route, "model_pattern": "revoked-model", "api_key_secret": "wrong_key"},
        {"model_pattern": "dead-model", "provider": "anthropic", "endpoint": dead},
        {"name": "restricted", "model_pattern": "restricted-model", "provider": "mock"},
        {
            **anthropic_route,
            "name": "claude",
            "model_pattern": "claude-*",
            "extra_headers": {"X-Route-Tag": "claude-route"},
        },
        {**anthropic_route, "model_pattern": "MiniMax-*", "provider": "minimax"},
        {**openai_route, "model_pattern": "gpt-*", "provider": "openai"},
        {**openai_route, "model_pattern": "kimi-*", "provider": "moonshot"},
        {**openai_route, "model_pattern": "qwen*", "provider": "qwen"},
        {
            "model_pattern": "gemini-*",
            "provider": "gemini",
            "endpoint": up.gemini.base_url,
            "api_key_secret": "gemini_key",
        },
        {"model_pattern": "mock-*", "provider": "mock"},
    ]


def gateway_profile(directory: Path, db_url: str, up: Upstreams, **overrides: Any) -> Path:
    """The shared server's profile: the full governance chain, audit writes, a route per
    provider and per failure mode, a route ACL, a quota and a stingy service tier."""
    profile: dict[str, Any] = {
        "server": {"max_body_bytes": MAX_BODY_BYTES},
        "gateway": {
            "routes": gateway_routes(up, dead_endpoint()),
            "retry": {"attempts": RETRY_ATTEMPTS, "backoff_ms": 1, "max_backoff_ms": 5},
            "response_secrets": "redact",
        },
        "rate_limits": {
            "requests_per_second": 1000,
            # A service-tier principal gets 0.1 request/s with a burst of one: its second
            # request in a row is rate limited; nobody else ever is.
            "tier_multipliers": {"service": 0.0001},
        },
        "governance": {
            "scope_check": {
                "acl": [
                    {
                        "type": "route",
                        "name": "restricted",
                        "rules": [
                            {"effect": "deny", "role": "user"},
                            {"effect": "allow", "role": "admin"},
                        ],
                    }
                ]
            },
            "quota": {
                "rules": [
                    {
                        "name": "tenant-output",
                        "subject": "tenant",
                        "subject_id": QUOTA_TENANT,
                        "window": "1h",
                        "limits": {"output_tokens": QUOTA_OUTPUT_TOKENS},
                    },
                    *(
                        {
                            "subject": "tenant",
                            "subject_id": tenant,
                            "window": "1h",
                            "limits": {"input_tokens": INPUT_QUOTA_TOKENS},
                        }
                        for tenant in INPUT_QUOTA_TENANTS
                    ),
                ]
            },
        },
        **overrides,
    }
    return write_profile(
        directory,
        db_url,
        profile,
        {
            "anthropic_key": ANTHROPIC_KEY,
            "backup_key": BACKUP_KEY,
            "openai_key": OPENAI_KEY,
            "gemini_key": GEMINI_KEY,
            "wrong_key": WRONG_KEY,
        },
    )


def cli(profile: Path, *args: str) -> str:
    result = CliRunner().invoke(build_app(profile), ["--profile", str(profile), *args])
    assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
    return result.stdout.strip()


@dataclass
class Gateway:
    """A running Bastion, the fakes behind it, credentials, and its ``ai_requests``."""

    server: ServerThread
    db: DbReader
    up: Upstreams
    keys: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def platform(self) -> Platform:
        assert self.server.platform is not None
        return self.server.platform

    def token(self, user: str, role: str = "user", *, tenant: str = "default") -> str:
        """A JWT signed by the server for a principal with the role's tier and scopes."""
        definition = ROLES[role]
        return self.platform.jwt.issue(
            user_id=UserId(user),
            tenant_id=TenantId(tenant),
            role=RoleName(role),
            tier=definition.tier,
            scopes=definition.scopes,
        ).token

    def anthropic(
        self, key: str | None = None, *, bearer: str | None = None
    ) -> anthropic.Anthropic:
        """The SDK with an API key (``x-api-key``: alice's by default) or, given
        ``bearer``, with that token as ``Authorization: Bearer`` instead."""
        if bearer is not None:
            return anthropic.Anthropic(
                base_url=self.url, api_key=None, auth_token=bearer, max_retries=0, timeout=30
            )
        return anthropic.Anthropic(
            base_url=self.url, api_key=key or self.keys["alice"], max_retries=0, timeout=30
        )

    def openai(self, key: str | None = None, **kwargs: Any) -> openai.OpenAI:
        return openai.OpenAI(
            base_url=self.url + "/v1",
            api_key=key or self.keys["alice"],
            max_retries=0,
            timeout=30,
            **kwargs,
        )

    def post(
        self,
        path: str,
        body: Any,
        *,
        key: str | None = "alice",
        trace: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """POST ``body`` (JSON, or raw bytes) with the API key of user ``key`` (None: no
        credential; a value not naming a user: sent as it is)."""
        sent = dict(headers or {})
        if key is not None:
            sent["x-api-key"] = self.keys.get(key, key)
        if trace is not None:
            sent["x-trace-id"] = trace
        if isinstance(body, bytes):
            sent.setdefault("content-type", "application/json")
            return httpx.post(self.url + path, content=body, headers=sent, timeout=30)
        return httpx.post(self.url + path, json=body, headers=sent, timeout=30)

    def rows(self, **where: Any) -> list[dict[str, Any]]:
        return self.db.rows(**where)

    def row(self, trace_id: str, timeout: float = 10.0, settle: float = 0.15) -> dict[str, Any]:
        """The one ``ai_requests`` row of ``trace_id``, once the batched writer has
        flushed it; waits ``settle`` seconds more to be sure no second row follows."""
        deadline = time.monotonic() + timeout
        while True:
            rows = self.rows(trace_id=trace_id)
            if rows:
                break
            if time.monotonic() > deadline:
                raise AssertionError(f"no ai_requests row for trace {trace_id}")
            time.sleep(0.02)
        time.sleep(settle)
        rows = self.rows(trace_id=trace_id)
        assert len(rows) == 1, rows
        return rows[0]


# -- fixtures ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def upstreams() -> Iterator[Upstreams]:
    fakes = Upstreams(
        anthropic=RecordingAnthropic(api_key=ANTHROPIC_KEY),
        backup=RecordingAnthropic(api_key=BACKUP_KEY),
        openai=FakeOpenAI(api_key=OPENAI_KEY),
        gemini=FakeGemini(api_key=GEMINI_KEY),
    )
    for fake in fakes.all():
        fake.start()
    try:
        yield fakes
    finally:
        for fake in fakes.all():
            fake.stop()


@pytest.fixture(scope="session")
def db_reader() -> Iterator[DbReader]:
    reader = DbReader()
    yield reader
    reader.close()


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def backend_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, db_reader: DbReader
) -> Iterator[str]:
    """Like ``db_url`` (SQLite and PostgreSQL), for servers shared across tests."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('gwdb') / 'bastion.db'}"
        return
    url = db_reader.run(create_pg_database())
    try:
        yield url
    finally:
        db_reader.run(drop_pg_database(url))


def start_gateway(
    directory: Path, url: str, up: Upstreams, **overrides: Any
) -> tuple[Path, DbReader]:
    profile = gateway_profile(directory, url, up, **overrides)
    reader = DbReader()
    reader.connect(url)
    return profile, reader


@pytest.fixture(scope="session")
def shared_gateway(
    backend_url: str, upstreams: Upstreams, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Gateway]:
    profile, reader = start_gateway(tmp_path_factory.mktemp("gateway"), backend_url, upstreams)
    try:
        with running_server(profile) as server:
            gateway = Gateway(server, reader, upstreams)
            cli(profile, "admin", "users", "create", "alice", "--role", "user")
            cli(profile, "admin", "users", "create", "svc", "--role", "service")
            gateway.keys["alice"] = cli(profile, "admin", "keys", "issue", "alice", "--name", "e2e")
            gateway.keys["svc"] = cli(profile, "admin", "keys", "issue", "svc", "--name", "e2e")
            gateway.keys["admin"] = cli(profile, "admin", "keys", "issue", "admin", "--name", "e2e")
            yield gateway
    finally:
        reader.close()


@pytest.fixture
def gw(shared_gateway: Gateway) -> Gateway:
    shared_gateway.up.reset()
    return shared_gateway
