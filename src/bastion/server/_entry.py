"""The ASGI application factory: ``uvicorn --factory bastion.server:create_app``."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bastion.infra.config import LoadedProfile, load_profile
from bastion.infra.http import send_error
from bastion.kernel.contract import ErrorStyle, Extension
from bastion.kernel.errors import BastionError
from bastion.runtime.app import booted_app
from bastion.runtime.logs import configure_process_logging

ExtraExtensions = Iterable[type[Extension] | Extension]


def create_app(profile_dir: Path | None = None) -> ASGIApp:
    """The application for an ASGI server that owns the event loop (``uvicorn
    --factory``). The profile is read here; boot runs in the lifespan startup, on the
    server's loop, and readiness flips once that startup is complete."""
    loaded = load_profile(profile_dir)
    configure_process_logging(loaded)
    return BootOnStartup(loaded)


class BootOnStartup:
    """Boots the platform when the server's lifespan starts, then is the built app."""

    def __init__(self, loaded: LoadedProfile, extra: ExtraExtensions = ()) -> None:
        self._loaded = loaded
        self._extra = extra
        self._app: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(scope, receive, send)
        elif self._app is not None:
            await self._app(scope, receive, send)
        elif scope["type"] == "http":
            # Only reachable when the server runs without a lifespan (``--lifespan off``).
            await send_error(send, ErrorStyle.JSON, 503, "Bastion has not booted: enable lifespan")

    async def _lifespan(self, scope: Scope, receive: Receive, send: Send) -> None:
        startup = await receive()
        try:
            platform, app = await booted_app(self._loaded, extra=self._extra)
        except BastionError as exc:
            await send({"type": "lifespan.startup.failed", "message": str(exc)})
            return
        self._app = app
        replayed = False

        async def receive_startup_again() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return startup
            return await receive()

        async def send_and_mark_ready(message: Message) -> None:
            if message["type"] == "lifespan.startup.complete":
                platform.ready = True
            await send(message)

        # The built app's own lifespan starts and stops the platform.
        await app(scope, receive_startup_again, send_and_mark_ready)
