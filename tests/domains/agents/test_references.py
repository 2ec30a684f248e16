"""An agent naming a route or MCP server nobody knows boots, with a warning per name."""

from __future__ import annotations

from pathlib import Path

from structlog.testing import capture_logs

from bastion.domains.agents import AGENTS, AgentCatalog, AgentsSettings, unresolved
from bastion.extension import GOVERNANCE, Extension, ExtensionContext, ExtensionMeta
from bastion.infra.config import load_profile
from bastion.kernel.governance import EntityCatalog
from bastion.runtime.boot import boot
from tests.domains.agents.conftest import HELPDESK, MORE, agents_profile


def catalog() -> AgentCatalog:
    settings = AgentsSettings.model_validate({"agents": [HELPDESK, *MORE]})
    return AgentCatalog.build(settings, "https://b.example")


def test_known_names_pass_and_unknown_or_unmanaged_ones_are_reported() -> None:
    entities = EntityCatalog()
    entities.register("server", lambda name: name == "github")
    found = unresolved(catalog(), entities)
    assert [(u.agent, u.kind, u.name, u.managed) for u in found] == [
        ("helpdesk", "route", "claude", False),
        ("payroll", "server", "workday", True),
    ]
    assert [u.message() for u in found] == [
        "agent 'helpdesk' names gateway route 'claude', but the 'gateway' domain is not loaded",
        "agent 'payroll' names MCP server 'workday', which does not exist",
    ]
    entities.register("route", {"claude"}.__contains__)
    entities.register("server", {"github", "workday"}.__contains__)
    assert unresolved(catalog(), entities) == []


class FakeMcp(Extension):
    """Stands in for the MCP domain: owns MCP servers in the entity catalog."""

    meta = ExtensionMeta(id="fake-mcp", version="1", priority=40, requires=(GOVERNANCE,))

    def router(self, ctx: ExtensionContext) -> None:
        ctx.service(GOVERNANCE).catalog.register("server", {"github"}.__contains__)


async def test_boot_warns_once_per_unresolved_name_and_still_serves(tmp_path: Path) -> None:
    profile = agents_profile(tmp_path / "p", f"sqlite+aiosqlite:///{tmp_path / 'b.db'}")
    with capture_logs() as logs:
        platform = await boot(load_profile(profile), extra=[FakeMcp], migrate=False)
    try:
        warnings = [e["event"] for e in logs if e["log_level"] == "warning"]
        assert warnings == [
            "agent 'helpdesk' names gateway route 'claude', which does not exist",
            "agent 'payroll' names MCP server 'workday', which does not exist",
        ]
        assert platform.services.built(AGENTS)
        mounts = [r.base_path for ext, r in platform.routers if ext == "agents"]
        assert mounts == ["/.well-known", "/api/v1/agents"]
    finally:
        await platform.close()


async def test_an_unset_public_base_url_is_warned_and_falls_back_to_the_listener(
    tmp_path: Path,
) -> None:
    profile = agents_profile(
        tmp_path / "p",
        f"sqlite+aiosqlite:///{tmp_path / 'b.db'}",
        {"a.yaml": {**HELPDESK, "route": None, "mcp": []}},
        {"server": {"host": "0.0.0.0", "port": 9090}},
    )
    with capture_logs() as logs:
        platform = await boot(load_profile(profile), migrate=False)
    try:
        [warning] = [e for e in logs if e["log_level"] == "warning"]
        assert warning["event"].startswith("agents.public_base_url is unset")
        assert warning["base_url"] == "http://127.0.0.1:9090"
        card = platform.service(AGENTS).default.card
        assert (
            card.supported_interfaces[0].url == "http://127.0.0.1:9090/api/v1/agents/helpdesk/a2a"
        )
    finally:
        await platform.close()
