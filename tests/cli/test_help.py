"""Every command and group answers ``--help`` with a usage line and a description."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from bastion.cli import build_app

EXPECTED_COMMANDS = {
    ("serve",),
    ("db", "migrate"),
    ("db", "status"),
    ("db", "repair"),
    ("config", "validate"),
    ("config", "show"),
    ("plugins", "list"),
    ("plugins", "validate"),
    ("plugins", "show"),
    ("admin", "users", "create"),
    ("admin", "users", "list"),
    ("admin", "users", "disable"),
    ("admin", "users", "enable"),
    ("admin", "tokens", "issue"),
    ("admin", "tokens", "revoke"),
    ("admin", "keys", "issue"),
    ("admin", "keys", "list"),
    ("admin", "keys", "revoke"),
    ("jobs", "list"),
    ("jobs", "runs"),
    ("jobs", "run"),
}


def walk(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    yield path, command
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        yield from walk(sub, (*path, name))


@pytest.fixture
def app(monkeypatch: pytest.MonkeyPatch) -> typer.Typer:
    monkeypatch.delenv("BASTION_PROFILE", raising=False)
    return build_app(None)


def test_the_command_tree_is_complete(app: typer.Typer) -> None:
    tree = dict(walk(typer.main.get_command(app)))
    leaves = {path for path, cmd in tree.items() if not getattr(cmd, "commands", None)}
    assert leaves >= EXPECTED_COMMANDS


def test_every_command_has_help(app: typer.Typer) -> None:
    runner = CliRunner()
    paths = [path for path, _ in walk(typer.main.get_command(app))]
    assert len(paths) > len(EXPECTED_COMMANDS)
    for path in paths:
        result = runner.invoke(app, [*path, "--help"])
        assert result.exit_code == 0, (path, result.output)
        assert "Usage:" in result.stdout, path
        assert result.stderr == "", path
        _, command = next((p, c) for p, c in walk(typer.main.get_command(app)) if p == path)
        assert (command.help or "").strip(), f"{' '.join(path) or 'bastion'} has no help text"


def test_listings_take_json(app: typer.Typer) -> None:
    runner = CliRunner()
    for path in (
        ("db", "status"),
        ("plugins", "list"),
        ("admin", "users", "list"),
        ("admin", "keys", "list"),
        ("jobs", "list"),
        ("jobs", "runs"),
        ("config", "show"),
    ):
        assert "--json" in runner.invoke(app, [*path, "--help"]).stdout, path


def test_version(app: typer.Typer) -> None:
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0 and result.stdout.startswith("bastion ")
