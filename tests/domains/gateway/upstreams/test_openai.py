"""OpenAI-compatible upstreams against a real HTTP fake of Chat Completions."""

from __future__ import annotations

from typing import Any, Literal

import aiohttp
import orjson
import pytest

from bastion.domains.gateway.translate import Usage
from bastion.domains.gateway.upstreams import OpenAICompatibleUpstream, UpstreamTarget
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
from tests.fakes import FakeOpenAI, Reply, TokenUsage

REPLY = Reply(
    thinking="The user wants weather.",
    text="Let me look that up.",
    tool_calls=(CALL,),
    usage=TokenUsage(
        input_tokens=21, output_tokens=33, cache_read_input_tokens=100, reasoning_tokens=9
    ),
    delta_size=3,
)
EXPECTED_USAGE = Usage(
    input_tokens=21, output_tokens=33, cache_read_input_tokens=100, reasoning_tokens=9
)
TOOL_USE = {"type": "tool_use", "id": "toolu_weather1", "name": "get_weather", "input": ARGUMENTS}


def _upstream(
    http: aiohttp.ClientSession,
    field: Literal["max_tokens", "max_completion_tokens"] = "max_tokens",
) -> OpenAICompatibleUpstream:
    return OpenAICompatibleUpstream(
        http, name="openai", default_endpoint="http://127.0.0.1:9/v1", max_tokens_field=field
    )


@pytest.fixture
def upstream(http: aiohttp.ClientSession) -> OpenAICompatibleUpstream:
    return _upstream(http)


def _target(fake: FakeOpenAI, **changes: Any) -> UpstreamTarget:
    return target("openai", fake.base_url + "/v1", **changes)


async def test_non_streaming_translates_the_completion(
    upstream: OpenAICompatibleUpstream, fake_openai: FakeOpenAI
) -> None:
    fake_openai.enqueue(REPLY)
    result = response(await upstream.messages(call(False), _target(fake_openai)))
    message = orjson.loads(result.body)
    assert message["type"] == "message"
    assert message["content"] == [
        {"type": "thinking", "thinking": REPLY.thinking, "signature": ""},
        {"type": "text", "text": REPLY.text},
        {**TOOL_USE, "id": "toolu_weather1"},
    ]
    assert message["stop_reason"] == "tool_use"
    assert result.usage == EXPECTED_USAGE
    assert message["usage"]["cache_read_input_tokens"] == 100
    assert result.model == UPSTREAM_MODEL
    sent = fake_openai.last_request
    assert sent.path == "/v1/chat/completions"
    assert sent.body["model"] == UPSTREAM_MODEL
    assert sent.body["messages"][0] == {"role": "system", "content": "You are terse."}
    assert sent.body["tools"][0]["function"]["name"] == "get_weather"
    assert sent.body["max_tokens"] == 512
    assert "stream" not in sent.body


async def test_streaming_translates_to_anthropic_events(
    upstream: OpenAICompatibleUpstream, fake_openai: FakeOpenAI
) -> None:
    fake_openai.enqueue(Reply(**{**REPLY.__dict__, "split": 13}))
    result = stream(await upstream.messages(call(True), _target(fake_openai)))
    data = b"".join([chunk async for chunk in result])
    received = events(data)
    assert received[0]["type"] == "message_start"
    assert received[1]["type"] == "ping"
    json_deltas = [e for e in received if e.get("delta", {}).get("type") == "input_json_delta"]
    assert len(json_deltas) > 3
    message = message_of(data)
    assert message["content"] == [
        {"type": "thinking", "thinking": REPLY.thinking, "signature": ""},
        {"type": "text", "text": REPLY.text},
        TOOL_USE,
    ]
    assert message["stop_reason"] == "tool_use"
    assert message["usage"]["output_tokens"] == 33
    assert result.usage == EXPECTED_USAGE
    sent = fake_openai.last_request.body
    assert sent["stream"] is True
    assert sent["stream_options"] == {"include_usage": True}


async def test_only_the_route_key_reaches_the_upstream(
    upstream: OpenAICompatibleUpstream, fake_openai: FakeOpenAI
) -> None:
    routed = _target(fake_openai, extra_headers={"OpenAI-Organization": "org-1"})
    await upstream.messages(call(False), routed)
    await chunks(await upstream.messages(call(True), routed))
    for sent in fake_openai.requests:
        assert set(sent.headers) == {
            "host",
            "accept",
            "accept-encoding",
            "user-agent",
            "content-length",
            "content-type",
            "authorization",
            "openai-organization",
        }
        assert sent.header("authorization") == f"Bearer {ROUTE_KEY}"
        assert sent.header("openai-organization") == "org-1"
        headers = dict(sent.headers)
        del headers["authorization"]
        assert_no_caller_headers(headers)


async def test_openai_itself_gets_max_completion_tokens(
    http: aiohttp.ClientSession, fake_openai: FakeOpenAI
) -> None:
    await _upstream(http, "max_completion_tokens").messages(call(False), _target(fake_openai))
    sent = fake_openai.last_request.body
    assert sent["max_completion_tokens"] == 512
    assert "max_tokens" not in sent


@pytest.mark.parametrize(
    ("status", "kind", "retryable"),
    [
        (400, "invalid_request_error", False),
        (401, "authentication_error", False),
        (404, "not_found_error", False),
        (429, "rate_limit_error", True),
        (500, "api_error", True),
        (503, "overloaded_error", True),
    ],
)
async def test_error_documents_are_translated(
    upstream: OpenAICompatibleUpstream,
    fake_openai: FakeOpenAI,
    status: int,
    kind: str,
    retryable: bool,
) -> None:
    fake_openai.enqueue(Reply.error(status, "This model's maximum context length is 8192"))
    with pytest.raises(UpstreamRejected) as caught:
        await upstream.messages(call(True), _target(fake_openai))
    error = caught.value
    assert (error.status, error.retryable) == (status, retryable)
    assert orjson.loads(error.body) == {
        "type": "error",
        "error": {"type": kind, "message": "This model's maximum context length is 8192"},
    }


async def test_a_dropped_stream_ends_in_one_error_event(
    upstream: OpenAICompatibleUpstream, fake_openai: FakeOpenAI
) -> None:
    fake_openai.enqueue(Reply(text="A long answer that breaks.", fail_after_events=4))
    data, error = await broken(await upstream.messages(call(True), _target(fake_openai)))
    received = events(data)
    assert received[0]["type"] == "message_start"
    assert [e["type"] for e in received].count("error") == 1
    assert received[-1]["type"] == "error"
    assert "connection lost" in str(error)


async def test_an_in_band_error_ends_the_stream(
    upstream: OpenAICompatibleUpstream, fake_openai: FakeOpenAI
) -> None:
    fake_openai.enqueue(
        Reply(text="partial", fail_after_events=2, fail_mode="error_event", error_message="boom")
    )
    data, error = await broken(await upstream.messages(call(True), _target(fake_openai)))
    received = events(data)
    assert [e["type"] for e in received].count("error") == 1
    assert received[-1]["error"]["message"] == "boom"
    assert "boom" in str(error)


async def test_count_tokens_is_not_offered(
    upstream: OpenAICompatibleUpstream, fake_openai: FakeOpenAI
) -> None:
    assert await upstream.count_tokens({"messages": []}, _target(fake_openai)) is None
    assert fake_openai.requests == []
