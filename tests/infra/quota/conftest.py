"""Fixtures for quota tests: a settable wall clock and counter stores on both backends."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest
from redis.asyncio import Redis

from bastion.infra.quota import MemoryQuotaStore, QuotaStore, RedisQuotaStore

# 2023-11-15T00:00:00Z: a day, hour and minute boundary.
MIDNIGHT = 1_700_006_400.0


class FakeClock:
    """Unix seconds that move only when a test says so."""

    def __init__(self, start: float = MIDNIGHT) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def redis_factory(redis_url: str, unique_prefix: str) -> AsyncIterator[Callable[[], Redis]]:
    """Builds independent clients (as separate replicas would hold); deletes the test's keys."""
    clients: list[Redis] = []

    def make() -> Redis:
        client = Redis.from_url(redis_url)
        clients.append(client)
        return client

    yield make
    cleaner = Redis.from_url(redis_url)
    try:
        keys = [key async for key in cleaner.scan_iter(match=unique_prefix + "*")]
        if keys:
            await cleaner.delete(*keys)
    finally:
        await cleaner.aclose()
        for client in clients:
            await client.aclose()


@pytest.fixture(params=["memory", "redis"])
def make_store(request: pytest.FixtureRequest, unique_prefix: str) -> Callable[[], QuotaStore]:
    """Stores on one backend; on Redis every store made in a test shares the counters,
    on memory each call returns the same store, as one process would."""
    if request.param == "memory":
        store = MemoryQuotaStore()
        return lambda: store
    factory: Callable[[], Redis] = request.getfixturevalue("redis_factory")
    return lambda: RedisQuotaStore(factory(), unique_prefix)
