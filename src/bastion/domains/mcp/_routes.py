"""The routes under ``/api/v1/mcp``: the registry and each server's MCP endpoint."""

from __future__ import annotations

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bastion.domains.mcp._service import McpService
from bastion.kernel.context import request_context


def routes(service: McpService) -> list[Route]:
    async def registry(request: Request) -> Response:
        view = await service.registry_view(request_context(request), str(request.base_url))
        return Response(orjson.dumps(view), media_type="application/json")

    return [
        Route("/registry", registry, methods=["GET"]),
        Route("/{server}/mcp", service.endpoint, methods=["GET", "POST", "DELETE"]),
    ]
