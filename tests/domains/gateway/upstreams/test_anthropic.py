"""The Anthropic passthrough against a real HTTP fake of the Messages API."""

from __future__ import annotations

import aiohttp
import orjson
import pytest

from bastion.domains.gateway.translate import Usage, encode_anthropic_event
from bastion.domains.gateway.upstreams import AnthropicUpstream
from bastion.kernel.errors import UpstreamRejected
from tests.domains.gateway.upstreams._support import (
    ARGUMENTS,
    BODY,
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
from tests.fakes import FakeAnthropic, Reply, TokenUsage

REPLY = Reply(
    thinking="The user wants weather.",
    thinking_signature="c2lnbmF0dXJlLTE=",
    text="Let me look that up.",
    tool_calls=(CALL,),
    usage=TokenUsage(
        input_tokens=21,
        output_tokens=33,
        cache_read_input_tokens=100,
        cache_creation_input_tokens=7,
    ),
    delta_size=3,
)
EXPECTED_USAGE = Usage(
    input_tokens=21, output_tokens=33, cache_read_input_tokens=100, cache_creation_input_tokens=7
)
EXPECTED_CONTENT = [
    {"type": "thinking", "thinking": REPLY.thinking, "signature": REPLY.thinking_signature},
    {"type": "text", "text": REPLY.text},
    {"type": "tool_use", "id": "toolu_weather1", "name": "get_weather", "input": ARGUMENTS},
]


@pytest.fixture
def upstream(http: aiohttp.ClientSession) -> AnthropicUpstream:
    return AnthropicUpstream(http, name="anthropic", default_endpoint="http://127.0.0.1:9")


async def test_non_streaming_returns_the_upstream_bytes_and_usage(
    upstream: AnthropicUpstream, fake_anthropic: FakeAnthropic
) -> None:
    fake_anthropic.enqueue(REPLY)
    result = response(
        await upstream.messages(call(False), target("anthropic", fake_anthropic.base_url))
    )
    message = orjson.loads(result.body)
    assert message["content"] == EXPECTED_CONTENT
    assert message["stop_reason"] == "tool_use"
    assert result.body == orjson.dumps(message)  # the fake's compact bytes, as sent
    assert result.status == 200
    assert result.usage == EXPECTED_USAGE
    assert result.model == UPSTREAM_MODEL
    sent = fake_anthropic.last_request
    assert sent.path == "/v1/messages"
    assert sent.body == BODY  # model already rewritten by the caller; nothing added
    assert "stream" not in sent.body


async def test_streaming_relays_the_upstream_bytes_unmodified(
    upstream: AnthropicUpstream, fake_anthropic: FakeAnthropic
) -> None:
    fake_anthropic.enqueue(Reply(**{**REPLY.__dict__, "split": 11}))
    result = stream(
        await upstream.messages(call(True), target("anthropic", fake_anthropic.base_url))
    )
    data = b"".join([chunk async for chunk in result])
    received = events(data)
    assert data == b"".join(encode_anthropic_event(event) for event in received)
    message = message_of(data)
    assert message["content"] == EXPECTED_CONTENT
    assert message["stop_reason"] == "tool_use"
    assert result.usage == EXPECTED_USAGE
    assert fake_anthropic.last_request.body["stream"] is True
    json_deltas = [e for e in received if e.get("delta", {}).get("type") == "input_json_delta"]
    assert len(json_deltas) > 3  # the tool arguments arrived in pieces


async def test_streaming_passes_chunks_on_as_they_arrive(
    upstream: AnthropicUpstream, fake_anthropic: FakeAnthropic
) -> None:
    # Three writes 50 ms apart, cut inside events: each reaches the caller as it came,
    # not re-framed into whole events.
    fake_anthropic.enqueue(Reply(text="Hello there, world.", split=[100, 457], chunk_delay=0.05))
    received = await chunks(
        await upstream.messages(call(True), target("anthropic", fake_anthropic.base_url))
    )
    assert [len(chunk) for chunk in received[:2]] == [100, 357]
    assert not received[0].endswith(b"\n\n")
    assert message_of(b"".join(received))["content"] == [
        {"type": "text", "text": "Hello there, world."}
    ]


async def test_only_the_route_key_and_anthropic_headers_reach_the_upstream(
    upstream: AnthropicUpstream, fake_anthropic: FakeAnthropic
) -> None:
    routed = target("anthropic", fake_anthropic.base_url, extra_headers={"X-Route-Tag": "finance"})
    await upstream.messages(call(False), routed)
    await chunks(await upstream.messages(call(True), routed))
    for sent in fake_anthropic.requests:
        assert set(sent.headers) == {
            "host",
            "accept",
            "accept-encoding",
            "user-agent",
            "content-length",
            "content-type",
            "x-api-key",
            "anthropic-version",
            "anthropic-beta",
            "x-route-tag",
        }
        assert sent.header("x-api-key") == ROUTE_KEY
        assert sent.header("anthropic-version") == "2023-06-01"
        assert sent.header("anthropic-beta") == "interleaved-thinking-2025-05-14"
        assert sent.header("x-route-tag") == "finance"
        assert sent.header("content-type") == "application/json"
        assert_no_caller_headers(sent.headers)


async def test_anthropic_version_defaults_and_beta_is_optional(
    upstream: AnthropicUpstream, fake_anthropic: FakeAnthropic
) -> None:
    await upstream.messages(call(False, headers={}), target("anthropic", fake_anthropic.base_url))
    sent = fake_anthropic.last_request
    assert sent.header("anthropic-version") == "2023-06-01"
    assert sent.header("anthropic-beta") is None


async def test_a_route_without_a_key_sends_none(
    upstream: AnthropicUpstream, fake_anthropic: FakeAnthropic
) -> None:
    fake_anthropic.api_key = None
    try:
        await upstream.messages(
            call(False), target("anthropic", fake_anthropic.base_url, api_key=None)
        )
    finally:
        fake_anthropic.api_key = ROUTE_KEY
    assert fake_anthropic.last_request.header("x-api-key") is None


async def test_a_4xx_body_passes_through_byte_for_byte(
    upstream: AnthropicUpstream, fake_anthropic: FakeAnthropic
) -> None:
    fake_anthropic.enqueue(Reply.error(400, "max_tokens: must be positive"))
    with pytest.raises(UpstreamRejected) as caught:
        await upstream.messages(call(True), target("anthropic", fake_anthropic.base_url))
    error = caught.value
    assert error.status == 400
    assert not error.retryable
    assert error.body == orjson.dumps(
        {
            "type": "error",
            "error": {"type": "invalid_request_error", "message": "max_tokens: must be positive"},
        }
    )
    assert error.headers == {"request-id": "req_fake"}


async def test_a_wrong_route_key_is_the_upstreams_401(
    upstream: AnthropicUpstream, fake_anthropic: FakeAnthropic
) -> None:
    with pytest.raises(UpstreamRejected) as caught:
        await upstream.messages(
            call(False), target("anthropic", fake_anthropic.base_url, api_key="nope")
        )
    assert caught.value.status == 401
    assert orjson.loads(caught.value.body)["error"]["type"] == "authentication_error"


@pytest.mark.parametrize(
    ("status", "kind"), [(429, "rate_limit_error"), (500, "api_error"), (529, "overloaded_error")]
)
async def test_429_and_5xx_are_retryable_status_errors(
    upstream: AnthropicUpstream, fake_anthropic: FakeAnthropic, status: int, kind: str
) -> None:
    fake_anthropic.enqueue(
        Reply(status=status, error_message="try later", headers={"retry-after": "3"})
    )
    with pytest.raises(UpstreamRejected) as caught:
        await upstream.messages(call(False), target("anthropic", fake_anthropic.base_url))
    assert caught.value.status == status
    assert caught.value.retryable
    assert orjson.loads(caught.value.body)["error"] == {"type": kind, "message": "try later"}
    assert caught.value.headers["retry-after"] == "3"


async def test_a_dropped_stream_yields_what_arrived_then_an_error_event(
    upstream: AnthropicUpstream, fake_anthropic: FakeAnthropic
) -> None:
    fake_anthropic.enqueue(Reply(**{**REPLY.__dict__, "fail_after_events": 5}))
    result = await upstream.messages(call(True), target("anthropic", fake_anthropic.base_url))
    data, error = await broken(result)
    received = events(data)
    assert [e["type"] for e in received] == [
        "message_start",
        "content_block_start",
        "ping",
        "content_block_delta",
        "content_block_delta",
        "error",
    ]
    assert received[-1]["error"] == {
        "type": "api_error",
        "message": "upstream connection lost mid-stream",
    }
    assert "connection lost" in str(error)
    assert stream(result).usage.input_tokens == 21  # from message_start


async def test_an_in_band_error_is_relayed_once(
    upstream: AnthropicUpstream, fake_anthropic: FakeAnthropic
) -> None:
    fake_anthropic.enqueue(
        Reply(
            text="partial answer",
            fail_after_events=4,
            fail_mode="error_event",
            error_message="Overloaded",
        )
    )
    data, error = await broken(
        await upstream.messages(call(True), target("anthropic", fake_anthropic.base_url))
    )
    received = events(data)
    assert [e["type"] for e in received].count("error") == 1
    assert received[-1]["error"] == {"type": "overloaded_error", "message": "Overloaded"}
    assert "overloaded_error: Overloaded" in str(error)


async def test_count_tokens_asks_the_upstream(
    upstream: AnthropicUpstream, fake_anthropic: FakeAnthropic
) -> None:
    fake_anthropic.count_tokens_result = 4242
    body = {"model": UPSTREAM_MODEL, "messages": BODY["messages"]}
    tokens = await upstream.count_tokens(
        body,
        target("anthropic", fake_anthropic.base_url),
        {"anthropic-beta": "b1", "x-api-key": "no"},
    )
    assert tokens == 4242
    sent = fake_anthropic.last_request
    assert sent.path == "/v1/messages/count_tokens"
    assert sent.body == body
    assert sent.header("x-api-key") == ROUTE_KEY
    assert sent.header("anthropic-beta") == "b1"


async def test_count_tokens_errors_are_status_errors(
    upstream: AnthropicUpstream, fake_anthropic: FakeAnthropic
) -> None:
    with pytest.raises(UpstreamRejected) as caught:
        await upstream.count_tokens(
            BODY, target("anthropic", fake_anthropic.base_url, api_key="bad")
        )
    assert caught.value.status == 401
