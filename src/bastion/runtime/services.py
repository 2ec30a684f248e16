"""Platform services built at boot and shared by every extension: the audit trail and
the governance chain."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import cast

from sqlalchemy.ext.asyncio import AsyncEngine

from bastion.infra.audit import (
    AuditTrail,
    AuditWriter,
    GovernanceDecisionRow,
    SiemEmitter,
    new_row_id,
    principal_row,
)
from bastion.infra.config import Profile, SecretStore
from bastion.infra.governance import Decision, Governance, GovernanceSettings, build_governance
from bastion.infra.governance.scanner import SecretScanner
from bastion.kernel.context import RequestContext
from bastion.kernel.policy import PolicyContext, PolicyStage, TargetType
from bastion.kernel.registry import ExtensionRegistry
from bastion.kernel.surfaces import surface
from bastion.kernel.tiers import Tier


def build_audit(
    profile: Profile, secrets: SecretStore, engine: AsyncEngine, redact: Callable[[str], str]
) -> AuditTrail:
    settings = profile.audit
    siem = None
    if settings.siem is not None:
        token = secrets.get(settings.siem.token_secret) if settings.siem.token_secret else None
        siem = SiemEmitter.from_settings(settings.siem, token=token, redact=redact)
    return AuditTrail(AuditWriter.from_settings(engine, settings), siem)


def decision_row(context: PolicyContext, decision: Decision) -> GovernanceDecisionRow:
    principal, target = context.principal, context.target
    # Every column, id and time included: the audit writer's fast path then reads the
    # values straight from the row instead of merging it into a full set of columns.
    # ``dict(principal_row(...), key=...)`` costs what the spelled-out literal did (about
    # 0.5 µs); a ``{**principal_row(...), ...}`` display costs almost twice that, a
    # ``GovernanceDecisionRow(...)`` call three times. The cast skips mypy's key checks,
    # so tests/infra/audit/test_principal.py compares the keys with the table's columns.
    return cast(
        GovernanceDecisionRow,
        dict(
            principal_row(principal),
            id=new_row_id(),
            tier=principal.tier.label,
            target_type=target.type.value,
            target_server=target.server,
            target_name=target.tool or target.name,
            decision=decision.decision,
            stage=decision.stage,
            rule=decision.rule,
            reason=decision.reason,
            trace=decision.trace_dicts(),
            duration_us=round(decision.duration_us),
            created_at=datetime.now(UTC),
        ),
    )


def governance_for(
    settings: GovernanceSettings,
    profile: Profile,
    registry: ExtensionRegistry,
    trail: AuditTrail,
    scanner: SecretScanner,
) -> Governance:
    contributed: dict[str, list[PolicyStage]] = {
        ext.meta.id: stages
        for ext in registry.ordered()
        if (stages := list(surface(ext, "policies")))
    }

    def record(context: PolicyContext, decision: Decision) -> Awaitable[str] | None:
        row = decision_row(context, decision)
        if trail.try_record_decision(row, owned=True) is None:
            return trail.record_decision(row, owned=True)  # the queue is full: wait for room
        return None

    return build_governance(settings, profile.rate_limits, contributed, [record], scanner=scanner)


def public_limiter(governance: Governance) -> Callable[[RequestContext], Awaitable[int | None]]:
    """Rate limit for ``public`` endpoints: the anonymous tier, keyed by address."""
    rate, burst = governance.rate_limits.limit_for(Tier.ANONYMOUS, TargetType.ROUTE)
    limiter = governance.limiter

    async def check(ctx: RequestContext) -> int | None:
        if not governance.rate_limits.enabled:
            return None
        decision = await limiter.check(f"public:{ctx.principal_key()}", rate, burst)
        return None if decision.allowed else decision.retry_after_ms

    return check
