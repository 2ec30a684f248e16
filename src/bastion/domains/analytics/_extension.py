from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from bastion.domains.analytics._config import AnalyticsConfig
from bastion.domains.analytics._routes import AnalyticsAnswer, QuotaAnswer, routes
from bastion.domains.analytics._service import AnalyticsService
from bastion.infra.services import AUDIT, QUOTAS
from bastion.kernel.analytics import ANALYTICS, Analytics
from bastion.kernel.contract import (
    ConfigSpec,
    EndpointClass,
    Extension,
    ExtensionContext,
    ExtensionMeta,
    ExtensionRouter,
    Interval,
    Job,
    Maturity,
    Operation,
)
from bastion.kernel.migration import Migration, migrations_from_package
from bastion.kernel.services import ServiceProvider
from bastion.kernel.tiers import Tier

if TYPE_CHECKING:
    import typer


def _config(ctx: ExtensionContext) -> AnalyticsConfig:
    return ctx.config if isinstance(ctx.config, AnalyticsConfig) else AnalyticsConfig()


def _service(ctx: ExtensionContext) -> Analytics:
    return AnalyticsService(ctx.engine, _config(ctx))


async def _roll_up(ctx: ExtensionContext) -> dict[str, object]:
    result = await ctx.service(ANALYTICS).roll_up()
    return {
        "hours_rolled": result.hours_rolled,
        "hours_repaired": result.hours_repaired,
        "watermark": None if result.watermark is None else result.watermark.isoformat(),
    }


class AnalyticsExtension(Extension):
    """Usage, cost, denials and tool calls over any window: ``/api/v1/analytics``,
    ``bastion analytics`` and the ``ANALYTICS`` service the console reads, kept fast by
    hourly rollups a scheduled job maintains."""

    meta = ExtensionMeta(
        id="analytics",
        version="1.0.0",
        depends_on=("core", "gateway", "mcp"),
        priority=60,
        description="Usage and cost analytics over the audit tables",
        maturity=Maturity.GA,
        requires=(AUDIT, QUOTAS),
    )

    def __init__(self) -> None:
        self._interval = AnalyticsConfig().rollup_interval_seconds

    def migrations(self) -> Sequence[Migration]:
        return migrations_from_package("bastion.domains.analytics")

    def config(self) -> ConfigSpec:
        return ("analytics", AnalyticsConfig)

    def services(self) -> Sequence[ServiceProvider[Analytics]]:
        return [ServiceProvider(ANALYTICS, _service)]

    def jobs(self) -> Sequence[Job]:
        return [Job("usage-rollup", Interval(self._interval), _roll_up)]

    def router(self, ctx: ExtensionContext) -> ExtensionRouter:
        self._interval = _config(ctx).rollup_interval_seconds
        return ExtensionRouter(
            routes(ctx.service(ANALYTICS), ctx.service(AUDIT), ctx.service(QUOTAS)),
            "/api/v1/analytics",
            EndpointClass.API,
            min_tier=Tier.SERVICE,
            openapi=[
                Operation(
                    "GET", "/usage", "Requests, tokens and cost, grouped", None, AnalyticsAnswer
                ),
                Operation("GET", "/denials", "Governance denials, grouped", None, AnalyticsAnswer),
                Operation("GET", "/tools", "MCP tool calls, grouped", None, AnalyticsAnswer),
                Operation(
                    "GET",
                    "/quotas",
                    "Your quotas: used, limit, resets-at",
                    None,
                    QuotaAnswer,
                ),
            ],
        )

    def cli(self) -> typer.Typer:
        from bastion.domains.analytics._cli import app

        return app
