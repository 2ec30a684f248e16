"""The fixed latency histograms the rollups keep, and percentiles read from them.

Each histogram is cumulative: column ``k`` counts the requests at or under bound ``k``
(``LATENCY_BOUNDS`` for end-to-end latency, ``OVERHEAD_BOUNDS`` for the time Bastion
itself added). Bounds grow by a factor of sqrt(2), so a percentile is placed in the
right bucket exactly and interpolated linearly inside it: the estimate and the true value
lie in the same bucket, less than 41 % of its lower bound apart (a few percent on
realistic traffic). Cumulative counts add up across rollup rows, so merging hours is a
``SUM`` per column.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

LATENCY_BOUNDS: Final[tuple[float, ...]] = tuple(2 ** (k / 2) for k in range(0, 41))
"""1 ms ... 1,048,576 ms (17.5 minutes)."""

OVERHEAD_BOUNDS: Final[tuple[float, ...]] = tuple(2 ** (k / 2) for k in range(-14, 27))
"""0.0078 ms ... 8,192 ms."""

LATENCY_COLUMNS: Final[tuple[str, ...]] = tuple(f"lat_{k:02d}" for k in range(len(LATENCY_BOUNDS)))
OVERHEAD_COLUMNS: Final[tuple[str, ...]] = tuple(
    f"ovh_{k:02d}" for k in range(len(OVERHEAD_BOUNDS))
)


def percentile(
    cumulative: Sequence[int], bounds: Sequence[float], total: int, q: float
) -> float | None:
    """The ``q`` quantile (0 < q <= 1) of ``total`` values whose cumulative histogram
    over ``bounds`` is ``cumulative``; None for no values. A quantile above the last
    bound is reported as the last bound."""
    if total <= 0:
        return None
    rank = q * total
    below_count, below_bound = 0, 0.0
    for count, bound in zip(cumulative, bounds, strict=True):
        if count >= rank:
            inside = count - below_count
            if inside <= 0:
                return round(bound, 3)
            return round(below_bound + (bound - below_bound) * (rank - below_count) / inside, 3)
        below_count, below_bound = count, bound
    return round(bounds[-1], 3)
