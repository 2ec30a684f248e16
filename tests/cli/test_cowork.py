"""``bastion cowork-helper`` as Claude Desktop runs it: a separate process that prints one
JSON object on stdout (diagnostics on stderr), caching the token with mode 0600 and
asking Bastion again only when the cached token is about to expire."""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.cli.conftest import Cli
from tests.support import running_server

BASTION = str(Path(sys.executable).parent / "bastion")


@dataclass
class Helper:
    url: str
    key: str
    home: Path

    @property
    def cache(self) -> Path:
        return self.home / ".cache" / "bastion" / "cowork-token.json"

    def run(self, **env: str) -> subprocess.CompletedProcess[str]:
        """``bastion cowork-helper`` with a clean environment: HOME, PATH and ``env``
        (by default BASTION_URL and BASTION_API_KEY for the running server)."""
        variables = {"HOME": str(self.home), "PATH": os.environ["PATH"]}
        variables.update(env or {"BASTION_URL": self.url, "BASTION_API_KEY": self.key})
        return subprocess.run(
            [BASTION, "cowork-helper"],
            env=variables,
            cwd=self.home,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def answer(self, **env: str) -> tuple[dict[str, Any], str]:
        """The one JSON object a successful run prints, and its stderr."""
        result = self.run(**env)
        assert result.returncode == 0, result.stderr
        lines = result.stdout.splitlines()
        assert len(lines) == 1, result.stdout
        return json.loads(lines[0]), result.stderr


def dead_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


@pytest.fixture
def helper(cli: Cli, tmp_path: Path) -> Iterator[Helper]:
    with running_server(cli.profile) as server:
        cli.ok("admin", "users", "create", "dana", "--role", "user")
        key = cli.ok("admin", "keys", "issue", "dana", "--name", "desktop").strip()
        home = tmp_path / "home"
        home.mkdir()
        yield Helper(server.url, key, home)


def test_prints_one_object_caches_it_0600_and_reuses_it(helper: Helper) -> None:
    answer, stderr = helper.answer()
    assert set(answer) == {"token", "ttl", "headers"}
    assert answer["ttl"] == 3600
    assert answer["headers"]["x-client-id"] == "claude-for-work"
    assert "new token" in stderr
    # The token is a working credential.
    models = httpx.get(
        helper.url + "/v1/models", headers={"authorization": f"Bearer {answer['token']}"}
    )
    assert models.status_code == 200, models.text

    assert stat.S_IMODE(helper.cache.stat().st_mode) == 0o600
    cached = json.loads(helper.cache.read_text())
    assert cached["token"] == answer["token"]

    # A second run answers from the cache: Bastion is not even reachable now.
    again, stderr = helper.answer(BASTION_URL=dead_url(), BASTION_API_KEY=helper.key)
    assert again["token"] == answer["token"]
    assert again["headers"] == answer["headers"]
    assert 0 < again["ttl"] <= answer["ttl"]
    assert stderr == ""


def test_refreshes_a_token_near_expiry(helper: Helper) -> None:
    first, _ = helper.answer()
    entry = json.loads(helper.cache.read_text())
    entry["expires_at"] = time.time() + 20  # inside the refresh margin
    helper.cache.write_text(json.dumps(entry))
    # Unreachable Bastion: the nearly expired token is not handed out.
    failed = helper.run(BASTION_URL=dead_url(), BASTION_API_KEY=helper.key)
    assert failed.returncode == 1 and failed.stdout == ""
    assert "cannot reach" in failed.stderr
    refreshed, stderr = helper.answer()
    assert refreshed["token"] != first["token"]
    assert "new token" in stderr
    assert json.loads(helper.cache.read_text())["token"] == refreshed["token"]
    assert stat.S_IMODE(helper.cache.stat().st_mode) == 0o600


def test_reads_a_toml_config(helper: Helper) -> None:
    config = helper.home / ".config" / "bastion" / "cowork.toml"
    config.parent.mkdir(parents=True)
    cache = helper.home / "elsewhere" / "token.json"
    config.write_text(
        f'url = "{helper.url}"\napi_key_env = "DESKTOP_KEY"\ncache_file = "{cache}"\n'
    )
    answer, _ = helper.answer(DESKTOP_KEY=helper.key)
    assert answer["ttl"] == 3600
    assert stat.S_IMODE(cache.stat().st_mode) == 0o600
    assert not helper.cache.exists()


def test_failures_print_nothing_on_stdout(helper: Helper) -> None:
    refused = helper.run(BASTION_URL=helper.url, BASTION_API_KEY="bst_notarealkey00000000000000")
    assert refused.returncode == 1 and refused.stdout == ""
    assert "answered 401" in refused.stderr
    missing = helper.run(BASTION_URL=helper.url)
    assert missing.returncode == 1 and missing.stdout == ""
    assert "missing api_key" in missing.stderr
    assert not helper.cache.exists()
