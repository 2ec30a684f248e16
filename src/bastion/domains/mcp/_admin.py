"""``MCP_ADMIN``: the servers, their health and the pins of their tools, the one
implementation behind ``bastion mcp`` and the admin API."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

from bastion.domains.mcp._health import HealthStatus
from bastion.domains.mcp._pins import ToolPin
from bastion.domains.mcp._registry import ServerSpec
from bastion.domains.mcp.errors import PinError
from bastion.infra.audit import AuditTrail, admin_event_row
from bastion.kernel.context import RequestContext
from bastion.kernel.errors import ConflictError, NotFoundError
from bastion.kernel.tools import McpServerView, ServerHealthView, ToolDiffView, ToolPinView

if TYPE_CHECKING:
    from bastion.domains.mcp._service import McpService


def upstream_of(spec: ServerSpec) -> str:
    """Where the server is, as it may be shown: no user info, query or fragment (a
    credential can hide in each), or the command line a stdio server runs (its secrets
    are in its environment, never shown)."""
    if spec.url is None:
        return " ".join(spec.command)
    parts = urlsplit(spec.url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def health_view(status: HealthStatus) -> ServerHealthView:
    return ServerHealthView(status.status.value, status.checked_at, status.latency_ms, status.error)


def pin_view(pin: ToolPin) -> ToolPinView:
    return ToolPinView(
        pin.server,
        pin.tool,
        pin.status.value,
        pin.pinned_sha256,
        pin.observed_sha256,
        tuple(pin.changes()),
        pin.first_seen_at,
        pin.changed_at,
        pin.approved_at,
        pin.approved_by,
    )


class McpAdminService:
    """Implements ``McpAdmin`` over the ``MCP`` service."""

    def __init__(self, service: McpService, audit: AuditTrail) -> None:
        self._service = service
        self._audit = audit

    def _spec(self, name: str) -> ServerSpec:
        spec = self._service.registry.get(name)
        if spec is None:
            known = ", ".join(self._service.registry.names()) or "none"
            raise NotFoundError(f"no MCP server named '{name[:64]}' (registered: {known})")
        return spec

    async def _view(self, spec: ServerSpec, check: bool) -> McpServerView:
        health = await self._service.check(spec) if check else self._service.health[spec.name]
        pins = await self._service.pins.for_server(spec.name)
        return McpServerView(
            name=spec.name,
            description=spec.description,
            transport=spec.transport,
            upstream=upstream_of(spec),
            endpoint=spec.endpoint,
            source=spec.source,
            min_tier=spec.min_tier.label,
            required_scopes=tuple(sorted(spec.required_scopes)),
            health=health_view(health),
            pinned_tools=sum(not pin.quarantined for pin in pins.values()),
            quarantined_tools=tuple(sorted(n for n, pin in pins.items() if pin.quarantined)),
        )

    async def servers(self, *, check: bool = False) -> list[McpServerView]:
        return [await self._view(spec, check) for spec in self._service.registry]

    async def server(self, name: str, *, check: bool = False) -> McpServerView:
        return await self._view(self._spec(name), check)

    async def pins(self, server: str) -> list[ToolPinView]:
        self._spec(server)
        pins = await self._service.pins.for_server(server)
        return [pin_view(pins[name]) for name in sorted(pins)]

    async def _pin(self, server: str, tool: str) -> ToolPin:
        self._spec(server)
        pin = await self._service.pins.get(server, tool)
        if pin is None:
            raise NotFoundError(f"no pin for tool '{tool[:255]}' on MCP server '{server}'")
        return pin

    async def diff(self, server: str, tool: str) -> ToolDiffView:
        pin = await self._pin(server, tool)
        return ToolDiffView(pin_view(pin), pin.pinned_definition, pin.observed_definition)

    async def approve(
        self, server: str, tool: str, *, actor: RequestContext | None = None
    ) -> ToolPinView:
        previous = await self._pin(server, tool)
        by = "cli" if actor is None else (actor.user_id or "api")
        try:
            approved = await self._service.pins.approve(server, tool, by=by)
        except PinError as exc:
            raise ConflictError(str(exc)) from None
        await self._audit.record_event(
            admin_event_row(
                actor,
                "mcp_tool_approve",
                f"{server}/{tool}",
                {
                    "server": server,
                    "tool": tool,
                    "previous_sha256": previous.pinned_sha256,
                    "pinned_sha256": approved.pinned_sha256,
                    "changed_fields": previous.changes(),
                },
            )
        )
        return pin_view(approved)
