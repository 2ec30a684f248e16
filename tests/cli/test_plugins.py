"""``bastion plugins list|show|validate``."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.conftest import Cli, error_of
from tests.support import write_profile

EXPECTED = {
    "core": {
        "version": "1.0.0",
        "maturity": "ga",
        "kind": "library",
        "depends_on": "",
        "required": True,
        "source": "distribution 'bastion-gateway'",
    },
    "users": {
        "version": "1.0.0",
        "maturity": "ga",
        "kind": "library",
        "surfaces": "migrations, after_migrate, services, router, cli",
        "depends_on": "core",
        "required": True,
        "source": "distribution 'bastion-gateway'",
    },
    "auth": {
        "version": "1.0.0",
        "maturity": "ga",
        "kind": "library",
        "depends_on": "users",
        "required": True,
        "source": "distribution 'bastion-gateway'",
    },
    "hello": {
        "version": "1.0.0",
        "maturity": "beta",
        "kind": "library",
        "surfaces": "migrations, services, router, jobs, roles, config, cli",
        "depends_on": "users",
        "required": False,
        "source": "distribution 'bastion-hello'",
    },
    "helpdesk": {
        "version": "1.0.0",
        "maturity": "beta",
        "kind": "library",
        "surfaces": "migrations, services, router, config, cli",
        "depends_on": "users",
        "required": False,
        "source": "distribution 'bastion-helpdesk'",
    },
}


def test_list_shows_core_users_auth_and_the_examples(offline_cli: Cli) -> None:
    rows = json.loads(offline_cli.ok("plugins", "list", "--json"))
    by_id = {r["id"]: r for r in rows}
    for ext_id, expected in EXPECTED.items():
        row = by_id[ext_id]
        assert {k: row[k] for k in expected} == expected, ext_id
        assert set(row) >= {"id", "version", "maturity", "kind", "surfaces", "depends_on"}
    assert "migrations" in by_id["core"]["surfaces"].split(", ")
    assert "migrations" in by_id["auth"]["surfaces"].split(", ")
    ids = [r["id"] for r in rows]  # boot order: dependencies first
    assert ids.index("core") < ids.index("users") < ids.index("auth")
    assert ids.index("users") < ids.index("hello")
    assert ids.index("users") < ids.index("helpdesk")
    table = offline_cli.ok("plugins", "list")
    assert "hello" in table and "beta" in table


def test_list_includes_standalone_manifests(tmp_path: Path) -> None:
    plugins = tmp_path / "plugins"
    (plugins / "notes").mkdir(parents=True)
    (plugins / "notes" / "manifest.yaml").write_text(
        "id: notes\nkind: cli\nversion: '0.3'\nmaturity: beta\ncommand: [echo]\ndepends_on: [users]"
    )
    (plugins / "search").mkdir()
    (plugins / "search" / "manifest.yaml").write_text(
        "id: search\nkind: mcp-server\nversion: '2'\ncommand: [./server.py]"
    )
    cli = Cli(
        write_profile(
            tmp_path / "p", "sqlite+aiosqlite:///x.db", {"extensions": {"dir": str(plugins)}}
        )
    )
    by_id = {r["id"]: r for r in json.loads(cli.ok("plugins", "list", "--json"))}
    notes, search = by_id["notes"], by_id["search"]
    assert (notes["kind"], notes["version"], notes["maturity"], notes["depends_on"]) == (
        "cli",
        "0.3",
        "beta",
        "users",
    )
    assert notes["surfaces"] == ""  # a cli plugin contributes no in-process surface
    assert notes["source"] == f"manifest {plugins / 'notes' / 'manifest.yaml'}"
    assert (search["kind"], search["surfaces"], search["maturity"]) == (
        "mcp-server",
        "tool_providers",
        "experimental",
    )


def test_show_hello(offline_cli: Cli) -> None:
    shown = json.loads(offline_cli.ok("plugins", "show", "hello"))
    assert {k: shown[k] for k in EXPECTED["hello"]} == EXPECTED["hello"]
    assert shown["id"] == "hello"
    assert shown["description"] == "Example: greets people and remembers it"
    assert shown["migrations"] == ["001_greetings"]
    assert shown["jobs"] == ["prune"]
    assert shown["roles"] == ["greeter"]
    assert shown["config_namespace"] == "hello"
    assert shown["priority"] == 100
    assert shown["commands"] == ["bastion hello"]


def test_show_names_the_commands_a_core_domain_contributes(offline_cli: Cli) -> None:
    assert json.loads(offline_cli.ok("plugins", "show", "auth"))["commands"] == [
        "bastion admin tokens",
        "bastion admin keys",
    ]
    assert json.loads(offline_cli.ok("plugins", "show", "mcp"))["commands"] == ["bastion mcp"]


def test_show_helpdesk(offline_cli: Cli) -> None:
    shown = json.loads(offline_cli.ok("plugins", "show", "helpdesk"))
    assert {k: shown[k] for k in EXPECTED["helpdesk"]} == EXPECTED["helpdesk"]
    assert shown["migrations"] == ["001_tickets"]
    assert shown["config_namespace"] == "helpdesk"


def test_show_unknown(offline_cli: Cli) -> None:
    result = offline_cli.fails("plugins", "show", "nope")
    assert error_of(result) == "error: no extension 'nope' is installed"


def test_validate(offline_cli: Cli, tmp_path: Path) -> None:
    count = len(json.loads(offline_cli.ok("plugins", "list", "--json")))
    assert offline_cli.ok("plugins", "validate") == f"{count} extensions valid\n"
    bad = Cli(
        write_profile(
            tmp_path / "bad", "sqlite+aiosqlite:///x.db", {"extensions": {"min_maturity": "ga"}}
        )
    )
    assert error_of(bad.fails("plugins", "validate")) == (
        "error: boot failed at discover: extension 'hello' is beta, below "
        "extensions.min_maturity=ga"
    )
