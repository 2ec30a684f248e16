from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import Table

from bastion.domains.mcp._records import mcp_tool_executions
from bastion.domains.mcp._settings import McpSettings
from bastion.infra.services import AUDIT, SECRET_SCANNER, TOOL_PROVIDERS
from bastion.kernel.contract import (
    ConfigSpec,
    Extension,
    ExtensionContext,
    ExtensionMeta,
    ExtensionRouter,
    Interval,
    Job,
    Maturity,
)
from bastion.kernel.governance import GOVERNANCE
from bastion.kernel.migration import Migration, migrations_from_package
from bastion.kernel.services import ServiceKey, ServiceProvider
from bastion.kernel.tool_calls import TOOL_CALLS, ToolCalls
from bastion.kernel.tools import MCP_ADMIN, McpAdmin

if TYPE_CHECKING:
    import typer

    from bastion.domains.mcp._service import McpService

MCP: ServiceKey[McpService] = ServiceKey(
    "mcp", "The MCP registry, tool pins and the governed proxy to every server"
)
DEFAULT_HEALTH_INTERVAL_SECONDS = 30.0


def _build(ctx: ExtensionContext) -> McpService:
    # The proxy and the MCP SDK under it take about 0.5 s to import: paid by a process
    # that uses the service (mounts the routes, runs `bastion mcp ...`), no other.
    from bastion.domains.mcp._mount import build_service

    return build_service(ctx)


def _build_admin(ctx: ExtensionContext) -> McpAdmin:
    from bastion.domains.mcp._admin import McpAdminService

    return McpAdminService(ctx.service(MCP), ctx.service(AUDIT))


def _build_tool_calls(ctx: ExtensionContext) -> ToolCalls:
    from bastion.domains.mcp._tool_calls import McpToolCalls

    service = ctx.service(MCP)
    return McpToolCalls(service.registry, service.access, service.proxy)


async def check_health(ctx: ExtensionContext) -> None:
    await ctx.service(MCP).check_all()


class McpExtension(Extension):
    """The MCP registry and the governed streamable-HTTP proxy in front of every server:
    ``GET /api/v1/mcp/registry`` and ``/api/v1/mcp/{server}/mcp``."""

    meta = ExtensionMeta(
        id="mcp",
        version="1.0.0",
        depends_on=("core", "governance"),
        priority=40,
        description="MCP registry and governed proxy: tool pinning, credential injection",
        requires=(GOVERNANCE, SECRET_SCANNER, AUDIT, TOOL_PROVIDERS),
        maturity=Maturity.GA,
    )

    def __init__(self) -> None:
        self._health_interval = DEFAULT_HEALTH_INTERVAL_SECONDS

    def config(self) -> ConfigSpec:
        return "mcp", McpSettings

    def services(self) -> Sequence[ServiceProvider[Any]]:
        return [
            ServiceProvider(MCP, _build),
            ServiceProvider(MCP_ADMIN, _build_admin),
            ServiceProvider(TOOL_CALLS, _build_tool_calls),
        ]

    def audit_tables(self) -> Sequence[Table]:
        return [mcp_tool_executions]

    def migrations(self) -> Sequence[Migration]:
        return migrations_from_package("bastion.domains.mcp")

    def router(self, ctx: ExtensionContext) -> ExtensionRouter:
        from bastion.domains.mcp._mount import mcp_router

        router = mcp_router(ctx.service(MCP))
        # Jobs are collected after routers at boot, so the profile's interval applies.
        self._health_interval = ctx.config_as(McpSettings).health_interval_seconds
        return router

    def jobs(self) -> Sequence[Job]:
        return [Job("health", Interval(self._health_interval), check_health)]

    def cli(self) -> typer.Typer:
        from bastion.domains.mcp._cli import app

        return app
