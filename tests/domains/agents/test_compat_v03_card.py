"""A 1.0 Agent Card as 0.3 reads it: valid for the sdk's 0.3 model, equal to the sdk's
own conversion, and read back by the sdk 1.x client's legacy-card parser into the card
it came from (with the interface's version now 0.3)."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from a2a.client.card_resolver import parse_agent_card
from a2a.compat.v0_3 import conversions
from a2a.compat.v0_3 import types as v03
from a2a.types import a2a_pb2 as pb
from google.protobuf.json_format import ParseDict

from bastion.domains.agents._card import (
    AgentCapabilities,
    AgentCard,
    AgentInterface,
    AgentProvider,
    AgentSkill,
    ApiKeySecurityScheme,
    HttpAuthSecurityScheme,
    SecurityRequirement,
    SecurityScheme,
    StringList,
)
from bastion.domains.agents._compat_v03 import result_from_v10
from bastion.domains.agents._compat_v03_card import card_from_v10

URL = "https://bastion.example.test/api/v1/agents/helpdesk/a2a"


def bastion_card(
    interfaces: list[AgentInterface] | None = None, *, extended: bool = True
) -> dict[str, Any]:
    scopes = StringList(values=["agents:invoke"])
    return AgentCard(
        name="Helpdesk",
        description="Answers employee IT questions.",
        supported_interfaces=interfaces
        or [AgentInterface(url=URL, protocol_binding="JSONRPC", protocol_version="1.0")],
        provider=AgentProvider(url="https://example.test", organization="Example"),
        version="2.1.0",
        documentation_url="https://example.test/docs",
        capabilities=AgentCapabilities(
            streaming=True, push_notifications=False, extended_agent_card=extended
        ),
        security_schemes={
            "bearer": SecurityScheme(
                http_auth_security_scheme=HttpAuthSecurityScheme(
                    scheme="Bearer", bearer_format="JWT", description="A Bastion token"
                )
            ),
            "apiKey": SecurityScheme(
                api_key_security_scheme=ApiKeySecurityScheme(location="header", name="X-API-Key")
            ),
        },
        security_requirements=[
            SecurityRequirement(schemes={"bearer": scopes}),
            SecurityRequirement(schemes={"apiKey": scopes}),
        ],
        default_input_modes=["text/plain"],
        default_output_modes=["text/plain", "application/json"],
        skills=[
            AgentSkill(
                id="triage",
                name="Ticket triage",
                description="Files a ticket.",
                tags=["it"],
                examples=["My laptop will not boot"],
                output_modes=["text/plain"],
            )
        ],
        icon_url="https://example.test/icon.png",
    ).as_json()


def test_the_card_is_a_valid_0_3_card() -> None:
    out = card_from_v10(bastion_card())
    model = v03.AgentCard.model_validate(out)
    assert model.model_dump(mode="json", by_alias=True, exclude_none=True) == out
    assert (out["url"], out["preferredTransport"], out["protocolVersion"]) == (
        URL,
        "JSONRPC",
        "0.3.0",
    )
    assert out["supportsAuthenticatedExtendedCard"] is True
    assert out["capabilities"] == {"streaming": True, "pushNotifications": False}
    assert out["securitySchemes"]["bearer"] == {
        "type": "http",
        "scheme": "Bearer",
        "bearerFormat": "JWT",
        "description": "A Bastion token",
    }
    assert out["securitySchemes"]["apiKey"] == {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
    }
    assert out["security"] == [{"bearer": ["agents:invoke"]}, {"apiKey": ["agents:invoke"]}]


def test_the_sdk_client_reads_it_back_as_the_original_card() -> None:
    card = bastion_card()
    back = parse_agent_card(copy.deepcopy(card_from_v10(card)))
    card["supportedInterfaces"][0]["protocolVersion"] = "0.3.0"
    assert back == ParseDict(card, pb.AgentCard())


def test_it_equals_the_sdk_conversion_of_a_card_with_a_0_3_interface() -> None:
    card = bastion_card(
        [
            AgentInterface(url=URL + "/v1", protocol_binding="JSONRPC", protocol_version="1.0"),
            AgentInterface(url=URL, protocol_binding="JSONRPC", protocol_version="0.3.0"),
        ]
    )
    out = card_from_v10(card)
    assert out["url"] == URL
    sdk = conversions.to_compat_agent_card(ParseDict(card, pb.AgentCard()))
    assert out == sdk.model_dump(mode="json", by_alias=True, exclude_none=True)


def test_the_jsonrpc_interface_is_named_and_none_is_an_error() -> None:
    grpc = AgentInterface(
        url="grpc.example.test:443", protocol_binding="GRPC", protocol_version="1.0"
    )
    jsonrpc = AgentInterface(url=URL, protocol_binding="JSONRPC", protocol_version="1.0")
    assert card_from_v10(bastion_card([grpc, jsonrpc]))["url"] == URL
    with pytest.raises(ValueError, match="JSONRPC interface"):
        card_from_v10(bastion_card([grpc]))


def test_a_card_without_extended_card_says_so() -> None:
    out = card_from_v10(bastion_card(extended=False))
    assert out["supportsAuthenticatedExtendedCard"] is False
    v03.AgentCard.model_validate(out)


def test_a_scheme_bastion_does_not_publish_is_an_error() -> None:
    card = bastion_card()
    card["securitySchemes"]["oidc"] = {
        "openIdConnectSecurityScheme": {"openIdConnectUrl": "https://id.test"}
    }
    with pytest.raises(ValueError, match="openIdConnectSecurityScheme"):
        card_from_v10(card)


def test_the_extended_card_method_answers_the_0_3_card() -> None:
    card = bastion_card()
    assert result_from_v10("GetExtendedAgentCard", card) == card_from_v10(card)
