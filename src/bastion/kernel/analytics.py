"""The analytics contract: what the analytics domain answers and who may see what.

The analytics domain provides ``ANALYTICS``; its routes, its CLI and the console use the
same typed service, so a page shows exactly what ``GET /api/v1/analytics/...`` returns.
``Viewer.of(ctx)`` is the visibility rule, applied by the service whatever filters a
caller asks for: an admin sees everything, a tenant admin (a principal holding
``admin:tenant``, ``TENANT_ADMIN_SCOPE``) their tenant, anyone else only their own usage.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Protocol

from bastion.kernel.context import RequestContext, scope_granted
from bastion.kernel.services import ServiceKey
from bastion.kernel.tiers import TENANT_ADMIN_SCOPE, Tier


class Report(enum.StrEnum):
    """What is counted: gateway requests, governance denials, or MCP tool calls."""

    USAGE = "usage"
    DENIALS = "denials"
    TOOLS = "tools"


TIME_DIMENSIONS = ("hour", "day")

# Every dimension any report knows, in the order help texts and the console list them;
# each report knows a subset (a dimension it does not record is refused, never grouped
# as null).
DIMENSIONS = (
    "model",
    "provider",
    "route",
    "user",
    "tenant",
    "api_key",
    "agent",
    "client",
    "mcp_server",
    "tool",
    "rule",
    "stage",
    "method",
    "target",
    *TIME_DIMENSIONS,
)


class Reach(enum.StrEnum):
    ALL = "all"
    TENANT = "tenant"
    USER = "user"


class VisibilityError(PermissionError):
    """The principal may see no analytics at all (it has no user)."""


@dataclass(frozen=True, slots=True)
class Viewer:
    """Whose rows a query may count: everything, one tenant's, or one user's."""

    reach: Reach
    tenant_id: str | None = None
    user_id: str | None = None

    @classmethod
    def everything(cls) -> Viewer:
        """An operator at the terminal (or an admin-tier caller)."""
        return cls(Reach.ALL)

    @classmethod
    def of(cls, ctx: RequestContext) -> Viewer:
        if ctx.tier >= Tier.ADMIN:
            return cls(Reach.ALL)
        if scope_granted(ctx.scopes, TENANT_ADMIN_SCOPE) and ctx.tenant_id is not None:
            return cls(Reach.TENANT, tenant_id=ctx.tenant_id)
        if ctx.user_id is None:
            raise VisibilityError("analytics are shown to a user, a tenant admin or an admin")
        return cls(Reach.USER, tenant_id=ctx.tenant_id, user_id=ctx.user_id)


@dataclass(frozen=True, slots=True)
class AnalyticsQuery:
    """A validated question: one report, grouped by one or two dimensions, over
    ``[since, until)`` (aware UTC datetimes), narrowed by exact-match filters."""

    report: Report
    group_by: tuple[str, ...]
    since: dt.datetime
    until: dt.datetime
    filters: Mapping[str, str] = field(default_factory=dict)
    limit: int = 100


@dataclass(frozen=True, slots=True)
class UsageRow:
    """One group's figures. Counts, tokens and cost are exact; the latency figures come
    from a fixed histogram (see docs/analytics.md for the precision)."""

    group: Mapping[str, str | None]
    requests: int
    allowed: int
    denied: int
    errors: int
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    cost_microdollars: int
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    overhead_p50_ms: float | None

    def as_dict(self) -> dict[str, object]:
        """The group's dimension values, then every figure (``FIGURES``, in order)."""
        return {**self.group, **{name: getattr(self, name) for name in FIGURES}}


# The figures of every row, in the order tables, CSV files and JSON answers give them.
FIGURES = tuple(f.name for f in fields(UsageRow) if f.name != "group")


@dataclass(frozen=True, slots=True)
class RollupResult:
    """What one rollup run did: hours aggregated past the old watermark, closed hours
    recomputed because late rows had arrived, and the watermark now (the first hour
    the rollups do not cover, as a UTC datetime; None while there is nothing to roll)."""

    hours_rolled: int
    hours_repaired: int
    watermark: dt.datetime | None


class AnalyticsQueryError(ValueError):
    """A query parameter is invalid; the message names it and says what is accepted."""


class Analytics(Protocol):
    """Usage, cost and refusals over any window."""

    def query(
        self, report: Report, params: Mapping[str, str], *, now: dt.datetime | None = None
    ) -> AnalyticsQuery:
        """Validate wire-format parameters (``group_by=user,model``, ``since=24h``,
        ``until=<ISO>``, ``limit=50``, any dimension as a filter: ``tenant=acme``);
        raises ``AnalyticsQueryError``."""
        ...

    async def usage(self, query: AnalyticsQuery, viewer: Viewer) -> list[UsageRow]:
        """``ai_requests``: requests, outcomes, tokens, cost and latency per group."""
        ...

    async def denials(self, query: AnalyticsQuery, viewer: Viewer) -> list[UsageRow]:
        """``governance_decisions`` that denied, per rule, stage, principal, agent or
        target."""
        ...

    async def tools(self, query: AnalyticsQuery, viewer: Viewer) -> list[UsageRow]:
        """``mcp_tool_executions`` per server, tool, rule, principal or agent."""
        ...

    async def run(self, query: AnalyticsQuery, viewer: Viewer) -> list[UsageRow]:
        """Whichever of the three ``query.report`` names."""
        ...

    async def roll_up(self, *, now: dt.datetime | None = None) -> RollupResult:
        """Advance the hourly rollups to the last closed hour and repair recent hours
        that late rows changed (what the scheduled job runs)."""
        ...

    async def rebuild(self, since: dt.datetime) -> RollupResult:
        """Recompute every rolled-up hour from ``since`` on from the raw rows."""
        ...


ANALYTICS: ServiceKey[Analytics] = ServiceKey(
    "analytics", "Usage, cost, denials and tool calls over any window, grouped"
)
