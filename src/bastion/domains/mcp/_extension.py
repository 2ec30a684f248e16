from __future__ import annotations

from collections.abc import Sequence

from bastion.domains.mcp._records import mcp_tool_executions
from bastion.domains.mcp._registry import Registry
from bastion.domains.mcp._routes import OPERATIONS, routes
from bastion.domains.mcp._service import McpService
from bastion.infra.audit import AuditTrail
from bastion.infra.config import Profile
from bastion.infra.governance import Governance
from bastion.kernel.contract import (
    EndpointClass,
    ErrorStyle,
    Extension,
    ExtensionContext,
    ExtensionMeta,
    ExtensionRouter,
    Interval,
    Job,
)
from bastion.kernel.migration import Migration, migrations_from_package

SERVICE = "mcp"
DEFAULT_HEALTH_INTERVAL_SECONDS = 30.0


async def check_health(ctx: ExtensionContext) -> None:
    service: McpService = ctx.services[SERVICE]
    await service.check_all()


def _catalog_lookups(governance: Governance, service: McpService) -> None:
    """Make servers and ``server/tool`` entities Bastion-managed kinds, so the ACL denies
    ones it does not know. Only once servers are registered: a deployment that fronts no
    MCP server leaves other clients' MCP tools (seen through the hooks) to the ACL rules."""
    registry, catalog = service.registry, service.catalog
    if not len(registry):
        return

    def knows_tool(entity: str) -> bool:
        server, sep, tool = entity.partition("/")
        if not sep:
            return True  # a client-side tool (Bash, Write): not an MCP server's
        return server in registry and catalog.knows(server, tool)

    governance.catalog.register("server", lambda name: name in registry)
    governance.catalog.register("tool", knows_tool)


class McpExtension(Extension):
    """The MCP registry and the governed streamable-HTTP proxy in front of every server:
    ``GET /api/v1/mcp/registry`` and ``/api/v1/mcp/{server}/mcp``."""

    meta = ExtensionMeta(
        id="mcp",
        version="1.0.0",
        depends_on=("core", "governance"),
        priority=40,
        description="MCP registry and governed proxy: tool pinning, credential injection",
    )

    def __init__(self) -> None:
        self._health_interval = DEFAULT_HEALTH_INTERVAL_SECONDS

    def migrations(self) -> Sequence[Migration]:
        return migrations_from_package("bastion.domains.mcp")

    def router(self, ctx: ExtensionContext) -> ExtensionRouter:
        profile: Profile = ctx.settings
        settings = profile.mcp
        governance: Governance = ctx.services["governance"]
        trail: AuditTrail = ctx.services["audit"]
        trail.writer.register_table(mcp_tool_executions)
        registry = Registry.build(
            settings.servers,
            ctx.services.get("tool_providers", []),
            ctx.secrets,
            profile.profile_dir,
        )
        service = McpService(
            settings,
            registry,
            governance,
            trail,
            ctx.engine,
            ctx.secrets.get(profile.security.jwt.key_secret_name),
        )
        ctx.services[SERVICE] = service
        ctx.on_shutdown(service.close)
        _catalog_lookups(governance, service)
        # Jobs are collected after routers at boot, so the profile's interval applies.
        self._health_interval = settings.health_interval_seconds
        return ExtensionRouter(
            routes(service),
            "/api/v1/mcp",
            EndpointClass.API,
            error_style=ErrorStyle.JSONRPC,
            openapi=OPERATIONS,
        )

    def jobs(self) -> Sequence[Job]:
        return [Job("health", Interval(self._health_interval), check_health)]
