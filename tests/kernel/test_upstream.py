"""One upstream abstraction and one error family for LLM providers and MCP servers: the
same failure of a real loopback server is the same kind, equally retryable, named the
same way, whichever of the two called it."""

from __future__ import annotations

import asyncio
import socket
import sys
from collections.abc import AsyncIterator
from typing import TypeVar

import aiohttp
import pytest
from aiohttp import web

from bastion.domains.gateway.upstreams import (
    AnthropicUpstream,
    MessagesCall,
    OpenAICompatibleUpstream,
    UpstreamTarget,
    create_http_session,
)
from bastion.domains.mcp._http_upstream import HttpUpstream
from bastion.domains.mcp._http_upstream import create_http_session as create_mcp_session
from bastion.domains.mcp._registry import ServerSpec
from bastion.domains.mcp._stdio_upstream import StdioUpstream
from bastion.domains.mcp._upstream import Call
from bastion.kernel.errors import (
    UpstreamError,
    UpstreamProtocolError,
    UpstreamRejected,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from bastion.kernel.upstream import Upstream, UpstreamHealth
from tests.support.misbehaving import Answer, Misbehaving, answering, misbehaving_server

TIMEOUT = 0.3


@pytest.fixture
async def server() -> AsyncIterator[Misbehaving]:
    async with misbehaving_server() as state:
        yield state


@pytest.fixture
async def sessions() -> AsyncIterator[tuple[aiohttp.ClientSession, aiohttp.ClientSession]]:
    llm, mcp = create_http_session(), create_mcp_session(1.0)
    yield llm, mcp
    await llm.close()
    await mcp.close()


Sessions = tuple[aiohttp.ClientSession, aiohttp.ClientSession]


E = TypeVar("E", bound=UpstreamError)


async def _both(sessions: Sessions, url: str, provider: str, kind: type[E]) -> tuple[E, E]:
    """The failure of the same call to ``url`` as an LLM route and as an MCP server: the
    same ``kind`` for both, and equally retryable (every kind here is)."""
    llm = await _llm_failure(sessions[0], url, provider)
    mcp = await _mcp_failure(sessions[1], url)
    assert type(llm) is kind, repr(llm)
    assert type(mcp) is kind, repr(mcp)
    assert llm.retryable and mcp.retryable
    return llm, mcp


async def _llm_failure(http: aiohttp.ClientSession, url: str, provider: str) -> UpstreamError:
    upstream = (
        AnthropicUpstream(http, name="anthropic", default_endpoint=url)
        if provider == "anthropic"
        else OpenAICompatibleUpstream(http, name="openai", default_endpoint=url)
    )
    target = UpstreamTarget(
        route_name="r",
        provider=provider,
        endpoint=url,
        upstream_model="m",
        timeout_seconds=TIMEOUT,
        connect_timeout_seconds=1.0,
    )
    body = {"model": "m", "max_tokens": 8, "messages": [{"role": "user", "content": "hi"}]}
    with pytest.raises(UpstreamError) as caught:
        await upstream.messages(MessagesCall(body, stream=False), target)
    assert upstream.health() == UpstreamHealth(str(caught.value))
    return caught.value


async def _mcp_failure(http: aiohttp.ClientSession, url: str) -> UpstreamError:
    spec = ServerSpec(
        name="kb", source="test", url=url + "/mcp", timeout_seconds=TIMEOUT, protocol="legacy"
    )
    upstream = HttpUpstream(spec, http, connect_timeout=1.0)
    with pytest.raises(UpstreamError) as caught:
        await upstream.request("usr_1", Call("tools/list", None, TIMEOUT))
    assert upstream.health().last_error == str(caught.value)
    await upstream.aclose()
    return caught.value


def _closed_port() -> tuple[socket.socket, str]:
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))  # bound but not listening: connections are refused
    return closed, f"http://127.0.0.1:{closed.getsockname()[1]}"


async def _slow(_: web.Request) -> web.StreamResponse:
    await asyncio.sleep(TIMEOUT * 5)
    return web.Response(status=200)


_MAINTENANCE = answering(b"<html>maintenance</html>", "text/html", status=503)
_PAGE = answering(b"<html>Sign in</html>", "text/html")
_NOT_JSON = answering(b"{not json")
_ANSWERS = {
    "anthropic": b'{"id":"msg_1","type":"message","role":"assistant","model":"m",'
    b'"content":[{"type":"text","text":"hi"}],"stop_reason":"end_turn","stop_sequence":null,'
    b'"usage":{"input_tokens":1,"output_tokens":1}}',
    "openai": b'{"id":"c1","object":"chat.completion","created":1,"model":"m","choices":'
    b'[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],'
    b'"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}',
}


PROVIDERS = pytest.mark.parametrize("provider", ["anthropic", "openai"])


@PROVIDERS
async def test_a_refused_connection_is_unavailable_for_both(
    sessions: Sessions, provider: str
) -> None:
    closed, url = _closed_port()
    with closed:
        llm, mcp = await _both(sessions, url, provider, UpstreamUnavailable)
    assert str(llm).startswith(f"upstream '{provider}' (route 'r'): ClientConnectorError")
    assert str(mcp).startswith("MCP server 'kb': ClientConnectorError")


@PROVIDERS
async def test_no_answer_in_time_is_a_timeout_for_both(
    server: Misbehaving, sessions: Sessions, provider: str
) -> None:
    server.answer = _slow
    llm, mcp = await _both(sessions, server.url, provider, UpstreamTimeout)
    assert llm.seconds == mcp.seconds == TIMEOUT
    assert str(mcp) == f"MCP server 'kb': no answer within {TIMEOUT:g}s"


@PROVIDERS
async def test_an_http_error_status_is_rejected_for_both(
    server: Misbehaving, sessions: Sessions, provider: str
) -> None:
    server.answer = _MAINTENANCE
    llm, mcp = await _both(sessions, server.url, provider, UpstreamRejected)
    assert llm.status == mcp.status == 503
    assert str(llm) == f"upstream '{provider}' (route 'r'): answered 503"
    assert str(mcp) == "MCP server 'kb': HTTP 503 without a JSON-RPC response"
    assert mcp.body == b"<html>maintenance</html>"


@PROVIDERS
@pytest.mark.parametrize("answer", [_PAGE, _NOT_JSON], ids=["html-page", "bad-json"])
async def test_an_answer_outside_the_protocol_is_a_protocol_error_for_both(
    server: Misbehaving, sessions: Sessions, provider: str, answer: Answer
) -> None:
    server.answer = answer
    llm, mcp = await _both(sessions, server.url, provider, UpstreamProtocolError)
    assert llm.upstream == f"upstream '{provider}' (route 'r')"
    assert mcp.upstream == "MCP server 'kb'"


@PROVIDERS
async def test_an_llm_upstream_that_answers_again_is_healthy_again(
    server: Misbehaving, sessions: Sessions, provider: str
) -> None:
    server.answer = _MAINTENANCE
    upstream = (
        AnthropicUpstream(sessions[0], name=provider, default_endpoint=server.url)
        if provider == "anthropic"
        else OpenAICompatibleUpstream(sessions[0], name=provider, default_endpoint=server.url)
    )
    target = UpstreamTarget(
        route_name="r",
        provider=provider,
        endpoint=server.url,
        upstream_model="m",
        timeout_seconds=TIMEOUT,
        connect_timeout_seconds=1.0,
    )
    call = MessagesCall(
        {"model": "m", "max_tokens": 8, "messages": [{"role": "user", "content": "hi"}]},
        stream=False,
    )
    with pytest.raises(UpstreamRejected):
        await upstream.messages(call, target)
    assert upstream.health().last_error == f"upstream '{provider}' (route 'r'): answered 503"
    server.answer = answering(_ANSWERS[provider])
    await upstream.messages(call, target)
    assert upstream.health() == UpstreamHealth()


async def test_a_process_that_cannot_start_is_unavailable() -> None:
    spec = ServerSpec(
        name="local",
        source="test",
        command=(sys.executable + "-missing",),
        timeout_seconds=TIMEOUT,
        protocol="legacy",
    )
    upstream = StdioUpstream(spec, backoff=0.05, backoff_max=0.05, max_processes=1)
    with pytest.raises(UpstreamUnavailable) as caught:
        await upstream.request("usr_1", Call("tools/list", None, TIMEOUT))
    assert str(caught.value).startswith("MCP server 'local': not running")
    assert "cannot start" in (upstream.health().last_error or "")
    await upstream.aclose()
    await upstream.aclose()


def test_both_kinds_of_upstream_are_the_kernel_upstream(sessions: Sessions) -> None:
    llm = AnthropicUpstream(sessions[0], name="anthropic", default_endpoint="unused")
    mcp = HttpUpstream(
        ServerSpec(name="kb", source="test", url="http://127.0.0.1:9/mcp"),
        sessions[1],
        connect_timeout=1.0,
    )
    assert isinstance(llm, Upstream) and isinstance(mcp, Upstream)
    assert (llm.name, mcp.name) == ("anthropic", "kb")
    assert llm.health() == UpstreamHealth() and mcp.health().last_error is None


@pytest.mark.parametrize(
    ("status", "retryable"), [(400, False), (404, False), (429, True), (500, True), (503, True)]
)
def test_a_rejection_is_retryable_for_429_and_5xx(status: int, retryable: bool) -> None:
    rejected = UpstreamRejected("MCP server 'kb'", status, b"{}", {"retry-after": "2"})
    assert rejected.retryable is retryable
    assert (rejected.upstream, rejected.detail) == ("MCP server 'kb'", f"answered {status}")
    assert rejected.headers == {"retry-after": "2"}


def test_retryable_may_be_overridden_per_failure() -> None:
    assert UpstreamUnavailable("u", "refused").retryable
    assert not UpstreamUnavailable("u", "invalid upstream URL", retryable=False).retryable
    assert UpstreamProtocolError("u", "garbled").retryable
    assert str(UpstreamTimeout("u", 2.5)) == "u: no answer within 2.5s"
