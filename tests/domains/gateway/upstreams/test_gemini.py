"""The Gemini upstream against a real HTTP fake of generateContent."""

from __future__ import annotations

from typing import Any

import aiohttp
import orjson
import pytest

from bastion.domains.gateway.translate import Usage
from bastion.domains.gateway.upstreams import GeminiUpstream, UpstreamTarget
from bastion.kernel.errors import UpstreamRejected
from tests.domains.gateway.upstreams._support import (
    ARGUMENTS,
    CALL,
    ROUTE_KEY,
    UPSTREAM_MODEL,
    assert_no_caller_headers,
    broken,
    call,
    chunks,
    events,
    message_of,
    response,
    stream,
    target,
)
from tests.fakes import FakeGemini, Reply, TokenUsage

REPLY = Reply(
    thinking="The user wants weather.",
    text="Let me look that up.",
    tool_calls=(CALL,),
    usage=TokenUsage(
        input_tokens=21, output_tokens=33, cache_read_input_tokens=100, reasoning_tokens=9
    ),
    delta_size=4,
)
EXPECTED_USAGE = Usage(
    input_tokens=21, output_tokens=33, cache_read_input_tokens=100, reasoning_tokens=9
)


@pytest.fixture
def upstream(http: aiohttp.ClientSession) -> GeminiUpstream:
    return GeminiUpstream(http, name="gemini", default_endpoint="http://127.0.0.1:9")


def _target(fake: FakeGemini, **changes: Any) -> UpstreamTarget:
    return target("gemini", fake.base_url, **changes)


def _blocks(message: dict[str, Any]) -> list[tuple[str, Any]]:
    """(type, payload) per block; Gemini's thought signature travels in an extra
    thinking block, so only the kinds and their content are compared."""
    out: list[tuple[str, Any]] = []
    for block in message["content"]:
        if block["type"] == "thinking" and block["thinking"]:
            out.append(("thinking", block["thinking"]))
        elif block["type"] == "text":
            out.append(("text", block["text"]))
        elif block["type"] == "tool_use":
            out.append(("tool_use", (block["name"], block["input"])))
    return out


EXPECTED_BLOCKS = [
    ("thinking", REPLY.thinking),
    ("text", REPLY.text),
    ("tool_use", ("get_weather", ARGUMENTS)),
]


async def test_non_streaming_translates_the_response(
    upstream: GeminiUpstream, fake_gemini: FakeGemini
) -> None:
    fake_gemini.enqueue(REPLY)
    result = response(await upstream.messages(call(False), _target(fake_gemini)))
    message = orjson.loads(result.body)
    assert _blocks(message) == EXPECTED_BLOCKS
    assert message["stop_reason"] == "tool_use"
    assert message["model"] == UPSTREAM_MODEL
    assert result.usage == EXPECTED_USAGE
    assert result.model == UPSTREAM_MODEL
    sent = fake_gemini.last_request
    assert sent.path == f"/v1beta/models/{UPSTREAM_MODEL}:generateContent"
    assert sent.body["systemInstruction"] == {"parts": [{"text": "You are terse."}]}
    assert sent.body["contents"][0]["role"] == "user"


async def test_streaming_translates_to_anthropic_events(
    upstream: GeminiUpstream, fake_gemini: FakeGemini
) -> None:
    fake_gemini.enqueue(Reply(**{**REPLY.__dict__, "split": 9}))
    result = stream(await upstream.messages(call(True), _target(fake_gemini)))
    data = b"".join([chunk async for chunk in result])
    message = message_of(data)
    assert _blocks(message) == EXPECTED_BLOCKS
    assert message["stop_reason"] == "tool_use"
    assert message["usage"]["cache_read_input_tokens"] == 100
    assert result.usage == EXPECTED_USAGE
    sent = fake_gemini.last_request
    assert sent.path == f"/v1beta/models/{UPSTREAM_MODEL}:streamGenerateContent"
    assert sent.query == "alt=sse"


async def test_only_the_route_key_reaches_the_upstream(
    upstream: GeminiUpstream, fake_gemini: FakeGemini
) -> None:
    await upstream.messages(call(False), _target(fake_gemini))
    await chunks(await upstream.messages(call(True), _target(fake_gemini)))
    for sent in fake_gemini.requests:
        assert set(sent.headers) == {
            "host",
            "accept",
            "accept-encoding",
            "user-agent",
            "content-length",
            "content-type",
            "x-goog-api-key",
        }
        assert sent.header("x-goog-api-key") == ROUTE_KEY
        assert "key=" not in sent.query
        assert_no_caller_headers(sent.headers)


async def test_an_endpoint_with_the_version_and_a_prefixed_model_still_work(
    upstream: GeminiUpstream, fake_gemini: FakeGemini
) -> None:
    body = {**call(False).body, "model": f"models/{UPSTREAM_MODEL}"}
    routed = target("gemini", fake_gemini.base_url + "/v1beta/")
    await upstream.messages(call(False, body=body), routed)
    assert fake_gemini.last_request.path == f"/v1beta/models/{UPSTREAM_MODEL}:generateContent"


@pytest.mark.parametrize(
    ("status", "kind", "retryable"),
    [
        (400, "invalid_request_error", False),
        (403, "permission_error", False),
        (429, "rate_limit_error", True),
        (500, "api_error", True),
        (503, "overloaded_error", True),
    ],
)
async def test_error_documents_are_translated(
    upstream: GeminiUpstream, fake_gemini: FakeGemini, status: int, kind: str, retryable: bool
) -> None:
    fake_gemini.enqueue(Reply.error(status, "Resource has been exhausted"))
    with pytest.raises(UpstreamRejected) as caught:
        await upstream.messages(call(False), _target(fake_gemini))
    error = caught.value
    assert (error.status, error.retryable) == (status, retryable)
    assert orjson.loads(error.body) == {
        "type": "error",
        "error": {"type": kind, "message": "Resource has been exhausted"},
    }


async def test_a_dropped_stream_ends_in_one_error_event(
    upstream: GeminiUpstream, fake_gemini: FakeGemini
) -> None:
    fake_gemini.enqueue(Reply(text="A long answer that breaks off.", fail_after_events=3))
    data, error = await broken(await upstream.messages(call(True), _target(fake_gemini)))
    received = events(data)
    assert received[0]["type"] == "message_start"
    assert [e["type"] for e in received].count("error") == 1
    assert received[-1]["type"] == "error"
    assert "connection lost" in str(error)


async def test_an_in_band_error_ends_the_stream(
    upstream: GeminiUpstream, fake_gemini: FakeGemini
) -> None:
    fake_gemini.enqueue(
        Reply(
            text="partial answer",
            fail_after_events=2,
            fail_mode="error_event",
            error_message="The model is overloaded.",
        )
    )
    data, error = await broken(await upstream.messages(call(True), _target(fake_gemini)))
    received = events(data)
    assert received[-1]["error"] == {
        "type": "overloaded_error",
        "message": "The model is overloaded.",
    }
    assert [e["type"] for e in received].count("error") == 1
    assert "overloaded" in str(error)


async def test_count_tokens_is_left_to_the_gateway(
    upstream: GeminiUpstream, fake_gemini: FakeGemini
) -> None:
    assert await upstream.count_tokens({"messages": []}, _target(fake_gemini)) is None
    assert fake_gemini.requests == []
