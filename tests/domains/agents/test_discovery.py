"""The anonymous A2A discovery endpoints through a real server, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.domains.agents.a2a_spec import assert_valid_card
from tests.domains.agents.conftest import BASE, MORE, Bastion, agents_profile
from tests.support import running_server

CARD = "/.well-known/agent-card.json"
CARDS = "/.well-known/agent-cards"
SECURITY_SCHEMES = {
    "bearer": {
        "httpAuthSecurityScheme": {
            "scheme": "Bearer",
            "bearerFormat": "JWT",
            "description": "A Bastion JWT, or a Bastion API key (bst_...), as a Bearer token "
            "in the Authorization header.",
        }
    },
    "apiKey": {
        "apiKeySecurityScheme": {
            "location": "header",
            "name": "x-api-key",
            "description": "A Bastion API key (bst_...) or JWT in the x-api-key header.",
        }
    },
}


def requirements(*scopes: str) -> list[dict[str, object]]:
    return [
        {"schemes": {"bearer": {"list": list(scopes)}}},
        {"schemes": {"apiKey": {"list": list(scopes)}}},
    ]


async def test_default_card_is_the_agent_marked_default(bastion: Bastion) -> None:
    response = await bastion.get(CARD)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.headers["cache-control"] == "public, max-age=300"
    card = response.json()
    assert_valid_card(card)
    assert card == {
        "name": "Helpdesk",
        "description": "Answers employee IT questions and files tickets.",
        "supportedInterfaces": [
            {
                "url": f"{BASE}/api/v1/agents/helpdesk/a2a",
                "protocolBinding": "JSONRPC",
                "protocolVersion": "1.0",
            }
        ],
        "provider": {"url": "https://example.test", "organization": "Example Corp"},
        "version": "2.1.0",
        "capabilities": {"streaming": True, "pushNotifications": False, "extendedAgentCard": True},
        "securitySchemes": SECURITY_SCHEMES,
        "securityRequirements": requirements("agents:invoke"),
        "defaultInputModes": ["text/plain"],
        "defaultOutputModes": ["text/plain"],
        "skills": [
            {
                "id": "triage",
                "name": "Ticket triage",
                "description": "Classifies an IT request and files a ticket for it.",
                "tags": ["it", "tickets"],
                "examples": ["My laptop will not boot"],
            },
            {
                "id": "status",
                "name": "Ticket status",
                "description": "Reports the status of a ticket.",
                "tags": ["it"],
                "outputModes": ["application/json"],
            },
        ],
    }


async def test_all_public_cards_in_profile_order(bastion: Bastion) -> None:
    response = await bastion.get(CARDS)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    cards = response.json()
    # internal-ops is not public; display_name only on helpdesk.
    assert [c["name"] for c in cards] == ["Helpdesk", "researcher", "payroll", "finance-bot"]
    for card in cards:
        assert_valid_card(card)
    assert cards[0] == (await bastion.get(CARD)).json()


async def test_one_card_by_name_carries_its_overrides(bastion: Bastion) -> None:
    response = await bastion.get(f"{CARDS}/researcher")
    assert response.status_code == 200
    card = response.json()
    assert_valid_card(card)
    assert card["supportedInterfaces"] == [
        {
            "url": "https://agents.example.test/researcher",
            "protocolBinding": "HTTP+JSON",
            "protocolVersion": "1.0",
        }
    ]
    assert card["provider"] == {"url": "https://lab.example.test", "organization": "Research Lab"}
    assert card["documentationUrl"] == "https://docs.example.test/researcher"
    assert card["iconUrl"] == "https://docs.example.test/researcher.png"
    assert card["defaultInputModes"] == ["text/plain", "application/pdf"]
    assert card["defaultOutputModes"] == ["text/markdown"]
    assert card["capabilities"] == {
        "streaming": False,
        "pushNotifications": False,
        "extendedAgentCard": True,
    }
    assert card["skills"] == [
        {
            "id": "summarise",
            "name": "Summarise",
            "description": "Does summarise.",
            "tags": ["summarise"],
        }
    ]
    payroll = (await bastion.get(f"{CARDS}/payroll")).json()
    assert payroll["securityRequirements"] == requirements("agents:invoke", "payroll:read")


async def test_unknown_and_private_cards_are_404_json(bastion: Bastion) -> None:
    for name in ("ghost", "internal-ops"):
        response = await bastion.get(f"{CARDS}/{name}")
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/json"
        body = response.json()
        assert body == {
            "error": {"type": "not_found_error", "message": f"no public agent '{name}'"},
            "trace_id": response.headers["x-trace-id"],
        }


async def test_discovery_is_anonymous_and_ignores_a_bad_credential(bastion: Bastion) -> None:
    response = await bastion.get(CARD, token="not-a-token")
    assert response.status_code == 200
    assert response.json()["name"] == "Helpdesk"
    # The core's JWKS route still answers beside the agents mount.
    assert (await bastion.get("/.well-known/jwks.json")).status_code == 200
    assert (await bastion.get("/.well-known/unknown")).status_code == 404


def test_no_public_agent_means_404_for_the_default_card(tmp_path: Path) -> None:
    private = [{**MORE[2]}]  # internal-ops only: public: false
    profile = agents_profile(
        tmp_path / "profile",
        f"sqlite+aiosqlite:///{tmp_path / 'bastion.db'}",
        {"ops.yaml": private},
    )
    with running_server(profile) as server:
        response = httpx.get(server.url + CARD)
        assert response.status_code == 404
        assert response.json()["error"]["message"] == "no public agent is configured"
        assert httpx.get(server.url + CARDS).json() == []
