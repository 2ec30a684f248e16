"""The counter store protocol both backends implement, and the values it exchanges."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple, Protocol, runtime_checkable

from bastion.infra.quota._settings import QuotaMetric

METRICS = tuple(QuotaMetric)


@dataclass(frozen=True, slots=True)
class Usage:
    """What one subject has used in one window."""

    requests: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_microdollars: int = 0

    def as_tuple(self) -> tuple[int, int, int, int]:
        return (self.requests, self.input_tokens, self.output_tokens, self.cost_microdollars)


# CounterWindow and LimitCheck are built for every governed request, so they are named
# tuples: a frozen dataclass costs about three times as much to construct.


class CounterWindow(NamedTuple):
    """One subject's counters for one window.

    ``key`` is ``<subject type>:<window seconds>:<window index>:<subject id>``: the
    free-form id comes last so no two windows can share a key. ``expires_at`` is the
    window's end in Unix seconds.
    """

    key: str
    expires_at: int


class LimitCheck(NamedTuple):
    """Limits (in ``QuotaMetric`` order, -1 for none) to hold one counter to."""

    counter: int
    limits: tuple[int, int, int, int]


@dataclass(frozen=True, slots=True)
class Exceeded:
    """The first failing check: its index, the metric, its limit and what had been used."""

    check: int
    metric: QuotaMetric
    limit: int
    used: int


@runtime_checkable
class QuotaStore(Protocol):
    async def admit(
        self, counters: Sequence[CounterWindow], checks: Sequence[LimitCheck], now: float
    ) -> Exceeded | None:
        """Atomically: if no check's counter has reached a limit, count one request in
        every counter and return None; otherwise change nothing and return the first
        failure. A counter at its request limit has no room for this request."""
        ...

    async def add_usage(self, counters: Sequence[CounterWindow], usage: Usage, now: float) -> None:
        """Add ``usage`` to every counter."""
        ...

    async def usage(self, counter: CounterWindow, now: float) -> Usage:
        """The counter's current totals (zero if it does not exist)."""
        ...

    async def aclose(self) -> None:
        """Release any connection the store owns."""
        ...
