"""Typed ingress validation through a running Bastion: a body that breaks its wire
format's schema is a 400 in that format naming the field path, with its ``ai_requests``
row, and nothing reaches an upstream."""

from __future__ import annotations

from typing import Any

import pytest

from tests.domains.gateway.conftest import Gateway, new_trace
from tests.domains.gateway.test_failures import (
    ASK,
    CHAT,
    MESSAGES,
    body_for,
    error_of,
    failed_row,
)

ANTHROPIC_CASES: list[tuple[dict[str, Any], str]] = [
    ({"model": 5}, "model: input should be a valid string"),
    ({"max_tokens": True}, "max_tokens: input should be a valid integer"),
    ({"max_tokens": "64"}, "max_tokens: input should be a valid integer"),
    ({"max_tokens": 0}, "max_tokens: input should be greater than or equal to 1"),
    ({"stream": "yes"}, "stream: input should be a valid boolean"),
    ({"stop_sequences": "END"}, "stop_sequences: input should be a valid list"),
    ({"stop_sequences": ["END", 5]}, "stop_sequences.1: input should be a valid string"),
    ({"temperature": 1.5}, "temperature: input should be less than or equal to 1"),
    ({"top_p": -0.1}, "top_p: input should be greater than or equal to 0"),
    ({"system": 5}, "system: must be a string or a list"),
    ({"system": [{"type": "text"}]}, "system.0.text: field required"),
    ({"tools": {"name": "x"}}, "tools: input should be a valid list"),
    ({"tools": [{"input_schema": {}}]}, "tools.0.name: field required"),
    ({"tool_choice": "auto"}, "tool_choice: input should be a valid dictionary"),
    ({"tool_choice": {"type": "sometimes"}}, "tool_choice.type: input should be"),
    ({"metadata": {"user_id": 7}}, "metadata.user_id: input should be a valid string"),
    ({"messages": [{"role": "system", "content": "x"}]}, "messages.0.role: input should be"),
    ({"messages": [{"role": "user"}]}, "messages.0.content: field required"),
    ({"messages": [{"role": "user", "content": 5}]}, "messages.0.content: must be a string"),
    (
        {"messages": [*ASK, *ASK, {"role": "user", "content": [{"type": "video"}]}]},
        "messages.2.content.0.type: a content block must be an object whose type is one of",
    ),
    (
        {"messages": [{"role": "user", "content": [{"type": "text", "text": 5}]}]},
        "messages.0.content.0.text: input should be a valid string",
    ),
    (
        {"messages": [{"role": "user", "content": ["hi"]}]},
        "messages.0.content.0.type: a content block must be an object",
    ),
    (
        {
            "messages": [
                {
                    "role": "user",
                    "content": [{"type": "tool_result", "tool_use_id": "t", "content": [5]}],
                }
            ]
        },
        "messages.0.content.0.content.0.type: a tool_result content block",
    ),
]

OPENAI_CASES: list[tuple[dict[str, Any], str]] = [
    # Both were 500s: ``list(stop)`` and ``function.get`` in the translator.
    ({"stop": 5}, "stop: must be a string or a list"),
    ({"tools": [{"type": "function", "function": 5}]}, "tools.0.function: input should be"),
    # Was taken as true.
    ({"stream": "yes"}, "stream: input should be a valid boolean"),
    ({"model": ["gpt-4o"]}, "model: input should be a valid string"),
    ({"max_tokens": 1.5}, "max_tokens: input should be a valid integer"),
    ({"max_completion_tokens": "9"}, "max_completion_tokens: input should be a valid integer"),
    ({"stop": ["a", 1]}, "stop.1: input should be a valid string"),
    ({"stop": ["a", "b", "c", "d", "e"]}, "stop: list should have at most 4 items"),
    ({"temperature": 2.5}, "temperature: input should be less than or equal to 2"),
    ({"stream_options": {"include_usage": "yes"}}, "stream_options.include_usage: input"),
    ({"tools": [{"type": "function", "function": {}}]}, "tools.0.function.name: field required"),
    ({"tool_choice": "always"}, "tool_choice: input should be 'none', 'auto' or 'required'"),
    ({"tool_choice": {"type": "function"}}, "tool_choice.function: field required"),
    ({"messages": [{"role": "robot", "content": "x"}]}, "messages.0.role: input should be"),
    (
        {"messages": [{"role": "user", "content": [{"type": "text", "text": None}]}]},
        "messages.0.content.0.text: input should be a valid string",
    ),
    (
        {"messages": [{"role": "assistant", "tool_calls": [{"id": "c", "function": 5}]}]},
        "messages.0.tool_calls.0.function: input should be",
    ),
]


@pytest.mark.parametrize(("extra", "message"), ANTHROPIC_CASES)
def test_anthropic_body_breaking_its_schema_is_400_naming_the_field(
    gw: Gateway, extra: dict[str, Any], message: str
) -> None:
    trace = new_trace("schema")
    response = gw.post(MESSAGES, {**body_for("anthropic", "claude-opus-4-5"), **extra}, trace=trace)
    assert error_of(response, "anthropic", 400)["message"].startswith(message)
    assert "Traceback" not in response.text
    failed_row(gw, trace, 400)
    assert gw.up.requests() == []


@pytest.mark.parametrize(("extra", "message"), OPENAI_CASES)
def test_openai_body_breaking_its_schema_is_400_naming_the_field(
    gw: Gateway, extra: dict[str, Any], message: str
) -> None:
    trace = new_trace("schema")
    response = gw.post(CHAT, {**body_for("openai", "gpt-4o"), **extra}, trace=trace)
    assert error_of(response, "openai", 400)["message"].startswith(message)
    failed_row(gw, trace, 400)
    assert gw.up.requests() == []


def test_count_tokens_body_breaking_its_schema_is_400_naming_the_field(gw: Gateway) -> None:
    body = {"model": "claude-opus-4-5", "messages": [{"role": "user", "content": 5}]}
    trace = new_trace("count")
    response = gw.post(f"{MESSAGES}/count_tokens", body, trace=trace)
    assert error_of(response, "anthropic", 400)["message"].startswith("messages.0.content:")
    assert failed_row(gw, trace, 400)["ingress"] == "count_tokens"
    assert gw.up.requests() == []


def test_count_tokens_for_a_model_without_a_route_is_404_with_its_row(gw: Gateway) -> None:
    trace = new_trace("count")
    body = {"model": "nobody-serves-this", "messages": ASK}
    response = gw.post(f"{MESSAGES}/count_tokens", body, trace=trace)
    assert error_of(response, "anthropic", 404)["type"] == "not_found_error"
    row = failed_row(gw, trace, 404)
    assert (row["ingress"], row["requested_model"]) == ("count_tokens", "nobody-serves-this")


def test_well_formed_bodies_with_unknown_fields_and_nulls_pass(gw: Gateway) -> None:
    """Extra fields are the upstream's to judge; OpenAI's documented nulls are accepted."""
    anthropic_body = body_for(
        "anthropic",
        "claude-opus-4-5",
        system=[{"type": "text", "text": "be brief", "cache_control": {"type": "ephemeral"}}],
        temperature=1,
        stop_sequences=["END"],
        metadata={"user_id": None},
        future_field={"anything": [1, 2]},
    )
    assert gw.post(MESSAGES, anthropic_body, trace=new_trace("ok")).status_code == 200
    openai_body = body_for(
        "openai",
        "gpt-4o",
        stop=None,
        stream=None,
        max_tokens=None,
        tool_choice=None,
        temperature=0,
        logit_bias={"50256": -100},
    )
    assert gw.post(CHAT, openai_body, trace=new_trace("ok")).status_code == 200
