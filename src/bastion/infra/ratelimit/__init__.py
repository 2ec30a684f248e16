"""Per-principal rate limits: GCRA buckets scaled by tier, in process or shared via Redis.

The mechanism only: ``build_rate_limiter(settings)`` builds the limiter the profile's
``rate_limits`` block asks for (the platform provides it as ``RATE_LIMITER``); the chain's
``rate_limit`` stage is the governance domain's.
"""

from typing import TYPE_CHECKING

from bastion.infra.ratelimit._build import build_rate_limiter
from bastion.infra.ratelimit._decision import RateDecision, RateLimiter
from bastion.infra.ratelimit._errors import RateLimitBackendError, RateLimitError
from bastion.infra.ratelimit._memory import MemoryRateLimiter
from bastion.infra.ratelimit._settings import (
    Backend,
    RateLimitSettings,
    TargetRateLimit,
    TierMultipliers,
)
from bastion.kernel.lazy import lazy_attributes

if TYPE_CHECKING:
    from bastion.infra.ratelimit._redis import RedisRateLimiter

# The Redis client is imported only by a profile whose backend is ``redis``.
__getattr__ = lazy_attributes(__name__, {"RedisRateLimiter": "bastion.infra.ratelimit._redis"})

__all__ = [
    "Backend",
    "MemoryRateLimiter",
    "RateDecision",
    "RateLimitBackendError",
    "RateLimitError",
    "RateLimitSettings",
    "RateLimiter",
    "RedisRateLimiter",
    "TargetRateLimit",
    "TierMultipliers",
    "build_rate_limiter",
]
