"""The event loop Bastion serves on: uvloop, accepting every waiting connection per turn.

libuv accepts a single connection per turn of the event loop (libuv#3696, in the libuv
that uvloop bundles) and counts on the listening socket staying readable for the next
one. While the loop is saturated a turn lasts tens of milliseconds, so a burst of new
connections waits in the kernel's listen queue. Measured on ``bench.hooks``: ~140
connections queued at a round's start, drained at ~50 per second, a 1-4 s p99 for
requests the application answered in under 250 ms. The asyncio loop accepts up to
``backlog`` connections per turn; ``ServingLoop.create_server`` does the same for plain
TCP servers and hands each connection to uvloop's own transport
(``connect_accepted_socket``), so everything after the accept is as before.
"""

from __future__ import annotations

import asyncio
import errno
import socket
from collections.abc import Callable, Sequence
from typing import Any

import structlog
import uvloop

from bastion.server._socket import listening_socket

_log = structlog.get_logger("bastion.server")

_TCP = (socket.AF_INET, socket.AF_INET6)
# Out of descriptors or kernel memory: the listening socket stays readable, so accepting
# pauses for a moment instead of spinning (asyncio does the same).
_RESOURCE_ERRORS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})
ACCEPT_PAUSE_SECONDS = 1.0

ProtocolFactory = Callable[[], asyncio.BaseProtocol]


class GreedyListener:
    """Accepts up to ``per_turn`` waiting connections each time ``sock`` is readable.

    Offers what uvicorn uses of ``asyncio.Server``: ``sockets`` and ``close()``, plus
    ``wait_closed()``. Closing stops accepting and closes the listening socket;
    connections already accepted carry on."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        sock: socket.socket,
        protocol_factory: ProtocolFactory,
        *,
        per_turn: int,
    ) -> None:
        self._loop = loop
        self._sock = sock
        self._factory = protocol_factory
        self._per_turn = max(1, per_turn)
        self._connecting: set[asyncio.Task[None]] = set()
        self._paused: asyncio.TimerHandle | None = None
        self._closed = False
        sock.setblocking(False)
        loop.add_reader(sock.fileno(), self._accept)

    @property
    def sockets(self) -> Sequence[socket.socket]:
        return () if self._closed else (self._sock,)

    def is_serving(self) -> bool:
        return not self._closed and self._paused is None

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._paused is not None:
            self._paused.cancel()
            self._paused = None
        else:
            self._loop.remove_reader(self._sock.fileno())
        self._sock.close()

    async def wait_closed(self) -> None:
        """Return once the connections accepted before ``close()`` are handed over."""
        if self._connecting:
            await asyncio.gather(*self._connecting, return_exceptions=True)

    def _accept(self) -> None:
        for _ in range(self._per_turn):
            try:
                conn, _ = self._sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except ConnectionAbortedError:
                continue  # the peer gave up while queued
            except OSError as exc:
                if exc.errno in _RESOURCE_ERRORS:
                    _log.error("accept_paused", error=exc.strerror, seconds=ACCEPT_PAUSE_SECONDS)
                    self._loop.remove_reader(self._sock.fileno())
                    self._paused = self._loop.call_later(ACCEPT_PAUSE_SECONDS, self._resume)
                else:
                    _log.error("accept_failed", error=str(exc))
                return
            conn.setblocking(False)
            if conn.family in _TCP:
                # As uvloop's own accept does: replies must not wait for Nagle's algorithm.
                conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            task = self._loop.create_task(self._connect(conn))
            self._connecting.add(task)
            task.add_done_callback(self._connecting.discard)

    def _resume(self) -> None:
        self._paused = None
        if not self._closed:
            self._loop.add_reader(self._sock.fileno(), self._accept)

    async def _connect(self, conn: socket.socket) -> None:
        try:
            await self._loop.connect_accepted_socket(self._factory, conn)
        except OSError:
            conn.close()  # reset by the peer before it was handed over


class ServingLoop(uvloop.Loop):
    """uvloop with ``create_server`` accepting greedily for plain TCP servers (no TLS,
    serving at once, on a given socket or a host and port). Anything else goes to
    uvloop unchanged."""

    async def create_server(  # type: ignore[override]
        self,
        protocol_factory: ProtocolFactory,
        host: str | None = None,
        port: int | None = None,
        *,
        sock: socket.socket | None = None,
        backlog: int = 100,
        ssl: Any = None,
        start_serving: bool = True,
        **kwargs: Any,
    ) -> Any:
        greedy = ssl is None and start_serving and not kwargs
        if greedy and sock is None and isinstance(host, str) and port is not None:
            sock = listening_socket(host, port, backlog)
        elif not greedy or sock is None or sock.family not in _TCP:
            serve: Any = super().create_server
            return await serve(
                protocol_factory,
                host,
                port,
                sock=sock,
                backlog=backlog,
                ssl=ssl,
                start_serving=start_serving,
                **kwargs,
            )
        return GreedyListener(self, sock, protocol_factory, per_turn=backlog)


def new_serving_loop() -> asyncio.AbstractEventLoop:
    """The loop factory for ``asyncio.Runner`` wherever Bastion serves."""
    return ServingLoop()
