"""The serving loop accepts every waiting connection in one turn (libuv accepts one per
turn), sets TCP_NODELAY like uvloop, hands other servers to uvloop unchanged, and pauses
accepting instead of spinning when the process runs out of descriptors."""

from __future__ import annotations

import asyncio
import errno
import socket
from collections.abc import Callable, Coroutine
from contextlib import ExitStack
from typing import Any

import pytest
import uvloop

from bastion.server import _loop
from bastion.server._loop import GreedyListener, ServingLoop, new_serving_loop

WAITING = 50


class Recorder(asyncio.Protocol):
    made: list[Any]  # uvloop's transports

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.made.append(transport)


def recorder() -> tuple[Callable[[], Recorder], list[Any]]:
    made: list[Any] = []

    def factory() -> Recorder:
        protocol = Recorder()
        protocol.made = made
        return protocol

    return factory, made


def on_serving_loop(scenario: Callable[[], Coroutine[Any, Any, None]]) -> None:
    with asyncio.Runner(loop_factory=new_serving_loop) as runner:
        runner.run(scenario())


async def turns_until(condition: Callable[[], bool], limit: int) -> int:
    """Event-loop turns until ``condition`` holds (at most ``limit``)."""
    for turn in range(limit):
        if condition():
            return turn
        await asyncio.sleep(0)
    return limit


def test_the_loop_is_uvloop() -> None:
    loop = new_serving_loop()
    try:
        assert isinstance(loop, ServingLoop) and isinstance(loop, uvloop.Loop)
    finally:
        loop.close()


def test_every_waiting_connection_is_accepted_in_one_turn() -> None:
    async def scenario() -> None:
        factory, made = recorder()
        server = await asyncio.get_running_loop().create_server(factory, "127.0.0.1", 0)
        assert isinstance(server, GreedyListener)
        port = server.sockets[0].getsockname()[1]
        with ExitStack() as clients:
            for _ in range(WAITING):
                clients.enter_context(socket.create_connection(("127.0.0.1", port)))
            # Accepting one per turn would leave most of them queued after a few turns.
            await turns_until(lambda: len(made) == WAITING, 5)
            assert len(made) == WAITING
            nodelay = (
                made[0].get_extra_info("socket").getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
            )
            assert nodelay != 0
            for transport in made:
                transport.close()
        server.close()
        await server.wait_closed()

    on_serving_loop(scenario)


def test_a_given_socket_is_served_and_closed_with_the_server() -> None:
    async def scenario() -> None:
        factory, made = recorder()
        listening = socket.create_server(("127.0.0.1", 0))
        server = await asyncio.get_running_loop().create_server(factory, sock=listening)
        assert isinstance(server, GreedyListener) and server.is_serving()
        port = listening.getsockname()[1]
        with socket.create_connection(("127.0.0.1", port)):
            assert await turns_until(lambda: len(made) == 1, 10) < 10
        made[0].close()
        server.close()
        assert not server.sockets and not server.is_serving()
        assert listening.fileno() == -1
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=1)

    on_serving_loop(scenario)


@pytest.mark.parametrize(
    "options",
    [{"start_serving": False}, {"reuse_port": True}],
    ids=["not serving yet", "other options"],
)
def test_other_servers_are_uvloops_own(options: dict[str, Any]) -> None:
    async def scenario() -> None:
        factory, _ = recorder()
        server = await asyncio.get_running_loop().create_server(factory, "127.0.0.1", 0, **options)
        assert not isinstance(server, GreedyListener)
        server.close()
        await server.wait_closed()

    on_serving_loop(scenario)


class OutOfDescriptors:
    """A listening socket whose first accept fails with EMFILE."""

    def __init__(self, real: socket.socket) -> None:
        self.real = real
        self.failed = False

    def fileno(self) -> int:
        return self.real.fileno()

    def accept(self) -> tuple[socket.socket, Any]:
        if not self.failed:
            self.failed = True
            raise OSError(errno.EMFILE, "Too many open files")
        return self.real.accept()

    def close(self) -> None:
        self.real.close()


def test_running_out_of_descriptors_pauses_accepting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_loop, "ACCEPT_PAUSE_SECONDS", 0.05)

    async def scenario() -> None:
        factory, made = recorder()
        server = await asyncio.get_running_loop().create_server(factory, "127.0.0.1", 0)
        assert isinstance(server, GreedyListener)
        port = server.sockets[0].getsockname()[1]
        flaky = OutOfDescriptors(server._sock)
        server._sock = flaky  # type: ignore[assignment]
        with socket.create_connection(("127.0.0.1", port)):
            await turns_until(lambda: flaky.failed, 10)
            assert flaky.failed and not server.is_serving() and not made
            await asyncio.sleep(0.2)
            assert server.is_serving()
            assert await turns_until(lambda: len(made) == 1, 10) < 10
        made[0].close()
        server.close()

    on_serving_loop(scenario)
