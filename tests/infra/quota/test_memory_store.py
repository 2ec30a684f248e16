from __future__ import annotations

from bastion.infra.quota import CounterWindow, LimitCheck, MemoryQuotaStore, QuotaStore, Usage

UNLIMITED = (-1, -1, -1, -1)


def test_is_a_quota_store() -> None:
    assert isinstance(MemoryQuotaStore(), QuotaStore)


async def test_windows_that_have_ended_are_swept() -> None:
    store = MemoryQuotaStore(min_sweep_size=4)
    for minute in range(1000):
        now = minute * 60.0
        counter = CounterWindow(f"user:60:{minute}:usr_1", expires_at=int(now) + 60)
        assert await store.admit([counter], [LimitCheck(0, UNLIMITED)], now) is None
    assert len(store) < 8


async def test_a_sweep_keeps_windows_still_running() -> None:
    store = MemoryQuotaStore(min_sweep_size=4)
    daily = CounterWindow("user:86400:0:usr_1", expires_at=86400)
    await store.add_usage([daily], Usage(input_tokens=7), 0.0)
    for second in range(100):
        counter = CounterWindow(f"user:1:{second}:usr_2", expires_at=second + 1)
        await store.add_usage([counter], Usage(output_tokens=1), float(second))
    assert await store.usage(daily, 100.0) == Usage(input_tokens=7)


async def test_aclose_forgets_every_counter() -> None:
    store = MemoryQuotaStore()
    counter = CounterWindow("user:60:0:usr_1", expires_at=60)
    await store.add_usage([counter], Usage(requests=1), 0.0)
    await store.aclose()
    assert len(store) == 0
    assert await store.usage(counter, 0.0) == Usage()
