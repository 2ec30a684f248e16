"""Build the ASGI application from a booted platform.

The stack: ``CoreMiddleware`` (trace, identity, body limit, errors, metrics) in front of
``PathDispatch`` (exact paths, then Starlette's router with the core routes and one
guarded Mount per extension router). Both read one ``RoutingTable``, as the middleware
does for the format and observer of its own answers. There is no route around the
middleware.
"""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from typing import Literal

from starlette.routing import Router
from starlette.types import ASGIApp

from bastion.infra.config import LoadedProfile
from bastion.infra.services import SECRET_SCANNER
from bastion.kernel.contract import Extension
from bastion.runtime.boot import boot
from bastion.runtime.core_routes import core_routes
from bastion.runtime.dispatch import PathDispatch
from bastion.runtime.errors import BootError
from bastion.runtime.identity import Authenticator
from bastion.runtime.middleware import CoreMiddleware
from bastion.runtime.platform import Platform
from bastion.runtime.routing import MountedRouter, RoutingTable

# A request allocates hundreds of containers that die young by reference counting, while
# a few thousand (the in-flight requests, rows waiting in the audit queue) stay alive at
# any moment: at CPython's default (700, 10, 10) every young collection walks those
# again. Measured with gc.callbacks on bench.hooks' server over a 10 s governed round
# (2026-12-06): 809 young and 73 middle collections, 3.6% of the event loop's time, at
# the default; one young collection, under 0.1%, at these.
GC_THRESHOLDS = (10_000, 20, 20)


def _secret_test(platform: Platform) -> Callable[[str], bool]:
    """Whether a caller-chosen id is a credential pasted into the wrong header, by the
    governance domain's scanner (an id matching nothing passes without one)."""
    if platform.services.provider_of(SECRET_SCANNER) is None:
        return lambda value: False
    scanner = platform.service(SECRET_SCANNER)
    return lambda value: bool(scanner.scan_text(value))


def build_app(platform: Platform) -> ASGIApp:
    """Core routes and every extension router, all behind the same middleware. A router
    that cannot be mounted is a ``BootError`` (step ``mount``); the caller closes the
    platform (``booted_app`` does)."""
    mounted: list[MountedRouter] = []
    for ext_id, router in platform.routers:
        try:
            mounted.append(
                MountedRouter(
                    ext_id,
                    router,
                    secrets=platform.secrets,
                    public_limiter=platform.public_limiter,
                )
            )
        except (AssertionError, TypeError, ValueError) as exc:
            # Boot's checks (kernel.conformance) should have refused the router already:
            # still one line naming the extension, never Starlette's bare assertion.
            raise BootError(
                "mount",
                f"extension '{ext_id}': router {router.base_path!r} cannot be mounted: "
                f"{type(exc).__name__}: {exc}",
                ext_id,
            ) from exc
    table = RoutingTable(mounted)

    @asynccontextmanager
    async def lifespan(_: object) -> AsyncIterator[None]:
        await platform.start()
        # What boot built lives as long as the process: freezing it keeps full
        # collections, which pause the event loop, from walking it again and again.
        gc.collect()
        gc.freeze()
        previous = gc.get_threshold()
        gc.set_threshold(*GC_THRESHOLDS)
        try:
            yield
        finally:
            platform.ready = False
            await platform.close()
            gc.set_threshold(*previous)

    # Starlette's own 404 (no route) raises, and the middleware answers it in the format
    # of the router under the path, as it answers every error.
    fallback = Router(routes=[*core_routes(platform), *table.mounts()], lifespan=lifespan)
    is_secret = _secret_test(platform)
    return CoreMiddleware(
        PathDispatch(table, fallback),
        authenticator=Authenticator(
            platform.jwt,
            platform.api_keys,
            revocations=platform.revocations,
            is_secret=is_secret,
        ),
        table=table,
        max_body_bytes=platform.profile.server.max_body_bytes,
    )


async def booted_app(
    loaded: LoadedProfile,
    *,
    extra: Iterable[type[Extension] | Extension] = (),
    migrate: bool | Literal["verify"] = True,
) -> tuple[Platform, ASGIApp]:
    """Boot and build the application: what ``bastion serve`` (each worker included) and
    ``bastion plugins validate`` run, so both refuse the same extensions with the same
    line. If building the app fails, the booted platform is closed first."""
    platform = await boot(loaded, extra=extra, migrate=migrate)
    try:
        return platform, build_app(platform)
    except BaseException:
        await platform.close()
        raise
