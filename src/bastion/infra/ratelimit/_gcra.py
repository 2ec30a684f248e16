"""GCRA parameters shared by the in-process and Redis limiters."""

from __future__ import annotations

NS_PER_SECOND = 1_000_000_000
NS_PER_MS = 1_000_000


def emission_interval_ns(rate_per_second: float, burst: int) -> int:
    """The GCRA emission interval for ``rate_per_second``, validating both arguments."""
    if not rate_per_second > 0:
        raise ValueError(f"rate_per_second must be positive, got {rate_per_second!r}")
    if burst < 1:
        raise ValueError(f"burst must be at least 1, got {burst!r}")
    return max(1, round(NS_PER_SECOND / rate_per_second))


def ceil_div(value: int, unit: int) -> int:
    return -(-value // unit)
