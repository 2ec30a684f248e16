from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest
from redis.asyncio import Redis

from bastion.domains.governance import RateLimitStage
from bastion.infra.ratelimit import (
    MemoryRateLimiter,
    RateDecision,
    RateLimitBackendError,
    RateLimiter,
    RateLimitSettings,
    RedisRateLimiter,
    build_rate_limiter,
)
from bastion.kernel.context import AuthMethod, RequestContext
from bastion.kernel.ids import TraceId, UserId
from bastion.kernel.policy import PolicyContext, PolicyTarget, TargetType, Verdict
from bastion.kernel.tiers import Tier

if TYPE_CHECKING:
    from conftest import FakeClock

RedisFactory = Callable[[], Redis]
UNREACHABLE = "redis://127.0.0.1:1/0"


async def test_is_a_rate_limiter(redis_factory: RedisFactory, unique_prefix: str) -> None:
    assert isinstance(RedisRateLimiter(redis_factory(), unique_prefix), RateLimiter)


async def test_burst_then_spacing_with_an_injected_clock(
    redis_factory: RedisFactory, unique_prefix: str, clock: FakeClock
) -> None:
    limiter = RedisRateLimiter(redis_factory(), unique_prefix, clock_ns=clock)

    burst = [await limiter.check("k", 2.0, 4) for _ in range(4)]
    assert [(d.allowed, d.remaining) for d in burst] == [(True, 3), (True, 2), (True, 1), (True, 0)]
    assert await limiter.check("k", 2.0, 4) == RateDecision(
        allowed=False, retry_after_ms=500, remaining=0, reset_after_ms=2000
    )
    clock.advance(0.3)
    assert (await limiter.check("k", 2.0, 4)).retry_after_ms == 200
    for _ in range(5):
        clock.advance(0.2)
        assert (await limiter.check("k", 2.0, 4)).allowed
        clock.advance(0.25)
        assert not (await limiter.check("k", 2.0, 4)).allowed
        clock.advance(0.05)


async def test_memory_and_redis_agree(
    redis_factory: RedisFactory, unique_prefix: str, clock: FakeClock
) -> None:
    memory = MemoryRateLimiter(clock_ns=clock)
    redis = RedisRateLimiter(redis_factory(), unique_prefix, clock_ns=clock)
    for step in [0.0, 0.0, 0.0, 0.01, 0.1, 0.333, 0.0, 1.7, 0.0, 0.0, 0.05, 0.2]:
        clock.advance(step)
        assert await memory.check("k", 3.0, 3) == await redis.check("k", 3.0, 3)


async def test_server_time_is_used_without_a_clock(
    redis_factory: RedisFactory, unique_prefix: str
) -> None:
    limiter = RedisRateLimiter(redis_factory(), unique_prefix)
    assert [(await limiter.check("k", 0.001, 2)).allowed for _ in range(3)] == [
        True,
        True,
        False,
    ]
    denied = await limiter.check("k", 0.001, 2)
    # The wait is one emission interval (1000 s) less however long this test has run,
    # bounded loosely so a slow machine cannot fail it.
    assert 900_000 < denied.retry_after_ms <= 1_000_000
    assert 1_900_000 < denied.reset_after_ms <= 2_000_000


async def test_keys_carry_a_ttl_until_their_tat(
    redis_factory: RedisFactory, unique_prefix: str, clock: FakeClock
) -> None:
    client = redis_factory()
    limiter = RedisRateLimiter(client, unique_prefix, clock_ns=clock)
    decision = await limiter.check("k", 0.5, 3)
    ttl = await client.pttl(unique_prefix + "k")
    assert decision.reset_after_ms == 2000
    assert 0 < ttl <= 2000


async def test_two_replicas_share_one_bucket(
    redis_factory: RedisFactory, unique_prefix: str
) -> None:
    replica_a = RedisRateLimiter(redis_factory(), unique_prefix)
    replica_b = RedisRateLimiter(redis_factory(), unique_prefix)

    assert all([(await replica_a.check("user:u1", 0.001, 5)).allowed for _ in range(3)])
    assert [(await replica_b.check("user:u1", 0.001, 5)).allowed for _ in range(3)] == [
        True,
        True,
        False,
    ]
    assert not (await replica_a.check("user:u1", 0.001, 5)).allowed
    assert (await replica_b.check("user:u2", 0.001, 5)).allowed


async def test_two_replica_stages_share_limits(
    redis_factory: RedisFactory, unique_prefix: str
) -> None:
    settings = RateLimitSettings(requests_per_second=0.01, burst_multiplier=200)
    stages = [
        RateLimitStage(settings, RedisRateLimiter(redis_factory(), unique_prefix)),
        RateLimitStage(settings, RedisRateLimiter(redis_factory(), unique_prefix)),
    ]
    context = PolicyContext(
        RequestContext(TraceId("t"), Tier.USER, AuthMethod.JWT, user_id=UserId("usr_1")),
        PolicyTarget(TargetType.PROMPT),
    )
    verdicts = [(await stages[i % 2].evaluate(context)).verdict for i in range(3)]
    assert verdicts == [Verdict.ALLOW, Verdict.ALLOW, Verdict.DENY]


async def test_concurrent_checks_never_exceed_the_burst(
    redis_factory: RedisFactory, unique_prefix: str
) -> None:
    replicas = [RedisRateLimiter(redis_factory(), unique_prefix) for _ in range(2)]
    decisions = await asyncio.gather(*(replicas[i % 2].check("hot", 0.001, 50) for i in range(200)))
    assert sum(d.allowed for d in decisions) == 50
    assert sorted(d.remaining for d in decisions if d.allowed) == list(range(50))


async def test_recovers_from_noscript(
    redis_factory: RedisFactory, unique_prefix: str, clock: FakeClock
) -> None:
    client = redis_factory()
    limiter = RedisRateLimiter(client, unique_prefix, clock_ns=clock)
    assert (await limiter.check("k", 1.0, 2)).allowed

    await redis_factory().script_flush()

    after_flush = await limiter.check("k", 1.0, 2)
    assert (after_flush.allowed, after_flush.remaining) == (True, 0)
    assert not (await limiter.check("k", 1.0, 2)).allowed


async def test_unreachable_redis_raises(unique_prefix: str) -> None:
    limiter = RedisRateLimiter.from_url(UNREACHABLE, unique_prefix, timeout_seconds=0.5)
    with pytest.raises(RateLimitBackendError, match="unavailable"):
        await limiter.check("k", 1.0, 1)
    await limiter.aclose()


async def test_stage_raises_rather_than_allowing_when_redis_is_down(unique_prefix: str) -> None:
    settings = RateLimitSettings(backend="redis", redis_url=UNREACHABLE, key_prefix=unique_prefix)
    limiter = build_rate_limiter(settings)
    stage = RateLimitStage(settings, limiter)
    context = PolicyContext(
        RequestContext(TraceId("t"), Tier.USER, AuthMethod.JWT, user_id=UserId("usr_1")),
        PolicyTarget(TargetType.PROMPT),
    )
    with pytest.raises(RateLimitBackendError):
        await stage.evaluate(context)
    await limiter.aclose()


async def test_build_follows_the_backend_setting(redis_url: str, unique_prefix: str) -> None:
    assert isinstance(build_rate_limiter(RateLimitSettings()), MemoryRateLimiter)
    limiter = build_rate_limiter(
        RateLimitSettings(backend="redis", redis_url=redis_url, key_prefix=unique_prefix)
    )
    assert isinstance(limiter, RedisRateLimiter)
    try:
        assert (await limiter.check("built", 0.001, 1)).allowed
        assert not (await limiter.check("built", 0.001, 1)).allowed
    finally:
        cleanup = Redis.from_url(redis_url)
        await cleanup.delete(unique_prefix + "built")
        await cleanup.aclose()
        await limiter.aclose()
