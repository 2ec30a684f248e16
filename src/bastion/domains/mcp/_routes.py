"""The routes under ``/api/v1/mcp``: the registry and each server's MCP endpoint.

Each registered server gets an exact path (the platform dispatches those with a dict
lookup); the parameterised route answers for names that are not registered.
"""

from __future__ import annotations

from typing import Any, Literal, NotRequired, Required

import orjson
from pydantic import ConfigDict
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from typing_extensions import TypedDict

from bastion.domains.mcp._service import McpService
from bastion.kernel.context import request_context
from bastion.kernel.contract import Operation

_METHODS = ["GET", "POST", "DELETE"]


class JsonRpcMessage(TypedDict):
    """A JSON-RPC 2.0 request or notification (MCP streamable HTTP)."""

    __pydantic_config__ = ConfigDict(extra="allow")  # type: ignore[misc]
    jsonrpc: Required[Literal["2.0"]]
    method: Required[str]
    id: NotRequired[int | str | None]
    params: NotRequired[dict[str, Any]]


OPERATIONS = (
    Operation("GET", "/registry", "The MCP servers the caller may use", None, dict[str, Any]),
    Operation("POST", "/{server}/mcp", "A JSON-RPC message to an MCP server", JsonRpcMessage),
    Operation(
        "GET", "/{server}/mcp", "The server's event stream", response_media_type="text/event-stream"
    ),
    Operation("DELETE", "/{server}/mcp", "End an MCP session"),
)


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
