"""The ``rate_limit`` governance stage."""

from __future__ import annotations

from dataclasses import dataclass

from bastion.infra.ratelimit._decision import RateLimiter
from bastion.infra.ratelimit._settings import RateLimitSettings
from bastion.kernel.policy import PolicyContext, StageVerdict, TargetType, Verdict
from bastion.kernel.tiers import Tier

_DISABLED = StageVerdict(Verdict.DISABLED, reason="rate_limits.enabled is false")


@dataclass(frozen=True, slots=True)
class _Bucket:
    prefix: str
    tier: str
    rate_per_second: float
    burst: int
    per_entity: bool = False


class RateLimitStage:
    """Counts each request against the principal's GCRA bucket for its tier.

    The key is ``<tier>:<principal_key>`` (``<tier>/<target>:<principal_key>`` for target
    types with a bucket of their own), so a principal whose tier changes starts afresh.
    An ``agent`` bucket is per agent (``<tier>/agent:<name>:<principal_key>``): a caller
    busy with one agent is not slowed on another.
    Limits are resolved once, here, so a check costs one dict lookup plus the limiter.
    A limiter error propagates: the engine denies on a stage error.
    """

    name: str = "rate_limit"

    def __init__(self, settings: RateLimitSettings, limiter: RateLimiter) -> None:
        self._enabled = settings.enabled
        self._limiter = limiter
        self._buckets: dict[Tier, dict[TargetType, _Bucket]] = {}
        for tier in Tier:
            shared = self._bucket(settings, tier, None)
            self._buckets[tier] = {
                target: self._bucket(settings, tier, target)
                if target in settings.targets
                else shared
                for target in TargetType
            }

    @staticmethod
    def _bucket(settings: RateLimitSettings, tier: Tier, target: TargetType | None) -> _Bucket:
        rate, burst = settings.limit_for(tier, target)
        prefix = f"{tier.label}:" if target is None else f"{tier.label}/{target.value}:"
        return _Bucket(prefix, tier.label, rate, burst, per_entity=target is TargetType.AGENT)

    async def evaluate(self, context: PolicyContext) -> StageVerdict:
        if not self._enabled:
            return _DISABLED
        principal = context.principal
        target = context.target
        bucket = self._buckets[principal.tier][target.type]
        key = bucket.prefix + principal.principal_key()
        if bucket.per_entity and target.name:
            key = f"{bucket.prefix}{target.name}:{principal.principal_key()}"
        decision = await self._limiter.check(key, bucket.rate_per_second, bucket.burst)
        if decision.allowed:
            return StageVerdict.allow(
                limit=bucket.burst,
                remaining=decision.remaining,
                reset_after_ms=decision.reset_after_ms,
            )
        return StageVerdict.deny(
            "rate_limit.exceeded",
            f"rate limit for tier {bucket.tier} exceeded: {bucket.rate_per_second:g} "
            f"requests/s with bursts of {bucket.burst}; retry in {decision.retry_after_ms} ms",
            retry_after_ms=decision.retry_after_ms,
            tier=bucket.tier,
            rate_per_second=bucket.rate_per_second,
            burst=bucket.burst,
        )
