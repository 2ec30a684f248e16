"""In-process quota counters: the default backend."""

from __future__ import annotations

from collections.abc import Sequence

from bastion.infra.quota._store import (
    METRICS,
    CounterWindow,
    Exceeded,
    LimitCheck,
    Usage,
)

# A row is [expires_at, requests, input_tokens, output_tokens, cost_microdollars].
_Row = list[int]
_EMPTY = (0, 0, 0, 0, 0)


class MemoryQuotaStore:
    """Counters in a dict keyed by ``CounterWindow.key``.

    Rows of windows that have ended are swept whenever the dict reaches twice its size
    after the previous sweep, so memory tracks the number of live windows. No method
    awaits, so each is atomic within one event loop.
    """

    def __init__(self, *, min_sweep_size: int = 1024) -> None:
        self._rows: dict[str, _Row] = {}
        self._min_sweep_size = min_sweep_size
        self._sweep_at = min_sweep_size

    def __len__(self) -> int:
        return len(self._rows)

    async def admit(
        self, counters: Sequence[CounterWindow], checks: Sequence[LimitCheck], now: float
    ) -> Exceeded | None:
        rows = self._rows
        for index, check in enumerate(checks):
            row: Sequence[int] = rows.get(counters[check.counter].key, _EMPTY)
            for position, limit in enumerate(check.limits, start=1):
                if limit >= 0 and row[position] >= limit:
                    return Exceeded(index, METRICS[position - 1], limit, row[position])
        for counter in counters:
            self._row(counter, now)[1] += 1
        return None

    async def add_usage(self, counters: Sequence[CounterWindow], usage: Usage, now: float) -> None:
        for counter in counters:
            row = self._row(counter, now)
            row[1] += usage.requests
            row[2] += usage.input_tokens
            row[3] += usage.output_tokens
            row[4] += usage.cost_microdollars

    async def usage(self, counter: CounterWindow, now: float) -> Usage:
        row = self._rows.get(counter.key)
        if row is None:
            return Usage()
        return Usage(row[1], row[2], row[3], row[4])

    async def aclose(self) -> None:
        self._rows.clear()

    def _row(self, counter: CounterWindow, now: float) -> _Row:
        row = self._rows.get(counter.key)
        if row is None:
            row = self._rows[counter.key] = [counter.expires_at, 0, 0, 0, 0]
            if len(self._rows) >= self._sweep_at:
                self._sweep(now)
        return row

    def _sweep(self, now: float) -> None:
        ended = [key for key, row in self._rows.items() if row[0] <= now]
        for key in ended:
            del self._rows[key]
        self._sweep_at = max(self._min_sweep_size, 2 * len(self._rows))
