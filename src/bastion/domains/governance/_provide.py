"""The services the governance domain provides: the chain (``GOVERNANCE``) and the secret
scanner (``SECRET_SCANNER``), both compiled once, at boot, from the ``governance:``
namespace; nothing on the request path reads config or compiles a pattern."""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import UTC, datetime
from typing import cast

from bastion.domains.governance._build import GovernanceChain, build_governance
from bastion.domains.governance._settings import GovernanceSettings
from bastion.infra.audit import GovernanceDecisionRow, new_row_id, principal_row
from bastion.infra.ratelimit import RateLimitSettings
from bastion.infra.scanner import SecretScanner
from bastion.infra.services import AUDIT, POLICY_STAGES, RATE_LIMITER, SECRET_SCANNER
from bastion.kernel.contract import ExtensionContext
from bastion.kernel.governance import Decision
from bastion.kernel.policy import PolicyContext, PolicyStage


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


def build_scanner(ctx: ExtensionContext) -> SecretScanner:
    """``SECRET_SCANNER``: every pattern of ``governance.secret_scan.scanner`` compiled."""
    return SecretScanner(ctx.config_as(GovernanceSettings).secret_scan.scanner)


def build_chain(ctx: ExtensionContext) -> GovernanceChain:
    """``GOVERNANCE``: the chain in ``governance.policies`` order, every extension's
    ``policies()`` placed in it, each decision written through the audit trail."""
    trail = ctx.service(AUDIT)
    contributed: dict[str, list[PolicyStage]] = {}
    for ext_id, stage in ctx.service(POLICY_STAGES):
        contributed.setdefault(ext_id, []).append(stage)

    def record(context: PolicyContext, decision: Decision) -> Awaitable[str] | None:
        row = decision_row(context, decision)
        if trail.try_record_decision(row, owned=True) is None:
            return trail.record_decision(row, owned=True)  # the queue is full: wait for room
        return None

    return build_governance(
        ctx.config_as(GovernanceSettings),
        ctx.platform.section("rate_limits", RateLimitSettings),
        contributed,
        [record],
        scanner=ctx.service(SECRET_SCANNER),
        limiter=ctx.service(RATE_LIMITER),
    )


async def close_chain(chain: GovernanceChain) -> None:
    await chain.aclose()
