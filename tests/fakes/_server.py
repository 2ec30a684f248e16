"""A fake upstream: an ASGI app served by uvicorn on 127.0.0.1 in a background thread.

Running in its own thread with its own event loop, the fake serves sync clients (the
official SDKs' blocking clients) and async tests alike, whatever loop they run on.
"""

from __future__ import annotations

import asyncio
import itertools
import socket
import threading
import time
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

import orjson
import uvicorn

from tests.fakes._script import RecordedRequest, Reply

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


@dataclass(frozen=True)
class JSONResponse:
    status: int
    body: Any
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class StreamResponse:
    """``events`` are whole encoded SSE events; ``error_event`` is the provider's in-band
    error, used by ``fail_mode="error_event"``."""

    events: Sequence[bytes]
    error_event: bytes
    headers: tuple[tuple[str, str], ...] = ()


Response = JSONResponse | StreamResponse


class _HangUp(Exception):
    """Raised inside the app after a partial body: uvicorn then drops the connection."""


class FakeUpstream(ABC):
    """Base of the provider fakes. Subclasses route requests and render replies."""

    def __init__(self, *, api_key: str | None = None) -> None:
        self.api_key = api_key
        self.default_reply = Reply(text="Hello from the fake upstream.")
        self._replies: deque[Reply] = deque()
        self._requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    # -- scripting ----------------------------------------------------------------------

    def enqueue(self, *replies: Reply) -> None:
        """Answer the next requests with these replies, in order; then ``default_reply``."""
        with self._lock:
            self._replies.extend(replies)

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    @property
    def last_request(self) -> RecordedRequest:
        with self._lock:
            if not self._requests:
                raise AssertionError("the fake upstream has received no request")
            return self._requests[-1]

    def reset(self) -> None:
        with self._lock:
            self._replies.clear()
            self._requests.clear()

    def _next_reply(self) -> Reply:
        with self._lock:
            return self._replies.popleft() if self._replies else self.default_reply

    # -- lifecycle ----------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Self:
        if self._server is not None:
            return self
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self,
            log_level="critical",
            access_log=False,
            lifespan="off",
            http="h11",
            timeout_graceful_shutdown=1,
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(
            target=lambda: asyncio.run(server.serve(sockets=[sock])),
            name=f"{type(self).__name__}:{self.port}",
            daemon=True,
        )
        thread.start()
        deadline = time.monotonic() + 10
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"{type(self).__name__} did not start")
            time.sleep(0.005)
        self._server, self._thread = server, thread
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is None or thread is None:
            return
        server.should_exit = True
        thread.join(10)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    async def __aenter__(self) -> Self:
        return await asyncio.to_thread(self.start)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await asyncio.to_thread(self.stop)

    # -- provider surface -----------------------------------------------------------------

    @abstractmethod
    def preflight(self, request: RecordedRequest) -> JSONResponse | None:
        """An answer that takes no scripted reply (unknown path, malformed request, token
        counting), or None to go on to :meth:`handle`."""

    @abstractmethod
    def handle(self, request: RecordedRequest, reply: Reply) -> Response:
        """The response to a generation request, rendered from the next reply."""

    @abstractmethod
    def authorized(self, request: RecordedRequest) -> bool:
        """Whether the request carries ``api_key`` the way the provider expects it."""

    @abstractmethod
    def error_response(self, status: int, message: str, error_type: str | None) -> JSONResponse:
        """The provider's error body for ``status``."""

    # -- ASGI -----------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        chunks: list[bytes] = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        headers: dict[str, str] = {}
        for raw_name, raw_value in scope["headers"]:
            name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        request = RecordedRequest(
            method=scope["method"],
            path=scope["path"],
            query=scope["query_string"].decode("latin-1"),
            headers=headers,
            raw_body=b"".join(chunks),
        )
        with self._lock:
            self._requests.append(request)

        if self.api_key is not None and not self.authorized(request):
            await self._send_json(send, self.error_response(401, "invalid x-api-key", None), None)
            return
        early = self.preflight(request)
        if early is not None:
            await self._send_json(send, early, None)
            return
        reply = self._next_reply()
        if reply.latency:
            await asyncio.sleep(reply.latency)
        if reply.status >= 400:
            error = self.error_response(reply.status, reply.error_message, reply.error_type)
            await self._send_json(send, error, reply)
            return
        response = self.handle(request, reply)
        if isinstance(response, JSONResponse):
            await self._send_json(send, response, reply)
        else:
            await self._send_stream(send, response, reply)

    async def _send_json(self, send: Send, response: JSONResponse, reply: Reply | None) -> None:
        body = orjson.dumps(response.body)
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            *_encode_headers(response.headers),
            *_encode_headers(tuple(reply.headers.items()) if reply else ()),
        ]
        await send({"type": "http.response.start", "status": response.status, "headers": headers})
        await self._write(send, [body], reply)
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def _send_stream(self, send: Send, response: StreamResponse, reply: Reply) -> None:
        headers = [
            (b"content-type", b"text/event-stream; charset=utf-8"),
            (b"cache-control", b"no-cache"),
            *_encode_headers(response.headers),
            *_encode_headers(tuple(reply.headers.items())),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        events = list(response.events)
        failing = reply.fail_after_events is not None
        if failing:
            events = events[: reply.fail_after_events]
            if reply.fail_mode == "error_event":
                events.append(response.error_event)
        await self._write(send, events, reply)
        if failing and reply.fail_mode == "close":
            raise _HangUp
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    @staticmethod
    async def _write(send: Send, events: Sequence[bytes], reply: Reply | None) -> None:
        split = reply.split if reply else None
        if split is None:
            pieces = list(events)
        else:
            data = b"".join(events)
            if isinstance(split, int):
                step = max(split, 1)
                cuts = list(range(step, len(data), step))
            else:
                cuts = sorted(c for c in split if 0 < c < len(data))
            bounds = [0, *cuts, len(data)]
            pieces = [data[a:b] for a, b in itertools.pairwise(bounds) if b > a]
        delay = reply.chunk_delay if reply else 0.0
        for piece in pieces:
            await send({"type": "http.response.body", "body": piece, "more_body": True})
            if delay:
                await asyncio.sleep(delay)


def _encode_headers(headers: Sequence[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
    return [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers]
