"""Choose the limiter the settings ask for."""

from __future__ import annotations

from bastion.infra.ratelimit._decision import RateLimiter
from bastion.infra.ratelimit._memory import MemoryRateLimiter
from bastion.infra.ratelimit._settings import RateLimitSettings


def build_rate_limiter(settings: RateLimitSettings) -> RateLimiter:
    """An in-process limiter, or a Redis one owning its client (close it with ``aclose``)."""
    if settings.backend == "redis":
        assert settings.redis_url is not None  # enforced by RateLimitSettings
        from bastion.infra.ratelimit._redis import RedisRateLimiter  # imports redis

        return RedisRateLimiter.from_url(
            settings.redis_url,
            settings.key_prefix,
            timeout_seconds=settings.redis_timeout_ms / 1000,
        )
    return MemoryRateLimiter()
