"""What only the Redis store has to prove: sharing across replicas, expiry, script
recovery and failing closed. Atomicity under concurrency is in test_enforcer.py, which
runs on both stores."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest
from redis.asyncio import Redis

from bastion.domains.governance import QuotaEnforcer, QuotaStage
from bastion.infra.quota import (
    MemoryQuotaStore,
    QuotaBackendError,
    QuotaSettings,
    RedisQuotaStore,
    Usage,
    build_quota_store,
)
from bastion.kernel.context import AuthMethod, RequestContext
from bastion.kernel.ids import TenantId, TraceId, UserId
from bastion.kernel.policy import PolicyContext, PolicyTarget, TargetType
from bastion.kernel.tiers import Tier

if TYPE_CHECKING:
    from conftest import FakeClock

RedisFactory = Callable[[], Redis]
UNREACHABLE = "redis://127.0.0.1:1/0"
USER = RequestContext(
    trace_id=TraceId("t"),
    tier=Tier.USER,
    auth_method=AuthMethod.JWT,
    user_id=UserId("usr_1"),
    tenant_id=TenantId("acme"),
)


def settings(*rules: dict[str, object]) -> QuotaSettings:
    return QuotaSettings.model_validate({"rules": list(rules)})


async def test_two_replicas_share_counters(
    redis_factory: RedisFactory, unique_prefix: str, clock: FakeClock
) -> None:
    config = settings(
        {"subject": "tenant", "window": "1d", "limits": {"requests": 3, "cost_microdollars": 100}}
    )
    replica_a = QuotaEnforcer(config, RedisQuotaStore(redis_factory(), unique_prefix), clock=clock)
    replica_b = QuotaEnforcer(config, RedisQuotaStore(redis_factory(), unique_prefix), clock=clock)

    assert await replica_a.admit(USER) is None
    await replica_a.record_usage(USER, 10, 20, 60)
    assert await replica_b.admit(USER) is None
    await replica_b.record_usage(USER, 10, 20, 60)

    breach = await replica_a.admit(USER)
    assert breach is not None
    assert breach.rule_id == "quota.tenant.cost_microdollars"
    assert await replica_b.usage(USER, config.rules[0]) == Usage(2, 20, 40, 120)


async def test_counters_expire_a_grace_period_after_their_window(
    redis_factory: RedisFactory, unique_prefix: str, clock: FakeClock
) -> None:
    client = redis_factory()
    store = RedisQuotaStore(client, unique_prefix)
    quotas = QuotaEnforcer(
        settings({"subject": "user", "window": "1h", "limits": {"requests": 5}}),
        store,
        clock=clock,
    )
    clock.advance(3000)
    await quotas.admit(USER)
    (key,) = [key async for key in client.scan_iter(match=unique_prefix + "*")]
    assert key.decode() == f"{unique_prefix}user:3600:{int(clock.now // 3600)}:usr_1"
    assert 600 < await client.ttl(key) <= 600 + 300


async def test_recovers_from_noscript(
    redis_factory: RedisFactory, unique_prefix: str, clock: FakeClock
) -> None:
    config = settings({"subject": "user", "window": "1h", "limits": {"requests": 2}})
    quotas = QuotaEnforcer(config, RedisQuotaStore(redis_factory(), unique_prefix), clock=clock)
    assert await quotas.admit(USER) is None

    await redis_factory().script_flush()

    assert await quotas.admit(USER) is None
    await quotas.record_usage(USER, 1, 1, 1)
    assert await quotas.admit(USER) is not None
    assert await quotas.usage(USER, config.rules[0]) == Usage(2, 1, 1, 1)


async def test_unreachable_redis_raises_from_every_operation(
    unique_prefix: str, clock: FakeClock
) -> None:
    config = QuotaSettings.model_validate(
        {
            "backend": "redis",
            "redis_url": UNREACHABLE,
            "key_prefix": unique_prefix,
            "rules": [{"subject": "user", "window": "1h", "limits": {"requests": 5}}],
        }
    )
    quotas = QuotaEnforcer(config, build_quota_store(config), clock=clock)
    stage = QuotaStage(quotas)
    context = PolicyContext(USER, PolicyTarget(TargetType.PROMPT))
    try:
        with pytest.raises(QuotaBackendError, match="unavailable"):
            await stage.evaluate(context)
        with pytest.raises(QuotaBackendError):
            await quotas.record_usage(USER, 1, 1, 1)
        with pytest.raises(QuotaBackendError):
            await quotas.usage(USER, config.rules[0])
    finally:
        await quotas.aclose()


async def test_build_follows_the_backend_setting(redis_url: str, unique_prefix: str) -> None:
    assert isinstance(build_quota_store(QuotaSettings()), MemoryQuotaStore)
    store = build_quota_store(
        QuotaSettings(backend="redis", redis_url=redis_url, key_prefix=unique_prefix)
    )
    assert isinstance(store, RedisQuotaStore)
    await store.aclose()
