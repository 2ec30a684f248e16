"""Sending one reply on the raw ASGI channel: JSON, or an SSE stream once there is a
reason to stream.

The reply starts as JSON. It switches to ``text/event-stream`` (when the client accepts
it) on the first notification the upstream sends for the request, or when the call has
been silent for ``keepalive`` seconds; from then on notifications and keepalive comments
are written as they come and the response ends with the result. A call that simply
answers (the common case) costs no task, no queue and no extra await.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping

from starlette.types import Message as AsgiMessage
from starlette.types import Receive, Send

from bastion.domains.mcp import _jsonrpc as rpc
from bastion.domains.mcp import _sse as sse
from bastion.domains.mcp._jsonrpc import Message

_JSON = (b"content-type", b"application/json")
_SSE_HEADERS = [
    (b"content-type", b"text/event-stream"),
    (b"cache-control", b"no-cache, no-transform"),
    (b"x-accel-buffering", b"no"),
]


async def send_json(
    send: Send, body: bytes, status: int = 200, headers: Mapping[str, str] | None = None
) -> None:
    raw = [_JSON, (b"content-length", str(len(body)).encode())]
    if headers:
        raw += [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


async def send_empty(send: Send, status: int, headers: Mapping[str, str] | None = None) -> None:
    raw = [(b"content-length", b"0")]
    if headers:
        raw += [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": b""})


class Reply:
    def __init__(
        self,
        send: Send,
        receive: Receive,
        *,
        json_ok: bool,
        sse_ok: bool,
        keepalive: float,
    ) -> None:
        self._send = send
        self._receive = receive
        self._sse_ok = sse_ok
        self._streaming = sse_ok and not json_ok
        self._started = False
        self._keepalive = keepalive
        self._owner = asyncio.current_task()
        self._timer: asyncio.TimerHandle | None = None
        self._ticker: asyncio.Task[None] | None = None
        self._watcher: asyncio.Task[None] | None = None
        self._lock: asyncio.Lock | None = None
        self.disconnected = False
        if sse_ok:
            self._timer = asyncio.get_running_loop().call_later(keepalive, self._start_ticker)

    async def note(self, message: Message) -> None:
        """A notification from the upstream for this request."""
        if not self._sse_ok:
            return
        if self._lock is None:
            await self._event(sse.event(rpc.dumps(message)))
            return
        async with self._lock:
            await self._event(sse.event(rpc.dumps(message)))

    async def finish(self, message: Message) -> None:
        """The JSON-RPC response; the reply ends with it."""
        await self._stop_background()
        body = rpc.dumps(message)
        if self._streaming:
            await self._event(sse.event(body), more=False)
        else:
            await send_json(self._send, body)

    async def _event(self, data: bytes, *, more: bool = True) -> None:
        if not self._started:
            self._streaming = self._started = True
            await self._send(
                {"type": "http.response.start", "status": 200, "headers": _SSE_HEADERS}
            )
            if self._watcher is None and self._owner is not None:
                self._watcher = asyncio.create_task(self._watch())
        await self._send({"type": "http.response.body", "body": data, "more_body": more})

    def _start_ticker(self) -> None:
        self._lock = asyncio.Lock()
        self._ticker = asyncio.create_task(self._tick())

    async def _tick(self) -> None:
        assert self._lock is not None
        while True:
            async with self._lock:
                await self._event(sse.KEEPALIVE)
            await asyncio.sleep(self._keepalive)

    async def _watch(self) -> None:
        """While streaming, a client that goes away cancels the call."""
        while True:
            message: AsgiMessage = await self._receive()
            if message["type"] == "http.disconnect":
                self.disconnected = True
                assert self._owner is not None
                self._owner.cancel()
                return

    async def _stop_background(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        for task in (self._ticker, self._watcher):
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def abandon(self) -> None:
        """The call ended without a response (cancelled): stop what runs in the background."""
        await self._stop_background()
