"""Every command and group answers ``--help`` with a usage line and a description."""

from __future__ import annotations

import re
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
    ("audit", "decisions"),
    ("audit", "events"),
    ("audit", "trace"),
    ("governance", "test"),
    ("agents", "list"),
    ("agents", "run"),
    ("agents", "tasks", "list"),
    ("agents", "tasks", "show"),
    ("agents", "tasks", "cancel"),
    ("mcp", "list"),
    ("cowork-helper",),
}


def walk(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Every command under ``command``, loading the lazy ones."""
    yield path, command
    if not hasattr(command, "list_commands"):
        return
    ctx = command.context_class(command, resilient_parsing=True)
    for name in command.list_commands(ctx):
        yield from walk(command.get_command(ctx, name), (*path, name))


@pytest.fixture
def app(monkeypatch: pytest.MonkeyPatch) -> typer.Typer:
    monkeypatch.delenv("BASTION_PROFILE", raising=False)
    return build_app(None)


def test_the_command_tree_is_complete(app: typer.Typer) -> None:
    tree = dict(walk(typer.main.get_command(app)))
    leaves = {path for path, cmd in tree.items() if not hasattr(cmd, "list_commands")}
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


def test_flags_show_as_flags(app: typer.Typer) -> None:
    """``--json``, not ``--json <bool>``: a flag takes no value."""
    runner = CliRunner()
    for path, _ in walk(typer.main.get_command(app)):
        shown = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "120"}).stdout
        assert "<bool>" not in shown, path
    listing = runner.invoke(app, ["admin", "users", "list", "--help"], env={"COLUMNS": "120"})
    assert re.search(r"│ --json +Print JSON instead of a table", listing.stdout), listing.stdout
    # and a flag given a value is refused, as a flag
    given = runner.invoke(
        app, ["--profile", "/nonexistent", "admin", "users", "list", "--json", "true"]
    )
    assert given.exit_code == 2 and "error: Got unexpected extra argument(s) (true)" in given.stderr
