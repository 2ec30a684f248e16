"""The SIEM form of an audit row."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

_STABLE = ("event_type", "timestamp", "trace_id")


def siem_event(event_type: str, row: Mapping[str, Any]) -> dict[str, Any]:
    """One structured event: ``event_type``, ``timestamp`` (ISO-8601 UTC, from the row's
    ``created_at``), ``trace_id``, then every other field of the row under its column
    name, datetimes as ISO-8601 UTC."""
    created = row.get("created_at")
    event: dict[str, Any] = {
        "event_type": event_type,
        "timestamp": iso_utc(created if isinstance(created, datetime) else datetime.now(UTC)),
        "trace_id": row.get("trace_id"),
    }
    for key, value in row.items():
        if key in _STABLE or key == "created_at":
            continue
        event[key] = iso_utc(value) if isinstance(value, datetime) else value
    return event


def iso_utc(moment: datetime) -> str:
    """``2025-01-31T12:00:00.000000Z``; a naive datetime is taken to be UTC already."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.isoformat(timespec="microseconds") + "Z"
