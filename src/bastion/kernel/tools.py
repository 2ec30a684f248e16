"""MCP server administration, as a domain other than the mcp domain sees it.

The mcp domain provides ``MCP_ADMIN``; ``bastion mcp`` and the admin API are two front
ends of it. Servers are config-as-code (read-only here); the pins of their tools are
state, and approving a quarantined one records its admin event (``actor`` is the HTTP
caller, None for the CLI).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from bastion.kernel.context import RequestContext
from bastion.kernel.services import ServiceKey


@dataclass(frozen=True, slots=True)
class ServerHealthView:
    status: str  # unknown, healthy, unhealthy
    checked_at: dt.datetime | None
    latency_ms: float | None
    error: str | None


@dataclass(frozen=True, slots=True)
class McpServerView:
    name: str
    description: str
    transport: str  # http or stdio
    upstream: str  # the URL without credentials or query, or the command line
    endpoint: str  # where clients reach it through Bastion
    source: str
    min_tier: str
    required_scopes: tuple[str, ...]
    health: ServerHealthView
    pinned_tools: int
    quarantined_tools: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ToolPinView:
    server: str
    tool: str
    status: str  # pinned or quarantined
    pinned_sha256: str
    observed_sha256: str | None
    changed_fields: tuple[str, ...]
    first_seen_at: dt.datetime
    changed_at: dt.datetime | None
    approved_at: dt.datetime | None
    approved_by: str | None


@dataclass(frozen=True, slots=True)
class ToolDiffView:
    pin: ToolPinView
    pinned: Mapping[str, Any]
    observed: Mapping[str, Any] | None


class McpAdmin(Protocol):
    async def servers(self, *, check: bool = False) -> Sequence[McpServerView]:
        """Every registered server; with ``check``, each is connected to now first."""
        ...

    async def server(self, name: str, *, check: bool = False) -> McpServerView:
        """One server; ``NotFoundError`` if none is registered by that name."""
        ...

    async def pins(self, server: str) -> Sequence[ToolPinView]:
        """The pins of a server's tools, by tool name."""
        ...

    async def diff(self, server: str, tool: str) -> ToolDiffView:
        """The pinned and the observed definition of a tool, for review."""
        ...

    async def approve(
        self, server: str, tool: str, *, actor: RequestContext | None = None
    ) -> ToolPinView:
        """Pin a quarantined tool's new definition (it is offered again);
        ``ConflictError`` if it is not quarantined or changed again meanwhile."""
        ...


MCP_ADMIN: ServiceKey[McpAdmin] = ServiceKey(
    "mcp.admin", "MCP servers with health and tool pins: list, diff, approve"
)
