"""Matching a principal to its quota rules, admitting requests and recording usage."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import NamedTuple

from bastion.infra.quota._settings import (
    QuotaMetric,
    QuotaRule,
    QuotaSettings,
    SubjectType,
)
from bastion.infra.quota._standing import QuotaStanding
from bastion.infra.quota._store import CounterWindow, LimitCheck, QuotaStore, Usage
from bastion.infra.quota._window import format_window
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


def _counter(rule: QuotaRule, subject_id: str, now: float) -> CounterWindow:
    index = int(now // rule.window)
    return CounterWindow(
        f"{rule.subject.value}:{rule.window}:{index}:{subject_id}", (index + 1) * rule.window
    )


class _Compiled(NamedTuple):
    rule: QuotaRule
    limits: tuple[int, int, int, int]


class _Plan(NamedTuple):
    counters: list[CounterWindow]
    checks: list[LimitCheck]
    rules: list[QuotaRule]
    subject_ids: list[str]


_PLAN_CACHE_SIZE = 10_000


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
        self._rules = [
            _Compiled(rule, rule.limits.as_tuple()) for rule in settings.rules if settings.enabled
        ]
        self._store = store
        self._clock = clock
        # A principal's plan only changes when one of its windows ends: it is built once
        # per principal and window, not once per request.
        self._plans: dict[tuple[str | None, str | None, str | None], tuple[_Plan, float]] = {}

    @property
    def enabled(self) -> bool:
        return self._enabled

    @property
    def rules(self) -> Sequence[QuotaRule]:
        return tuple(compiled.rule for compiled in self._rules)

    def applies(self, rule: QuotaRule, subject: SubjectType, subject_id: str) -> bool:
        return rule.subject is subject and rule.subject_id in ("*", subject_id)

    async def standing(self, subject: SubjectType, subject_id: str) -> list[QuotaStanding]:
        """Each rule counting ``subject_id``, read from the store (shared by replicas
        when it is Redis), with the end of its current window."""
        now = self._clock()
        found: list[QuotaStanding] = []
        for rule, _ in self._rules:
            if not self.applies(rule, subject, subject_id):
                continue
            counter = _counter(rule, subject_id, now)
            used = await self._store.usage(counter, now)
            resets_at = datetime.fromtimestamp(counter.expires_at, UTC)
            found.append(QuotaStanding(rule, subject_id, used, resets_at))
        return found

    async def admit(self, principal: RequestContext) -> QuotaBreach | None:
        """Count one request for ``principal``, or return the first rule it would breach."""
        if not self._rules:
            return None
        now = self._clock()
        plan = self._plan(principal, now)
        if not plan.checks:
            return None
        exceeded = await self._store.admit(plan.counters, plan.checks, now)
        if exceeded is None:
            return None
        window_end = plan.counters[plan.checks[exceeded.check].counter].expires_at
        return QuotaBreach(
            rule=plan.rules[exceeded.check],
            subject_id=plan.subject_ids[exceeded.check],
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
        counters = self._plan(principal, now).counters
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

    def _plan(self, principal: RequestContext, now: float) -> _Plan:
        """The principal's counters (each once, however many rules share it) and checks."""
        key = (principal.user_id, principal.tenant_id, principal.api_key_id)
        cached = self._plans.get(key)
        if cached is not None and cached[1] > now:
            return cached[0]
        plan = self._build_plan(principal, now)
        if len(self._plans) >= _PLAN_CACHE_SIZE:
            self._plans.clear()
        self._plans[key] = (plan, min((c.expires_at for c in plan.counters), default=math.inf))
        return plan

    def _build_plan(self, principal: RequestContext, now: float) -> _Plan:
        plan = _Plan([], [], [], [])
        positions: dict[str, int] = {}
        for rule, limits in self._rules:
            subject_id = _subject_id(principal, rule.subject)
            if subject_id is None or not self.applies(rule, rule.subject, subject_id):
                continue
            counter = _counter(rule, subject_id, now)
            position = positions.get(counter.key)
            if position is None:
                position = positions[counter.key] = len(plan.counters)
                plan.counters.append(counter)
            plan.checks.append(LimitCheck(position, limits))
            plan.rules.append(rule)
            plan.subject_ids.append(subject_id)
        return plan
