"""The ASGI application factory: ``uvicorn --factory bastion.server:create_app``."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from pathlib import Path

from starlette.types import ASGIApp

from bastion.infra.config import LoadedProfile, load_profile
from bastion.kernel.contract import Extension
from bastion.runtime.app import build_app
from bastion.runtime.boot import boot
from bastion.runtime.logs import configure_process_logging
from bastion.runtime.platform import Platform

ExtraExtensions = Iterable[type[Extension] | Extension]


async def create_platform(loaded: LoadedProfile, extra: ExtraExtensions = ()) -> Platform:
    return await boot(loaded, extra=extra)


def create_app(profile_dir: Path | None = None) -> ASGIApp:
    """Boot synchronously (for ``uvicorn --factory``). Readiness flips on first startup."""
    loaded = load_profile(profile_dir)
    configure_process_logging(loaded)
    platform = asyncio.run(create_platform(loaded))
    app = build_app(platform)
    platform.ready = True
    return app
