"""``-`` names standard input wherever a command reads a file."""

from __future__ import annotations

import json
import socket
from pathlib import Path

from tests.cli.conftest import Cli, error_of

DENIED = {"target": {"type": "prompt"}, "input": "deploy with AKIAQ3ZL7TXJ2KRV6M4W"}


def test_governance_test_reads_stdin(offline_cli: Cli, tmp_path: Path) -> None:
    result = offline_cli("governance", "test", "--input", "-", input=json.dumps(DENIED))
    assert result.exit_code == 2, (result.stdout, result.stderr)
    decision = json.loads(result.stdout)
    assert (decision["decision"], decision["rule"]) == ("deny", "secret.aws-access-key-id")
    # the same document from a file decides the same
    path = tmp_path / "in.json"
    path.write_text(json.dumps(DENIED))
    from_file = offline_cli("governance", "test", "--input", str(path))
    assert json.loads(from_file.stdout)["rule"] == decision["rule"]


def test_governance_test_names_stdin_in_errors(offline_cli: Cli) -> None:
    result = offline_cli("governance", "test", "--input", "-", input="{not json")
    assert result.exit_code == 1
    assert error_of(result).startswith("error: <stdin>: ")


def test_cowork_helper_reads_its_config_from_stdin(offline_cli: Cli, tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}"
    config = f'url = "{dead}"\napi_key = "bst_x"\ncache_file = "{tmp_path / "c.json"}"\n'
    result = offline_cli("cowork-helper", "--config", "-", "--no-cache", input=config)
    assert result.exit_code == 1
    # the url came from stdin: the helper tried it (without a config, it asks for one)
    assert f"cannot reach {dead}" in result.stderr, result.stderr
