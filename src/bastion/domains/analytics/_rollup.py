"""The hourly usage rollup and its watermark.

The watermark is the first hour the rollup does not cover: every closed hour below it has
its rows in ``analytics_usage_hourly``; a reader adds the raw ``ai_requests`` rows from the
watermark on, so the current hour is always exact. A scheduled job (not a hook on the audit
writer) keeps it: the gateway's hot path and the writer's batches stay as they were, and
one ``INSERT ... SELECT`` per run aggregates the newly closed hours inside the database.

Rows can land late: the writer's last batch of an hour (``settle_seconds`` waits for it),
or a spill file replayed after an outage, whose rows belong to hours that may have been
rolled up just after the database came back. So each rolled hour is remembered in
``analytics_rolled_hours`` with its row count and when it was rolled, and for
``reconcile_hours`` after that each run re-counts its raw rows and recomputes it if the
count changed. Audit rows are only ever inserted, so an equal count means equal rows; the
work per run is bounded by the hours rolled recently, not by the table.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import delete, func, insert, literal_column, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bastion.domains.analytics._config import AnalyticsConfig
from bastion.domains.analytics._hours import floor_hour, hour_start
from bastion.domains.analytics._sources import SOURCES, epoch_hour, figures
from bastion.domains.analytics._tables import (
    SUM_COLUMNS,
    USAGE_DIMENSION_COLUMNS,
    USAGE_ROLLUP_KEYS,
    ai_requests,
    rolled_hours,
    usage_daily,
    usage_hourly,
    watermarks,
)
from bastion.kernel.analytics import Report, RollupResult

SOURCE = "usage"
UNSET = -1
CHUNK_HOURS = 24  # hours per transaction when catching up
PER_HOUR_COUNTS = 48  # up to this many hours to re-count: one count query each


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
        *(source.dimension(name).label(f"k_{name}") for name in USAGE_ROLLUP_KEYS),
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


async def _recompute(
    conn: AsyncConnection, dialect: str, first: int, end: int, now: dt.datetime
) -> None:
    """Aggregate the hours ``[first, end)`` afresh and remember each, with its count."""
    await conn.execute(
        delete(usage_hourly).where(usage_hourly.c.hour >= first, usage_hourly.c.hour < end)
    )
    await conn.execute(_aggregate(dialect, first, end))
    counts = dict.fromkeys(range(first, end), 0)
    for hour, count in await conn.execute(
        select(usage_hourly.c.hour, func.sum(usage_hourly.c.requests))
        .where(usage_hourly.c.hour >= first, usage_hourly.c.hour < end)
        .group_by(usage_hourly.c.hour)
    ):
        counts[int(hour)] = int(count)
    await conn.execute(
        delete(rolled_hours).where(
            rolled_hours.c.source == SOURCE,
            rolled_hours.c.hour >= first,
            rolled_hours.c.hour < end,
        )
    )
    await conn.execute(
        insert(rolled_hours),
        [
            {"source": SOURCE, "hour": h, "row_count": n, "rolled_at": now}
            for h, n in counts.items()
        ],
    )


async def _refresh_days(conn: AsyncConnection, first: int, end: int) -> None:
    """Rebuild the daily rows of the days ``[first, end)`` (whole days below the
    watermark) from their hourly rows."""
    if end <= first:
        return
    t = usage_hourly
    day = ((t.c.hour // 24) * 24).label("k_day")
    dimensions = [t.c[name] for name in USAGE_DIMENSION_COLUMNS]
    figures = [func.sum(c) for c in t.columns if c.name not in ("hour", *USAGE_DIMENSION_COLUMNS)]
    grouped = (
        select(day, *dimensions, *figures)
        .where(t.c.hour >= first * 24, t.c.hour < end * 24)
        .group_by(literal_column("k_day"), *dimensions)
    )
    await conn.execute(
        delete(usage_daily).where(usage_daily.c.hour >= first * 24, usage_daily.c.hour < end * 24)
    )
    names = ["hour", *USAGE_DIMENSION_COLUMNS]
    names += [c.name for c in t.columns if c.name not in names]
    await conn.execute(insert(usage_daily).from_select(names, grouped))


async def _first_raw_hour(conn: AsyncConnection) -> int | None:
    first = (await conn.execute(select(func.min(ai_requests.c.created_at)))).scalar_one_or_none()
    if first is None:
        return None
    if isinstance(first, str):  # SQLite returns the stored text for an aggregate
        first = dt.datetime.fromisoformat(first)
    if first.tzinfo is None:
        first = first.replace(tzinfo=dt.UTC)
    return floor_hour(first)


async def _changed_hours(
    conn: AsyncConnection, dialect: str, since: dt.datetime, now: dt.datetime
) -> list[int]:
    """The hours rolled up in ``[since, now)`` (not by this run) whose raw row count is
    no longer the one they were rolled with."""
    recorded = {
        int(h): int(n)
        for h, n in await conn.execute(
            select(rolled_hours.c.hour, rolled_hours.c.row_count).where(
                rolled_hours.c.source == SOURCE,
                rolled_hours.c.rolled_at >= since,
                rolled_hours.c.rolled_at < now,
            )
        )
    }
    if not recorded:
        return []
    if len(recorded) <= PER_HOUR_COUNTS:
        # An index range count per hour: no per-row expression to compute.
        raw = {}
        for h in recorded:
            raw[h] = int(
                (
                    await conn.execute(
                        select(func.count()).where(
                            ai_requests.c.created_at >= hour_start(h),
                            ai_requests.c.created_at < hour_start(h + 1),
                        )
                    )
                ).scalar_one()
            )
    else:
        hour = epoch_hour(ai_requests.c.created_at, dialect).label("h")
        raw = {
            int(h): int(n)
            for h, n in await conn.execute(
                select(hour, func.count())
                .where(
                    ai_requests.c.created_at >= hour_start(min(recorded)),
                    ai_requests.c.created_at < hour_start(max(recorded) + 1),
                )
                .group_by(literal_column("h"))
            )
        }
    return sorted(h for h, n in recorded.items() if raw.get(h, 0) != n)


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
            await _recompute(conn, dialect, mark, end, now)
            await _refresh_days(conn, mark // 24, end // 24)
            await _store_watermark(conn, end)
        rolled += end - mark
        mark = end
    repaired = 0
    if config.reconcile_hours > 0:
        since = now - dt.timedelta(hours=config.reconcile_hours)
        async with engine.begin() as conn:
            await read_watermark(conn, lock=True)
            changed = await _changed_hours(conn, dialect, since, now)
            for hour in changed:
                await _recompute(conn, dialect, hour, hour + 1, now)
                if hour // 24 < mark // 24:
                    await _refresh_days(conn, hour // 24, hour // 24 + 1)
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
    now = dt.datetime.now(dt.UTC)
    while first < mark:
        end = min(first + CHUNK_HOURS, mark)
        async with engine.begin() as conn:
            await read_watermark(conn, lock=True)
            await _recompute(conn, dialect, first, end, now)
            await _refresh_days(conn, first // 24, end // 24)
        hours += end - first
        first = end
    return RollupResult(0, hours, hour_start(mark))
