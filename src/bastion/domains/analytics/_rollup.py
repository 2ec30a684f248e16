"""The hourly usage rollup and its watermark.

The watermark is the first hour the rollup does not cover: every closed hour below it has
its rows in ``analytics_usage_hourly``; a reader adds the raw ``ai_requests`` rows from the
watermark on, so the current hour is always exact. A scheduled job (not a hook on the audit
writer) keeps it: the gateway's hot path and the writer's batches stay as they were, and
one ``INSERT ... SELECT`` per run aggregates an hour inside the database.

Rows can land late (the writer's last batch of an hour, a spill file replayed after an
outage): each run re-counts the last ``reconcile_hours`` closed hours against the raw rows
and recomputes an hour whose count changed. Audit rows are only ever inserted, so equal
counts mean equal rows.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import and_, delete, func, insert, literal_column, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bastion.domains.analytics._config import AnalyticsConfig
from bastion.domains.analytics._hours import floor_hour, hour_start
from bastion.domains.analytics._sources import SOURCES, epoch_hour, figures
from bastion.domains.analytics._tables import (
    SUM_COLUMNS,
    USAGE_DIMENSION_COLUMNS,
    ai_requests,
    usage_hourly,
    watermarks,
)
from bastion.kernel.analytics import Report, RollupResult

SOURCE = "usage"
UNSET = -1
CHUNK_HOURS = 24  # hours per transaction when catching up


async def read_watermark(conn: AsyncConnection, *, lock: bool = False) -> int | None:
    query = select(watermarks.c.hour).where(watermarks.c.source == SOURCE)
    if lock:
        query = query.with_for_update()
    hour = (await conn.execute(query)).scalar_one_or_none()
    return None if hour is None or hour == UNSET else int(hour)


async def _store_watermark(conn: AsyncConnection, hour: int) -> None:
    now = dt.datetime.now(dt.UTC)
    done = await conn.execute(
        update(watermarks).where(watermarks.c.source == SOURCE).values(hour=hour, updated_at=now)
    )
    if not done.rowcount:
        await conn.execute(insert(watermarks).values(source=SOURCE, hour=hour, updated_at=now))


def _aggregate(dialect: str, first: int, end: int) -> Any:
    """``INSERT INTO analytics_usage_hourly SELECT ...`` for the hours ``[first, end)``."""
    source = SOURCES[Report.USAGE]
    t = ai_requests
    keys = [
        epoch_hour(t.c.created_at, dialect).label("k_hour"),
        t.c.tenant_id.label("k_tenant"),
        t.c.user_id.label("k_user"),
        t.c.api_key_id.label("k_key"),
        t.c.client_id.label("k_client"),
        t.c.requested_model.label("k_model"),
        t.c.route.label("k_route"),
        t.c.provider.label("k_provider"),
    ]
    grouped = (
        select(*keys, *figures(source))
        .where(t.c.created_at >= hour_start(first), t.c.created_at < hour_start(end))
        .group_by(*(literal_column(k.name) for k in keys))
    )
    names = [
        "hour",
        *USAGE_DIMENSION_COLUMNS,
        *SUM_COLUMNS,
        *(c.name for c in usage_hourly.columns if c.name.startswith(("lat_", "ovh_"))),
    ]
    return insert(usage_hourly).from_select(names, grouped)


async def _recompute(conn: AsyncConnection, dialect: str, first: int, end: int) -> None:
    await conn.execute(
        delete(usage_hourly).where(usage_hourly.c.hour >= first, usage_hourly.c.hour < end)
    )
    await conn.execute(_aggregate(dialect, first, end))


async def _first_raw_hour(conn: AsyncConnection) -> int | None:
    first = (await conn.execute(select(func.min(ai_requests.c.created_at)))).scalar_one_or_none()
    if first is None:
        return None
    if isinstance(first, str):  # SQLite returns the stored text for an aggregate
        first = dt.datetime.fromisoformat(first)
    if first.tzinfo is None:
        first = first.replace(tzinfo=dt.UTC)
    return floor_hour(first)


async def _changed_hours(conn: AsyncConnection, dialect: str, first: int, end: int) -> list[int]:
    """The hours in ``[first, end)`` whose raw row count differs from the rollup's."""
    hour = epoch_hour(ai_requests.c.created_at, dialect).label("h")
    raw_counts = {
        int(h): int(n)
        for h, n in await conn.execute(
            select(hour, func.count())
            .where(
                ai_requests.c.created_at >= hour_start(first),
                ai_requests.c.created_at < hour_start(end),
            )
            .group_by(literal_column("h"))
        )
    }
    rolled_counts = {
        int(h): int(n)
        for h, n in await conn.execute(
            select(usage_hourly.c.hour, func.sum(usage_hourly.c.requests))
            .where(and_(usage_hourly.c.hour >= first, usage_hourly.c.hour < end))
            .group_by(usage_hourly.c.hour)
        )
    }
    return sorted(
        h
        for h in raw_counts.keys() | rolled_counts.keys()
        if raw_counts.get(h, 0) != rolled_counts.get(h, 0)
    )


async def roll_up(
    engine: AsyncEngine, config: AnalyticsConfig, now: dt.datetime | None = None
) -> RollupResult:
    now = now or dt.datetime.now(dt.UTC)
    dialect = engine.dialect.name
    target = floor_hour(now - dt.timedelta(seconds=config.settle_seconds))
    async with engine.begin() as conn:
        start = await read_watermark(conn, lock=True)
        if start is None:
            start = await _first_raw_hour(conn)
            if start is None or start > target:
                start = target
            await _store_watermark(conn, start)
    mark, rolled = start, 0
    while mark < target:
        end = min(mark + CHUNK_HOURS, target)
        async with engine.begin() as conn:
            held = await read_watermark(conn, lock=True)
            if held is not None and held > mark:  # another runner got there first
                mark = held
                continue
            await _recompute(conn, dialect, mark, end)
            await _store_watermark(conn, end)
        rolled += end - mark
        mark = end
    repaired = 0
    first = max(target - config.reconcile_hours, 0)
    if config.reconcile_hours and first < start:
        async with engine.begin() as conn:
            await read_watermark(conn, lock=True)
            changed = await _changed_hours(conn, dialect, first, start)
            for hour in changed:
                await _recompute(conn, dialect, hour, hour + 1)
        repaired = len(changed)
    return RollupResult(rolled, repaired, hour_start(mark))


async def rebuild(engine: AsyncEngine, since: dt.datetime) -> RollupResult:
    """Recompute every rolled-up hour from ``since``'s on."""
    dialect = engine.dialect.name
    first, hours = floor_hour(since), 0
    async with engine.connect() as conn:
        mark = await read_watermark(conn)
    if mark is None:
        return RollupResult(0, 0, None)
    while first < mark:
        end = min(first + CHUNK_HOURS, mark)
        async with engine.begin() as conn:
            await read_watermark(conn, lock=True)
            await _recompute(conn, dialect, first, end)
        hours += end - first
        first = end
    return RollupResult(0, hours, hour_start(mark))
