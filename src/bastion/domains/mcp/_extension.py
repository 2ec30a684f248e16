from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from sqlalchemy import Table

from bastion.domains.mcp._records import mcp_tool_executions
from bastion.infra.config import Profile
from bastion.kernel.contract import (
    Extension,
    ExtensionContext,
    ExtensionMeta,
    ExtensionRouter,
    Interval,
    Job,
    Maturity,
)
from bastion.kernel.migration import Migration, migrations_from_package

if TYPE_CHECKING:
    from bastion.domains.mcp._service import McpService

SERVICE = "mcp"
DEFAULT_HEALTH_INTERVAL_SECONDS = 30.0


async def check_health(ctx: ExtensionContext) -> None:
    service: McpService = ctx.services[SERVICE]
    await service.check_all()


class McpExtension(Extension):
    """The MCP registry and the governed streamable-HTTP proxy in front of every server:
    ``GET /api/v1/mcp/registry`` and ``/api/v1/mcp/{server}/mcp``."""

    meta = ExtensionMeta(
        id="mcp",
        version="1.0.0",
        depends_on=("core", "governance"),
        priority=40,
        description="MCP registry and governed proxy: tool pinning, credential injection",
        maturity=Maturity.GA,
    )

    def __init__(self) -> None:
        self._health_interval = DEFAULT_HEALTH_INTERVAL_SECONDS

    def audit_tables(self) -> Sequence[Table]:
        return [mcp_tool_executions]

    def migrations(self) -> Sequence[Migration]:
        return migrations_from_package("bastion.domains.mcp")

    def router(self, ctx: ExtensionContext) -> ExtensionRouter:
        # The proxy and the MCP SDK under it take about 0.5 s to import: only a process
        # that mounts the routes pays it, not every CLI command that boots the platform.
        from bastion.domains.mcp._mount import mount

        router, service = mount(ctx)
        ctx.services[SERVICE] = service
        # Jobs are collected after routers at boot, so the profile's interval applies.
        profile: Profile = ctx.settings
        self._health_interval = profile.mcp.health_interval_seconds
        return router

    def jobs(self) -> Sequence[Job]:
        return [Job("health", Interval(self._health_interval), check_health)]
