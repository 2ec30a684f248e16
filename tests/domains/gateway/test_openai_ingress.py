"""``/v1/chat/completions`` through a running Bastion, driven by the official ``openai``
SDK: against Anthropic upstreams (the reverse translation), OpenAI-compatible upstreams
(both directions), Gemini and the mock; streaming and not."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.domains.gateway.conftest import ANTHROPIC_KEY, OPENAI_KEY, Gateway, new_trace
from tests.fakes import Reply, TokenUsage, ToolCall, openai_completion_from_chunks

WEATHER_FUNCTION = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}
WEATHER_ARGS = {"city": "Oslo, Norway", "units": "metric", "note": 'say "hi" \u00e9'}
MESSAGES = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "What is the weather in Oslo?"},
]
USAGE = TokenUsage(input_tokens=40, output_tokens=22)


def tool_reply() -> Reply:
    return Reply(
        text="Let me look that up.",
        tool_calls=[ToolCall("get_weather", WEATHER_ARGS, id="toolu_e2e_01")],
        usage=USAGE,
        delta_size=5,
        split=7,
    )


def assert_tool_completion(completion: Any, model: str, tool_id: str = "toolu_e2e_01") -> None:
    """A completion (SDK object or plain dict) carrying the reply's text and tool call."""
    doc = completion if isinstance(completion, dict) else completion.model_dump(mode="json")
    assert doc["object"] == "chat.completion" and doc["model"] == model
    (choice,) = doc["choices"]
    assert choice["finish_reason"] == "tool_calls"
    message = choice["message"]
    assert message["role"] == "assistant"
    assert message["content"] == "Let me look that up."
    (call,) = message["tool_calls"]
    assert (call["id"], call["type"], call["function"]["name"]) == (
        tool_id,
        "function",
        "get_weather",
    )
    assert json.loads(call["function"]["arguments"]) == WEATHER_ARGS


def assert_row(
    gw: Gateway, trace: str, *, model: str, provider: str, streaming: bool
) -> dict[str, Any]:
    row = gw.row(trace)
    assert (row["ingress"], row["status"], row["outcome"]) == ("openai", 200, "success")
    assert (row["requested_model"], row["provider"], row["streaming"]) == (
        model,
        provider,
        streaming,
    )
    assert (row["input_tokens"], row["output_tokens"]) == (40, 22)
    return row


# -- against an Anthropic upstream ----------------------------------------------------------


def test_create_against_anthropic_upstream(gw: Gateway) -> None:
    gw.up.anthropic.enqueue(tool_reply())
    trace = new_trace("oa-anth")
    completion = gw.openai().chat.completions.create(
        model="claude-opus-4-5",
        messages=MESSAGES,  # type: ignore[arg-type]
        tools=[WEATHER_FUNCTION],  # type: ignore[list-item]
        max_tokens=300,
        temperature=0.5,
        stop=["END"],
        extra_headers={"x-trace-id": trace},
    )
    assert_tool_completion(completion, "claude-opus-4-5")
    assert completion.usage is not None
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (40, 22)

    sent = gw.up.anthropic.last_request
    assert sent.path == "/v1/messages"
    assert sent.header("x-api-key") == ANTHROPIC_KEY
    assert sent.header("authorization") is None
    assert sent.header("anthropic-version") == "2023-06-01"
    assert sent.body == {
        "model": "claude-opus-4-5",
        "max_tokens": 300,
        "system": "Be brief.",
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "What is the weather in Oslo?"}]}
        ],
        "temperature": 0.5,
        "stop_sequences": ["END"],
        "tools": [
            {
                "name": "get_weather",
                "description": "Current weather for a city.",
                "input_schema": WEATHER_FUNCTION["function"]["parameters"],  # type: ignore[index]
            }
        ],
    }
    assert_row(gw, trace, model="claude-opus-4-5", provider="anthropic", streaming=False)


@pytest.mark.parametrize("include_usage", [True, False])
def test_stream_against_anthropic_upstream(gw: Gateway, include_usage: bool) -> None:
    gw.up.anthropic.enqueue(tool_reply())
    trace = new_trace("oa-anth-stream")
    chunks = list(
        gw.openai().chat.completions.create(
            model="claude-opus-4-5",
            messages=MESSAGES,  # type: ignore[arg-type]
            tools=[WEATHER_FUNCTION],  # type: ignore[list-item]
            stream=True,
            stream_options={"include_usage": True} if include_usage else None,  # type: ignore[arg-type]
            extra_headers={"x-trace-id": trace},
        )
    )
    assert gw.up.anthropic.last_request.body["stream"] is True
    completion = openai_completion_from_chunks(c.model_dump(mode="json") for c in chunks)
    assert_tool_completion(completion, "claude-opus-4-5")
    # Tool-call arguments arrive in several deltas, as the upstream streamed them.
    argument_deltas = [
        call.function.arguments
        for chunk in chunks
        for choice in chunk.choices
        for call in choice.delta.tool_calls or ()
        if call.function and call.function.arguments
    ]
    assert len(argument_deltas) > 3
    usage_chunks = [c for c in chunks if c.usage is not None]
    if include_usage:
        assert [(u.usage.prompt_tokens, u.usage.completion_tokens) for u in usage_chunks] == [
            (40, 22)
        ]
        assert usage_chunks[0].choices == [] and chunks[-1] is usage_chunks[0]
    else:
        assert usage_chunks == []
    # Usage is recorded either way: it is read from the upstream's stream.
    assert_row(gw, trace, model="claude-opus-4-5", provider="anthropic", streaming=True)


def test_sdk_stream_helper_accumulates_the_completion(gw: Gateway) -> None:
    gw.up.anthropic.enqueue(tool_reply())
    with gw.openai().chat.completions.stream(
        model="claude-opus-4-5",
        messages=MESSAGES,  # type: ignore[arg-type]
        tools=[WEATHER_FUNCTION],  # type: ignore[list-item]
        stream_options={"include_usage": True},
    ) as stream:
        kinds = {event.type for event in stream}
        final = stream.get_final_completion()
    assert {"content.delta", "tool_calls.function.arguments.delta", "chunk"} <= kinds
    assert_tool_completion(final, "claude-opus-4-5")
    assert final.usage is not None and final.usage.total_tokens == 62


# -- against OpenAI-compatible upstreams: both directions -------------------------------------


def test_create_against_openai_upstream(gw: Gateway) -> None:
    gw.up.openai.enqueue(
        Reply(
            text="Let me look that up.",
            tool_calls=[ToolCall("get_weather", WEATHER_ARGS, id="call_e2e_01")],
            usage=USAGE,
        )
    )
    trace = new_trace("oa-oa")
    completion = gw.openai().chat.completions.create(
        model="gpt-4o",
        messages=MESSAGES,  # type: ignore[arg-type]
        tools=[WEATHER_FUNCTION],  # type: ignore[list-item]
        tool_choice="required",
        extra_headers={"x-trace-id": trace},
    )
    assert_tool_completion(completion, "gpt-4o", tool_id="call_e2e_01")
    sent = gw.up.openai.last_request
    assert sent.header("authorization") == f"Bearer {OPENAI_KEY}"
    assert gw.keys["alice"] not in str(sent.headers)
    assert sent.body["messages"] == MESSAGES
    assert sent.body["tool_choice"] == "required"
    assert sent.body["tools"][0]["function"]["name"] == "get_weather"
    assert_row(gw, trace, model="gpt-4o", provider="openai", streaming=False)


def test_stream_against_openai_compatible_upstream(gw: Gateway) -> None:
    gw.up.openai.enqueue(
        Reply(
            thinking="Weather means a tool.",
            text="Let me look that up.",
            tool_calls=[ToolCall("get_weather", WEATHER_ARGS, id="call_e2e_01")],
            usage=USAGE,
            delta_size=4,
            split=9,
        )
    )
    trace = new_trace("oa-kimi")
    chunks = list(
        gw.openai().chat.completions.create(
            model="kimi-k2",
            messages=MESSAGES,  # type: ignore[arg-type]
            tools=[WEATHER_FUNCTION],  # type: ignore[list-item]
            stream=True,
            stream_options={"include_usage": True},
            extra_headers={"x-trace-id": trace},
        )
    )
    completion = openai_completion_from_chunks(c.model_dump(mode="json") for c in chunks)
    assert_tool_completion(completion, "kimi-k2", tool_id="call_e2e_01")
    assert completion["choices"][0]["message"]["reasoning_content"] == "Weather means a tool."
    assert completion["usage"]["prompt_tokens"] == 40
    assert_row(gw, trace, model="kimi-k2", provider="moonshot", streaming=True)


# -- Gemini and the mock -----------------------------------------------------------------------


def test_stream_against_gemini(gw: Gateway) -> None:
    gw.up.gemini.enqueue(
        Reply(text="Let me look that up.", tool_calls=[ToolCall("get_weather", WEATHER_ARGS)])
    )
    chunks = list(
        gw.openai().chat.completions.create(
            model="gemini-2.5-pro",
            messages=MESSAGES,  # type: ignore[arg-type]
            tools=[WEATHER_FUNCTION],  # type: ignore[list-item]
            stream=True,
        )
    )
    completion = openai_completion_from_chunks(c.model_dump(mode="json") for c in chunks)
    call = completion["choices"][0]["message"]["tool_calls"][0]
    assert json.loads(call["function"]["arguments"]) == WEATHER_ARGS
    assert completion["choices"][0]["message"]["content"] == "Let me look that up."


def test_mock_through_the_openai_format(gw: Gateway) -> None:
    client = gw.openai()
    completion = client.chat.completions.create(model="mock-1", messages=MESSAGES)  # type: ignore[arg-type]
    text = completion.choices[0].message.content
    assert text is not None and text.endswith("What is the weather in Oslo?")
    streamed = openai_completion_from_chunks(
        c.model_dump(mode="json")
        for c in client.chat.completions.create(
            model="mock-1",
            messages=MESSAGES,  # type: ignore[arg-type]
            stream=True,
        )
    )
    assert streamed["choices"][0]["message"]["content"] == text
    assert streamed["choices"][0]["finish_reason"] == completion.choices[0].finish_reason == "stop"
