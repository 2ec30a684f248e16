"""Request dispatch: the routing table's exact-path index for the routes that have no
path parameters (the hot ones: ``/v1/messages``, ``/api/v1/hooks/govern`` ...),
Starlette's router for everything else.

Starlette tries each Mount's regex in turn and wraps each request in two exception
layers; a dict lookup per request is cheaper and behaves the same, because every entry
is the same guarded endpoint the Mount would have reached.
"""

from __future__ import annotations

from starlette.routing import Router
from starlette.types import ASGIApp, Receive, Scope, Send

from bastion.runtime.routing import RoutingTable


class PathDispatch:
    def __init__(self, table: RoutingTable, fallback: Router) -> None:
        self._exact: dict[str, dict[str, ASGIApp]] = table.exact
        self._fallback = fallback

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            methods = self._exact.get(scope["path"])
            if methods is not None:
                endpoint = methods.get(scope["method"])
                if endpoint is not None:
                    await endpoint(scope, receive, send)
                    return
        await self._fallback(scope, receive, send)
