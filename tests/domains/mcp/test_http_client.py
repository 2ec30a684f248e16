"""The upstream HTTP client against a raw asyncio server that misbehaves on purpose:
keep-alive reuse, a pooled connection the server already dropped, ``Connection: close``,
bodies streamed in chunks or cut short, and refused connections."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import pytest
import uvloop

from bastion.domains.mcp._http_client import HttpClient, HttpError

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter, int], Awaitable[None]]


async def read_request(reader: asyncio.StreamReader) -> bytes | None:
    """One request (head and content-length body), or None at EOF."""
    head = await reader.readuntil(b"\r\n\r\n") if not reader.at_eof() else b""
    if not head:
        return None
    length = next(
        (
            int(line.split(b":")[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length")
        ),
        0,
    )
    return head + await reader.readexactly(length)


def ok(body: bytes, *extra: bytes) -> bytes:
    headers = b"".join(h + b"\r\n" for h in extra)
    return b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n%s\r\n%s" % (len(body), headers, body)


@asynccontextmanager
async def serve(handler: Handler) -> AsyncIterator[tuple[str, list[int]]]:
    """A server on loopback; yields its URL and the list of connection numbers seen."""
    connections: list[int] = []
    handlers: list[asyncio.Task[None]] = []

    async def run(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> None:
        try:
            await handler(reader, writer, n)
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(len(connections) + 1)
        handlers.append(asyncio.create_task(run(reader, writer, connections[-1])))

    server = await asyncio.start_server(on_connect, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/mcp", connections
    finally:
        for task in handlers:
            task.cancel()
        await asyncio.gather(*handlers, return_exceptions=True)
        server.close()
        await server.wait_closed()


@pytest.fixture
async def client() -> AsyncIterator[HttpClient]:
    http = HttpClient(connect_timeout=2, user_agent="test")
    yield http
    await http.close()


async def fetch(client: HttpClient, url: str) -> tuple[int, bytes]:
    async with client.request("POST", url, {"content-type": "application/json"}, b"{}") as response:
        return response.status, await response.read()


async def test_connections_are_kept_alive_and_reused(client: HttpClient) -> None:
    seen: list[bytes] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
        while (request := await read_request(reader)) is not None:
            seen.append(request)
            writer.write(ok(b'{"n":%d}' % len(seen)))

    async with serve(handler) as (url, connections):
        assert [await fetch(client, url) for _ in range(3)] == [
            (200, b'{"n":1}'),
            (200, b'{"n":2}'),
            (200, b'{"n":3}'),
        ]
    assert connections == [1]
    head = seen[0].split(b"\r\n\r\n")[0].lower()
    assert head.startswith(b"post /mcp http/1.1") and b"content-length: 2" in head
    assert b"host: 127.0.0.1:" in head and b"user-agent: test" in head


async def test_a_pooled_connection_the_server_dropped_is_replaced_once(client: HttpClient) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> None:
        await read_request(reader)
        writer.write(ok(b"first" if n == 1 else b"fresh"))
        await writer.drain()
        # Keep-alive, as far as the client knows; then drop the next request unanswered.
        await read_request(reader)

    async with serve(handler) as (url, connections):
        assert await fetch(client, url) == (200, b"first")
        assert await fetch(client, url) == (200, b"fresh")
    assert connections == [1, 2]


async def test_connection_close_is_honoured(client: HttpClient) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
        while await read_request(reader) is not None:
            writer.write(ok(b"bye", b"connection: close"))

    async with serve(handler) as (url, connections):
        await fetch(client, url)
        await fetch(client, url)
    assert connections == [1, 2]


async def test_chunks_arrive_as_they_are_sent(client: HttpClient) -> None:
    release = asyncio.Event()

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
        await read_request(reader)
        writer.write(
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n"
            b"content-type: text/event-stream\r\n\r\n"
        )
        writer.write(b"6\r\nfirst\n\r\n")
        await writer.drain()
        await release.wait()
        writer.write(b"7\r\nsecond\n\r\n0\r\n\r\n")
        await writer.drain()
        await read_request(reader)

    async with serve(handler) as (url, _), client.request("POST", url, {}, b"{}") as response:
        assert response.headers["content-type"] == "text/event-stream"
        chunks = response.chunks()
        assert await chunks.__anext__() == b"first\n"
        release.set()
        assert [c async for c in chunks] == [b"second\n"]


async def test_a_cut_body_is_an_error_and_a_refused_connection_too(client: HttpClient) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nonly part")
        await writer.drain()

    async with serve(handler) as (url, _):
        with pytest.raises(HttpError, match="connection closed"):
            await fetch(client, url)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(HttpError, match="cannot connect"):
        await fetch(client, f"http://127.0.0.1:{port}/mcp")
    with pytest.raises(HttpError, match="line break"):
        async with client.request("POST", f"http://127.0.0.1:{port}/", {"x": "a\r\nb: c"}):
            pass


def test_it_works_on_uvloop_too() -> None:
    """``bastion serve`` runs on uvloop, which calls ``connection_made`` later."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
        while await read_request(reader) is not None:
            writer.write(ok(b"uv"))

    async def main() -> list[tuple[int, bytes]]:
        http = HttpClient(connect_timeout=2, user_agent="test")
        try:
            async with serve(handler) as (url, connections):
                replies = [await fetch(http, url) for _ in range(2)]
            assert connections == [1]
            return replies
        finally:
            await http.close()

    assert uvloop.run(main()) == [(200, b"uv"), (200, b"uv")]
