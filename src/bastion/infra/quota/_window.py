"""Window lengths as written in a profile (``1h``, ``1d``, ``30d``, ``90s``, or seconds)."""

from __future__ import annotations

import re

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_PATTERN = re.compile(r"(\d+)\s*([smhd]?)")


def parse_window(value: object) -> object:
    """Seconds for ``"30d"``-style strings; anything else is left for pydantic to judge."""
    if isinstance(value, str):
        match = _PATTERN.fullmatch(value.strip())
        if match is None:
            raise ValueError(
                f"window {value!r} is not a number of seconds or a count with a unit "
                "(s, m, h, d), e.g. '1h', '1d', '30d'"
            )
        return int(match.group(1)) * _UNITS[match.group(2) or "s"]
    return value


def format_window(seconds: int) -> str:
    """The largest whole unit that divides ``seconds``: 3600 -> ``"1h"``, 90 -> ``"90s"``."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
