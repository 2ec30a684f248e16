from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from bastion.infra.ratelimit import MemoryRateLimiter, RateDecision, RateLimiter

if TYPE_CHECKING:
    from conftest import FakeClock


async def test_is_a_rate_limiter(clock: FakeClock) -> None:
    assert isinstance(MemoryRateLimiter(clock_ns=clock), RateLimiter)


async def test_allows_the_burst_then_spaces_requests_at_the_rate(clock: FakeClock) -> None:
    limiter = MemoryRateLimiter(clock_ns=clock)

    burst = [await limiter.check("k", 2.0, 4) for _ in range(4)]
    assert [d.allowed for d in burst] == [True, True, True, True]
    assert [d.remaining for d in burst] == [3, 2, 1, 0]
    assert await limiter.check("k", 2.0, 4) == RateDecision(
        allowed=False, retry_after_ms=500, remaining=0, reset_after_ms=2000
    )

    for _ in range(10):
        clock.advance(0.25)
        assert not (await limiter.check("k", 2.0, 4)).allowed
        clock.advance(0.25)
        assert (await limiter.check("k", 2.0, 4)).allowed


async def test_retry_after_is_exactly_the_wait_until_the_next_cell(clock: FakeClock) -> None:
    limiter = MemoryRateLimiter(clock_ns=clock)
    assert (await limiter.check("k", 1.0, 1)).allowed

    clock.advance(0.7)
    denied = await limiter.check("k", 1.0, 1)
    assert (denied.allowed, denied.retry_after_ms) == (False, 300)

    clock.advance(0.299)
    assert (await limiter.check("k", 1.0, 1)).retry_after_ms == 1
    clock.advance(0.001)
    assert (await limiter.check("k", 1.0, 1)).allowed


async def test_retry_after_rounds_up_to_whole_milliseconds(clock: FakeClock) -> None:
    limiter = MemoryRateLimiter(clock_ns=clock)
    await limiter.check("k", 3.0, 1)
    denied = await limiter.check("k", 3.0, 1)
    assert denied.retry_after_ms == 334
    clock.advance(0.333)
    assert not (await limiter.check("k", 3.0, 1)).allowed
    clock.advance(0.001)
    assert (await limiter.check("k", 3.0, 1)).allowed


async def test_a_denied_request_does_not_consume_capacity(clock: FakeClock) -> None:
    limiter = MemoryRateLimiter(clock_ns=clock)
    await limiter.check("k", 1.0, 1)
    for _ in range(5):
        assert not (await limiter.check("k", 1.0, 1)).allowed
    clock.advance(1.0)
    assert (await limiter.check("k", 1.0, 1)).allowed


async def test_idle_time_refills_no_more_than_the_burst(clock: FakeClock) -> None:
    limiter = MemoryRateLimiter(clock_ns=clock)
    await limiter.check("k", 10.0, 3)
    clock.advance(3600)
    allowed = [(await limiter.check("k", 10.0, 3)).allowed for _ in range(4)]
    assert allowed == [True, True, True, False]


async def test_keys_are_independent(clock: FakeClock) -> None:
    limiter = MemoryRateLimiter(clock_ns=clock)
    assert (await limiter.check("a", 1.0, 1)).allowed
    assert not (await limiter.check("a", 1.0, 1)).allowed
    assert (await limiter.check("b", 1.0, 1)).allowed


@pytest.mark.parametrize(("rate", "burst"), [(0.0, 1), (-1.0, 1), (1.0, 0)])
async def test_rejects_meaningless_limits(clock: FakeClock, rate: float, burst: int) -> None:
    with pytest.raises(ValueError):
        await MemoryRateLimiter(clock_ns=clock).check("k", rate, burst)


async def test_keys_whose_tat_has_passed_are_evicted(clock: FakeClock) -> None:
    limiter = MemoryRateLimiter(clock_ns=clock, min_sweep_size=4)
    for i in range(1000):
        await limiter.check(f"idle-{i}", 100.0, 1)
        clock.advance(0.02)
    assert len(limiter) < 8


async def test_eviction_keeps_keys_with_a_live_tat(clock: FakeClock) -> None:
    limiter = MemoryRateLimiter(clock_ns=clock, min_sweep_size=4)
    await limiter.check("busy", 0.001, 1)
    for i in range(100):
        await limiter.check(f"idle-{i}", 100.0, 1)
        clock.advance(0.02)
    denied = await limiter.check("busy", 0.001, 1)
    assert not denied.allowed
    assert denied.retry_after_ms == 1_000_000 - 2_000


async def test_aclose_forgets_every_bucket(clock: FakeClock) -> None:
    limiter = MemoryRateLimiter(clock_ns=clock)
    await limiter.check("k", 1.0, 1)
    await limiter.aclose()
    assert len(limiter) == 0
    assert (await limiter.check("k", 1.0, 1)).allowed


async def test_many_distinct_limits_keep_their_own_intervals(clock: FakeClock) -> None:
    # Intervals are remembered per (rate, burst) in a bounded table: past its bound it
    # starts over, and every limit still spaces requests at its own rate.
    limiter = MemoryRateLimiter(clock_ns=clock)
    for n in range(1, 600):
        assert (await limiter.check(f"k{n}", float(n), 1)).allowed
        retry = (await limiter.check(f"k{n}", float(n), 1)).retry_after_ms
        assert retry == -(-1000 // n), n
    assert len(limiter._intervals) <= 256
    with pytest.raises(ValueError, match="rate_per_second must be positive"):
        await limiter.check("k", 0.0, 1)
    with pytest.raises(ValueError, match="burst must be at least 1"):
        await limiter.check("k", 1.0, 0)
