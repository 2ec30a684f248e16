"""Every grouping of every report, on SQLite and PostgreSQL, against sums of the raw rows:
before any rollup (all raw), after the rollup (closed hours from the rollup table, the
partial first hour and the open hour raw), and over windows that start mid-hour."""

from __future__ import annotations

import datetime as dt
import math
import statistics
from typing import Any

import pytest

from bastion.domains.analytics import AnalyticsService
from bastion.kernel.analytics import (
    AnalyticsQueryError,
    Reach,
    Report,
    UsageRow,
    Viewer,
    VisibilityError,
)
from bastion.kernel.context import AuthMethod, RequestContext
from bastion.kernel.ids import TenantId, TraceId, UserId
from bastion.kernel.tiers import Tier
from tests.domains.analytics.conftest import END, NOW, START, floor_hour
from tests.domains.analytics.seed import (
    DENIAL_KEYS,
    TOOL_KEYS,
    Seeded,
    denial_agent,
    expected_counts,
    expected_usage,
)

EVERYTHING = Viewer.everything()
USAGE_GROUPS = [
    "model",
    "provider",
    "route",
    "user",
    "tenant",
    "api_key",
    "client",
    "agent",
    "hour",
    "day",
    "user,model",
    "tenant,day",
    "model,hour",
    "client,provider",
    "agent,model",
    "agent,hour",
]
DENIAL_GROUPS = [
    "rule",
    "stage",
    "user",
    "tenant",
    "api_key",
    "client",
    "target",
    "mcp_server",
    "tool",
    "agent",
    "route",
    "hour",
    "day",
    "rule,tenant",
    "agent,target",
]
TOOL_GROUPS = [
    "mcp_server",
    "tool",
    "method",
    "rule",
    "stage",
    "user",
    "tenant",
    "api_key",
    "client",
    "agent",
    "hour",
    "day",
    "mcp_server,tool",
    "agent,tool",
]
USAGE_FIGURES = (
    "requests",
    "allowed",
    "denied",
    "errors",
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "cost_microdollars",
)
WINDOW = {"since": START.isoformat(), "until": (END + dt.timedelta(seconds=1)).isoformat()}


def _tool_status(r: dict[str, Any]) -> str:
    return {"success": "allowed", "denied": "denied"}.get(r["status"], "error")


def _window(since: dt.datetime, until: dt.datetime) -> dict[str, str]:
    return {"since": since.isoformat(), "until": until.isoformat()}


def _by_key(
    rows: list[UsageRow], figures: tuple[str, ...]
) -> dict[tuple[Any, ...], dict[str, int]]:
    return {tuple(row.group.values()): {f: getattr(row, f) for f in figures} for row in rows}


async def _usage(service: AnalyticsService, group_by: str, **params: str) -> list[UsageRow]:
    query = service.query(
        Report.USAGE, {"group_by": group_by, "limit": "10000", **WINDOW, **params}
    )
    return await service.usage(query, EVERYTHING)


@pytest.mark.parametrize("group_by", USAGE_GROUPS)
async def test_usage_sums_match_the_raw_rows(
    service: AnalyticsService, seeded: Seeded, group_by: str
) -> None:
    names = group_by.split(",")
    expected = expected_usage(seeded.usage, names)
    raw = _by_key(await _usage(service, group_by), USAGE_FIGURES)
    assert raw == expected
    result = await service.roll_up()
    assert result.hours_rolled >= 30
    rolled = _by_key(await _usage(service, group_by), USAGE_FIGURES)
    assert rolled == expected


async def test_windows_that_start_and_end_inside_hours(
    service: AnalyticsService, seeded: Seeded
) -> None:
    await service.roll_up()
    for since, until in [
        (START + dt.timedelta(minutes=47), END - dt.timedelta(hours=3, minutes=12)),
        (START + dt.timedelta(hours=5, minutes=1), START + dt.timedelta(hours=5, minutes=59)),
        (END - dt.timedelta(minutes=20), END + dt.timedelta(seconds=1)),
        # Whole days from the daily rollup, hours either side from the hourly one.
        (START + dt.timedelta(minutes=5), END - dt.timedelta(minutes=5)),
        (START + dt.timedelta(hours=20), END - dt.timedelta(hours=2, minutes=5)),
    ]:
        inside = [r for r in seeded.usage if since <= r["created_at"] < until]
        query = service.query(Report.USAGE, {"group_by": "user,model", **_window(since, until)})
        got = _by_key(await service.usage(query, EVERYTHING), USAGE_FIGURES)
        assert got == expected_usage(inside, ["user", "model"])


async def test_filters_narrow_every_path(service: AnalyticsService, seeded: Seeded) -> None:
    await service.roll_up()
    rows = await _usage(service, "model", tenant="acme", client="sdk")
    wanted = [r for r in seeded.usage if r["tenant_id"] == "acme" and r["client_id"] == "sdk"]
    assert _by_key(rows, USAGE_FIGURES) == expected_usage(wanted, ["model"])


@pytest.mark.parametrize("rolled", [False, True])
async def test_the_agent_filter_narrows_every_report(
    service: AnalyticsService, seeded: Seeded, rolled: bool
) -> None:
    if rolled:
        await service.roll_up()
    usage = await _usage(service, "model,day", agent="triage")
    wanted = [r for r in seeded.usage if r["agent_id"] == "triage"]
    assert wanted and _by_key(usage, USAGE_FIGURES) == expected_usage(wanted, ["model", "day"])

    counted = ("requests", "allowed", "denied", "errors")
    query = service.query(Report.TOOLS, {"group_by": "tool", "agent": "coder", **WINDOW})
    called = [r for r in seeded.tools if r["agent_id"] == "coder"]
    expected = expected_counts(called, TOOL_KEYS, ["tool"], _tool_status)
    assert called and _by_key(await service.tools(query, EVERYTHING), counted) == expected

    # Refused in coder's task, whatever the target: its own invocation of triage included.
    query = service.query(Report.DENIALS, {"group_by": "target", "agent": "coder", **WINDOW})
    denied = [r for r in seeded.decisions if r["decision"] == "deny" and denial_agent(r) == "coder"]
    assert any(r["target_type"] == "agent" and r["target_name"] == "triage" for r in denied)
    expected = expected_counts(denied, DENIAL_KEYS, ["target"], lambda r: "denied")
    assert _by_key(await service.denials(query, EVERYTHING), counted) == expected


async def test_latency_percentiles_within_one_bucket(
    service: AnalyticsService, seeded: Seeded
) -> None:
    await service.roll_up()
    for row in await _usage(service, "model"):
        latencies = sorted(
            r["latency_ms"] for r in seeded.usage if r["requested_model"] == row.group["model"]
        )
        overheads = sorted(
            r["overhead_ms"] for r in seeded.usage if r["requested_model"] == row.group["model"]
        )
        assert row.latency_p50_ms is not None and row.latency_p95_ms is not None
        assert row.overhead_p50_ms is not None
        # The estimate is in the true value's sqrt(2)-wide bucket.
        exact_p95 = latencies[math.ceil(0.95 * len(latencies)) - 1]
        for estimate, exact in [
            (row.latency_p50_ms, statistics.median(latencies)),
            (row.latency_p95_ms, exact_p95),
            (row.overhead_p50_ms, statistics.median(overheads)),
        ]:
            assert exact / math.sqrt(2) <= estimate <= exact * math.sqrt(2), (estimate, exact)


@pytest.mark.parametrize("group_by", DENIAL_GROUPS)
async def test_denials_match_the_raw_rows(
    service: AnalyticsService, seeded: Seeded, group_by: str
) -> None:
    names = group_by.split(",")
    denied = [r for r in seeded.decisions if r["decision"] == "deny"]
    expected = expected_counts(denied, DENIAL_KEYS, names, lambda r: "denied")
    query = service.query(Report.DENIALS, {"group_by": group_by, "limit": "10000", **WINDOW})
    rows = await service.denials(query, EVERYTHING)
    assert _by_key(rows, ("requests", "allowed", "denied", "errors")) == expected
    assert all(row.latency_p50_ms is not None for row in rows)


@pytest.mark.parametrize("group_by", TOOL_GROUPS)
async def test_tools_match_the_raw_rows(
    service: AnalyticsService, seeded: Seeded, group_by: str
) -> None:
    expected = expected_counts(seeded.tools, TOOL_KEYS, group_by.split(","), _tool_status)
    query = service.query(Report.TOOLS, {"group_by": group_by, "limit": "10000", **WINDOW})
    rows = await service.tools(query, EVERYTHING)
    assert _by_key(rows, ("requests", "allowed", "denied", "errors")) == expected


async def test_rows_are_ordered_and_limited(service: AnalyticsService, seeded: Seeded) -> None:
    by_cost = await _usage(service, "user")
    costs = [row.cost_microdollars for row in by_cost]
    assert costs == sorted(costs, reverse=True)
    hours = [row.group["hour"] for row in await _usage(service, "hour")]
    assert hours == sorted(hours)
    assert len(hours) == (floor_hour(NOW) - floor_hour(START)) // dt.timedelta(hours=1) + 1
    top = await _usage(service, "user", limit="2")
    assert [row.group for row in top] == [row.group for row in by_cost[:2]]


@pytest.mark.parametrize(
    ("report", "params", "message"),
    [
        (Report.USAGE, {"group_by": "colour"}, "unknown dimension 'colour'"),
        (Report.USAGE, {"group_by": "tool"}, "does not record it; see tools"),
        (Report.USAGE, {"group_by": "user,model,tenant"}, "one or two dimensions"),
        (Report.USAGE, {"group_by": "user,user"}, "named twice"),
        (Report.USAGE, {"group_by": "hour,day"}, "pick one time bucket"),
        (Report.USAGE, {"since": "yesterday"}, "since: 'yesterday' is neither"),
        (Report.USAGE, {"since": "1h", "until": "2h"}, "since must be before until"),
        (Report.USAGE, {"limit": "0"}, "limit: between 1"),
        (Report.USAGE, {"limit": "many"}, "not a whole number"),
        (Report.USAGE, {"colour": "red"}, "unknown parameter 'colour'"),
        (Report.USAGE, {"hour": "3"}, "time bucket"),
        (Report.USAGE, {"tenant": ""}, "tenant: a value of 1"),
        (Report.DENIALS, {"group_by": "model"}, "see usage"),
        (Report.TOOLS, {"model": "gpt-4o"}, "see usage"),
    ],
)
def test_bad_parameters_are_named(
    service: AnalyticsService, report: Report, params: dict[str, str], message: str
) -> None:
    with pytest.raises(AnalyticsQueryError, match=message.replace("(", r"\(")):
        service.query(report, params)


def test_durations_and_iso_times() -> None:
    from bastion.domains.analytics._params import parse_query

    now = dt.datetime(2026, 12, 7, 12, 30, tzinfo=dt.UTC)
    query = parse_query(Report.USAGE, {"since": "7d", "until": "2026-12-07T10:00:00Z"}, now=now)
    assert query.since == now - dt.timedelta(days=7)
    assert query.until == dt.datetime(2026, 12, 7, 10, tzinfo=dt.UTC)
    naive = parse_query(Report.USAGE, {"since": "2026-12-01"}, now=now)
    assert naive.since == dt.datetime(2026, 12, 1, tzinfo=dt.UTC) and naive.until == now
    assert parse_query(Report.DENIALS, {}, now=now).group_by == ("rule",)
    assert parse_query(Report.TOOLS, {}, now=now).group_by == ("tool",)


def _ctx(tier: Tier, user: str | None, tenant: str | None, scopes: set[str]) -> RequestContext:
    return RequestContext(
        trace_id=TraceId("t"),
        tier=tier,
        auth_method=AuthMethod.API_KEY,
        user_id=UserId(user) if user else None,
        tenant_id=TenantId(tenant) if tenant else None,
        scopes=frozenset(scopes),
    )


def test_who_sees_what() -> None:
    assert Viewer.of(_ctx(Tier.ADMIN, "usr_a", "acme", {"*"})).reach is Reach.ALL
    tenant_admin = Viewer.of(_ctx(Tier.USER, "usr_t", "acme", {"llm:invoke", "admin:tenant"}))
    assert (tenant_admin.reach, tenant_admin.tenant_id) == (Reach.TENANT, "acme")
    assert Viewer.of(_ctx(Tier.USER, "usr_t", "acme", {"admin:*"})).reach is Reach.TENANT
    user = Viewer.of(_ctx(Tier.USER, "usr_u", "acme", {"llm:invoke"}))
    assert (user.reach, user.user_id) == (Reach.USER, "usr_u")
    assert Viewer.of(_ctx(Tier.SERVICE, "usr_s", "acme", {"llm:invoke"})).reach is Reach.USER
    with pytest.raises(VisibilityError):
        Viewer.of(_ctx(Tier.MCP, None, None, {"mcp:call"}))


@pytest.mark.parametrize("report", list(Report))
async def test_visibility_narrows_whatever_the_filters(
    service: AnalyticsService, seeded: Seeded, report: Report
) -> None:
    await service.roll_up()
    table = {
        Report.USAGE: seeded.usage,
        Report.DENIALS: seeded.decisions,
        Report.TOOLS: seeded.tools,
    }[report]
    if report is Report.DENIALS:
        table = [r for r in table if r["decision"] == "deny"]

    async def total(viewer: Viewer, **filters: str) -> int:
        query = service.query(report, {"group_by": "user", **WINDOW, **filters})
        return sum(row.requests for row in await service.run(query, viewer))

    everything = Viewer.everything()
    acme = Viewer(Reach.TENANT, tenant_id="acme")
    ann = Viewer(Reach.USER, tenant_id="acme", user_id="usr_ann")
    assert await total(everything) == len(table)
    assert await total(acme) == sum(r["tenant_id"] == "acme" for r in table)
    assert await total(ann) == sum(r["user_id"] == "usr_ann" for r in table)
    # A filter narrows; it never widens past the viewer's reach.
    assert await total(acme, tenant="globex") == 0
    assert await total(ann, user="usr_bob") == 0
    assert await total(acme, user="usr_bob") == sum(r["user_id"] == "usr_bob" for r in table)
