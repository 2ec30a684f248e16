"""``ANALYTICS``: the read model over the audit tables and the hourly usage rollups.

A usage query over ``[since, until)`` reads the rollups for the whole hours inside the
window that lie below the watermark, and the raw ``ai_requests`` rows for the rest (the
partial first hour, everything from the watermark on): counts, tokens and cost are exact
for any window, the current hour included. The rollup part is filtered on its hour range,
so a job advancing the watermark meanwhile can neither double nor drop a row. Denials and
tool calls are far fewer than inference requests and are read raw.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Table, and_, false, func, literal_column, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql.elements import ColumnElement

from bastion.domains.analytics import _rollup
from bastion.domains.analytics._config import AnalyticsConfig
from bastion.domains.analytics._histogram import (
    LATENCY_BOUNDS,
    LATENCY_COLUMNS,
    OVERHEAD_BOUNDS,
    OVERHEAD_COLUMNS,
    percentile,
)
from bastion.domains.analytics._hours import ceil_hour, floor_hour, hour_start, iso_hour
from bastion.domains.analytics._params import parse_query
from bastion.domains.analytics._sources import SOURCES, Source, epoch_hour, figures
from bastion.domains.analytics._tables import (
    SUM_COLUMNS,
    USAGE_ROLLUP_KEYS,
    usage_daily,
    usage_hourly,
)
from bastion.kernel.analytics import (
    AnalyticsQuery,
    Reach,
    Report,
    RollupResult,
    UsageRow,
    Viewer,
)

_N_SUMS = len(SUM_COLUMNS)
_N_LAT = len(LATENCY_BOUNDS)


@dataclass(slots=True)
class _Group:
    sums: list[int] = field(default_factory=lambda: [0] * _N_SUMS)
    latency: list[int] = field(default_factory=lambda: [0] * len(LATENCY_BOUNDS))
    overhead: list[int] = field(default_factory=lambda: [0] * len(OVERHEAD_BOUNDS))

    def add(self, values: Sequence[Any]) -> None:
        for i in range(_N_SUMS):
            self.sums[i] += int(values[i] or 0)
        for i in range(_N_LAT):
            self.latency[i] += int(values[_N_SUMS + i] or 0)
        base = _N_SUMS + _N_LAT
        for i in range(len(OVERHEAD_BOUNDS)):
            self.overhead[i] += int(values[base + i] or 0)


Groups = dict[tuple[Any, ...], _Group]


def _time_key(name: str, hour_expr: ColumnElement[Any]) -> ColumnElement[Any]:
    return hour_expr if name == "hour" else hour_expr // 24


class AnalyticsService:
    """The ``Analytics`` service over one database."""

    def __init__(self, engine: AsyncEngine, config: AnalyticsConfig) -> None:
        self._engine = engine
        self._config = config
        self._dialect = engine.dialect.name

    def query(
        self, report: Report, params: Mapping[str, str], *, now: dt.datetime | None = None
    ) -> AnalyticsQuery:
        return parse_query(report, params, now=now)

    async def usage(self, query: AnalyticsQuery, viewer: Viewer) -> list[UsageRow]:
        return await self.run(_as(query, Report.USAGE), viewer)

    async def denials(self, query: AnalyticsQuery, viewer: Viewer) -> list[UsageRow]:
        return await self.run(_as(query, Report.DENIALS), viewer)

    async def tools(self, query: AnalyticsQuery, viewer: Viewer) -> list[UsageRow]:
        return await self.run(_as(query, Report.TOOLS), viewer)

    async def roll_up(self, *, now: dt.datetime | None = None) -> RollupResult:
        return await _rollup.roll_up(self._engine, self._config, now)

    async def rebuild(self, since: dt.datetime) -> RollupResult:
        return await _rollup.rebuild(self._engine, since)

    async def run(self, query: AnalyticsQuery, viewer: Viewer) -> list[UsageRow]:
        source = SOURCES[query.report]
        groups: Groups = {}
        ranges = [(query.since, query.until)]
        async with self._engine.connect() as conn:
            if query.report is Report.USAGE:
                mark = await _rollup.read_watermark(conn)
                first = ceil_hour(query.since)
                end = min(floor_hour(query.until), mark) if mark is not None else first
                if end > first:
                    await self._rollups(conn, query, viewer, first, end, groups)
                    ranges = [(query.since, hour_start(first)), (hour_start(end), query.until)]
            await self._raw(conn, source, query, viewer, ranges, groups)
        return _rows(query, groups)

    async def _rollups(
        self,
        conn: AsyncConnection,
        query: AnalyticsQuery,
        viewer: Viewer,
        first: int,
        end: int,
        groups: Groups,
    ) -> None:
        """The whole hours ``[first, end)``: whole days from the daily rows (unless the
        query groups by hour), the hours either side of them from the hourly rows."""
        day_first, day_end = -(-first // 24), end // 24
        if "hour" in query.group_by or day_end <= day_first:
            await self._rolled(conn, usage_hourly, query, viewer, [(first, end)], groups)
            return
        await self._rolled(
            conn, usage_daily, query, viewer, [(day_first * 24, day_end * 24)], groups
        )
        edges = [(first, day_first * 24), (day_end * 24, end)]
        await self._rolled(conn, usage_hourly, query, viewer, edges, groups)

    async def _rolled(
        self,
        conn: AsyncConnection,
        t: Table,
        query: AnalyticsQuery,
        viewer: Viewer,
        hours: Sequence[tuple[int, int]],
        groups: Groups,
    ) -> None:
        spans = [and_(t.c.hour >= a, t.c.hour < b) for a, b in hours if a < b]
        if not spans:
            return
        dimensions = {name: t.c[column] for name, column in USAGE_ROLLUP_KEYS.items()}
        keys = [
            (_time_key(name, t.c.hour) if name in ("hour", "day") else dimensions[name]).label(
                f"g{i}"
            )
            for i, name in enumerate(query.group_by)
        ]
        sums = [func.sum(t.c[name]) for name in (*SUM_COLUMNS, *LATENCY_COLUMNS, *OVERHEAD_COLUMNS)]
        conditions = [or_(*spans) if len(spans) > 1 else spans[0]]
        conditions += _narrowing(dimensions, query, viewer)
        statement = (
            select(*keys, *sums)
            .where(*conditions)
            .group_by(*(literal_column(k.name) for k in keys))
        )
        _collect(await conn.execute(statement), len(keys), groups)

    async def _raw(
        self,
        conn: AsyncConnection,
        source: Source,
        query: AnalyticsQuery,
        viewer: Viewer,
        ranges: Sequence[tuple[dt.datetime, dt.datetime]],
        groups: Groups,
    ) -> None:
        windows = [
            and_(source.created_at >= since, source.created_at < until)
            for since, until in ranges
            if since < until
        ]
        if not windows:
            return
        hour = epoch_hour(source.created_at, self._dialect)
        keys = [
            (_time_key(name, hour) if name in ("hour", "day") else source.dimension(name)).label(
                f"g{i}"
            )
            for i, name in enumerate(query.group_by)
        ]
        conditions: list[ColumnElement[bool]] = [or_(*windows) if len(windows) > 1 else windows[0]]
        if source.where is not None:
            conditions.append(source.where)
        conditions += _narrowing(source.dimensions, query, viewer)
        statement = (
            select(*keys, *figures(source))
            .where(*conditions)
            .group_by(*(literal_column(k.name) for k in keys))
        )
        _collect(await conn.execute(statement), len(keys), groups)


def _as(query: AnalyticsQuery, report: Report) -> AnalyticsQuery:
    if query.report is report:
        return query
    return parse_query(
        report,
        {
            "group_by": ",".join(query.group_by),
            "since": query.since.isoformat(),
            "until": query.until.isoformat(),
            "limit": str(query.limit),
            **query.filters,
        },
    )


def _narrowing(
    dimensions: Mapping[str, ColumnElement[Any]], query: AnalyticsQuery, viewer: Viewer
) -> list[ColumnElement[bool]]:
    """The caller's filters and, whatever they say, the viewer's reach."""
    conditions = [dimensions[name] == value for name, value in query.filters.items()]
    if viewer.reach is Reach.TENANT:
        if viewer.tenant_id is None:
            return [false()]
        conditions.append(dimensions["tenant"] == viewer.tenant_id)
    elif viewer.reach is Reach.USER:
        if viewer.user_id is None:
            return [false()]
        conditions.append(dimensions["user"] == viewer.user_id)
    return conditions


def _collect(result: Any, width: int, groups: Groups) -> None:
    for row in result:
        values = tuple(row)
        key = tuple(int(v) if isinstance(v, float) else v for v in values[:width])
        group = groups.get(key)
        if group is None:
            group = groups[key] = _Group()
        group.add(values[width:])


def _label(name: str, value: Any) -> str | None:
    if value is None:
        return None
    if name == "hour":
        return iso_hour(int(value))
    if name == "day":
        return iso_hour(int(value) * 24)
    return str(value)


def _rows(query: AnalyticsQuery, groups: Groups) -> list[UsageRow]:
    rows: list[UsageRow] = []
    for key, g in groups.items():
        requests = g.sums[0]
        if requests == 0:
            continue
        rows.append(
            UsageRow(
                group={name: _label(name, key[i]) for i, name in enumerate(query.group_by)},
                requests=requests,
                allowed=g.sums[1],
                denied=g.sums[2],
                errors=g.sums[3],
                input_tokens=g.sums[4],
                output_tokens=g.sums[5],
                cache_read_tokens=g.sums[6],
                cache_write_tokens=g.sums[7],
                cost_microdollars=g.sums[8],
                latency_p50_ms=percentile(g.latency, LATENCY_BOUNDS, requests, 0.5),
                latency_p95_ms=percentile(g.latency, LATENCY_BOUNDS, requests, 0.95),
                overhead_p50_ms=percentile(g.overhead, OVERHEAD_BOUNDS, requests, 0.5),
            )
        )
    timed = [i for i, name in enumerate(query.group_by) if name in ("hour", "day")]

    def order(row: UsageRow) -> tuple[Any, ...]:
        values = list(row.group.values())
        when = tuple(values[i] or "" for i in timed)
        rest = tuple(v or "" for i, v in enumerate(values) if i not in timed)
        return (*when, -row.cost_microdollars, -row.requests, rest)

    rows.sort(key=order)
    return rows[: query.limit]
