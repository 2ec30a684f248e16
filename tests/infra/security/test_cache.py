from __future__ import annotations

import pytest

from bastion.infra.security import TtlCache


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_get_set_and_expiry() -> None:
    clock = Clock()
    cache: TtlCache[str, int] = TtlCache(maxsize=4, ttl_seconds=5, clock=clock)
    cache.set("a", 1)
    clock.now += 4.9
    assert cache.get("a") == 1
    clock.now += 0.1
    assert cache.get("a") is None
    assert len(cache) == 0


def test_set_again_restarts_the_ttl() -> None:
    clock = Clock()
    cache: TtlCache[str, int] = TtlCache(maxsize=4, ttl_seconds=5, clock=clock)
    cache.set("a", 1)
    clock.now += 4
    cache.set("a", 2)
    clock.now += 4
    assert cache.get("a") == 2


def test_least_recently_used_is_evicted() -> None:
    cache: TtlCache[str, int] = TtlCache(maxsize=2, ttl_seconds=60, clock=Clock())
    cache.set("a", 1)
    cache.set("b", 2)
    assert cache.get("a") == 1
    cache.set("c", 3)
    assert cache.get("b") is None
    assert (cache.get("a"), cache.get("c"), len(cache)) == (1, 3, 2)


def test_discard_and_clear() -> None:
    cache: TtlCache[str, int] = TtlCache(maxsize=4, ttl_seconds=60, clock=Clock())
    cache.set("a", 1)
    cache.set("b", 2)
    cache.discard("a")
    cache.discard("missing")
    assert cache.get("a") is None
    cache.clear()
    assert len(cache) == 0


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match=r"^maxsize must be at least 1, got 0$"):
        TtlCache[str, int](maxsize=0, ttl_seconds=1)
    with pytest.raises(ValueError, match=r"^ttl_seconds must be positive, got 0$"):
        TtlCache[str, int](maxsize=1, ttl_seconds=0)
