"""The routing table: every extension router, declared once, read by everything that
routes a request.

An entry (``MountedRouter``) is one router where it is mounted: the guard in front of
it, the Starlette ``Mount`` the fallback router tries, its parameter-free routes for the
exact-path dispatch, its error style and its one refusal observer. The table resolves a
path to the entry that serves it (the longest base path that covers it, as Starlette's
Mounts do) for the core's own answers (413, 503, 500, 404), and the entry tells its
observer which of its routes a refused request matched, so no observer compares paths.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from typing import NamedTuple

import structlog
from starlette.routing import BaseRoute, Match, Mount, Route, Router
from starlette.types import ASGIApp, Scope

from bastion.infra.config import SecretStore
from bastion.kernel.context import CONTEXT_SCOPE_KEY, RequestContext
from bastion.kernel.contract import ErrorStyle, ExtensionRouter, RefusedRequest
from bastion.runtime.guard import EndpointGuard, PublicLimiter
from bastion.runtime.scope import STARTED_SCOPE_KEY

log = structlog.get_logger("bastion.http")


def join(base: str, path: str) -> str:
    """A route's full path: ``path`` (relative, as Starlette routes are written) under
    ``base``."""
    return base.rstrip("/") + path if path != "/" else (base.rstrip("/") or "/")


class ExactRoute(NamedTuple):
    """A parameter-free route of a mounted router, behind the router's guard."""

    path: str
    method: str
    endpoint: ASGIApp


class MountedRouter:
    """One extension router in the table."""

    __slots__ = ("exact", "ext_id", "guard", "mount", "prefix", "router")

    def __init__(
        self,
        ext_id: str,
        router: ExtensionRouter,
        *,
        secrets: SecretStore,
        public_limiter: PublicLimiter | None = None,
    ) -> None:
        self.ext_id = ext_id
        self.router = router
        self.prefix = router.base_path.rstrip("/")
        routes = list(router.routes)
        self.guard = EndpointGuard(
            Router(routes=routes),
            router,
            refused=self.refused,
            secrets=secrets,
            public_limiter=public_limiter,
        )
        self.mount = Mount(self.prefix, app=self.guard)
        self.exact = tuple(self._exact(routes))

    @property
    def style(self) -> ErrorStyle:
        return self.router.error_style

    def covers(self, path: str) -> bool:
        return path == self.prefix or path.startswith(self.prefix + "/")

    def route_for(self, scope: Scope) -> BaseRoute | None:
        """The route of this router that ``scope`` matches, path and method, if any."""
        child = {
            "type": "http",
            "path": scope["path"][len(self.prefix) :] or "/",
            "method": scope["method"],
        }
        for route in self.router.routes:
            if route.matches(child)[0] is Match.FULL:
                return route
        return None

    async def refused(self, scope: Scope, status: int, reason: str) -> None:
        """Tell the router's observer that the core answered ``scope`` itself. Its failure
        is logged, never raised: the caller already has its answer."""
        observer = self.router.on_refused
        if observer is None:
            return
        ctx: RequestContext = scope[CONTEXT_SCOPE_KEY]
        started: float = scope.get(STARTED_SCOPE_KEY, time.perf_counter())
        refused = RefusedRequest(
            principal=ctx,
            method=scope["method"],
            path=scope["path"],
            route=self.route_for(scope),
            status=status,
            reason=reason,
            elapsed_ms=(time.perf_counter() - started) * 1000.0,
        )
        try:
            await observer(refused)
        except Exception:
            log.exception(
                "refusal observer failed",
                extension=self.ext_id,
                path=scope["path"],
                trace_id=ctx.trace_id,
            )

    def _exact(self, routes: Iterable[BaseRoute]) -> Iterator[ExactRoute]:
        for route in routes:
            if not isinstance(route, Route) or route.param_convertors or not route.methods:
                continue
            endpoint = self.guard.wrapping(route.app)
            path = join(self.router.base_path, route.path)
            for method in sorted(route.methods):
                yield ExactRoute(path, method, endpoint)


class RoutingTable:
    """Every mounted router, longest base path first.

    ``exact`` is the exact-path dispatch's index (path, then method, to the guarded
    endpoint): an entry only where the table resolves the path to the route's own
    router, so the fast path serves exactly what Starlette's Mounts would."""

    def __init__(self, mounted: Iterable[MountedRouter]) -> None:
        self.mounted = sorted(mounted, key=lambda m: len(m.prefix), reverse=True)
        self.exact: dict[str, dict[str, ASGIApp]] = {}
        for entry in self.mounted:
            for route in entry.exact:
                if self.resolve(route.path) is entry:
                    self.exact.setdefault(route.path, {}).setdefault(route.method, route.endpoint)

    def mounts(self) -> list[BaseRoute]:
        """The Mounts for Starlette's router, in the order it must try them."""
        return [entry.mount for entry in self.mounted]

    def resolve(self, path: str) -> MountedRouter | None:
        """The router that serves ``path``, or None for a path under no router."""
        for entry in self.mounted:
            if entry.covers(path):
                return entry
        return None
