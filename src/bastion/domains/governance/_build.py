from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bastion.domains.governance._blocklist import BlocklistStage
from bastion.domains.governance._engine import DecisionSink, PolicyEngine
from bastion.domains.governance._quota import QuotaEnforcer
from bastion.domains.governance._quota_stage import QuotaStage
from bastion.domains.governance._rate_limit_stage import RateLimitStage
from bastion.domains.governance._scope import ScopeCheckStage
from bastion.domains.governance._secret_stage import SecretScanStage
from bastion.domains.governance._settings import GovernanceSettings
from bastion.domains.governance.errors import GovernanceConfigError
from bastion.infra.quota import build_quota_store
from bastion.infra.ratelimit import RateLimiter, RateLimitSettings, build_rate_limiter
from bastion.infra.scanner import SecretScanner
from bastion.kernel.governance import EntityCatalog
from bastion.kernel.policy import PolicyStage

BUILTIN_STAGES = ("scope_check", "secret_scan", "blocklist", "rate_limit", "quota")


@dataclass(slots=True)
class GovernanceChain:
    """Everything the chain is built from; shared by every surface that governs. It is
    the ``Governance`` (``bastion.kernel.governance``) the domain provides."""

    engine: PolicyEngine
    scope: ScopeCheckStage
    scanner: SecretScanner
    limiter: RateLimiter
    quota: QuotaEnforcer
    catalog: EntityCatalog
    rate_limits: RateLimitSettings
    owns_limiter: bool = False

    async def aclose(self) -> None:
        """Close what the chain owns: the quota store. The limiter is the platform's
        (``RATE_LIMITER``), unless ``build_governance`` built it."""
        if self.owns_limiter:
            await self.limiter.aclose()
        await self.quota.aclose()


def build_governance(
    settings: GovernanceSettings,
    rate_limits: RateLimitSettings,
    extension_stages: Mapping[str, Sequence[PolicyStage]] | None = None,
    sinks: Sequence[DecisionSink] = (),
    *,
    scanner: SecretScanner | None = None,
    limiter: RateLimiter | None = None,
) -> GovernanceChain:
    """Compile every rule and pattern once. A stage named in ``governance.policies`` that
    nothing provides, or a contributed stage left out of it, stops boot."""
    scanner = scanner or SecretScanner(settings.secret_scan.scanner)
    # RE2 builds its DFAs lazily; pay that at boot, not on the first request.
    scanner.scan_json({"warm": ["password = 'x' AKIA sk-ant- ghp_ -----BEGIN", "é" * 64]})
    owns_limiter = limiter is None
    limiter = limiter or build_rate_limiter(rate_limits)
    quota = QuotaEnforcer(settings.quota, build_quota_store(settings.quota))
    catalog = EntityCatalog()
    scope = ScopeCheckStage(settings.scope_check, catalog)
    available: dict[str, PolicyStage] = {
        "scope_check": scope,
        "secret_scan": SecretScanStage(settings.secret_scan, scanner),
        "blocklist": BlocklistStage(settings.blocklist),
        "rate_limit": RateLimitStage(rate_limits, limiter),
        "quota": QuotaStage(quota),
    }
    for ext_id, stages in (extension_stages or {}).items():
        for stage in stages:
            if stage.name in available:
                raise GovernanceConfigError(
                    f"extension '{ext_id}' contributes governance stage '{stage.name}', "
                    "which is already defined"
                )
            if stage.name not in settings.policies:
                raise GovernanceConfigError(
                    f"governance.policies: stage '{stage.name}' contributed by extension "
                    f"'{ext_id}' is not placed; add it to governance.policies "
                    "(and to governance.disabled to trace it as disabled)"
                )
            available[stage.name] = stage
    missing = [name for name in settings.policies if name not in available]
    if missing:
        raise GovernanceConfigError(
            f"governance.policies: unknown stage '{missing[0]}' "
            f"(available: {', '.join(sorted(available))})"
        )
    engine = PolicyEngine(
        [available[name] for name in settings.policies],
        disabled=settings.disabled,
        sinks=sinks,
        redact=lambda text: scanner.redact_text(text)[0],
        budget_ms=settings.time_budget_ms,
    )
    return GovernanceChain(
        engine, scope, scanner, limiter, quota, catalog, rate_limits, owns_limiter
    )
