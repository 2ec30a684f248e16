"""The routes under ``/api/v1/mcp``: the registry and each server's MCP endpoint.

Each registered server gets an exact path (the platform dispatches those with a dict
lookup); the parameterised route answers for names that are not registered.
"""

from __future__ import annotations

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from bastion.domains.mcp._service import McpService
from bastion.kernel.context import request_context

_METHODS = ["GET", "POST", "DELETE"]


def routes(service: McpService) -> list[BaseRoute]:
    async def registry(request: Request) -> Response:
        view = await service.registry_view(request_context(request), str(request.base_url))
        return Response(orjson.dumps(view), media_type="application/json")

    endpoint = service.endpoint
    return [
        Route("/registry", registry, methods=["GET"]),
        *(
            Route(f"/{spec.name}/mcp", endpoint.bound(spec.name), methods=_METHODS)
            for spec in service.registry
        ),
        Route("/{server}/mcp", endpoint, methods=_METHODS),
    ]
