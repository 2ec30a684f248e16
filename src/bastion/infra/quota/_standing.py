"""Where a subject stands against its quotas: used, limit and reset time per rule.

``QuotaBook`` is what a reader of budgets (the admin API, the console, analytics) needs
from the governance domain's enforcer: the rules in force and, for one subject, each
applicable rule's current window.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

from bastion.infra.quota._settings import QuotaMetric, QuotaRule, SubjectType
from bastion.infra.quota._store import Usage


def rule_limits(rule: QuotaRule) -> dict[str, int]:
    """The rule's limits by metric name, unlimited metrics left out."""
    return {
        metric.value: limit
        for metric, limit in zip(QuotaMetric, rule.limits.as_tuple(), strict=True)
        if limit >= 0
    }


@dataclass(frozen=True, slots=True)
class QuotaStanding:
    """One rule's current window for one subject (``subject_id`` is the subject's own id,
    also for a rule on every subject, ``*``)."""

    rule: QuotaRule
    subject_id: str
    used: Usage
    resets_at: datetime

    def as_dict(self) -> dict[str, object]:
        """JSON-ready: per limited metric its limit, what was used and what remains."""
        limits = zip(QuotaMetric, self.rule.limits.as_tuple(), self.used.as_tuple(), strict=True)
        return {
            "name": self.rule.name,
            "subject": self.rule.subject.value,
            "subject_id": self.subject_id,
            "rule_subject_id": self.rule.subject_id,
            "window_seconds": int(self.rule.window),
            "resets_at": self.resets_at.isoformat(),
            "limits": {
                metric.value: {"limit": limit, "used": used, "remaining": max(0, limit - used)}
                for metric, limit, used in limits
                if limit >= 0
            },
        }


@runtime_checkable
class QuotaBook(Protocol):
    """The quota rules in force and each subject's standing against them."""

    @property
    def rules(self) -> Sequence[QuotaRule]:
        """Every enabled rule, in profile order (none when quotas are disabled)."""
        ...

    def applies(self, rule: QuotaRule, subject: SubjectType, subject_id: str) -> bool:
        """Whether ``rule`` counts ``subject_id`` of type ``subject``."""
        ...

    async def standing(self, subject: SubjectType, subject_id: str) -> list[QuotaStanding]:
        """Each rule counting ``subject_id``, with its current window's usage."""
        ...
