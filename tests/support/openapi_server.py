"""A Bastion with every built-in extension and the example one mounted, an admin API key,
and a catch-all gateway route to the in-process ``mock`` provider: what the OpenAPI
tests and the fuzzer run against."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from typer.testing import CliRunner

from bastion.cli import build_app
from tests.support.profiles import write_profile
from tests.support.server import ServerThread, running_server


def _cli(profile: Path, *args: str) -> str:
    result = CliRunner().invoke(build_app(profile), ["--profile", str(profile), *args])
    assert result.exit_code == 0, result.output
    return result.stdout.strip()


@contextmanager
def api_server(directory: Path, db_url: str) -> Iterator[tuple[ServerThread, str]]:
    """The server and an admin API key."""
    profile = write_profile(
        directory,
        db_url,
        {
            "server": {"max_body_bytes": 65536},
            "gateway": {"routes": [{"model_pattern": "*", "provider": "mock"}]},
            "rate_limits": {"requests_per_second": 100000},
        },
    )
    with running_server(profile) as server:
        key = _cli(profile, "admin", "keys", "issue", "admin", "--name", "fuzz")
        yield server, key
