"""The ASGI entry: ``uvicorn --factory bastion.server:create_app`` and ``bastion serve``."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable, Iterable
from pathlib import Path

import uvicorn
from starlette.types import ASGIApp

from bastion.infra.config import LoadedProfile, load_profile
from bastion.kernel.contract import Extension
from bastion.runtime.app import build_app
from bastion.runtime.boot import boot
from bastion.runtime.logs import configure_process_logging
from bastion.runtime.platform import Platform


async def create_platform(
    loaded: LoadedProfile, extra: Iterable[type[Extension] | Extension] = ()
) -> Platform:
    return await boot(loaded, extra=extra)


def create_app(profile_dir: Path | None = None) -> ASGIApp:
    """Boot synchronously (for ``uvicorn --factory``). Readiness flips on first startup."""
    loaded = load_profile(profile_dir)
    configure_process_logging(loaded)
    platform = asyncio.run(create_platform(loaded))
    app = build_app(platform)
    platform.ready = True
    return app


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


async def serve(
    loaded: LoadedProfile,
    *,
    host: str | None = None,
    port: int | None = None,
    on_ready: Callable[[str], None] | None = None,
    extra: Iterable[type[Extension] | Extension] = (),
) -> None:
    """Boot (discover, validate, migrate, mount), then open the listener."""
    platform = await create_platform(loaded, extra)
    app = build_app(platform)
    settings = loaded.profile.server
    config = uvicorn.Config(
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
    await _Server(config, platform, on_ready).serve()
