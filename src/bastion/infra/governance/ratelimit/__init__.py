"""Per-principal rate limits: GCRA buckets scaled by tier, in process or shared via Redis.

Build the stage from the profile's ``rate_limits`` block::

    limiter = build_rate_limiter(settings)
    stage = RateLimitStage(settings, limiter)
"""

from typing import TYPE_CHECKING

from bastion.infra.governance.ratelimit._build import build_rate_limiter
from bastion.infra.governance.ratelimit._decision import RateDecision, RateLimiter
from bastion.infra.governance.ratelimit._errors import RateLimitBackendError, RateLimitError
from bastion.infra.governance.ratelimit._memory import MemoryRateLimiter
from bastion.infra.governance.ratelimit._settings import (
    Backend,
    RateLimitSettings,
    TargetRateLimit,
    TierMultipliers,
)
from bastion.infra.governance.ratelimit._stage import RateLimitStage
from bastion.kernel.lazy import lazy_attributes

if TYPE_CHECKING:
    from bastion.infra.governance.ratelimit._redis import RedisRateLimiter

# The Redis client is imported only by a profile whose backend is ``redis``.
__getattr__ = lazy_attributes(
    __name__, {"RedisRateLimiter": "bastion.infra.governance.ratelimit._redis"}
)

__all__ = [
    "Backend",
    "MemoryRateLimiter",
    "RateDecision",
    "RateLimitBackendError",
    "RateLimitError",
    "RateLimitSettings",
    "RateLimitStage",
    "RateLimiter",
    "RedisRateLimiter",
    "TargetRateLimit",
    "TierMultipliers",
    "build_rate_limiter",
]
