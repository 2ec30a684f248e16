"""A small HTTP/1.1 client for MCP upstreams: keep-alive connections pooled per origin,
requests written in one piece, responses parsed by ``httptools`` and read whole (JSON) or
chunk by chunk (SSE).

It exists for the hot path: a general-purpose client (aiohttp) costs several times more
CPU per call than the proxying around it. It does exactly what an MCP upstream needs —
``POST`` and ``DELETE`` with a byte body, ``http`` and ``https`` — and no redirects,
cookies, proxies or compression (Bastion asks for identity encoding).

A connection taken from the pool that turns out to be closed (the server's keep-alive
timeout ran out) is replaced once, transparently, if no byte of a response arrived on it.
"""

from __future__ import annotations

import asyncio
import ssl
from collections import deque
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import cast
from urllib.parse import urlsplit

import httptools

_MAX_IDLE_PER_ORIGIN = 64


class HttpError(Exception):
    """No usable HTTP response: the connection failed, was refused or was cut."""


@dataclass(frozen=True, slots=True)
class _Target:
    origin: tuple[str, str, int]  # scheme, host, port
    host_header: str
    path: str

    @classmethod
    def parse(cls, url: str) -> _Target:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise HttpError(f"not an http(s) URL: {url}")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        return cls((parts.scheme, parts.hostname, port), parts.netloc.rpartition("@")[2], path)


class _Connection(asyncio.Protocol):
    """One TCP (or TLS) connection and the response being read on it."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self._parser = httptools.HttpResponseParser(self)
        self._loop = asyncio.get_running_loop()
        self._head: asyncio.Future[None] | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._chunks: deque[bytes] = deque()
        self._header_names: list[bytes] = []
        self.headers: dict[str, str] = {}
        self.status = 0
        self.received = False
        self.complete = False
        self.closed = False
        self._keep_alive = False
        self._error: Exception | None = None

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self.received = True
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(HttpError(f"invalid HTTP response: {exc}"))
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        delimited_by_close = (
            "content-length" not in self.headers
            and "chunked" not in self.headers.get("transfer-encoding", "").lower()
        )
        head_read = self._head is not None and self._head.done()
        if head_read and not self.complete and delimited_by_close and exc is None:
            self.complete = True  # the body ends with the connection
            self._wake()
            return
        self._fail(HttpError(f"connection closed: {exc}" if exc else "connection closed"))

    # httptools callbacks

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers[name.decode("latin-1").lower()] = value.decode("latin-1")

    def on_headers_complete(self) -> None:
        self.status = self._parser.get_status_code()
        # Read now: httptools resets its keep-alive flag once the message is complete.
        self._keep_alive = self._parser.should_keep_alive()
        if self._head is not None and not self._head.done():
            self._head.set_result(None)

    def on_body(self, body: bytes) -> None:
        self._chunks.append(body)
        self._wake()

    def on_message_complete(self) -> None:
        self.complete = True
        self._wake()

    # Use

    def start(self, request: bytes) -> asyncio.Future[None]:
        """Send a request; the future resolves when the response's head has arrived."""
        self._parser = httptools.HttpResponseParser(self)
        self._chunks.clear()
        self.headers = {}
        self.status = 0
        self.received = self.complete = self._keep_alive = False
        self._error = None
        self._head = self._loop.create_future()
        assert self.transport is not None
        self.transport.write(request)
        return self._head

    async def chunk(self) -> bytes | None:
        while not self._chunks:
            if self.complete:
                return None
            if self._error is not None:
                raise self._error
            self._waiter = self._loop.create_future()
            await self._waiter
        return self._chunks.popleft()

    @property
    def reusable(self) -> bool:
        return (
            self.complete
            and not self.closed
            and self._keep_alive
            and self.transport is not None
            and not self.transport.is_closing()
        )

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    def _wake(self) -> None:
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _fail(self, error: Exception) -> None:
        self._error = error
        if self._head is not None and not self._head.done():
            self._head.set_exception(error)
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(error)


class Response:
    def __init__(self, connection: _Connection) -> None:
        self._connection = connection
        self.status = connection.status
        self.headers = connection.headers

    async def chunks(self) -> AsyncIterator[bytes]:
        while (chunk := await self._connection.chunk()) is not None:
            yield chunk

    async def read(self) -> bytes:
        return b"".join([chunk async for chunk in self.chunks()])


class HttpClient:
    def __init__(self, *, connect_timeout: float, user_agent: str) -> None:
        self._connect_timeout = connect_timeout
        self._user_agent = user_agent
        self._idle: dict[tuple[str, str, int], list[_Connection]] = {}
        self._targets: dict[str, _Target] = {}
        self._tls: ssl.SSLContext | None = None
        self._closed = False

    def _target(self, url: str) -> _Target:
        target = self._targets.get(url)
        if target is None:
            target = self._targets[url] = _Target.parse(url)
        return target

    def _request_bytes(
        self, method: str, target: _Target, headers: Mapping[str, str], body: bytes
    ) -> bytes:
        lines = [
            f"{method} {target.path} HTTP/1.1",
            f"host: {target.host_header}",
            f"user-agent: {self._user_agent}",
            "accept-encoding: identity",
            f"content-length: {len(body)}",
        ]
        for name, value in headers.items():
            if "\r" in value or "\n" in value or "\r" in name or "\n" in name:
                raise HttpError(f"header {name!r} holds a line break")
            lines.append(f"{name}: {value}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body

    async def _connect(self, target: _Target) -> _Connection:
        scheme, host, port = target.origin
        tls: ssl.SSLContext | None = None
        if scheme == "https":
            if self._tls is None:
                self._tls = ssl.create_default_context()
            tls = self._tls
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self._connect_timeout):
                transport, connection = await loop.create_connection(
                    _Connection, host, port, ssl=tls, server_hostname=host if tls else None
                )
        except TimeoutError:
            raise HttpError(f"connect to {host}:{port} timed out") from None
        except OSError as exc:
            raise HttpError(f"cannot connect to {host}:{port}: {exc}") from None
        # uvloop may call connection_made() only after create_connection() returned.
        connection.transport = transport
        return connection

    def _pooled(self, target: _Target) -> _Connection | None:
        idle = self._idle.get(target.origin)
        while idle:
            connection = idle.pop()
            transport = connection.transport
            if not connection.closed and transport is not None and not transport.is_closing():
                return connection
        return None

    def _release(self, target: _Target, connection: _Connection) -> None:
        idle = self._idle.setdefault(target.origin, [])
        if self._closed or not connection.reusable or len(idle) >= _MAX_IDLE_PER_ORIGIN:
            connection.close()
            return
        idle.append(connection)

    @asynccontextmanager
    async def request(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes = b""
    ) -> AsyncIterator[Response]:
        """The response to one request; its connection returns to the pool when the body
        was read to the end, and is closed otherwise (an error, a cancellation)."""
        if self._closed:
            raise HttpError("the client is closed")
        target = self._target(url)
        request = self._request_bytes(method, target, headers, body)
        connection = self._pooled(target)
        reused = connection is not None
        done = False
        try:
            while True:
                if connection is None:
                    connection = await self._connect(target)
                try:
                    await connection.start(request)
                    break
                except HttpError:
                    if not reused or connection.received:
                        raise
                    # A pooled connection the server had already closed: once, afresh.
                    connection.close()
                    connection, reused = None, False
            yield Response(connection)
            done = True
        finally:
            if connection is not None:
                if done and connection.complete:
                    self._release(target, connection)
                else:
                    connection.close()

    async def close(self) -> None:
        self._closed = True
        for idle in self._idle.values():
            for connection in idle:
                connection.close()
        self._idle.clear()
