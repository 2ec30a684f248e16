"""The A2A v1.0 card checker rejects what the specification rejects, so the card tests
that rely on it can fail."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.domains.agents.a2a_spec import check_card


def minimal() -> dict[str, Any]:
    return {
        "name": "Echo",
        "description": "Repeats what it is told.",
        "supportedInterfaces": [
            {"url": "https://a.example/a2a", "protocolBinding": "JSONRPC", "protocolVersion": "1.0"}
        ],
        "version": "1.0.0",
        "capabilities": {},
        "defaultInputModes": ["text/plain"],
        "defaultOutputModes": ["text/plain"],
        "skills": [{"id": "echo", "name": "Echo", "description": "Echoes.", "tags": ["echo"]}],
    }


def test_a_minimal_v1_card_passes() -> None:
    assert check_card(minimal()) == []


def test_a_v0_3_card_is_rejected_for_each_leftover() -> None:
    card = minimal()
    del card["supportedInterfaces"]
    card.update(
        {
            "url": "https://a.example/a2a",
            "preferredTransport": "JSONRPC",
            "protocolVersion": "0.3.0",
            "supportsAuthenticatedExtendedCard": True,
        }
    )
    problems = check_card(card)
    assert "$.supportedInterfaces: required by AgentCard" in problems
    for key in (
        "url",
        "preferredTransport",
        "protocolVersion",
        "supportsAuthenticatedExtendedCard",
    ):
        assert f"$.{key}: removed from the card in A2A v1.0" in problems


@pytest.mark.parametrize(
    "field", ["name", "description", "version", "capabilities", "defaultOutputModes", "skills"]
)
def test_each_required_card_field_is_enforced(field: str) -> None:
    card = minimal()
    del card[field]
    assert check_card(card) == [f"$.{field}: required by AgentCard"]


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (("supportedInterfaces", 0, "protocolVersion"), "required by AgentInterface"),
        (("skills", 0, "tags"), "required by AgentSkill"),
        (("skills", 0, "description"), "required by AgentSkill"),
    ],
)
def test_required_nested_fields_are_enforced(path: tuple[Any, ...], expected: str) -> None:
    card = minimal()
    parent: Any = card
    for step in path[:-1]:
        parent = parent[step]
    del parent[path[-1]]
    [problem] = check_card(card)
    assert problem.endswith(expected)


def test_required_arrays_need_an_element_and_names_must_be_camel_case() -> None:
    card = minimal()
    card["skills"] = []
    card["default_input_modes"] = card.pop("defaultInputModes")
    problems = check_card(card)
    assert "$.skills: a required array needs at least one element" in problems
    assert "$.default_input_modes: field name is not camelCase" in problems
    assert "$.defaultInputModes: required by AgentCard" in problems


def test_security_schemes_are_a_oneof_and_requirements_must_name_them() -> None:
    card = minimal()
    card["securitySchemes"] = {
        "bearer": {"httpAuthSecurityScheme": {"scheme": "Bearer"}},
        "both": {
            "httpAuthSecurityScheme": {"scheme": "Bearer"},
            "apiKeySecurityScheme": {"location": "header", "name": "x-api-key"},
        },
        "flat": {"type": "http", "scheme": "bearer"},
    }
    card["securityRequirements"] = [{"schemes": {"bearer": {"list": []}, "oauth": {"list": []}}}]
    problems = check_card(card)
    assert (
        "$.securitySchemes.both: a SecurityScheme sets exactly one member of its oneof" in problems
    )
    assert (
        "$.securitySchemes.flat: a SecurityScheme sets exactly one member of its oneof" in problems
    )
    assert "$.securityRequirements[0].schemes.oauth: names no declared security scheme" in problems
    ok = copy.deepcopy(card)
    del ok["securitySchemes"]["both"], ok["securitySchemes"]["flat"]
    del ok["securityRequirements"][0]["schemes"]["oauth"]
    assert check_card(ok) == []


def test_interfaces_need_absolute_urls_a_1x_version_and_a_core_binding() -> None:
    card = minimal()
    card["supportedInterfaces"][0].update(
        {"url": "/a2a", "protocolVersion": "0.3", "protocolBinding": "SOAP"}
    )
    assert check_card(card) == [
        "$.supportedInterfaces[0].url: must be an absolute http(s) URL",
        "$.supportedInterfaces[0].protocolVersion: '0.3' is not a 1.x version",
        "$.supportedInterfaces[0].protocolBinding: 'SOAP' is not a core binding",
    ]
