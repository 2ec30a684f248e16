"""Mounting the MCP domain: the registry, the proxy service and its routes, built once
the platform serves (imported by ``McpExtension.router`` only, since it pulls the MCP SDK)."""

from __future__ import annotations

from bastion.domains.mcp._registry import Registry
from bastion.domains.mcp._routes import OPERATIONS, routes
from bastion.domains.mcp._service import McpService
from bastion.domains.mcp._settings import McpSettings
from bastion.infra.services import AUDIT, SECRET_SCANNER, TOOL_PROVIDERS
from bastion.kernel.contract import EndpointClass, ErrorStyle, ExtensionContext, ExtensionRouter
from bastion.kernel.governance import GOVERNANCE, Governance


def build_service(ctx: ExtensionContext) -> McpService:
    """The ``MCP`` service: the registry and the proxy to every server in it."""
    settings = ctx.config_as(McpSettings)
    governance = ctx.service(GOVERNANCE)
    trail = ctx.service(AUDIT)
    registry = Registry.build(
        settings.servers,
        ctx.service(TOOL_PROVIDERS),
        ctx.secrets,
        ctx.platform.profile_dir,
    )
    service = McpService(
        settings,
        registry,
        governance,
        ctx.service(SECRET_SCANNER),
        trail,
        ctx.engine,
        ctx.secrets.get(ctx.platform.jwt_key_secret),
    )
    ctx.on_shutdown(service.close)
    _catalog_lookups(governance, service)
    return service


def mcp_router(service: McpService) -> ExtensionRouter:
    return ExtensionRouter(
        routes(service),
        "/api/v1/mcp",
        EndpointClass.API,
        error_style=ErrorStyle.JSONRPC,
        openapi=OPERATIONS,
    )


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
