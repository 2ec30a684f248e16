"""The rollup job: its watermark, exact answers for the open hour, late rows repaired,
rebuild, and a run through the platform's scheduler (audited in ``core_job_runs``)."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from sqlalchemy import Table, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bastion.domains.analytics import AnalyticsConfig, AnalyticsExtension, AnalyticsService
from bastion.domains.analytics._sources import SOURCES
from bastion.domains.analytics._tables import (
    USAGE_ROLLUP_KEYS,
    rolled_hours,
    usage_daily,
    usage_hourly,
    watermarks,
)
from bastion.domains.gateway._records import ai_requests
from bastion.kernel.analytics import Report, Viewer
from tests.domains.analytics.conftest import END, NOW, START, floor_hour
from tests.domains.analytics.seed import Seeded, expected_usage, insert, usage_row

EVERYTHING = Viewer.everything()
FIGURES = ("requests", "cost_microdollars", "input_tokens", "denied")


async def _totals(
    service: AnalyticsService, since: dt.datetime, until: dt.datetime
) -> dict[str, int]:
    query = service.query(
        Report.USAGE, {"group_by": "tenant", "since": since.isoformat(), "until": until.isoformat()}
    )
    rows = await service.usage(query, EVERYTHING)
    return {f: sum(getattr(r, f) for r in rows) for f in FIGURES}


def _sums(rows: list[dict[str, object]]) -> dict[str, int]:
    expected = expected_usage(rows, [])
    figures = expected.get((), {})
    return {f: figures.get(f, 0) for f in FIGURES}


async def _by_agent(
    service: AnalyticsService, since: dt.datetime, until: dt.datetime
) -> dict[str | None, dict[str, int]]:
    query = service.query(
        Report.USAGE, {"group_by": "agent", "since": since.isoformat(), "until": until.isoformat()}
    )
    rows = await service.usage(query, EVERYTHING)
    return {r.group["agent"]: {f: getattr(r, f) for f in FIGURES} for r in rows}


def _agent_sums(rows: list[dict[str, Any]]) -> dict[str | None, dict[str, int]]:
    return {
        key[0]: {f: figures.get(f, 0) for f in FIGURES}
        for key, figures in expected_usage(rows, ["agent"]).items()
    }


def _agent_row(rng: random.Random, at: dt.datetime, agent: str) -> dict[str, Any]:
    return {**usage_row(rng, at), "agent_id": agent, "task_id": f"task-{agent}"}


async def _rolled_by_agent(engine: AsyncEngine, table: Table) -> dict[str | None, int]:
    async with engine.connect() as conn:
        result = await conn.execute(
            select(table.c.agent_id, func.sum(table.c.requests)).group_by(table.c.agent_id)
        )
        return {agent: int(n) for agent, n in result}


async def _rollup_rows(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int(
            (await conn.execute(select(func.count()).select_from(usage_hourly))).scalar_one()
        )


async def test_the_watermark_stops_at_the_last_closed_hour(
    engine: AsyncEngine, service: AnalyticsService, seeded: Seeded
) -> None:
    first = await service.roll_up(now=NOW)
    assert first.watermark == floor_hour(NOW)
    assert first.hours_rolled == int((floor_hour(NOW) - floor_hour(START)).total_seconds() // 3600)
    assert first.hours_repaired == 0
    # Nothing new: a second run rolls and repairs nothing.
    again = await service.roll_up(now=NOW)
    assert (again.hours_rolled, again.hours_repaired, again.watermark) == (0, 0, first.watermark)
    # The open hour is in no rollup row.
    async with engine.connect() as conn:
        top = (await conn.execute(select(func.max(usage_hourly.c.hour)))).scalar_one()
    assert top == int(floor_hour(NOW).timestamp()) // 3600 - 1


async def test_settle_time_keeps_a_just_closed_hour_raw(
    engine: AsyncEngine, seeded: Seeded
) -> None:
    service = AnalyticsService(engine, AnalyticsConfig(settle_seconds=600))
    just_after = floor_hour(NOW) + dt.timedelta(minutes=5)
    result = await service.roll_up(now=just_after)
    assert result.watermark == floor_hour(NOW) - dt.timedelta(hours=1)


async def test_the_open_hour_is_exact(service: AnalyticsService, seeded: Seeded) -> None:
    await service.roll_up(now=NOW)
    rng = random.Random(7)
    fresh = [usage_row(rng, END - dt.timedelta(seconds=s)) for s in (1, 2, 3)]
    await insert(service._engine, ai_requests, fresh)
    until = END + dt.timedelta(seconds=1)
    assert await _totals(service, START, until) == _sums([*seeded.usage, *fresh])
    open_hour = [r for r in [*seeded.usage, *fresh] if r["created_at"] >= floor_hour(NOW)]
    assert await _totals(service, floor_hour(NOW), until) == _sums(open_hour)
    # An agent's request in the open hour counts under it at once.
    busy = [_agent_row(rng, END - dt.timedelta(seconds=4), "fresh-agent")]
    await insert(service._engine, ai_requests, busy)
    every = [*seeded.usage, *fresh, *busy]
    assert (await _by_agent(service, START, until))["fresh-agent"]["requests"] == 1
    assert await _by_agent(service, START, until) == _agent_sums(every)


async def test_late_rows_in_a_rolled_hour_are_repaired(
    engine: AsyncEngine, service: AnalyticsService, seeded: Seeded
) -> None:
    await service.roll_up(now=NOW)
    until = END + dt.timedelta(seconds=1)
    rng = random.Random(8)
    # Two rows of closed hours, written after those hours were rolled up (a spill
    # file replayed): the next run finds the two hours' counts changed.
    late = [
        usage_row(rng, floor_hour(NOW) - dt.timedelta(hours=3, minutes=10)),
        usage_row(rng, floor_hour(NOW) - dt.timedelta(hours=20, minutes=1)),
    ]
    late.append(_agent_row(rng, floor_hour(NOW) - dt.timedelta(hours=3, minutes=40), "late"))
    await insert(engine, ai_requests, late)
    repaired = await service.roll_up(now=NOW + dt.timedelta(seconds=1))
    assert repaired.hours_repaired == 2
    # Recomputed hours are watched again; nothing changed since.
    assert (await service.roll_up(now=NOW + dt.timedelta(seconds=2))).hours_repaired == 0
    assert await _totals(service, START, until) == _sums([*seeded.usage, *late])
    assert await _by_agent(service, START, until) == _agent_sums([*seeded.usage, *late])
    assert (await _rolled_by_agent(engine, usage_hourly))["late"] == 1


async def test_late_rows_beyond_the_reconcile_window_need_a_rebuild(
    engine: AsyncEngine, seeded: Seeded
) -> None:
    service = AnalyticsService(engine, AnalyticsConfig(settle_seconds=0, reconcile_hours=1))
    # Rolled up two hours ago: past the reconcile window by now.
    await service.roll_up(now=NOW - dt.timedelta(hours=2))
    await service.roll_up(now=NOW)
    until = END + dt.timedelta(seconds=1)
    rng = random.Random(9)
    late = [
        usage_row(rng, floor_hour(NOW) - dt.timedelta(hours=10, minutes=30)),
        _agent_row(rng, floor_hour(NOW) - dt.timedelta(hours=30, minutes=30), "restored"),
    ]
    await insert(engine, ai_requests, late)
    assert (await service.roll_up(now=NOW + dt.timedelta(seconds=1))).hours_repaired == 0
    assert await _totals(service, START, until) == _sums(seeded.usage)
    assert "restored" not in await _by_agent(service, START, until)
    rebuilt = await service.rebuild(START)
    assert rebuilt.hours_repaired >= 30
    assert await _totals(service, START, until) == _sums([*seeded.usage, *late])
    assert await _by_agent(service, START, until) == _agent_sums([*seeded.usage, *late])
    for table in (usage_hourly, usage_daily):
        assert (await _rolled_by_agent(engine, table))["restored"] == 1


async def test_an_empty_database_starts_at_the_current_hour(
    engine: AsyncEngine, service: AnalyticsService
) -> None:
    result = await service.roll_up(now=NOW)
    assert (result.hours_rolled, result.watermark) == (0, floor_hour(NOW))
    assert await _rollup_rows(engine) == 0
    async with engine.connect() as conn:
        hour = (await conn.execute(select(watermarks.c.hour))).scalar_one()
    assert hour == int(NOW.timestamp()) // 3600


async def test_the_rollup_is_much_smaller_than_the_raw_rows(
    engine: AsyncEngine, service: AnalyticsService, seeded: Seeded
) -> None:
    await service.roll_up(now=NOW)
    assert 0 < await _rollup_rows(engine) < len(seeded.usage)
    async with engine.connect() as conn:
        days = (await conn.execute(select(func.count()).select_from(usage_daily))).scalar_one()
        whole = (
            await conn.execute(select(func.count(func.distinct(usage_daily.c.hour))))
        ).scalar_one()
    assert (
        days > 0
        and whole
        == (int(floor_hour(NOW).timestamp()) // 3600) // 24 - (int(START.timestamp()) // 3600) // 24
    )


async def test_a_few_recent_hours_are_recounted_one_by_one(
    engine: AsyncEngine, seeded: Seeded
) -> None:
    service = AnalyticsService(engine, AnalyticsConfig(settle_seconds=0, reconcile_hours=0.5))
    await service.roll_up(now=NOW - dt.timedelta(hours=1))
    latest = await service.roll_up(now=NOW)  # rolls the last closed hour only
    assert latest.hours_rolled == 1
    late = [usage_row(random.Random(10), floor_hour(NOW) - dt.timedelta(minutes=30))]
    await insert(engine, ai_requests, late)
    assert (await service.roll_up(now=NOW + dt.timedelta(seconds=1))).hours_repaired == 1
    until = END + dt.timedelta(seconds=1)
    assert await _totals(service, START, until) == _sums([*seeded.usage, *late])


def test_every_usage_dimension_is_in_the_rollup_key() -> None:
    assert set(USAGE_ROLLUP_KEYS) == set(SOURCES[Report.USAGE].dimensions)
    assert set(USAGE_ROLLUP_KEYS.values()) <= set(usage_hourly.c.keys())


async def test_the_rollup_carries_the_agent_of_every_row(
    engine: AsyncEngine, service: AnalyticsService, seeded: Seeded
) -> None:
    result = await service.roll_up(now=NOW)
    assert result.watermark is not None
    rolled = [r for r in seeded.usage if r["created_at"] < result.watermark]
    expected = {agent: figures["requests"] for agent, figures in _agent_sums(rolled).items()}
    assert set(expected) == {"triage", "coder", None}
    assert await _rolled_by_agent(engine, usage_hourly) == expected
    # Every day the watermark has passed, the first (partial) day of the rows included.
    day_end = floor_hour(result.watermark).replace(hour=0)
    daily = [r for r in rolled if r["created_at"] < day_end]
    assert await _rolled_by_agent(engine, usage_daily) == {
        agent: figures["requests"] for agent, figures in _agent_sums(daily).items()
    }


async def _reset_statements(engine: AsyncEngine) -> None:
    """What migration 002 does past its ``ALTER TABLE``s, run again on a rolled database."""
    (migration,) = [m for m in AnalyticsExtension().migrations() if m.version == 2]
    statements = [
        "\n".join(line for line in s.splitlines() if not line.startswith("--"))
        for s in migration.statements(engine.dialect.name)
    ]
    assert [s.startswith("ALTER TABLE") for s in statements] == [True] * 2 + [False] * 4
    async with engine.begin() as conn:
        for statement in statements[2:]:
            await conn.exec_driver_sql(statement)


async def _count(engine: AsyncEngine, table: Table) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(table))).scalar_one())


async def test_the_migration_re_rolls_hours_rolled_without_agents(
    engine: AsyncEngine, service: AnalyticsService, seeded: Seeded
) -> None:
    await service.roll_up(now=NOW)
    assert await _count(engine, usage_daily) > 0
    await _reset_statements(engine)
    for table in (usage_hourly, usage_daily, rolled_hours):
        assert await _count(engine, table) == 0
    until = END + dt.timedelta(seconds=1)
    # Raw until the job runs again: exact all along.
    assert await _by_agent(service, START, until) == _agent_sums(seeded.usage)
    again = await service.roll_up(now=NOW)
    assert again.watermark == floor_hour(NOW) and again.hours_rolled >= 54
    assert await _by_agent(service, START, until) == _agent_sums(seeded.usage)
    assert None in await _rolled_by_agent(engine, usage_hourly)


async def test_the_migration_keeps_rollups_when_no_row_names_an_agent(
    engine: AsyncEngine, service: AnalyticsService
) -> None:
    rng = random.Random(11)
    plain = [{**usage_row(rng, START + dt.timedelta(hours=h)), "agent_id": None} for h in range(30)]
    await insert(engine, ai_requests, plain)
    await service.roll_up(now=NOW)
    before = (await _count(engine, usage_hourly), await _count(engine, usage_daily))
    await _reset_statements(engine)
    assert (await _count(engine, usage_hourly), await _count(engine, usage_daily)) == before
    async with engine.connect() as conn:
        hour = (await conn.execute(select(watermarks.c.hour))).scalar_one()
    assert hour == int(floor_hour(NOW).timestamp()) // 3600
