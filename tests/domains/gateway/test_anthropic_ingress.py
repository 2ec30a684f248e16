"""``/v1/messages`` and ``/v1/messages/count_tokens`` through a running Bastion, driven by
the official ``anthropic`` SDK, against every built-in provider: passthrough (anthropic,
minimax), OpenAI-compatible translation (openai, moonshot, qwen), Gemini, and the mock."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from bastion.domains.gateway.translate import SSEParser
from tests.domains.gateway.conftest import (
    ANTHROPIC_KEY,
    GEMINI_KEY,
    IDENTITY_HEADERS,
    OPENAI_KEY,
    UPSTREAM_HEADERS,
    Gateway,
    new_trace,
)
from tests.fakes import Reply, TokenUsage, ToolCall, anthropic_message_from_events

WEATHER_TOOL = {
    "name": "get_weather",
    "description": "Current weather for a city.",
    "input_schema": {
        "type": "object",
        "properties": {"city": {"type": "string"}, "units": {"type": "string"}},
        "required": ["city"],
    },
}
WEATHER_ARGS = {"city": "Oslo, Norway", "units": "metric", "note": 'say "hi" \u00e9'}
ASK = [{"role": "user", "content": "What is the weather in Oslo?"}]
USAGE = TokenUsage(input_tokens=31, output_tokens=17)


def tool_reply(**kwargs: Any) -> Reply:
    """Text then a tool call whose argument JSON is streamed 5 characters at a time (so
    deltas cut keys, escapes and the multi-byte character), and whose bytes are written
    in pieces of 7 (so network reads cut events and UTF-8 sequences)."""
    return Reply(
        text="Let me look that up.",
        tool_calls=[ToolCall("get_weather", WEATHER_ARGS, id="toolu_e2e_01")],
        usage=USAGE,
        delta_size=5,
        split=7,
        **kwargs,
    )


def plain(message: Any) -> dict[str, Any]:
    """An SDK message as JSON without the fields the wire left out, and without its id."""
    doc: dict[str, Any] = message.model_dump(mode="json", exclude_none=True)
    doc.pop("id")
    return doc


def expected_tool_message(model: str, *, thinking: dict[str, Any] | None = None) -> dict[str, Any]:
    content: list[dict[str, Any]] = [] if thinking is None else [thinking]
    content += [
        {"type": "text", "text": "Let me look that up."},
        {"type": "tool_use", "id": "toolu_e2e_01", "name": "get_weather", "input": WEATHER_ARGS},
    ]
    return {
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": "tool_use",
        "usage": {
            "input_tokens": 31,
            "output_tokens": 17,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
        },
    }


def stream_via_sdk(gw: Gateway, model: str, trace: str, **kwargs: Any) -> tuple[list[str], Any]:
    """``messages.stream`` with the weather tool; every event type seen, and the final
    message the SDK accumulated."""
    with gw.anthropic().messages.stream(
        model=model,
        max_tokens=256,
        messages=ASK,
        tools=[WEATHER_TOOL],
        extra_headers={"x-trace-id": trace},
        **kwargs,
    ) as stream:
        seen = [event.type for event in stream]
        message = stream.get_final_message()
    return seen, message


def assert_success_row(
    gw: Gateway, trace: str, *, model: str, provider: str, upstream_model: str, streaming: bool
) -> dict[str, Any]:
    row = gw.row(trace)
    assert (row["status"], row["outcome"], row["error"]) == (200, "success", None)
    assert (row["ingress"], row["requested_model"], row["provider"]) == (
        "anthropic",
        model,
        provider,
    )
    assert (row["upstream_model"], row["streaming"], row["attempts"]) == (
        upstream_model,
        streaming,
        1,
    )
    assert (row["input_tokens"], row["output_tokens"]) == (31, 17)
    assert row["user_id"] is not None and row["api_key_id"] is not None
    assert row["latency_ms"] >= row["overhead_ms"] >= 0
    return row


# -- anthropic: byte passthrough --------------------------------------------------------


def test_create_rewrites_model_injects_key_and_strips_caller_identity(gw: Gateway) -> None:
    gw.up.anthropic.enqueue(Reply(text="Sunny.", usage=USAGE))
    trace = new_trace("create")
    response = gw.anthropic().messages.with_raw_response.create(
        model="alias-sonnet",
        max_tokens=64,
        system="Be brief.",
        messages=ASK,
        extra_body={"temperature": 0.2},
        extra_headers={
            "anthropic-version": "2023-06-01",
            "anthropic-beta": "fine-grained-tool-streaming-2025-05-14",
            "x-trace-id": trace,
            **IDENTITY_HEADERS,
        },
    )
    message = response.parse()
    assert message.content[0].type == "text" and message.content[0].text == "Sunny."
    assert response.headers["x-trace-id"] == trace
    assert float(response.headers["x-bastion-overhead-ms"]) >= 0
    # Non-streaming passthrough: the upstream's document, byte for byte.
    assert response.http_response.content == gw.up.anthropic.sent[-1]

    (sent,) = gw.up.anthropic.requests
    assert sent.path == "/v1/messages"
    assert sent.body == {
        "model": "claude-sonnet-4-5",
        "max_tokens": 64,
        "system": "Be brief.",
        "messages": ASK,
        "temperature": 0.2,
    }
    assert sent.header("x-api-key") == ANTHROPIC_KEY
    assert sent.header("anthropic-version") == "2023-06-01"
    assert sent.header("anthropic-beta") == "fine-grained-tool-streaming-2025-05-14"
    # Nothing else of the caller's crosses: no credential, no identity or SDK headers.
    assert set(sent.headers) <= UPSTREAM_HEADERS | {"anthropic-beta"}, sent.headers
    assert sent.header("user-agent") == "bastion-gateway"
    for value in sent.headers.values():
        assert gw.keys["alice"] not in value
    assert gw.keys["alice"].encode() not in sent.raw_body

    row = assert_success_row(
        gw,
        trace,
        model="alias-sonnet",
        provider="anthropic",
        upstream_model="claude-sonnet-4-5",
        streaming=False,
    )
    assert row["session_id"] == "sess-e2e" and row["client_id"] == "claude-code"
    assert row["route"] == "alias-sonnet"
    assert row["ttfb_ms"] is not None


def test_route_extra_headers_are_sent(gw: Gateway) -> None:
    gw.anthropic().messages.create(model="claude-haiku-4-5", max_tokens=8, messages=ASK)
    sent = gw.up.anthropic.last_request
    assert sent.header("x-route-tag") == "claude-route"
    assert sent.body["model"] == "claude-haiku-4-5"


def test_stream_is_relayed_byte_for_byte(gw: Gateway) -> None:
    gw.up.anthropic.enqueue(tool_reply(thinking="The user wants weather."))
    trace = new_trace("bytes")
    body = {
        "model": "claude-sonnet-4-5",
        "max_tokens": 256,
        "stream": True,
        "messages": ASK,
        "tools": [WEATHER_TOOL],
    }
    received: list[bytes] = []
    with httpx.stream(
        "POST",
        gw.url + "/v1/messages",
        json=body,
        headers={"x-api-key": gw.keys["alice"], "x-trace-id": trace},
        timeout=30,
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["x-trace-id"] == trace
        assert float(response.headers["x-bastion-overhead-ms"]) >= 0
        received.extend(response.iter_raw())
    upstream_bytes = gw.up.anthropic.sent[-1]
    assert b"".join(received) == upstream_bytes
    assert gw.up.anthropic.last_request.body["stream"] is True
    row = assert_success_row(
        gw,
        trace,
        model="claude-sonnet-4-5",
        provider="anthropic",
        upstream_model="claude-sonnet-4-5",
        streaming=True,
    )
    assert row["ttfb_ms"] is not None and row["ttfb_ms"] <= row["latency_ms"]


def test_sdk_stream_with_tools_and_thinking_through_passthrough(gw: Gateway) -> None:
    gw.up.anthropic.enqueue(tool_reply(thinking="The user wants weather."))
    trace = new_trace("stream")
    seen, message = stream_via_sdk(gw, "claude-opus-4-5", trace)
    thinking = {
        "type": "thinking",
        "thinking": "The user wants weather.",
        "signature": "c2lnbmF0dXJl",
    }
    assert plain(message) == expected_tool_message("claude-opus-4-5", thinking=thinking)
    assert seen[0] == "message_start" and seen[-1] == "message_stop"
    assert "input_json" in seen  # the SDK's per-delta event for tool arguments
    # The SDK saw what the upstream sent: the same message as the grammar checker builds.
    parser = SSEParser()
    events = [e.json() for e in parser.feed(gw.up.anthropic.sent[-1]) + parser.flush()]
    rebuilt = anthropic_message_from_events(events)
    rebuilt.pop("id")
    assert plain(message) == {k: v for k, v in rebuilt.items() if v is not None}
    assert_success_row(
        gw,
        trace,
        model="claude-opus-4-5",
        provider="anthropic",
        upstream_model="claude-opus-4-5",
        streaming=True,
    )


def test_minimax_reuses_the_passthrough(gw: Gateway) -> None:
    gw.up.anthropic.enqueue(tool_reply())
    trace = new_trace("minimax")
    _, message = stream_via_sdk(gw, "MiniMax-M2", trace)
    assert plain(message) == expected_tool_message("MiniMax-M2")
    sent = gw.up.anthropic.last_request
    assert sent.path == "/v1/messages" and sent.header("x-api-key") == ANTHROPIC_KEY
    assert_success_row(
        gw,
        trace,
        model="MiniMax-M2",
        provider="minimax",
        upstream_model="MiniMax-M2",
        streaming=True,
    )


# -- OpenAI-compatible upstreams: translation --------------------------------------------

OPENAI_COMPATIBLE = [
    pytest.param("gpt-4o", "openai", "max_completion_tokens", id="openai"),
    pytest.param("kimi-k2", "moonshot", "max_tokens", id="moonshot"),
    pytest.param("qwen3-max", "qwen", "max_tokens", id="qwen"),
]


@pytest.mark.parametrize(("model", "provider", "limit_field"), OPENAI_COMPATIBLE)
def test_sdk_stream_with_tools_through_openai_compatible(
    gw: Gateway, model: str, provider: str, limit_field: str
) -> None:
    gw.up.openai.enqueue(tool_reply(thinking="Weather means a tool."))
    trace = new_trace(provider)
    seen, message = stream_via_sdk(gw, model, trace, system="Be brief.")
    # reasoning_content becomes a thinking block (OpenAI has no signature to carry).
    thinking = {"type": "thinking", "thinking": "Weather means a tool.", "signature": ""}
    assert plain(message) == expected_tool_message(model, thinking=thinking)
    assert seen.count("message_start") == 1 and seen[-1] == "message_stop"

    sent = gw.up.openai.last_request
    assert sent.path == "/v1/chat/completions"
    assert sent.header("authorization") == f"Bearer {OPENAI_KEY}"
    assert sent.header("x-api-key") is None and sent.header("anthropic-version") is None
    assert sent.body["model"] == model and sent.body["stream"] is True
    assert sent.body["stream_options"] == {"include_usage": True}
    assert sent.body[limit_field] == 256
    assert sent.body["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "What is the weather in Oslo?"},
    ]
    assert sent.body["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "Current weather for a city.",
                "parameters": WEATHER_TOOL["input_schema"],
            },
        }
    ]
    assert_success_row(
        gw, trace, model=model, provider=provider, upstream_model=model, streaming=True
    )


def test_create_through_openai_compatible(gw: Gateway) -> None:
    gw.up.openai.enqueue(tool_reply())
    trace = new_trace("oa-create")
    message = gw.anthropic().messages.create(
        model="gpt-4o",
        max_tokens=256,
        messages=ASK,
        tools=[WEATHER_TOOL],
        tool_choice={"type": "tool", "name": "get_weather"},
        stop_sequences=["END"],
        extra_headers={"x-trace-id": trace},
    )
    assert plain(message) == expected_tool_message("gpt-4o")
    sent = gw.up.openai.last_request.body
    assert "stream" not in sent
    assert sent["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}
    assert sent["stop"] == ["END"]
    assert_success_row(
        gw, trace, model="gpt-4o", provider="openai", upstream_model="gpt-4o", streaming=False
    )


# -- Gemini --------------------------------------------------------------------------------


def test_gemini_create_and_stream(gw: Gateway) -> None:
    reply = Reply(
        text="Let me look that up.",
        tool_calls=[ToolCall("get_weather", WEATHER_ARGS)],
        usage=USAGE,
        delta_size=5,
        split=11,
    )
    gw.up.gemini.enqueue(reply, reply)
    created = gw.anthropic().messages.create(
        model="gemini-2.5-flash", max_tokens=256, messages=ASK, tools=[WEATHER_TOOL]
    )
    trace = new_trace("gemini")
    _, streamed = stream_via_sdk(gw, "gemini-2.5-flash", trace)
    for message in (created, streamed):
        doc = plain(message)
        tool = doc["content"][2]
        assert tool.pop("id").startswith("toolu_")
        # Gemini's thoughtSignature rides in an empty thinking block before the call, so
        # that it goes back to Gemini on the next turn.
        assert doc["content"] == [
            {"type": "text", "text": "Let me look that up."},
            {"type": "thinking", "thinking": "", "signature": "gemini:c2lnbmF0dXJl"},
            {"type": "tool_use", "name": "get_weather", "input": WEATHER_ARGS},
        ]
        assert doc["stop_reason"] == "tool_use" and doc["model"] == "gemini-2.5-flash"
        assert (doc["usage"]["input_tokens"], doc["usage"]["output_tokens"]) == (31, 17)
    first, second = gw.up.gemini.requests
    assert first.path == "/v1beta/models/gemini-2.5-flash:generateContent"
    assert second.path == "/v1beta/models/gemini-2.5-flash:streamGenerateContent"
    assert second.query == "alt=sse"
    assert first.header("x-goog-api-key") == GEMINI_KEY
    assert first.body["contents"] == [
        {"role": "user", "parts": [{"text": "What is the weather in Oslo?"}]}
    ]
    assert first.body["tools"][0]["functionDeclarations"][0]["name"] == "get_weather"
    assert_success_row(
        gw,
        trace,
        model="gemini-2.5-flash",
        provider="gemini",
        upstream_model="gemini-2.5-flash",
        streaming=True,
    )


# -- mock -------------------------------------------------------------------------------------


def test_mock_is_deterministic_streaming_or_not(gw: Gateway) -> None:
    client = gw.anthropic()
    created = client.messages.create(model="mock-1", max_tokens=64, messages=ASK)
    again = client.messages.create(model="mock-1", max_tokens=64, messages=ASK)
    assert created == again
    assert created.content[0].type == "text"
    assert created.content[0].text.endswith("What is the weather in Oslo?")
    with client.messages.stream(model="mock-1", max_tokens=64, messages=ASK) as stream:
        streamed = stream.get_final_message()
    assert plain(streamed) == plain(created)
    assert gw.up.requests() == []


def test_mock_calls_a_tool_when_asked(gw: Gateway) -> None:
    message = gw.anthropic().messages.create(
        model="mock-1",
        max_tokens=64,
        messages=[{"role": "user", "content": "use the tool please"}],
        tools=[WEATHER_TOOL],
    )
    assert message.stop_reason == "tool_use"
    assert [block.type for block in message.content] == ["text", "tool_use"]


# -- count_tokens ---------------------------------------------------------------------------


def test_count_tokens_asks_an_anthropic_upstream(gw: Gateway) -> None:
    gw.up.anthropic.count_tokens_result = 4242
    trace = new_trace("count")
    counted = gw.anthropic().messages.count_tokens(
        model="alias-sonnet",
        messages=ASK,
        extra_headers={
            "anthropic-beta": "token-counting-2024-11-01",
            "x-trace-id": trace,
            **IDENTITY_HEADERS,
        },
    )
    assert counted.input_tokens == 4242
    row = gw.row(trace)
    assert (row["ingress"], row["status"], row["outcome"]) == ("count_tokens", 200, "success")
    assert (row["upstream_model"], row["cost_microdollars"], row["error"]) == (
        "claude-sonnet-4-5",
        0,
        None,
    )
    (sent,) = gw.up.anthropic.requests
    assert sent.path == "/v1/messages/count_tokens"
    assert sent.body == {"model": "claude-sonnet-4-5", "messages": ASK}
    assert sent.header("x-api-key") == ANTHROPIC_KEY
    assert sent.header("anthropic-beta") == "token-counting-2024-11-01"
    assert not set(IDENTITY_HEADERS) & set(sent.headers)


def test_count_tokens_estimates_when_the_upstream_cannot_count(gw: Gateway) -> None:
    client = gw.anthropic()
    short = client.messages.count_tokens(model="gpt-4o", messages=ASK).input_tokens
    long = client.messages.count_tokens(
        model="gpt-4o", messages=[{"role": "user", "content": "weather " * 400}]
    ).input_tokens
    assert 0 < short < long
    assert 700 < long < 1000  # about four characters a token
    assert gw.up.requests() == []


def test_count_tokens_unknown_model_is_404(gw: Gateway) -> None:
    response = gw.post("/v1/messages/count_tokens", {"model": "nope-1", "messages": ASK})
    assert response.status_code == 404
    assert response.json()["error"] == {
        "type": "not_found_error",
        "message": "model 'nope-1' has no gateway route",
    }
