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

from bastion.domains.governance import QuotaEnforcer, QuotaStage, RateLimitStage
from bastion.infra.quota import MemoryQuotaStore, QuotaSettings, RedisQuotaStore
from bastion.infra.ratelimit import MemoryRateLimiter, RateLimitSettings, RedisRateLimiter
from bastion.kernel.context import AuthMethod, RequestContext
from bastion.kernel.ids import TenantId, TraceId, UserId
from bastion.kernel.policy import PolicyContext, PolicyTarget, TargetType
from bastion.kernel.tiers import Tier
from bench._support import cli
from bench._support.launch import QUOTA

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
QUOTAS = QuotaSettings.model_validate(QUOTA)


async def batched_median_us(op: Op) -> float:
    """The median over batches of the mean call: per-call timers would dominate."""
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


async def run() -> list[tuple[str, str, str]]:
    limiter = MemoryRateLimiter()
    rate_stage = RateLimitStage(RATE_LIMITS, MemoryRateLimiter())
    quota_stage = QuotaStage(QuotaEnforcer(QUOTAS, MemoryQuotaStore()))
    memory: list[tuple[str, Op]] = [
        ("MemoryRateLimiter.check", lambda i: limiter.check(KEYS[i], 1e6, 3_000_000)),
        ("RateLimitStage.evaluate", lambda i: rate_stage.evaluate(CONTEXTS[i])),
        ("QuotaStage.evaluate (1 rule)", lambda i: quota_stage.evaluate(CONTEXTS[i])),
    ]
    rows = [(name, "memory", f"{await batched_median_us(op):.2f}") for name, op in memory]
    prefix = f"bastion-bench:{secrets.token_hex(4)}:"
    client = Redis.from_url(REDIS_URL)
    redis_limiter = RedisRateLimiter(client, prefix + "rl:")
    redis_quota = QuotaStage(QuotaEnforcer(QUOTAS, RedisQuotaStore(client, prefix + "q:")))
    over_redis: list[tuple[str, Op]] = [
        ("RedisRateLimiter.check", lambda i: redis_limiter.check(KEYS[i], 1e6, 3_000_000)),
        ("QuotaStage.evaluate (1 rule)", lambda i: redis_quota.evaluate(CONTEXTS[i])),
    ]
    try:
        await redis_limiter.check("warm-up", 1e6, 3_000_000)
        for name, op in over_redis:
            rows.append((name, "redis", f"{await round_trip_median_us(op):.2f}"))
        keys = [key async for key in client.scan_iter(match=prefix + "*")]
        await client.delete(*keys)
    except (RedisError, OSError) as exc:
        rows.append(("Redis checks", f"unavailable ({type(exc).__name__})", "nan"))
    finally:
        await client.aclose()
    return rows


def main(argv: list[str] | None = None) -> int:
    cli.parser("bench.ratelimit", __doc__).parse_args(argv)
    print("\n".join(cli.table(["operation", "backend", "median µs"], asyncio.run(run()), "llr")))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
