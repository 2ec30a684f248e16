"""Wire-format parameters (``group_by=user,model&since=24h&tenant=acme``) to a query."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping

from bastion.domains.analytics._sources import SOURCES
from bastion.kernel.analytics import (
    DIMENSIONS,
    TIME_DIMENSIONS,
    AnalyticsQuery,
    AnalyticsQueryError,
    Report,
)

DEFAULT_GROUP: Mapping[Report, str] = {
    Report.USAGE: "model",
    Report.DENIALS: "rule",
    Report.TOOLS: "tool",
}
DEFAULT_SINCE = "24h"
DEFAULT_LIMIT = 100
MAX_LIMIT = 10_000
MAX_FILTER_LENGTH = 1024
_RELATIVE = re.compile(r"^(\d{1,6})([smhdw])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_WHERE_ELSE: Mapping[str, str] = {
    "mcp_server": "tools, or denials",
    "tool": "tools, or denials",
    "rule": "denials, or tools",
    "stage": "denials, or tools",
    "method": "tools",
    "target": "denials",
    "model": "usage",
    "provider": "usage",
}


def _when(name: str, value: str, now: dt.datetime) -> dt.datetime:
    text = value.strip()
    relative = _RELATIVE.match(text)
    if relative:
        return now - dt.timedelta(seconds=int(relative[1]) * _UNIT_SECONDS[relative[2]])
    try:
        parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise AnalyticsQueryError(
            f"{name}: {value!r} is neither a duration (30m, 24h, 7d, 2w) nor an ISO 8601 "
            "date or time"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC)


def _unknown(report: Report, name: str) -> AnalyticsQueryError:
    source = SOURCES[report]
    known = ", ".join(d for d in DIMENSIONS if source.knows(d))
    if name in DIMENSIONS:
        hint = _WHERE_ELSE.get(name)
        elsewhere = f"; see {hint}" if hint else ""
        return AnalyticsQueryError(
            f"{report.value} cannot be grouped or filtered by {name!r}: the table it reads "
            f"does not record it{elsewhere}. {report.value} knows: {known}"
        )
    return AnalyticsQueryError(f"unknown dimension {name!r}; {report.value} knows: {known}")


def _group_by(report: Report, value: str | None) -> tuple[str, ...]:
    if value is None:
        return (DEFAULT_GROUP[report],)
    names = tuple(part.strip() for part in value.split(","))
    if not names or any(not n for n in names) or len(names) > 2:
        raise AnalyticsQueryError("group_by: one or two dimensions, comma separated")
    if len(set(names)) != len(names):
        raise AnalyticsQueryError("group_by: a dimension is named twice")
    source = SOURCES[report]
    for name in names:
        if not source.knows(name):
            raise _unknown(report, name)
    if all(n in TIME_DIMENSIONS for n in names) and len(names) == 2:
        raise AnalyticsQueryError("group_by: hour and day together; pick one time bucket")
    return names


def _limit(value: str | None) -> int:
    if value is None:
        return DEFAULT_LIMIT
    try:
        limit = int(value)
    except ValueError:
        raise AnalyticsQueryError(f"limit: {value!r} is not a whole number") from None
    if not 1 <= limit <= MAX_LIMIT:
        raise AnalyticsQueryError(f"limit: between 1 and {MAX_LIMIT}")
    return limit


def parse_query(
    report: Report, params: Mapping[str, str], *, now: dt.datetime | None = None
) -> AnalyticsQuery:
    now = now or dt.datetime.now(dt.UTC)
    source = SOURCES[report]
    filters: dict[str, str] = {}
    for key, value in params.items():
        if key in ("group_by", "since", "until", "limit"):
            continue
        if key in TIME_DIMENSIONS:
            raise AnalyticsQueryError(f"{key} is a time bucket: use since and until to filter")
        if key not in DIMENSIONS:
            raise AnalyticsQueryError(
                f"unknown parameter {key!r}; expected group_by, since, until, limit or a "
                "dimension to filter by"
            )
        if not source.knows(key):
            raise _unknown(report, key)
        if not value or len(value) > MAX_FILTER_LENGTH:
            raise AnalyticsQueryError(f"{key}: a value of 1 to {MAX_FILTER_LENGTH} characters")
        filters[key] = value
    since = _when("since", params.get("since", DEFAULT_SINCE), now)
    until = _when("until", params["until"], now) if "until" in params else now
    if since >= until:
        raise AnalyticsQueryError("since must be before until")
    return AnalyticsQuery(
        report=report,
        group_by=_group_by(report, params.get("group_by")),
        since=since,
        until=until,
        filters=filters,
        limit=_limit(params.get("limit")),
    )
