"""Request dispatch: an exact-path table for the routes that have no path parameters
(the hot ones: ``/v1/messages``, ``/api/v1/hooks/govern`` ...), Starlette's router for
everything else.

Starlette tries each Mount's regex in turn and wraps each request in two exception
layers; a dict lookup per request is cheaper and behaves the same, because every entry
is the same guarded endpoint the Mount would have reached.
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.routing import BaseRoute, Route, Router
from starlette.types import ASGIApp, Receive, Scope, Send

from bastion.kernel.contract import ExtensionRouter
from bastion.runtime.guard import EndpointGuard


def join(base: str, path: str) -> str:
    return base.rstrip("/") + path if path != "/" else (base.rstrip("/") or "/")


class PathDispatch:
    def __init__(self, fallback: Router) -> None:
        self._exact: dict[str, dict[str, ASGIApp]] = {}
        self._fallback = fallback

    def add_exact(
        self, router: ExtensionRouter, routes: Iterable[BaseRoute], guard: EndpointGuard
    ) -> None:
        """Index the parameter-free routes of ``router``; each runs behind ``guard``."""
        for route in routes:
            if not isinstance(route, Route) or route.param_convertors or not route.methods:
                continue
            path = join(router.base_path, route.path)
            endpoint = guard.wrapping(route.app)
            methods = self._exact.setdefault(path, {})
            for method in route.methods:
                methods.setdefault(method, endpoint)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            methods = self._exact.get(scope["path"])
            if methods is not None:
                endpoint = methods.get(scope["method"])
                if endpoint is not None:
                    await endpoint(scope, receive, send)
                    return
        await self._fallback(scope, receive, send)
