"""Rate limit and quota stage costs: ``python -m bench.ratelimit``.

In-process figures are medians over batches (per-call timer overhead would dominate a
check of a few µs); Redis figures are medians of single round trips. Set
``BASTION_BENCH_REDIS`` to point at another Redis (default ``redis://127.0.0.1:6379/0``).
"""

from __future__ import annotations

import asyncio
import os
import secrets
import statistics
import time
from collections.abc import Awaitable, Callable

from redis.asyncio import Redis
from redis.exceptions import RedisError

from bastion.infra.governance.quota import (
    MemoryQuotaStore,
    QuotaEnforcer,
    QuotaSettings,
    QuotaStage,
    RedisQuotaStore,
)
from bastion.infra.governance.ratelimit import (
    MemoryRateLimiter,
    RateLimitSettings,
    RateLimitStage,
    RedisRateLimiter,
)
from bastion.kernel.context import AuthMethod, RequestContext
from bastion.kernel.ids import TenantId, TraceId, UserId
from bastion.kernel.policy import PolicyContext, PolicyTarget, TargetType
from bastion.kernel.tiers import Tier

REDIS_URL = os.environ.get("BASTION_BENCH_REDIS", "redis://127.0.0.1:6379/0")
PRINCIPALS = 1000
BATCHES = 50
BATCH_SIZE = 2000
ROUND_TRIPS = 3000

Op = Callable[[int], Awaitable[object]]

CONTEXTS = [
    PolicyContext(
        RequestContext(
            trace_id=TraceId("bench"),
            tier=Tier.USER,
            auth_method=AuthMethod.JWT,
            user_id=UserId(f"usr_{i}"),
            tenant_id=TenantId("acme"),
        ),
        PolicyTarget(TargetType.PROMPT, name="claude"),
    )
    for i in range(PRINCIPALS)
]
KEYS = [f"user:usr_{i}" for i in range(PRINCIPALS)]
# Generous enough that every check is allowed: the allow path is the common one.
RATE_LIMITS = RateLimitSettings(requests_per_second=1e6)
QUOTAS = QuotaSettings.model_validate(
    {"rules": [{"subject": "user", "window": "1d", "limits": {"requests": 10**12}}]}
)


async def batched_median_us(op: Op) -> float:
    per_call: list[float] = []
    for _ in range(BATCHES):
        start = time.perf_counter_ns()
        for i in range(BATCH_SIZE):
            await op(i % PRINCIPALS)
        per_call.append((time.perf_counter_ns() - start) / BATCH_SIZE / 1000)
    return statistics.median(per_call)


async def round_trip_median_us(op: Op) -> float:
    samples: list[float] = []
    for i in range(ROUND_TRIPS):
        start = time.perf_counter_ns()
        await op(i % PRINCIPALS)
        samples.append((time.perf_counter_ns() - start) / 1000)
    return statistics.median(samples)


async def in_process() -> list[tuple[str, str, float]]:
    limiter = MemoryRateLimiter()
    rate_stage = RateLimitStage(RATE_LIMITS, MemoryRateLimiter())
    quota_stage = QuotaStage(QuotaEnforcer(QUOTAS, MemoryQuotaStore()))
    return [
        (
            "MemoryRateLimiter.check",
            "memory",
            await batched_median_us(lambda i: limiter.check(KEYS[i], 1e6, 3_000_000)),
        ),
        (
            "RateLimitStage.evaluate",
            "memory",
            await batched_median_us(lambda i: rate_stage.evaluate(CONTEXTS[i])),
        ),
        (
            "QuotaStage.evaluate (1 rule)",
            "memory",
            await batched_median_us(lambda i: quota_stage.evaluate(CONTEXTS[i])),
        ),
    ]


async def over_redis() -> list[tuple[str, str, float]]:
    prefix = f"bastion-bench:{secrets.token_hex(4)}:"
    client = Redis.from_url(REDIS_URL)
    limiter = RedisRateLimiter(client, prefix + "rl:")
    quota_stage = QuotaStage(QuotaEnforcer(QUOTAS, RedisQuotaStore(client, prefix + "q:")))
    try:
        await client.ping()
        await limiter.check("warm-up", 1e6, 3_000_000)
        return [
            (
                "RedisRateLimiter.check",
                "redis",
                await round_trip_median_us(lambda i: limiter.check(KEYS[i], 1e6, 3_000_000)),
            ),
            (
                "QuotaStage.evaluate (1 rule)",
                "redis",
                await round_trip_median_us(lambda i: quota_stage.evaluate(CONTEXTS[i])),
            ),
        ]
    finally:
        keys = [key async for key in client.scan_iter(match=prefix + "*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()


async def run() -> str:
    rows = await in_process()
    try:
        rows += await over_redis()
    except (RedisError, OSError) as exc:
        rows.append(("Redis checks", f"unavailable ({type(exc).__name__})", float("nan")))
    lines = ["| operation | backend | median µs |", "|---|---|---:|"]
    lines += [f"| {name} | {backend} | {us:.2f} |" for name, backend, us in rows]
    return "\n".join(lines)


def main() -> None:
    print(asyncio.run(run()))


if __name__ == "__main__":
    main()
