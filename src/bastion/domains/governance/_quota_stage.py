"""The ``quota`` governance stage."""

from __future__ import annotations

from bastion.domains.governance._quota import QuotaEnforcer
from bastion.kernel.policy import PolicyContext, StageVerdict, Verdict

_DISABLED = StageVerdict(Verdict.DISABLED, reason="quotas.enabled is false")
_ALLOW = StageVerdict.allow()


class QuotaStage:
    """Denies a request once any of the principal's quota windows is exhausted.

    Usage reaches the windows through ``QuotaEnforcer.record_usage`` after each response;
    a store error propagates, and the engine denies on a stage error.
    """

    name: str = "quota"

    def __init__(self, enforcer: QuotaEnforcer) -> None:
        self._enforcer = enforcer

    async def evaluate(self, context: PolicyContext) -> StageVerdict:
        if not self._enforcer.enabled:
            return _DISABLED
        breach = await self._enforcer.admit(context.principal)
        if breach is None:
            return _ALLOW
        return StageVerdict.deny(
            breach.rule_id,
            breach.reason,
            retry_after_ms=breach.retry_after_ms,
            rule_name=breach.rule.name,
            subject=breach.rule.subject.value,
            subject_id=breach.subject_id,
            window_seconds=breach.rule.window,
            metric=breach.metric.value,
            limit=breach.limit,
            used=breach.used,
        )
