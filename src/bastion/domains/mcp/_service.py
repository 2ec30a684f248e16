"""The MCP domain's running parts, built once at boot and shared by its routes, its job
and its CLI: the registry, one upstream per server, the tool catalog and pins, the proxy."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from bastion.domains.mcp._access import Access
from bastion.domains.mcp._catalog import ToolCatalog
from bastion.domains.mcp._endpoint import McpEndpoint, OriginPolicy
from bastion.domains.mcp._health import Health, HealthStatus
from bastion.domains.mcp._http_upstream import HttpUpstream, create_http_session
from bastion.domains.mcp._metrics import QUARANTINED_TOOLS, RESTARTS, SERVER_TOOLS, SERVER_UP
from bastion.domains.mcp._pins import PinStore
from bastion.domains.mcp._proxy import McpProxy
from bastion.domains.mcp._registry import Registry, ServerSpec
from bastion.domains.mcp._sessions import SessionSigner, SessionTracker
from bastion.domains.mcp._settings import McpSettings
from bastion.domains.mcp._stdio_upstream import StdioUpstream
from bastion.domains.mcp._upstream import SYSTEM_PRINCIPAL, McpUpstream
from bastion.domains.mcp.errors import McpError
from bastion.infra.audit import AuditTrail
from bastion.infra.scanner import SecretScanner
from bastion.kernel.context import RequestContext
from bastion.kernel.errors import UpstreamError
from bastion.kernel.governance import Governance
from bastion.kernel.tiers import Tier

log = structlog.get_logger("bastion.mcp")


class McpService:
    def __init__(
        self,
        settings: McpSettings,
        registry: Registry,
        governance: Governance,
        scanner: SecretScanner,
        trail: AuditTrail,
        engine: AsyncEngine,
        session_secret: str,
    ) -> None:
        self.settings = settings
        self.registry = registry
        self.pins = PinStore(engine)
        self.catalog = ToolCatalog(self.pins, trail)
        self.access = Access(governance)
        self._http: aiohttp.ClientSession | None = None
        self.upstreams: dict[str, McpUpstream] = {
            spec.name: self._upstream(spec) for spec in registry
        }
        self.health: dict[str, HealthStatus] = {spec.name: HealthStatus() for spec in registry}
        self.proxy = McpProxy(
            self.upstreams,
            self.catalog,
            self.access,
            governance,
            scanner,
            trail.writer,
            response_secrets=settings.response_secrets,
        )
        self.sessions = SessionTracker()
        self.endpoint = McpEndpoint(
            registry,
            self.upstreams,
            self.proxy,
            self.access,
            SessionSigner(session_secret),
            self.sessions,
            OriginPolicy(settings.allowed_origins),
            settings.sse_keepalive_seconds,
        )

    def _upstream(self, spec: ServerSpec) -> McpUpstream:
        if spec.transport == "http":
            if self._http is None:
                self._http = create_http_session(self.settings.connect_timeout_seconds)
            return HttpUpstream(
                spec, self._http, connect_timeout=self.settings.connect_timeout_seconds
            )
        restarts = RESTARTS.labels(spec.name)
        return StdioUpstream(
            spec,
            backoff=self.settings.restart_backoff_seconds,
            backoff_max=self.settings.restart_backoff_max_seconds,
            max_processes=self.settings.max_processes_per_server,
            on_restart=restarts.inc,
        )

    # Health

    async def check(self, spec: ServerSpec) -> HealthStatus:
        started = time.perf_counter()
        try:
            async with asyncio.timeout(spec.timeout_seconds):
                tools = await self.proxy.list_upstream_tools(spec, SYSTEM_PRINCIPAL, None)
        except TimeoutError:
            status = HealthStatus.failed(started, f"no answer within {spec.timeout_seconds:g}s")
        except (McpError, UpstreamError) as exc:
            status = HealthStatus.failed(started, str(exc))
        else:
            status = HealthStatus.passed(started)
            SERVER_TOOLS.labels(spec.name).set(len(tools))
        QUARANTINED_TOOLS.labels(spec.name).set(len(self.catalog.quarantined(spec.name)))
        SERVER_UP.labels(spec.name).set(1 if status.status is Health.HEALTHY else 0)
        if (
            status.status is Health.UNHEALTHY
            and self.health[spec.name].status is not Health.UNHEALTHY
        ):
            log.warning("mcp server unhealthy", server=spec.name, error=status.error)
        self.health[spec.name] = status
        return status

    async def check_all(self) -> dict[str, HealthStatus]:
        """Check every server at once, then end idle upstream conversations."""
        specs = list(self.registry)
        results = await asyncio.gather(*(self.check(spec) for spec in specs))
        idle = self.settings.session_idle_seconds
        for upstream in self.upstreams.values():
            await upstream.reap(idle)
        self.sessions.prune(idle)
        return {spec.name: result for spec, result in zip(specs, results, strict=True)}

    # Registry view

    async def describe(
        self, spec: ServerSpec, principal: RequestContext, base_url: str
    ) -> dict[str, Any]:
        upstream = self.upstreams[spec.name].health()
        listed = self.catalog.listed_at(spec.name)
        tools = (
            len(await self.access.visible_tools(spec, principal, self.catalog.listed(spec.name)))
            if listed is not None
            else None
        )
        entry: dict[str, Any] = {
            "name": spec.name,
            "description": spec.description,
            "endpoint": spec.endpoint,
            "url": base_url.rstrip("/") + spec.endpoint,
            "transport": spec.transport,
            "source": spec.source,
            **self.health[spec.name].as_dict(),
            "protocol_version": upstream.protocol_version,
            "tools": tools,
            "quarantined_tools": self.catalog.quarantined(spec.name),
        }
        if spec.transport == "stdio":
            entry["processes"] = upstream.processes
            entry["restarts"] = upstream.restarts
        if principal.tier >= Tier.ADMIN:
            entry["upstream"] = spec.url if spec.url is not None else spec.command[0]
            entry["upstream_error"] = upstream.last_error
        return entry

    async def registry_view(self, principal: RequestContext, base_url: str) -> dict[str, Any]:
        visible = [
            spec
            for spec in self.registry
            if await self.access.server_refusal(spec, principal) is None
        ]
        servers = [await self.describe(spec, principal, base_url) for spec in visible]
        collisions = self.catalog.collisions(spec.name for spec in visible)
        for entry in servers:
            entry["tool_collisions"] = {
                tool: [s for s in owners if s != entry["name"]]
                for tool, owners in collisions.items()
                if entry["name"] in owners
            }
        return {"servers": servers, "collisions": collisions}

    async def close(self) -> None:
        await asyncio.gather(
            *(upstream.aclose() for upstream in self.upstreams.values()), return_exceptions=True
        )
        if self._http is not None:
            await self._http.close()
