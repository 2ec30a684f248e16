"""Build the ASGI application from a booted platform.

The stack: ``CoreMiddleware`` (trace, identity, body limit, errors, metrics) in front of
``PathDispatch`` (exact paths, then Starlette's router with the core routes and one
guarded Mount per extension router). There is no route around the middleware.
"""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import Any, Literal

from starlette.routing import BaseRoute, Mount, Router
from starlette.types import ASGIApp, Receive, Scope, Send

from bastion.infra.config import LoadedProfile
from bastion.infra.http import error_body
from bastion.kernel.context import CONTEXT_SCOPE_KEY
from bastion.kernel.contract import Extension
from bastion.runtime.boot import boot
from bastion.runtime.core_routes import core_routes
from bastion.runtime.dispatch import PathDispatch
from bastion.runtime.errors import BootError
from bastion.runtime.guard import EndpointGuard
from bastion.runtime.identity import Authenticator
from bastion.runtime.middleware import CoreMiddleware, MountPolicies, MountPolicy
from bastion.runtime.platform import Platform


def _not_found(policies: MountPolicies) -> ASGIApp:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        ctx = scope.get(CONTEXT_SCOPE_KEY)
        body = error_body(
            policies.for_path(scope["path"]).style,
            404,
            f"no route for {scope['method']} {scope['path']}",
            trace_id=getattr(ctx, "trace_id", None),
        )
        await send(
            {
                "type": "http.response.start",
                "status": 404,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    return app


# A request allocates hundreds of containers that die young by reference counting, while
# a few thousand (the in-flight requests, rows waiting in the audit queue) stay alive at
# any moment: at CPython's default (700, 10, 10) every young collection walks those
# again. Measured with gc.callbacks on bench.hooks' server over a 10 s governed round
# (2026-12-06): 809 young and 73 middle collections, 3.6% of the event loop's time, at
# the default; one young collection, under 0.1%, at these.
GC_THRESHOLDS = (10_000, 20, 20)


def build_app(platform: Platform) -> ASGIApp:
    """Core routes and every extension router, all behind the same middleware. A router
    that cannot be mounted is a ``BootError`` (step ``mount``); the caller closes the
    platform (``booted_app`` does)."""
    routes: list[BaseRoute] = [*core_routes(platform)]
    policies: list[tuple[str, MountPolicy]] = []
    guards: list[tuple[Any, list[BaseRoute], EndpointGuard]] = []
    # Longest base path first: a Mount claims everything under its path.
    for ext_id, router in sorted(platform.routers, key=lambda r: len(r[1].base_path), reverse=True):
        inner = list(router.routes)
        try:
            guard = EndpointGuard(
                Router(routes=inner),
                router,
                secrets=platform.secrets,
                public_limiter=platform.public_limiter,
            )
            mount = Mount(router.base_path.rstrip("/"), app=guard)
        except (AssertionError, TypeError, ValueError) as exc:
            # Boot's checks (kernel.conformance) should have refused the router already:
            # still one line naming the extension, never Starlette's bare assertion.
            raise BootError(
                "mount",
                f"extension '{ext_id}': router {router.base_path!r} cannot be mounted: "
                f"{type(exc).__name__}: {exc}",
                ext_id,
            ) from exc
        routes.append(mount)
        policies.append((router.base_path, MountPolicy(router.error_style, router.on_refused)))
        guards.append((router, inner, guard))
    mount_policies = MountPolicies(policies)

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

    fallback = Router(routes=routes, lifespan=lifespan, default=_not_found(mount_policies))
    dispatch = PathDispatch(fallback)
    for router, inner, guard in guards:
        dispatch.add_exact(router, inner, guard)
    scanner = platform.governance.scanner
    return CoreMiddleware(
        dispatch,
        authenticator=Authenticator(
            platform.jwt,
            platform.api_keys,
            revocations=platform.revocations,
            is_secret=lambda value: bool(scanner.scan_text(value)),
        ),
        policies=mount_policies,
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
