"""Agents as config as code: ``services/agents/*.yaml`` merged into the agents domain's
namespace (``agents:``) and validated as its ``config()`` model, each bad agent failing
with its key path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bastion.domains.agents import AgentsSettings
from bastion.infra.config import load_profile
from bastion.kernel.errors import BastionError
from bastion.runtime.namespaces import extension_config
from tests.domains.agents.conftest import HELPDESK, MORE, agents_profile

DB = "sqlite+aiosqlite:///unused.db"


def load(
    tmp_path: Path, files: dict[str, Any], profile: dict[str, Any] | None = None
) -> AgentsSettings:
    loaded = load_profile(agents_profile(tmp_path / "p", DB, files, profile or {}))
    return extension_config(loaded, "agents", AgentsSettings)


def fails(tmp_path: Path, files: dict[str, Any], profile: dict[str, Any] | None = None) -> str:
    with pytest.raises(BastionError) as caught:
        load(tmp_path, files, profile)
    return str(caught.value)


def agent(name: str, **changes: Any) -> dict[str, Any]:
    return {**HELPDESK, "name": name, "default": False, **changes}


def test_files_merge_in_name_order_as_mappings_or_lists(tmp_path: Path) -> None:
    agents = load(tmp_path, {"b.yaml": MORE, "a.yaml": HELPDESK})
    assert [a.name for a in agents.agents] == [
        "helpdesk",
        "researcher",
        "payroll",
        "internal-ops",
        "finance-bot",
    ]
    helpdesk = agents.agents[0]
    assert helpdesk.route == "claude"
    assert [(g.server, g.tools) for g in helpdesk.mcp] == [("github", ("create_issue", "search_*"))]
    assert helpdesk.skills[1].output_modes == ("application/json",)
    payroll = agents.agents[2]
    assert (payroll.mcp[0].tools, payroll.required_scopes) == (("*",), ("payroll:read",))
    assert (payroll.input_modes, payroll.public, payroll.default) == (("text/plain",), True, False)


def test_profile_agents_and_service_files_combine(tmp_path: Path) -> None:
    agents = load(
        tmp_path,
        {"one.yaml": agent("filed")},
        {"agents": {"agents": [agent("inline")], "public_base_url": "https://b.example"}},
    )
    assert [a.name for a in agents.agents] == ["inline", "filed"]
    assert agents.public_base_url == "https://b.example"


def test_agent_names_are_unique_across_files(tmp_path: Path) -> None:
    message = fails(tmp_path, {"a.yaml": agent("twin"), "b.yaml": [agent("twin")]})
    assert message.endswith(
        "extension 'agents': agents: Value error, agent name 'twin' is defined twice"
    )


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        (
            {"a.yaml": [agent("one", default=True), agent("two", default=True)]},
            "agents: Value error, more than one default agent: one, two",
        ),
        (
            {"a.yaml": agent("hidden", default=True, public=False)},
            "agents: Value error, default agent 'hidden' must be public",
        ),
        (
            {"a.yaml": agent("x", skills=[HELPDESK["skills"][0], HELPDESK["skills"][0]])},
            "agents.agents[0]: Value error, agent 'x': skill id 'triage' is used twice",
        ),
        (
            {"a.yaml": agent("x", mcp=[{"server": "github"}, {"server": "github"}])},
            "agents.agents[0]: Value error, agent 'x': MCP server 'github' is granted twice",
        ),
        ({"a.yaml": agent("Bad Name")}, "agents.agents[0].name: String should match pattern"),
        ({"a.yaml": agent("x", skills=[])}, "agents.agents[0].skills: Tuple should have at least"),
        (
            {"a.yaml": agent("x", skills=[{**HELPDESK["skills"][0], "tags": []}])},
            "agents.agents[0].skills[0].tags: Tuple should have at least",
        ),
        (
            {"a.yaml": agent("x", input_modes=["plain text"])},
            "agents.agents[0].input_modes[0]: String should match pattern",
        ),
        (
            {"a.yaml": agent("x", url="ftp://agents.example/x")},
            "agents.agents[0].url: String should match pattern",
        ),
        ({"a.yaml": agent("x", transport="JSONRPC")}, "agents.agents[0].transport: unknown key"),
        (
            {"a.yaml": agent("x", protocol_binding="GRPC")},
            "agent 'x': Bastion serves A2A over JSONRPC; protocol_binding GRPC needs the `url`",
        ),
        (
            {"a.yaml": {k: v for k, v in agent("x").items() if k != "version"}},
            "version: Field required",
        ),
    ],
)
def test_invalid_agents_fail_at_validation_naming_the_key(
    tmp_path: Path, files: dict[str, Any], expected: str
) -> None:
    assert expected in fails(tmp_path, files)


def test_public_base_url_must_be_an_http_url(tmp_path: Path) -> None:
    message = fails(tmp_path, {}, {"agents": {"public_base_url": "bastion.example.com"}})
    assert "agents.public_base_url: String should match pattern" in message
