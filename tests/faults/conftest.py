"""What the fault tests share: the CLI against a profile, and a profile routing
``claude-*`` to a fake Anthropic upstream with a fast-flushing audit and its own spill."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from bastion.cli import build_app
from tests.fakes import FakeAnthropic
from tests.support import write_profile
from tests.support.private_services import PrivatePostgres

UPSTREAM_KEY = "sk-ant-upstream-faults-0123456789"


def cli(profile: Path, *args: str) -> str:
    result = CliRunner().invoke(build_app(profile), ["--profile", str(profile), *args])
    assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
    return result.stdout.strip()


def gateway_profile(
    directory: Path, db_url: str, upstream: FakeAnthropic, extra: dict[str, Any]
) -> Path:
    return write_profile(
        directory / "profile",
        db_url,
        {
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
            "audit": {"flush_interval_ms": 50, "spill_path": str(directory / "spill.jsonl")},
            **extra,
        },
        {"anthropic_key": UPSTREAM_KEY},
    )


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
