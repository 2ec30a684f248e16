"""The rate-limit stage runs over the limiters of ``bastion.infra.ratelimit``: the same
fixtures (a fake clock, a Redis client factory) as the limiters' own tests."""

from tests.infra.ratelimit.conftest import FakeClock, clock, redis_factory

__all__ = ["FakeClock", "clock", "redis_factory"]
