"""What ``bastion`` imports before it runs a command: the server stack only when needed.

Each case runs the real entry point in a fresh interpreter and reports ``sys.modules``; the
times themselves are measured in ``bench/cli.py``, never here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bastion.cli import BUILTIN, build_app
from bastion.cli._extensions import ENTRY_POINT_GROUP
from bastion.runtime.discovery import ENTRY_POINT_GROUP as DISCOVERY_GROUP
from tests.cli.test_help import walk

SERVER_STACK = (
    "bastion.infra",
    "bastion.runtime",
    "bastion.domains",
    "bastion.server",
    "sqlalchemy",
    "starlette",
    "pydantic",
)

PROBE = """
import json, sys
sys.argv = ["bastion", *json.loads(sys.argv[1])]
from bastion.cli import main
try:
    main()
except SystemExit:
    pass
sys.stdout.flush()
print("\\n" + json.dumps(sorted(sys.modules)), file=sys.stderr)
"""


def imported_by(tmp_path: Path, *args: str) -> set[str]:
    env = {k: v for k, v in os.environ.items() if k != "BASTION_PROFILE"}
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")
    done = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(list(args))],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    return set(json.loads(done.stderr.strip().splitlines()[-1]))


def server_stack(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if any(m == p or m.startswith(f"{p}.") for p in SERVER_STACK))


def test_version_imports_no_server_stack(tmp_path: Path) -> None:
    assert server_stack(imported_by(tmp_path, "--version")) == []


def test_help_imports_no_server_stack(tmp_path: Path) -> None:
    first = imported_by(tmp_path, "--help")  # builds the extension command index
    assert (tmp_path / "cache" / "bastion").is_dir()
    again = imported_by(tmp_path, "--help")  # reads it
    assert server_stack(again) == [], first


def test_listing_the_domains_commands_imports_no_domain(tmp_path: Path) -> None:
    """``bastion admin --help`` lists the users and auth domains' commands from the index,
    as ``bastion --help`` lists ``mcp``: no domain module is imported to name them."""
    imported_by(tmp_path, "--help")  # builds the index
    modules = imported_by(tmp_path, "admin", "--help")
    assert [m for m in modules if m.startswith("bastion.domains")] == []


def test_running_a_domain_command_imports_it_through_its_extension(tmp_path: Path) -> None:
    modules = imported_by(tmp_path, "mcp", "tools", "--help")
    assert {"bastion.domains.mcp._cli", "bastion.domains.mcp._extension"} <= modules
    assert "mcp" not in modules  # the MCP SDK: its service is never built to show help


def test_finding_a_domain_command_builds_no_domain_service(tmp_path: Path) -> None:
    """Every extension's ``cli()`` is called to find ``admin tokens``; none of them may
    pull in what only a served route needs (``admin tokens issue`` has a 1 s budget)."""
    modules = imported_by(tmp_path, "admin", "tokens", "issue", "--help")
    assert "bastion.domains.auth._cli" in modules
    assert [m for m in ("mcp", "aiohttp", "httpx", "redis") if m in modules] == []


def test_every_group_open_to_extensions_is_a_built_in_group() -> None:
    from bastion.cli._lazy import ExtensionGroup
    from bastion.kernel.contract import CLI_GROUPS

    builtin = {c.name: c for c in BUILTIN}
    for name, help_line in CLI_GROUPS.items():
        assert builtin[name].help == help_line
        group = builtin[name].load()
        assert isinstance(group, ExtensionGroup) and group.group == name


@pytest.mark.parametrize("group", ["admin", "db", "audit"])
def test_a_group_imports_only_its_own_module(tmp_path: Path, group: str) -> None:
    modules = imported_by(tmp_path, group, "--help")
    command_modules = {m for m in modules if m.startswith("bastion.cli._")}
    others = {f"bastion.cli.{c.target.split(':')[0].rsplit('.', 1)[1]}" for c in BUILTIN}
    assert command_modules & others == {f"bastion.cli._{group}"}


def test_listed_help_is_the_commands_own(monkeypatch: pytest.MonkeyPatch) -> None:
    """The help line ``bastion --help`` shows without importing is the one the command has."""
    monkeypatch.delenv("BASTION_PROFILE", raising=False)
    import typer

    root = typer.main.get_command(build_app(None))
    loaded = dict(walk(root))
    for lazy in BUILTIN:
        command = loaded[(lazy.name,)]
        own = (command.help or "").strip().split("\n\n")[0].replace("\n", " ")
        assert own == lazy.help, lazy.name


def test_the_index_reads_the_entry_points_discovery_reads() -> None:
    assert ENTRY_POINT_GROUP == DISCOVERY_GROUP
