"""A 200 that is not what the upstream's API promises is a retryable
``UpstreamProtocolError`` before any byte reaches the caller. The provider fakes never
misbehave this way, so a bare server answers whatever a test sets."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import aiohttp
import pytest

from bastion.domains.gateway.upstreams import (
    AnthropicUpstream,
    GeminiUpstream,
    LlmUpstream,
    OpenAICompatibleUpstream,
)
from bastion.kernel.errors import UpstreamProtocolError
from tests.domains.gateway.upstreams._support import call, target
from tests.support.misbehaving import Misbehaving, answering, misbehaving_server


@pytest.fixture
async def server() -> AsyncIterator[Misbehaving]:
    async with misbehaving_server() as state:
        yield state


PROVIDERS: dict[str, Callable[[aiohttp.ClientSession], LlmUpstream]] = {
    "anthropic": lambda http: AnthropicUpstream(http, name="anthropic", default_endpoint="unused"),
    "openai": lambda http: OpenAICompatibleUpstream(http, name="openai", default_endpoint="unused"),
    "gemini": lambda http: GeminiUpstream(http, name="gemini", default_endpoint="unused"),
}
providers = pytest.mark.parametrize("provider", list(PROVIDERS))


async def _refused(
    http: aiohttp.ClientSession, server: Misbehaving, provider: str, stream: bool
) -> str:
    with pytest.raises(UpstreamProtocolError) as caught:
        await PROVIDERS[provider](http).messages(call(stream), target(provider, server.url))
    assert caught.value.retryable
    assert caught.value.upstream == f"upstream '{provider}' (route 'route-1')"
    return caught.value.detail


@providers
async def test_a_json_error_in_answer_to_a_stream(
    http: aiohttp.ClientSession, server: Misbehaving, provider: str
) -> None:
    server.answer = answering(b'{"error": {"message": "quota exceeded", "code": 1008}}')
    message = await _refused(http, server, provider, stream=True)
    assert "a JSON document instead of a stream: quota exceeded" in message


@providers
async def test_a_page_that_is_not_json(
    http: aiohttp.ClientSession, server: Misbehaving, provider: str
) -> None:
    server.answer = answering(b"<html>Sign in to the proxy</html>", "text/html")
    message = await _refused(http, server, provider, stream=False)
    assert "<html>Sign in to the proxy</html>" in message


async def test_a_completion_without_choices(
    http: aiohttp.ClientSession, server: Misbehaving
) -> None:
    server.answer = answering(b'{"error": {"message": "model overloaded"}}')
    assert "model overloaded" in await _refused(http, server, "openai", stream=False)


async def test_a_gemini_document_that_is_not_a_response(
    http: aiohttp.ClientSession, server: Misbehaving
) -> None:
    server.answer = answering(b'{"unexpected": true}')
    assert "not a GenerateContentResponse" in await _refused(http, server, "gemini", stream=False)


async def test_a_token_count_without_a_count(
    http: aiohttp.ClientSession, server: Misbehaving
) -> None:
    server.answer = answering(b'{"tokens": 12}')
    with pytest.raises(UpstreamProtocolError) as caught:
        await AnthropicUpstream(http, name="anthropic", default_endpoint="unused").count_tokens(
            {"messages": []}, target("anthropic", server.url)
        )
    assert caught.value.detail == "returned an invalid response: expected input_tokens"
