"""``/mcp/servers``: MCP servers with health and tool pins, read-only (the registry is
config-as-code) but for the review of a quarantined tool, ``diff`` and ``approve``
(``MCP_ADMIN``, as ``bastion mcp tools`` uses it). Admin tier only."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request

from bastion.domains.admin._access import AdminScope
from bastion.domains.admin._endpoint import Endpoint, path_param, query
from bastion.kernel.tools import McpAdmin, McpServerView, ToolPinView


class ServerQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    check: bool = Field(False, description="Connect to each server now (a health check).")


class Health(BaseModel):
    status: str
    checked_at: dt.datetime | None
    latency_ms: float | None
    error: str | None


class McpServer(BaseModel):
    name: str
    description: str
    transport: str
    upstream: str = Field(description="The URL without credentials or query, or the command.")
    endpoint: str
    source: str
    min_tier: str
    required_scopes: list[str]
    health: Health
    pinned_tools: int
    quarantined_tools: list[str]

    @classmethod
    def of(cls, view: McpServerView) -> McpServer:
        h = view.health
        return cls(
            name=view.name,
            description=view.description,
            transport=view.transport,
            upstream=view.upstream,
            endpoint=view.endpoint,
            source=view.source,
            min_tier=view.min_tier,
            required_scopes=list(view.required_scopes),
            health=Health(
                status=h.status, checked_at=h.checked_at, latency_ms=h.latency_ms, error=h.error
            ),
            pinned_tools=view.pinned_tools,
            quarantined_tools=list(view.quarantined_tools),
        )


class McpServerList(BaseModel):
    servers: list[McpServer]


class ToolPin(BaseModel):
    server: str
    tool: str
    status: str = Field(description="pinned, or quarantined until approved")
    pinned_sha256: str
    observed_sha256: str | None
    changed_fields: list[str]
    first_seen_at: dt.datetime
    changed_at: dt.datetime | None
    approved_at: dt.datetime | None
    approved_by: str | None

    @classmethod
    def of(cls, view: ToolPinView) -> ToolPin:
        return cls(
            server=view.server,
            tool=view.tool,
            status=view.status,
            pinned_sha256=view.pinned_sha256,
            observed_sha256=view.observed_sha256,
            changed_fields=list(view.changed_fields),
            first_seen_at=view.first_seen_at,
            changed_at=view.changed_at,
            approved_at=view.approved_at,
            approved_by=view.approved_by,
        )


class ToolPinList(BaseModel):
    tools: list[ToolPin]


class ToolDiff(BaseModel):
    pin: ToolPin
    pinned: dict[str, Any] = Field(description="The definition as pinned (last approved).")
    observed: dict[str, Any] | None = Field(description="The changed definition, if any.")


class McpEndpoints:
    def __init__(self, mcp: McpAdmin) -> None:
        self._mcp = mcp

    async def servers(self, request: Request, _: AdminScope, __: None) -> McpServerList:
        check = query(request, ServerQuery).check
        return McpServerList(
            servers=[McpServer.of(s) for s in await self._mcp.servers(check=check)]
        )

    async def server(self, request: Request, _: AdminScope, __: None) -> McpServer:
        check = query(request, ServerQuery).check
        return McpServer.of(await self._mcp.server(path_param(request, "server"), check=check))

    async def tools(self, request: Request, _: AdminScope, __: None) -> ToolPinList:
        pins = await self._mcp.pins(path_param(request, "server"))
        return ToolPinList(tools=[ToolPin.of(p) for p in pins])

    async def diff(self, request: Request, _: AdminScope, __: None) -> ToolDiff:
        diff = await self._mcp.diff(path_param(request, "server"), path_param(request, "tool"))
        return ToolDiff(
            pin=ToolPin.of(diff.pin),
            pinned=dict(diff.pinned),
            observed=None if diff.observed is None else dict(diff.observed),
        )

    async def approve(self, request: Request, scope: AdminScope, _: None) -> ToolPin:
        approved = await self._mcp.approve(
            path_param(request, "server"), path_param(request, "tool"), actor=scope.principal
        )
        return ToolPin.of(approved)

    def endpoints(self) -> list[Endpoint[Any]]:
        tool = "/mcp/servers/{server}/tools/{tool}"
        return [
            Endpoint(
                "GET",
                "/mcp/servers",
                "MCP servers with health and pins",
                self.servers,
                McpServerList,
                query=ServerQuery,
            ),
            Endpoint(
                "GET",
                "/mcp/servers/{server}",
                "One MCP server",
                self.server,
                McpServer,
                query=ServerQuery,
            ),
            Endpoint(
                "GET",
                "/mcp/servers/{server}/tools",
                "The pins of a server's tools",
                self.tools,
                ToolPinList,
            ),
            Endpoint(
                "GET",
                tool + "/diff",
                "A tool's pinned and changed definitions",
                self.diff,
                ToolDiff,
            ),
            Endpoint(
                "POST",
                tool + "/approve",
                "Approve a quarantined tool's new definition",
                self.approve,
                ToolPin,
            ),
        ]
