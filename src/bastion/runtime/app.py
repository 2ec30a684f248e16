"""Build the ASGI application from a booted platform."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Router

from bastion.infra.http import error_response
from bastion.kernel.context import request_context
from bastion.kernel.contract import ErrorStyle
from bastion.runtime.core_routes import core_routes
from bastion.runtime.guard import EndpointGuard
from bastion.runtime.identity import Authenticator
from bastion.runtime.middleware import CoreMiddleware, ErrorStyles
from bastion.runtime.platform import Platform


def build_app(platform: Platform) -> Starlette:
    """Core routes and every extension router, all behind the same middleware."""
    routes: list[BaseRoute] = [*core_routes(platform)]
    styles: list[tuple[str, ErrorStyle]] = []
    # Longest base path first: a Mount claims everything under its path.
    for _, router in sorted(platform.routers, key=lambda r: len(r[1].base_path), reverse=True):
        guarded = EndpointGuard(
            Router(routes=list(router.routes)),
            router,
            secrets=platform.secrets,
            public_limiter=platform.services.get("public_limiter"),
        )
        routes.append(Mount(router.base_path.rstrip("/"), app=guarded))
        styles.append((router.base_path, router.error_style))
    error_styles = ErrorStyles(styles)

    async def not_found(request: Request, _exc: Exception) -> Response:
        style = error_styles.for_path(request.url.path)
        return error_response(
            style,
            404,
            f"no route for {request.method} {request.url.path}",
            trace_id=request_context(request).trace_id,
        )

    async def method_not_allowed(request: Request, _exc: Exception) -> Response:
        style = error_styles.for_path(request.url.path)
        return error_response(
            style,
            405,
            f"method {request.method} not allowed on {request.url.path}",
            trace_id=request_context(request).trace_id,
        )

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        await platform.start()
        try:
            yield
        finally:
            platform.ready = False
            await platform.close()

    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={404: not_found, 405: method_not_allowed},
    )
    app.state.platform = platform
    app.add_middleware(
        CoreMiddleware,
        authenticator=Authenticator(
            platform.jwt,
            platform.api_keys,
            platform.roles,
            is_secret=lambda value: bool(platform.governance.scanner.scan_text(value)),
        ),
        styles=error_styles,
        max_body_bytes=platform.profile.server.max_body_bytes,
    )
    return app
