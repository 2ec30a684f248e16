"""What the fault tests share: the CLI against a profile, a profile routing ``claude-*``
to the fake Anthropic upstream, one SDK call, and the private PostgreSQL and Redis
instances a test may stop (never the shared ones)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import pytest
from typer.testing import CliRunner

from bastion.cli import build_app
from tests.cli.conftest import query
from tests.fakes import FakeAnthropic
from tests.support import write_profile
from tests.support.private_services import PrivatePostgres, PrivateRedis

UPSTREAM_KEY = "sk-ant-upstream-faults-0123456789"


def cli(profile: Path, *args: str) -> str:
    result = CliRunner().invoke(build_app(profile), ["--profile", str(profile), *args])
    assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
    return result.stdout.strip()


def fault_profile(directory: Path, db_url: str, upstream: FakeAnthropic, **overrides: Any) -> Path:
    """A profile in ``directory`` routing ``claude-*`` to ``upstream``, its audit flushed
    every 50 ms and spilled under ``directory/audit``; ``overrides`` replace or merge
    top-level blocks."""
    profile: dict[str, Any] = {
        "gateway": {
            "routes": [
                {
                    "model_pattern": "claude-*",
                    "provider": "anthropic",
                    "endpoint": upstream.base_url,
                    "api_key_secret": "anthropic_key",
                }
            ]
        },
        "audit": {
            "flush_interval_ms": 50,
            "spill_path": str(directory / "audit" / "spill.jsonl"),
        },
        "rate_limits": {"requests_per_second": 1_000_000},
        **overrides,
    }
    return write_profile(directory, db_url, profile, {"anthropic_key": UPSTREAM_KEY})


def call(client: anthropic.Anthropic, trace: str) -> tuple[int, anthropic.APIStatusError | None]:
    """One ``/v1/messages`` call through the SDK: its status, and the error when refused
    (whose body must be an Anthropic-format error)."""
    try:
        client.messages.create(
            model="claude-test",
            max_tokens=16,
            messages=[{"role": "user", "content": "hello"}],
            extra_headers={"x-trace-id": trace},
        )
    except anthropic.APIStatusError as exc:
        assert exc.response.json()["type"] == "error", exc.response.text
        return exc.status_code, exc
    return 200, None


def rows_when(db_url: str, sql: str, expected: int, timeout: float) -> list[tuple[Any, ...]]:
    """The rows ``sql`` selects once there are ``expected`` of them (the batched writer
    and its spill replay lag behind the answers), or what it selects at ``timeout``."""
    until = time.monotonic() + timeout
    while True:
        rows = query(db_url, sql)
        if len(rows) >= expected or time.monotonic() > until:
            return rows
        time.sleep(0.2)


@pytest.fixture
def upstream() -> Iterator[FakeAnthropic]:
    fake = FakeAnthropic(api_key=UPSTREAM_KEY).start()
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture
def postgres() -> Iterator[PrivatePostgres]:
    """A private PostgreSQL, running when the test starts; the test may stop it."""
    instance = PrivatePostgres()
    instance.start()
    try:
        yield instance
    finally:
        instance.remove()


@pytest.fixture
def redis() -> Iterator[PrivateRedis]:
    """A private Redis, running when the test starts; the test may stop it."""
    instance = PrivateRedis()
    instance.start()
    try:
        yield instance
    finally:
        instance.stop()
