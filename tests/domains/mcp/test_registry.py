"""The registry: servers from the profile, from an extension's ``tool_providers()`` and
from a standalone ``mcp-server`` manifest, served side by side; and the boot errors a
bad registry gives."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import pytest
import yaml

from bastion.domains.mcp import McpConfigError, McpServerSettings, Registry
from bastion.infra.config import SecretStore, load_profile
from bastion.infra.db import create_engine
from bastion.kernel.contract import Extension, ExtensionMeta, McpServerDefinition
from bastion.kernel.tiers import Tier
from bastion.runtime.boot import BootError, boot
from tests.domains.mcp.conftest import Bastion, user_id
from tests.fakes.mcp_servers import STDIO_SERVER
from tests.support import running_server, write_profile


class ProvidesTools(Extension):
    meta = ExtensionMeta(id="kbtools", version="1.0.0", description="contributes an MCP server")

    def tool_providers(self) -> Sequence[McpServerDefinition]:
        return [
            McpServerDefinition(
                name="provided",
                command=(sys.executable, str(STDIO_SERVER)),
                description="from an extension",
                required_scopes=frozenset({"kb:read"}),
                min_tier=Tier.USER,
            )
        ]


def manifest(directory: Path) -> Path:
    folder = directory / "extensions" / "notes"
    folder.mkdir(parents=True)
    (folder / "manifest.yaml").write_text(
        yaml.safe_dump(
            {
                "id": "notes",
                "kind": "mcp-server",
                "version": "0.3.0",
                "description": "a standalone MCP server",
                "command": [sys.executable, str(STDIO_SERVER)],
            }
        )
    )
    return directory / "extensions"


async def test_every_source_joins_one_registry(db_url: str, tmp_path: Path) -> None:
    profile = write_profile(
        tmp_path / "profile",
        db_url,
        {
            "extensions": {"dir": str(manifest(tmp_path))},
            "mcp": {
                "health_interval_seconds": 3600,
                "servers": [
                    {"name": "local", "command": sys.executable, "args": [str(STDIO_SERVER)]}
                ],
            },
        },
    )
    db = create_engine(db_url)
    try:
        with running_server(profile, extra=[ProvidesTools]) as server:
            bastion = Bastion(server, profile, db)
            reader = bastion.token(user_id(), scopes=frozenset({"mcp:call", "kb:read"}))
            view = await bastion.registry(reader)
            sources = {s["name"]: s["source"] for s in view["servers"]}
            assert sources == {
                "local": "profile",
                "provided": "extension:kbtools",
                "notes": "extension:notes",
            }
            for name in sources:
                async with bastion.client(name, reader) as client:
                    result = await client.call_tool("echo", {"text": name})
                    assert result.content[0].text == name  # type: ignore[union-attr]
            # required_scopes from the extension's definition apply
            plain = await bastion.registry(bastion.token(user_id()))
            assert {s["name"] for s in plain["servers"]} == {"local", "notes"}
    finally:
        await db.dispose()


async def test_a_name_registered_twice_stops_boot(tmp_path: Path) -> None:
    profile = write_profile(
        tmp_path / "profile",
        f"sqlite+aiosqlite:///{tmp_path / 'b.db'}",
        {"mcp": {"servers": [{"name": "provided", "url": "http://127.0.0.1:9/mcp"}]}},
    )
    with pytest.raises(BootError) as failed:
        await boot(load_profile(profile), extra=[ProvidesTools], migrate=False)
    assert str(failed.value) == (
        "boot failed at validate: MCP server 'provided' is registered twice: "
        "by profile and by extension:kbtools"
    )


async def test_a_missing_credential_secret_stops_boot(tmp_path: Path) -> None:
    profile = write_profile(
        tmp_path / "profile",
        f"sqlite+aiosqlite:///{tmp_path / 'b.db'}",
        {
            "mcp": {
                "servers": [
                    {
                        "name": "github",
                        "url": "https://mcp.example.test/mcp",
                        "credentials": {"headers": {"Authorization": {"secret": "gh_token"}}},
                    }
                ]
            }
        },
    )
    with pytest.raises(BootError) as failed:
        await boot(load_profile(profile), migrate=False)
    message = str(failed.value)
    assert "mcp server 'github': credentials: secret 'gh_token' is not defined" in message


def test_specs_resolve_credentials_and_keep_them_out_of_repr(tmp_path: Path) -> None:
    settings = McpServerSettings.model_validate(
        {
            "name": "gh",
            "url": "https://mcp.example.test/mcp",
            "credentials": {"headers": {"Authorization": {"secret": "t", "prefix": "Bearer "}}},
            "tools": {"allow": ["issues_*", "search"], "deny": ["issues_delete*"]},
        }
    )
    local = McpServerSettings.model_validate(
        {
            "name": "fs",
            "command": "mcp-fs",
            "args": ["--root", "/srv"],
            "cwd": "servers/fs",
            "env": {"MODE": "ro"},
            "credentials": {"env": {"FS_TOKEN": {"secret": "fs"}}},
        }
    )
    registry = Registry.build(
        [settings, local], [], SecretStore({"t": "tok-123", "fs": "fs-456"}), tmp_path
    )
    gh, fs = registry.get("gh"), registry.get("fs")
    assert gh is not None and fs is not None
    assert gh.headers == {"Authorization": "Bearer tok-123"}
    assert "tok-123" not in repr(gh) and "fs-456" not in repr(fs)
    assert fs.command == ("mcp-fs", "--root", "/srv") and fs.cwd == tmp_path / "servers/fs"
    assert fs.process_env()["FS_TOKEN"] == "fs-456" and fs.process_env()["MODE"] == "ro"
    assert [
        gh.tool_filter_rule(t) for t in ("issues_list", "search", "issues_delete", "admin")
    ] == [
        None,
        None,
        "deny",
        "allow",
    ]


def test_a_contributed_server_with_a_bad_name_is_refused() -> None:
    with pytest.raises(McpConfigError) as refused:
        Registry.build(
            [],
            [("ext", McpServerDefinition(name="a b", url="http://x/mcp"))],
            SecretStore({}),
            None,
        )
    assert "extension 'ext' contributes an MCP server" in str(refused.value)


def test_a_credential_with_a_line_break_is_refused() -> None:
    settings = McpServerSettings.model_validate(
        {
            "name": "gh",
            "url": "https://mcp.example.test/mcp",
            "credentials": {"headers": {"Authorization": {"secret": "t"}}},
        }
    )
    with pytest.raises(McpConfigError, match=r"credentials\.headers\.Authorization: the secret"):
        Registry.build([settings], [], SecretStore({"t": "token\n"}), None)
