"""``rate_limits`` in the profile."""

from __future__ import annotations

from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from bastion.kernel.policy import TargetType
from bastion.kernel.tiers import Tier

Backend = Literal["memory", "redis"]


class TierMultipliers(BaseModel):
    """Factor applied to the base rate for each tier; omitted tiers keep their default."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    admin: float = Field(10.0, gt=0, description="Multiplier for the admin tier.")
    user: float = Field(1.0, gt=0, description="Multiplier for the user tier.")
    service: float = Field(5.0, gt=0, description="Multiplier for the service tier.")
    a2a: float = Field(5.0, gt=0, description="Multiplier for the agent-to-agent tier.")
    mcp: float = Field(5.0, gt=0, description="Multiplier for the MCP tier.")
    anonymous: float = Field(0.5, gt=0, description="Multiplier for the anonymous tier.")

    def for_tier(self, tier: Tier) -> float:
        return {
            Tier.ADMIN: self.admin,
            Tier.USER: self.user,
            Tier.SERVICE: self.service,
            Tier.A2A: self.a2a,
            Tier.MCP: self.mcp,
            Tier.ANONYMOUS: self.anonymous,
        }[tier]


class TargetRateLimit(BaseModel):
    """A separate bucket for one target type, optionally with its own base rate or burst."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    requests_per_second: float | None = Field(
        None,
        gt=0,
        description="Base rate for this target type before the tier multiplier; "
        "defaults to rate_limits.requests_per_second.",
    )
    burst_multiplier: float | None = Field(
        None,
        gt=0,
        description="Burst for this target type as a multiple of its rate; "
        "defaults to rate_limits.burst_multiplier.",
    )


class RateLimitSettings(BaseModel):
    """Per-principal GCRA limits, scaled by tier.

    A principal of tier ``t`` may make ``requests_per_second * tier_multipliers[t]``
    requests per second, with bursts of that rate times ``burst_multiplier`` (rounded to
    the nearest integer, at least 1). Target types listed under ``targets`` get a bucket
    of their own; every other target type shares the principal's main bucket.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = Field(True, description="When false the rate_limit stage allows everything.")
    backend: Backend = Field(
        "memory",
        description="'memory' keeps buckets in this process (each replica limits its own "
        "share); 'redis' shares buckets across replicas.",
    )
    redis_url: str | None = Field(None, description="Redis URL, required when backend is 'redis'.")
    redis_timeout_ms: int = Field(
        250,
        gt=0,
        description="Connect and socket timeout for Redis; a slower Redis fails the "
        "request closed rather than holding it.",
    )
    key_prefix: str = Field("bastion:rl:", description="Prefix of every Redis key.")
    requests_per_second: float = Field(
        10.0, gt=0, description="Base sustained rate per principal, before tier multipliers."
    )
    burst_multiplier: float = Field(
        3.0, gt=0, description="Burst size as a multiple of the principal's per-second rate."
    )
    tier_multipliers: TierMultipliers = Field(
        default_factory=TierMultipliers,
        description="Per-tier factors applied to the base rate, by tier name.",
    )
    targets: dict[TargetType, TargetRateLimit] = Field(
        default_factory=dict,
        description="Target types (prompt, tool, route, agent, resource, mcp_prompt) "
        "limited in a bucket of their own, with optional rate and burst overrides.",
    )

    @model_validator(mode="after")
    def _redis_needs_url(self) -> Self:
        if self.backend == "redis" and not self.redis_url:
            raise ValueError("rate_limits.redis_url is required when backend is 'redis'")
        return self

    def limit_for(self, tier: Tier, target: TargetType | None = None) -> tuple[float, int]:
        """``(rate_per_second, burst)`` for a principal of ``tier`` acting on ``target``."""
        override = self.targets.get(target) if target is not None else None
        base = self.requests_per_second
        multiplier = self.burst_multiplier
        if override is not None:
            base = override.requests_per_second or base
            multiplier = override.burst_multiplier or multiplier
        rate = base * self.tier_multipliers.for_tier(tier)
        return rate, max(1, int(rate * multiplier + 0.5))
