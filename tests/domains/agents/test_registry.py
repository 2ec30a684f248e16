"""``GET /api/v1/agents/registry`` through a real server, on SQLite and PostgreSQL: what each
caller may see, by tier, scopes, the agents' required scopes and the entity ACL."""

from __future__ import annotations

import pytest

from tests.domains.agents.a2a_spec import assert_valid_card
from tests.domains.agents.conftest import ALL_AGENTS, BASE, Bastion

REGISTRY = "/api/v1/agents/registry"


async def names(bastion: Bastion, token: str) -> list[str]:
    response = await bastion.get(REGISTRY, token)
    assert response.status_code == 200, response.text
    return [row["name"] for row in response.json()["agents"]]


async def test_registry_rows_show_route_mcp_grants_scopes_and_card(bastion: Bastion) -> None:
    response = await bastion.get(REGISTRY, bastion.token("usr_admin", "admin"))
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    rows = {row["name"]: row for row in response.json()["agents"]}
    assert list(rows) == ALL_AGENTS
    helpdesk = {key: value for key, value in rows["helpdesk"].items() if key != "card"}
    assert helpdesk == {
        "name": "helpdesk",
        "display_name": "Helpdesk",
        "description": "Answers employee IT questions and files tickets.",
        "version": "2.1.0",
        "default": True,
        "public": True,
        "route": "claude",
        "mcp": [{"server": "github", "tools": ["create_issue", "search_*"]}],
        "required_scopes": [],
        "skills": ["triage", "status"],
        "card_url": f"{BASE}/.well-known/agent-cards/helpdesk",
    }
    assert rows["helpdesk"]["card"] == (await bastion.get("/.well-known/agent-card.json")).json()
    assert rows["payroll"]["mcp"] == [{"server": "workday", "tools": ["*"]}]
    assert rows["payroll"]["required_scopes"] == ["payroll:read"]
    assert rows["payroll"]["route"] is None
    # A private agent: in the registry with its card, but no anonymous card URL.
    ops = rows["internal-ops"]
    assert (ops["public"], ops["default"], ops["card_url"]) == (False, False, None)
    for row in rows.values():
        assert_valid_card(row["card"])


@pytest.mark.parametrize(
    ("user", "role", "expected"),
    [
        # payroll needs payroll:read; finance-* is granted to the admin role only.
        ("usr_ann", "user", ["helpdesk", "researcher", "internal-ops"]),
        # The researcher ACL denies this user by id, beating the tenant grant.
        ("usr_blocked", "user", ["helpdesk", "internal-ops"]),
        ("usr_peer", "a2a", ["helpdesk", "researcher", "internal-ops"]),
        ("usr_admin", "admin", ALL_AGENTS),
    ],
)
async def test_registry_is_filtered_per_caller(
    bastion: Bastion, user: str, role: str, expected: list[str]
) -> None:
    assert await names(bastion, bastion.token(user, role)) == expected


async def test_an_agents_required_scopes_admit_the_caller_who_holds_them(bastion: Bastion) -> None:
    scopes = ["agents:read", "agents:invoke", "payroll:read"]
    token = bastion.token("usr_hr", "user", scopes=scopes)
    assert await names(bastion, token) == ["helpdesk", "researcher", "payroll", "internal-ops"]
    # A prefix grant counts too.
    token = bastion.token("usr_hr2", "user", scopes=["agents:*", "payroll:*"])
    assert "payroll" in await names(bastion, token)


async def test_reading_without_the_invoke_scope_shows_no_agent(bastion: Bastion) -> None:
    # Governance requires agents:invoke of every agent target; reading alone lists nothing.
    token = bastion.token("usr_reader", "user", scopes=["agents:read"])
    assert await names(bastion, token) == []


async def test_another_tenant_loses_the_tenant_granted_agent(bastion: Bastion) -> None:
    token = bastion.token("usr_far", "user", tenant="acme")
    assert await names(bastion, token) == ["helpdesk", "internal-ops"]


@pytest.mark.parametrize("role", ["service", "mcp"])
async def test_callers_without_agents_read_are_refused(bastion: Bastion, role: str) -> None:
    response = await bastion.get(REGISTRY, bastion.token("usr_svc", role))
    assert response.status_code == 403
    assert response.json()["error"]["message"] == "missing scope 'agents:read'"


async def test_anonymous_registry_is_401(bastion: Bastion) -> None:
    response = await bastion.get(REGISTRY)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer realm="bastion"'


async def test_the_acl_knows_the_configured_agents_and_denies_others(bastion: Bastion) -> None:
    token = bastion.token("usr_ann", "user")
    known = await bastion.post(
        "/api/v1/governance/evaluate", token, {"target": {"type": "agent", "name": "helpdesk"}}
    )
    assert known.json()["decision"] == "allow"
    unknown = await bastion.post(
        "/api/v1/governance/evaluate", token, {"target": {"type": "agent", "name": "ghost"}}
    )
    body = unknown.json()
    assert (body["decision"], body["rule"], body["reason"]) == (
        "deny",
        "acl.unknown_entity",
        "unknown agent 'ghost'",
    )
