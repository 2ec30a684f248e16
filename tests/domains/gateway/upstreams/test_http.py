"""Transport behaviour shared by every HTTP provider: the pooled session, timeouts,
connection failures, and connections released on every path."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import pytest

from bastion.domains.gateway.upstreams import (
    AnthropicUpstream,
    GeminiUpstream,
    LlmUpstream,
    OpenAICompatibleUpstream,
    create_http_session,
)
from bastion.kernel.errors import UpstreamRejected, UpstreamTimeout, UpstreamUnavailable
from tests.domains.gateway.upstreams._support import (
    broken,
    call,
    chunks,
    events,
    message_of,
    response,
    stream,
    target,
)
from tests.fakes import FakeAnthropic, Reply

PROVIDERS: dict[str, Callable[[aiohttp.ClientSession], LlmUpstream]] = {
    "anthropic": lambda http: AnthropicUpstream(http, name="anthropic", default_endpoint="unused"),
    "openai": lambda http: OpenAICompatibleUpstream(http, name="openai", default_endpoint="unused"),
    "gemini": lambda http: GeminiUpstream(http, name="gemini", default_endpoint="unused"),
}


@pytest.fixture
def upstream(http: aiohttp.ClientSession) -> AnthropicUpstream:
    return AnthropicUpstream(http, name="anthropic", default_endpoint="unused")


@pytest.mark.parametrize("provider", list(PROVIDERS))
@pytest.mark.parametrize("streaming", [False, True], ids=["whole", "stream"])
async def test_a_refused_connection_is_a_retryable_unavailable(
    http: aiohttp.ClientSession, provider: str, streaming: bool
) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))  # bound but not listening: connections are refused
        endpoint = f"http://127.0.0.1:{closed.getsockname()[1]}"
        with pytest.raises(UpstreamUnavailable) as caught:
            await PROVIDERS[provider](http).messages(call(streaming), target(provider, endpoint))
    assert caught.value.retryable
    assert str(caught.value).startswith(f"upstream '{provider}' (route 'route-1'): ")


@pytest.mark.parametrize("streaming", [False, True], ids=["whole", "stream"])
async def test_no_answer_within_the_read_timeout_is_a_timeout_error(
    upstream: AnthropicUpstream, fake_anthropic: FakeAnthropic, streaming: bool
) -> None:
    fake_anthropic.enqueue(Reply(text="late", latency=0.5))
    slow = target("anthropic", fake_anthropic.base_url, timeout_seconds=0.1)
    with pytest.raises(UpstreamTimeout) as caught:
        await upstream.messages(call(streaming), slow)
    assert caught.value.retryable


async def test_a_body_that_stalls_is_a_timeout_error(
    upstream: AnthropicUpstream, fake_anthropic: FakeAnthropic
) -> None:
    fake_anthropic.enqueue(Reply(text="slow body", split=40, chunk_delay=0.5))
    slow = target("anthropic", fake_anthropic.base_url, timeout_seconds=0.1)
    with pytest.raises(UpstreamTimeout):
        await upstream.messages(call(False), slow)


async def test_a_stream_that_stalls_ends_in_an_error_event(
    upstream: AnthropicUpstream, fake_anthropic: FakeAnthropic
) -> None:
    fake_anthropic.enqueue(Reply(text="one two three", chunk_delay=0.5))
    slow = target("anthropic", fake_anthropic.base_url, timeout_seconds=0.1)
    data, error = await broken(await upstream.messages(call(True), slow))
    received = events(data)
    assert received[0]["type"] == "message_start"
    assert received[-1]["error"] == {
        "type": "api_error",
        "message": "upstream read timed out mid-stream",
    }
    assert "timed out" in str(error)
    assert not isinstance(error, UpstreamTimeout)


async def test_an_invalid_endpoint_is_not_retryable(upstream: AnthropicUpstream) -> None:
    with pytest.raises(UpstreamUnavailable) as caught:
        await upstream.messages(call(False), target("anthropic", "not-a-url"))
    assert not caught.value.retryable
    assert "invalid upstream URL 'not-a-url/v1/messages'" in str(caught.value)


async def test_upstream_cookies_are_never_sent_back(
    upstream: AnthropicUpstream, fake_anthropic: FakeAnthropic
) -> None:
    fake_anthropic.enqueue(Reply(text="hi", headers={"set-cookie": "__cf_bm=abc; Path=/"}))
    # By host name: a cookie jar ignores cookies from bare IP addresses anyway.
    routed = target("anthropic", f"http://localhost:{fake_anthropic.port}")
    await upstream.messages(call(False), routed)
    await upstream.messages(call(False), routed)
    assert fake_anthropic.last_request.header("cookie") is None


async def test_closing_a_stream_early_stops_it(
    upstream: AnthropicUpstream, fake_anthropic: FakeAnthropic
) -> None:
    fake_anthropic.enqueue(Reply(text="a b c d e f g", delta_size=1, chunk_delay=0.05))
    result = stream(
        await upstream.messages(call(True), target("anthropic", fake_anthropic.base_url))
    )
    first = await anext(aiter(result))
    assert first.startswith(b"event: message_start")
    await result.aclose()
    await result.aclose()
    assert [chunk async for chunk in result] == []
    assert result.usage.input_tokens == 12


async def _within(seconds: float, work: Awaitable[Any]) -> Any:
    return await asyncio.wait_for(work, seconds)


async def test_every_path_gives_the_connection_back(fake_anthropic: FakeAnthropic) -> None:
    # One connection in the pool, and streams that would run for seconds: a path that
    # kept its connection would leave the next call waiting for it. Every stream stays
    # referenced, so nothing is rescued by garbage collection.
    session = create_http_session(limit=1)
    upstream = AnthropicUpstream(session, name="anthropic", default_endpoint="unused")
    routed = target("anthropic", fake_anthropic.base_url)
    slow = Reply(text="a b c d e f g h", delta_size=1, chunk_delay=0.3)
    kept: list[object] = []

    async def status_error() -> None:
        fake_anthropic.enqueue(Reply.error(400))
        with pytest.raises(UpstreamRejected):
            await upstream.messages(call(False), routed)

    async def whole() -> None:
        kept.append(response(await upstream.messages(call(False), routed)))

    async def complete_stream() -> None:
        result = await upstream.messages(call(True), routed)
        kept.append(result)
        message_of(b"".join(await chunks(result)))

    async def closed_early() -> None:
        fake_anthropic.enqueue(slow)
        result = stream(await upstream.messages(call(True), routed))
        kept.append(result)
        await anext(aiter(result))
        await result.aclose()

    async def broken_stream() -> None:
        fake_anthropic.enqueue(Reply(text="abc", fail_after_events=2))
        result = await upstream.messages(call(True), routed)
        kept.append(result)
        await broken(result)

    async def stalled_stream() -> None:
        fake_anthropic.enqueue(slow)
        stalled = target("anthropic", fake_anthropic.base_url, timeout_seconds=0.1)
        result = await upstream.messages(call(True), stalled)
        kept.append(result)
        await broken(result)

    async def cancelled_reader() -> None:
        fake_anthropic.enqueue(slow)
        result = stream(await upstream.messages(call(True), routed))
        kept.append(result)

        async def read_all() -> None:
            async for _ in result:
                pass

        task = asyncio.create_task(read_all())
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    try:
        for path in (
            status_error,
            whole,
            complete_stream,
            closed_early,
            broken_stream,
            stalled_stream,
            cancelled_reader,
        ):
            await _within(1.5, path())
            await _within(1.5, whole())
    finally:
        await session.close()
    assert len(kept) == 13


async def test_the_session_is_pooled_without_a_cap_and_keeps_no_cookies() -> None:
    session = create_http_session()
    try:
        connector = session.connector
        assert isinstance(connector, aiohttp.TCPConnector)
        assert (connector.limit, connector.limit_per_host) == (0, 0)
        assert not connector.force_close
        assert isinstance(session.cookie_jar, aiohttp.DummyCookieJar)
        assert session.auto_decompress
    finally:
        await session.close()


async def test_hundreds_of_concurrent_streams(
    upstream: AnthropicUpstream, fake_anthropic: FakeAnthropic
) -> None:
    fake_anthropic.enqueue(*[Reply(text=f"answer {i}") for i in range(220)])
    routed = target("anthropic", fake_anthropic.base_url)

    async def one() -> str:
        data = b"".join(await chunks(await upstream.messages(call(True), routed)))
        return str(message_of(data)["content"][0]["text"])

    answers = await _within(20, asyncio.gather(*[one() for _ in range(220)]))
    assert sorted(answers) == sorted(f"answer {i}" for i in range(220))
