"""One process serving on uvicorn: the ``uvicorn.Server`` subclasses and their config."""

from __future__ import annotations

import signal
import socket
from collections.abc import Callable
from types import FrameType

import uvicorn
from starlette.types import ASGIApp

from bastion.infra.config import LoadedProfile, ServerSettings
from bastion.runtime.app import booted_app
from bastion.runtime.platform import Platform
from bastion.server._entry import ExtraExtensions
from bastion.server._socket import bind_socket


class _Server(uvicorn.Server):
    """Flips readiness only once the listening sockets accept connections."""

    def __init__(
        self,
        config: uvicorn.Config,
        platform: Platform,
        on_ready: Callable[[str], None] | None = None,
    ) -> None:
        super().__init__(config)
        self.platform = platform
        self.on_ready = on_ready

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            self.platform.ready = True
            if self.on_ready is not None:
                host, port = self.servers[0].sockets[0].getsockname()[:2]
                self.on_ready(f"http://{host}:{port}")


class WorkerServer(_Server):
    """A worker stops on SIGTERM only, gracefully, however often it arrives.

    Ctrl-C in a terminal reaches the whole process group, and the supervisor relays it as
    SIGTERM; a service manager may signal every process itself as well. uvicorn would turn
    a second signal into a forced exit that skips the lifespan shutdown, and with it the
    audit writer's drain."""

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if sig == signal.SIGINT:
            return
        self.should_exit = True


def uvicorn_config(
    app: ASGIApp, settings: ServerSettings, host: str | None = None, port: int | None = None
) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=host or settings.host,
        port=settings.port if port is None else port,
        loop="uvloop",
        http="httptools",
        lifespan="on",
        access_log=settings.access_log,
        log_config=None,
        server_header=False,
    )


async def serve(
    loaded: LoadedProfile,
    *,
    host: str | None = None,
    port: int | None = None,
    sock: socket.socket | None = None,
    on_ready: Callable[[str], None] | None = None,
    extra: ExtraExtensions = (),
) -> None:
    """One process: take the listening socket (``sock``, or bind ``host:port`` from the
    settings), then boot (discover, validate, migrate, mount) and serve on it. A port in
    use is a ``BootError`` before anything has booted."""
    settings = loaded.profile.server
    listener = sock or bind_socket(host or settings.host, settings.port if port is None else port)
    try:
        platform, app = await booted_app(loaded, extra=extra)
        config = uvicorn_config(app, settings, host, port)
        await _Server(config, platform, on_ready).serve(sockets=[listener])
    finally:
        if sock is None:
            listener.close()
