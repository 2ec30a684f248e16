"""Translators against the fake upstreams, over real HTTP, with tool-call JSON cut
mid-token on the wire."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from bastion.domains.gateway.translate import (
    AnthropicToOpenAISSE,
    AnthropicUsageTap,
    GeminiToAnthropicSSE,
    OpenAIToAnthropicSSE,
    SSEParser,
    StreamTranslator,
    Usage,
    anthropic_request_to_gemini,
    anthropic_request_to_openai,
    gemini_endpoint,
    openai_request_to_anthropic,
    translate_stream,
)
from tests.fakes import (
    FakeAnthropic,
    FakeGemini,
    FakeOpenAI,
    Reply,
    TokenUsage,
    ToolCall,
    anthropic_message_from_events,
    openai_completion_from_chunks,
)

REPLY = Reply(
    thinking="Two cities; two calls.",
    text="Checking Zürich and Paris 🌤️.",
    tool_calls=(
        ToolCall("get_weather", {"city": "Zürich", "unit": "celsius"}, id="call_a"),
        ToolCall("get_weather", {"city": "Paris", "days": [1, 2], "note": 'say "hi"'}, id="call_b"),
    ),
    usage=TokenUsage(
        input_tokens=40, output_tokens=30, cache_read_input_tokens=960, reasoning_tokens=9
    ),
    delta_size=5,
    split=3,
)

ANTHROPIC_REQUEST: dict[str, Any] = {
    "model": "claude-sonnet-4-5",
    "max_tokens": 512,
    "stream": True,
    "messages": [{"role": "user", "content": "Weather in Zürich and Paris?"}],
    "tools": [{"name": "get_weather", "input_schema": {"type": "object"}}],
}


async def _relay(url: str, body: Any, translator: StreamTranslator) -> bytes:
    async with httpx.AsyncClient() as client, client.stream("POST", url, json=body) as response:
        assert response.status_code == 200

        async def source() -> AsyncIterator[bytes]:
            async for chunk in response.aiter_raw():
                yield chunk

        return b"".join([piece async for piece in translate_stream(source(), translator)])


def _anthropic_events(data: bytes) -> list[dict[str, Any]]:
    parser = SSEParser()
    return [event.json() for event in parser.feed(data) + parser.flush()]


def _expected_anthropic_content(signature: str = "") -> list[dict[str, Any]]:
    return [
        {"type": "thinking", "thinking": REPLY.thinking, "signature": signature},
        {"type": "text", "text": REPLY.text},
        *(
            {"type": "tool_use", "id": call.id, "name": call.name, "input": dict(call.arguments)}
            for call in REPLY.tool_calls
        ),
    ]


async def test_openai_upstream_served_as_anthropic() -> None:
    async with FakeOpenAI() as upstream:
        upstream.enqueue(REPLY)
        body = anthropic_request_to_openai(ANTHROPIC_REQUEST, model="deepseek-chat")
        data = await _relay(
            f"{upstream.base_url}/v1/chat/completions", body, OpenAIToAnthropicSSE()
        )
        assert upstream.last_request.body["stream_options"] == {"include_usage": True}
    message = anthropic_message_from_events(_anthropic_events(data))
    assert message["content"] == _expected_anthropic_content()
    assert message["stop_reason"] == "tool_use"
    assert message["usage"] == {
        "input_tokens": 40,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 960,
        "output_tokens": 30,
    }


async def test_anthropic_upstream_served_as_openai() -> None:
    openai_request = {
        "model": "gpt-4o",
        "stream": True,
        "stream_options": {"include_usage": True},
        "messages": [{"role": "user", "content": "Weather?"}],
    }
    async with FakeAnthropic() as upstream:
        upstream.enqueue(REPLY)
        body = openai_request_to_anthropic(openai_request, model="claude-sonnet-4-5")
        url = f"{upstream.base_url}/v1/messages"
        async with (
            httpx.AsyncClient(headers={"anthropic-version": "2023-06-01"}) as client,
            client.stream("POST", url, json=body) as response,
        ):
            translator = AnthropicToOpenAISSE(include_usage=True, model="gpt-4o", created=1)
            data = (
                b"".join([translator.feed(c) async for c in response.aiter_raw()])
                + translator.finish()
            )
    parser = SSEParser()
    events = parser.feed(data) + parser.flush()
    assert events[-1].data == "[DONE]"
    completion = openai_completion_from_chunks(event.json() for event in events[:-1])
    message = completion["choices"][0]["message"]
    assert message["content"] == REPLY.text
    assert message["reasoning_content"] == REPLY.thinking
    assert [(c["id"], c["function"]["arguments"]) for c in message["tool_calls"]] == [
        (call.id, call.arguments_json()) for call in REPLY.tool_calls
    ]
    assert completion["usage"]["prompt_tokens"] == 1000
    assert completion["usage"]["prompt_tokens_details"] == {"cached_tokens": 960}


async def test_gemini_upstream_served_as_anthropic() -> None:
    async with FakeGemini() as upstream:
        upstream.enqueue(REPLY)
        body = anthropic_request_to_gemini(ANTHROPIC_REQUEST)
        url = upstream.base_url + gemini_endpoint("gemini-2.5-pro", stream=True)
        data = await _relay(url, body, GeminiToAnthropicSSE(model="gemini-2.5-pro"))
    message = anthropic_message_from_events(_anthropic_events(data))
    content = message["content"]
    # The first call's signature travels in a thinking block placed before it.
    assert content[2] == {
        "type": "thinking",
        "thinking": "",
        "signature": "gemini:" + REPLY.thinking_signature,
    }
    assert [(b["name"], b["input"]) for b in content if b["type"] == "tool_use"] == [
        (call.name, dict(call.arguments)) for call in REPLY.tool_calls
    ]
    assert content[:2] == _expected_anthropic_content()[:2]
    assert message["usage"]["output_tokens"] == 30


async def test_usage_tap_on_relayed_anthropic_bytes() -> None:
    async with FakeAnthropic() as upstream:
        upstream.enqueue(REPLY)
        tap = AnthropicUsageTap()
        relayed = b""
        url = f"{upstream.base_url}/v1/messages"
        async with (
            httpx.AsyncClient(headers={"anthropic-version": "2023-06-01"}) as client,
            client.stream("POST", url, json=ANTHROPIC_REQUEST) as response,
        ):
            async for chunk in response.aiter_raw():
                tap.feed(chunk)
                relayed += chunk
    tap.close()
    assert tap.usage == Usage(input_tokens=40, output_tokens=30, cache_read_input_tokens=960)
    assert tap.completed
    assert anthropic_message_from_events(_anthropic_events(relayed))[
        "content"
    ] == _expected_anthropic_content(REPLY.thinking_signature)


async def test_upstream_cut_mid_stream_reaches_the_client_as_an_error_event() -> None:
    async with FakeOpenAI() as upstream:
        upstream.enqueue(
            Reply(text="a long answer that never ends", delta_size=3, fail_after_events=4)
        )
        body = anthropic_request_to_openai(ANTHROPIC_REQUEST)
        received: list[bytes] = []
        with pytest.raises(httpx.RemoteProtocolError):
            async with (
                httpx.AsyncClient() as client,
                client.stream(
                    "POST", f"{upstream.base_url}/v1/chat/completions", json=body
                ) as response,
            ):
                async for piece in translate_stream(response.aiter_raw(), OpenAIToAnthropicSSE()):
                    received.append(piece)
    events = _anthropic_events(b"".join(received))
    assert events[-1]["type"] == "error"
    assert (
        "".join(e["delta"]["text"] for e in events if e["type"] == "content_block_delta")
        == "a long an"
    )
