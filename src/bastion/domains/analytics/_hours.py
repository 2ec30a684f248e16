"""Whole UTC hours as integers (hours since the epoch), the rollups' time key."""

from __future__ import annotations

import datetime as dt

HOUR_SECONDS = 3600


def floor_hour(moment: dt.datetime) -> int:
    return int(moment.timestamp() // HOUR_SECONDS)


def ceil_hour(moment: dt.datetime) -> int:
    seconds = moment.timestamp()
    hour = int(seconds // HOUR_SECONDS)
    return hour if hour * HOUR_SECONDS == seconds else hour + 1


def hour_start(hour: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(hour * HOUR_SECONDS, dt.UTC)


def iso_hour(hour: int) -> str:
    return hour_start(hour).strftime("%Y-%m-%dT%H:%M:%SZ")
