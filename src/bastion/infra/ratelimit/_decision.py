"""The outcome of one rate limit check and the protocol every limiter implements."""

from __future__ import annotations

from typing import NamedTuple, Protocol, runtime_checkable


class RateDecision(NamedTuple):
    """One check's answer.

    ``retry_after_ms`` is 0 when allowed; ``remaining`` is how many more requests would be
    allowed right now; ``reset_after_ms`` is how long until the bucket is full again.
    A named tuple rather than a frozen dataclass: it is built on every request, and a
    frozen dataclass costs about three times as much to construct.
    """

    allowed: bool
    retry_after_ms: int
    remaining: int
    reset_after_ms: int


@runtime_checkable
class RateLimiter(Protocol):
    async def check(self, key: str, rate_per_second: float, burst: int) -> RateDecision:
        """Count one request against ``key``; ``burst`` requests may arrive at once."""
        ...

    async def aclose(self) -> None:
        """Release any connection the limiter owns."""
        ...
