"""The in-process GCRA limiter: the default backend, one dict entry per active key."""

from __future__ import annotations

import time
from collections.abc import Callable

from bastion.infra.ratelimit._decision import RateDecision
from bastion.infra.ratelimit._gcra import NS_PER_MS, ceil_div, emission_interval_ns
from bastion.kernel.policy import tuple_constructor

_new_rate_decision = tuple_constructor(RateDecision)
_MAX_INTERVALS = 256


class MemoryRateLimiter:
    """GCRA over a dict of theoretical arrival times (TAT), in integer nanoseconds.

    A key whose TAT is not in the future is indistinguishable from an absent key, so such
    entries are swept whenever the dict reaches twice its size after the previous sweep:
    memory stays within twice the number of keys with a live TAT, at amortised O(1) cost.
    ``check`` never awaits, so it is atomic within one event loop.
    """

    def __init__(
        self,
        *,
        clock_ns: Callable[[], int] = time.monotonic_ns,
        min_sweep_size: int = 1024,
    ) -> None:
        self._clock_ns = clock_ns
        self._tat: dict[str, int] = {}
        self._min_sweep_size = min_sweep_size
        self._sweep_at = min_sweep_size
        # Validated intervals per (rate, burst): a profile configures a handful.
        self._intervals: dict[tuple[float, int], int] = {}

    def __len__(self) -> int:
        return len(self._tat)

    async def check(self, key: str, rate_per_second: float, burst: int) -> RateDecision:
        limit = (rate_per_second, burst)
        interval = self._intervals.get(limit)
        if interval is None:
            interval = emission_interval_ns(rate_per_second, burst)
            if len(self._intervals) >= _MAX_INTERVALS:
                self._intervals.clear()
            self._intervals[limit] = interval
        now = self._clock_ns()
        tat = self._tat.get(key, now)
        if tat < now:
            tat = now
        new_tat = tat + interval
        allow_at = new_tat - burst * interval
        if now < allow_at:
            return RateDecision(
                False, ceil_div(allow_at - now, NS_PER_MS), 0, ceil_div(tat - now, NS_PER_MS)
            )
        self._tat[key] = new_tat
        if len(self._tat) >= self._sweep_at:
            self._sweep(now)
        return _new_rate_decision(
            (True, 0, (now - allow_at) // interval, ceil_div(new_tat - now, NS_PER_MS))
        )

    async def aclose(self) -> None:
        self._tat.clear()

    def _sweep(self, now: int) -> None:
        expired = [key for key, tat in self._tat.items() if tat <= now]
        for key in expired:
            del self._tat[key]
        self._sweep_at = max(self._min_sweep_size, 2 * len(self._tat))
