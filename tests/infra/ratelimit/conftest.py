"""Fixtures for rate limit tests: a settable clock and Redis clients cleaned up per test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest
from redis.asyncio import Redis


class FakeClock:
    """Nanoseconds that move only when a test says so."""

    def __init__(self, start_ns: int = 1_700_000_000 * 1_000_000_000) -> None:
        self.now_ns = start_ns

    def __call__(self) -> int:
        return self.now_ns

    def advance(self, seconds: float) -> None:
        self.now_ns += round(seconds * 1_000_000_000)


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
