"""Drive the ``bastion`` command in process, against a profile on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from typer.testing import CliRunner, Result

from bastion.cli import build_app
from bastion.infra.db import create_engine
from tests.examples.install import examples_installed
from tests.support import write_profile

__all__ = ["Cli", "error_of", "examples_installed", "query"]


@dataclass(frozen=True)
class Cli:
    """``bastion --profile DIR ...`` through Typer's runner; stdout and stderr kept apart."""

    profile: Path

    def __call__(self, *args: str, input: str | None = None) -> Result:
        return CliRunner().invoke(
            build_app(self.profile), ["--profile", str(self.profile), *args], input=input
        )

    def ok(self, *args: str) -> str:
        """Run a command that must succeed; return its stdout."""
        result = self(*args)
        assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
        return result.stdout

    def fails(self, *args: str, code: int = 1) -> Result:
        """Run a command that must fail cleanly (an exit status, not an exception)."""
        result = self(*args)
        assert result.exit_code == code, (result.stdout, result.stderr, result.exception)
        assert isinstance(result.exception, SystemExit), result.exception
        return result


def query(db_url: str, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    """Run SQL directly, outside Bastion (from a sync test: the CLI runs its own loop)."""

    async def go() -> list[tuple[Any, ...]]:
        engine = create_engine(db_url)
        try:
            async with engine.begin() as conn:
                result = await conn.execute(text(sql), params)
                return [tuple(row) for row in result] if result.returns_rows else []
        finally:
            await engine.dispose()

    return asyncio.run(go())


def error_of(result: Result) -> str:
    """The one ``error:`` line on stderr (logs may surround it; a traceback may not)."""
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.fixture
def profile_dir(db_url: str, tmp_path: Path) -> Path:
    # Info level: boot logs (migrations, bootstrap admin) are emitted, so tests that read
    # stdout prove those logs go to stderr.
    return write_profile(tmp_path / "profile", db_url, {"logging": {"level": "info"}})


@pytest.fixture
def cli(profile_dir: Path) -> Iterator[Cli]:
    yield Cli(profile_dir)


@pytest.fixture
def offline_cli(tmp_path: Path) -> Cli:
    """For commands that never open the database (plugins, config): one backend is enough."""
    return Cli(write_profile(tmp_path / "offline", f"sqlite+aiosqlite:///{tmp_path / 'x.db'}"))
