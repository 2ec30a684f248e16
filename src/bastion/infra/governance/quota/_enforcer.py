"""Matching a principal to its quota rules, admitting requests and recording usage."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from bastion.infra.governance.quota._settings import (
    QuotaMetric,
    QuotaRule,
    QuotaSettings,
    SubjectType,
)
from bastion.infra.governance.quota._store import CounterWindow, LimitCheck, QuotaStore, Usage
from bastion.infra.governance.quota._window import format_window
from bastion.kernel.context import RequestContext

_UNITS = {
    QuotaMetric.REQUESTS: "requests",
    QuotaMetric.INPUT_TOKENS: "input tokens",
    QuotaMetric.OUTPUT_TOKENS: "output tokens",
    QuotaMetric.COST_MICRODOLLARS: "microdollars",
}


@dataclass(frozen=True, slots=True)
class QuotaBreach:
    """A rule whose window has no room left for the request."""

    rule: QuotaRule
    subject_id: str
    metric: QuotaMetric
    used: int
    limit: int
    retry_after_ms: int

    @property
    def rule_id(self) -> str:
        """``quota.<subject type>.<metric>``, e.g. ``quota.user.output_tokens``."""
        return f"quota.{self.rule.subject.value}.{self.metric.value}"

    @property
    def reason(self) -> str:
        unit = _UNITS[self.metric]
        return (
            f"{self.rule.subject.value} quota of {self.limit} {unit} per "
            f"{format_window(self.rule.window)} window reached ({self.used} used); "
            f"the window resets in {math.ceil(self.retry_after_ms / 1000)} s"
        )


def _subject_id(principal: RequestContext, subject: SubjectType) -> str | None:
    if subject is SubjectType.USER:
        return principal.user_id
    if subject is SubjectType.TENANT:
        return principal.tenant_id
    return principal.api_key_id


@dataclass(frozen=True, slots=True)
class _Match:
    rule: QuotaRule
    subject_id: str
    counter: int


class QuotaEnforcer:
    """Applies ``QuotaSettings`` to principals over a ``QuotaStore``.

    Windows are fixed and aligned to the Unix epoch, computed from ``clock`` (Unix
    seconds; replicas sharing a Redis store should keep their clocks in sync with NTP).
    A rule applies to a principal that has an id of the rule's subject type matching its
    ``subject_id`` (or any id, for ``"*"``).
    """

    def __init__(
        self,
        settings: QuotaSettings,
        store: QuotaStore,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._enabled = settings.enabled
        self._rules = settings.rules if settings.enabled else ()
        self._store = store
        self._clock = clock

    @property
    def enabled(self) -> bool:
        return self._enabled

    async def admit(self, principal: RequestContext) -> QuotaBreach | None:
        """Count one request for ``principal``, or return the first rule it would breach."""
        if not self._rules:
            return None
        now = self._clock()
        counters, matches = self._match(principal, now)
        if not matches:
            return None
        checks = [LimitCheck(m.counter, m.rule.limits.as_tuple()) for m in matches]
        exceeded = await self._store.admit(counters, checks, now)
        if exceeded is None:
            return None
        match = matches[exceeded.check]
        window_end = counters[match.counter].expires_at
        return QuotaBreach(
            rule=match.rule,
            subject_id=match.subject_id,
            metric=exceeded.metric,
            used=exceeded.used,
            limit=exceeded.limit,
            retry_after_ms=max(1, math.ceil((window_end - now) * 1000)),
        )

    async def record_usage(
        self,
        principal: RequestContext,
        input_tokens: int,
        output_tokens: int,
        cost_microdollars: int,
    ) -> None:
        """Add a response's tokens and cost to every window ``principal`` is counted in."""
        if min(input_tokens, output_tokens, cost_microdollars) < 0:
            raise ValueError("usage cannot be negative")
        if not self._rules:
            return
        now = self._clock()
        counters, _ = self._match(principal, now)
        if counters:
            usage = Usage(0, input_tokens, output_tokens, cost_microdollars)
            await self._store.add_usage(counters, usage, now)

    async def usage(self, principal: RequestContext, rule: QuotaRule) -> Usage:
        """What ``principal`` has used in ``rule``'s current window."""
        subject_id = _subject_id(principal, rule.subject)
        if subject_id is None:
            return Usage()
        now = self._clock()
        return await self._store.usage(_counter(rule, subject_id, now), now)

    async def aclose(self) -> None:
        await self._store.aclose()

    def _match(
        self, principal: RequestContext, now: float
    ) -> tuple[list[CounterWindow], list[_Match]]:
        counters: list[CounterWindow] = []
        index_of: dict[str, int] = {}
        matches: list[_Match] = []
        for rule in self._rules:
            subject_id = _subject_id(principal, rule.subject)
            if subject_id is None or rule.subject_id not in ("*", subject_id):
                continue
            counter = _counter(rule, subject_id, now)
            position = index_of.get(counter.key)
            if position is None:
                position = index_of[counter.key] = len(counters)
                counters.append(counter)
            matches.append(_Match(rule, subject_id, position))
        return counters, matches


def _counter(rule: QuotaRule, subject_id: str, now: float) -> CounterWindow:
    index = int(now // rule.window)
    return CounterWindow(
        f"{rule.subject.value}:{rule.window}:{index}:{subject_id}", (index + 1) * rule.window
    )
