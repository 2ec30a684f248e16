"""A 200 that is not what the upstream's API promises becomes a retryable 502 before any
byte reaches the caller. The provider fakes never misbehave this way, so a bare server
answers whatever a test sets."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import aiohttp
import orjson
import pytest
from aiohttp import web

from bastion.domains.gateway.errors import UpstreamStatusError
from bastion.domains.gateway.upstreams import (
    AnthropicUpstream,
    GeminiUpstream,
    OpenAICompatibleUpstream,
    Upstream,
)
from tests.domains.gateway.upstreams._support import call, target


@dataclass
class Answer:
    body: bytes = b""
    content_type: str = "application/json"


@dataclass
class Server:
    url: str
    answer: Answer


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    state = Server("", Answer())

    async def handle(request: web.Request) -> web.Response:
        return web.Response(body=state.answer.body, content_type=state.answer.content_type)

    app = web.Application()
    app.router.add_post("/{tail:.*}", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    state.url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    yield state
    await runner.cleanup()


PROVIDERS: dict[str, Callable[[aiohttp.ClientSession], Upstream]] = {
    "anthropic": lambda http: AnthropicUpstream(http, default_endpoint="unused"),
    "openai": lambda http: OpenAICompatibleUpstream(http, default_endpoint="unused"),
    "gemini": lambda http: GeminiUpstream(http, default_endpoint="unused"),
}
providers = pytest.mark.parametrize("provider", list(PROVIDERS))


async def _refused(http: aiohttp.ClientSession, server: Server, provider: str, stream: bool) -> str:
    with pytest.raises(UpstreamStatusError) as caught:
        await PROVIDERS[provider](http).messages(call(stream), target(provider, server.url))
    assert (caught.value.status, caught.value.retryable) == (502, True)
    error = orjson.loads(caught.value.body)["error"]
    assert error["type"] == "api_error"
    return str(error["message"])


@providers
async def test_a_json_error_in_answer_to_a_stream(
    http: aiohttp.ClientSession, server: Server, provider: str
) -> None:
    server.answer.body = b'{"error": {"message": "quota exceeded", "code": 1008}}'
    message = await _refused(http, server, provider, stream=True)
    assert "a JSON document instead of a stream: quota exceeded" in message


@providers
async def test_a_page_that_is_not_json(
    http: aiohttp.ClientSession, server: Server, provider: str
) -> None:
    server.answer = Answer(b"<html>Sign in to the proxy</html>", "text/html")
    message = await _refused(http, server, provider, stream=False)
    assert "<html>Sign in to the proxy</html>" in message
    assert f"upstream '{provider}' (route 'route-1')" in message


async def test_a_completion_without_choices(http: aiohttp.ClientSession, server: Server) -> None:
    server.answer.body = b'{"error": {"message": "model overloaded"}}'
    assert "model overloaded" in await _refused(http, server, "openai", stream=False)


async def test_a_gemini_document_that_is_not_a_response(
    http: aiohttp.ClientSession, server: Server
) -> None:
    server.answer.body = b'{"unexpected": true}'
    assert "not a GenerateContentResponse" in await _refused(http, server, "gemini", stream=False)


async def test_a_token_count_without_a_count(http: aiohttp.ClientSession, server: Server) -> None:
    server.answer.body = b'{"tokens": 12}'
    with pytest.raises(UpstreamStatusError) as caught:
        await AnthropicUpstream(http, default_endpoint="unused").count_tokens(
            {"messages": []}, target("anthropic", server.url)
        )
    assert caught.value.status == 502
