"""The ``mcp`` profile block: what it accepts, and the key path it names when it does not."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from bastion.domains.mcp import McpSettings
from bastion.infra.config import LoadedProfile, load_profile
from bastion.kernel.errors import ExtensionConfigError
from bastion.runtime.namespaces import extension_config
from tests.support import write_profile


def mcp_settings(loaded: LoadedProfile) -> McpSettings:
    """The ``mcp:`` namespace as the mcp domain gets it at boot."""
    return extension_config(loaded, "mcp", McpSettings)


HTTP = {"name": "github", "url": "https://mcp.example.test/mcp"}
LOCAL = {"name": "fs", "command": "mcp-fs"}


def test_defaults_and_a_full_server() -> None:
    settings = McpSettings.model_validate(
        {
            "servers": [
                {
                    **HTTP,
                    "required_scopes": ["github:read"],
                    "min_tier": "user",
                    "credentials": {
                        "headers": {"Authorization": {"secret": "gh", "prefix": "Bearer "}}
                    },
                    "tools": {"allow": ["issues_*"], "deny": ["issues_delete"]},
                    "timeout_seconds": 20,
                    "protocol": "legacy",
                },
                {
                    **LOCAL,
                    "args": ["--ro"],
                    "env": {"A": "1"},
                    "credentials": {"env": {"TOKEN": {"secret": "fs"}}},
                },
            ],
            "allowed_origins": ["https://console.example.test", "http://localhost:6274"],
        }
    )
    github, fs = settings.servers
    assert github.credentials.headers["Authorization"].prefix == "Bearer "
    assert (github.tools.allow, fs.tools.allow, fs.tools.deny) == (["issues_*"], ["*"], [])
    assert (fs.timeout_seconds, fs.min_tier, fs.protocol) == (60.0, "mcp", "auto")
    assert settings.response_secrets == "redact" and settings.health_interval_seconds == 30


@pytest.mark.parametrize(
    ("servers", "message"),
    [
        ([{"name": "x"}], "exactly one of url or command"),
        ([{**HTTP, "command": "x"}], "exactly one of url or command"),
        ([{**HTTP, "name": "has space"}], "server name 'has space'"),
        ([{**HTTP, "name": "registry"}], "server name 'registry' is reserved"),
        ([HTTP, HTTP], "server name 'github' is registered twice"),
        ([{**HTTP, "url": "ftp://x"}], "url must start with http:// or https://"),
        ([{**HTTP, "args": ["--x"]}], "apply to command servers only"),
        ([{**LOCAL, "credentials": {"headers": {"X-Key": {"secret": "s"}}}}], "url servers only"),
        (
            [{**HTTP, "credentials": {"headers": {"Mcp-Session-Id": {"secret": "s"}}}}],
            "set by Bastion",
        ),
        (
            [{**HTTP, "credentials": {"headers": {"Bad Header": {"secret": "s"}}}}],
            "not a valid HTTP header",
        ),
        ([{**LOCAL, "credentials": {"env": {"1BAD": {"secret": "s"}}}}], "not a valid environment"),
        ([{**HTTP, "timeout_seconds": 0}], "greater than 0"),
        ([{**HTTP, "surprise": True}], "Extra inputs are not permitted"),
    ],
)
def test_bad_servers_are_refused(servers: list[dict[str, Any]], message: str) -> None:
    with pytest.raises(ValidationError) as refused:
        McpSettings.model_validate({"servers": servers})
    assert message in str(refused.value)


def test_origins_are_whole_origins() -> None:
    assert McpSettings.model_validate({"allowed_origins": ["*"]}).allowed_origins == ["*"]
    with pytest.raises(ValidationError) as refused:
        McpSettings.model_validate({"allowed_origins": ["https://console.example.test/app"]})
    assert "scheme://host[:port]" in str(refused.value)


def test_service_files_merge_into_the_registry_and_errors_name_the_key(tmp_path: Path) -> None:
    profile = write_profile(
        tmp_path / "p", "sqlite+aiosqlite:///x.db", {"mcp": {"servers": [HTTP]}}
    )
    (profile / "services" / "mcp").mkdir(parents=True)
    (profile / "services" / "mcp" / "local.yaml").write_text(yaml.safe_dump([LOCAL]))
    names = [s.name for s in mcp_settings(load_profile(profile)).servers]
    assert names == ["github", "fs"]
    (profile / "services" / "mcp" / "broken.yaml").write_text(
        yaml.safe_dump({"name": "broken", "url": "https://x.example.test/mcp", "tiemout": 3})
    )
    with pytest.raises(ExtensionConfigError) as refused:
        mcp_settings(load_profile(profile))
    assert "mcp.servers[1].tiemout: unknown key" in str(refused.value)
