"""The Redis GCRA limiter: one atomic Lua script, so replicas share every bucket."""

from __future__ import annotations

from collections.abc import Callable

from redis.asyncio import Redis
from redis.exceptions import RedisError

from bastion.infra.ratelimit._decision import RateDecision
from bastion.infra.ratelimit._errors import RateLimitBackendError
from bastion.infra.ratelimit._gcra import ceil_div, emission_interval_ns
from bastion.infra.redis import request_path_client

# KEYS[1] bucket; ARGV[1] emission interval (µs); ARGV[2] burst; ARGV[3] now (µs), optional:
# without it the script reads the server's TIME, so replicas never compare skewed clocks.
# Returns {allowed, retry_after_us, remaining, reset_after_us}. The TAT is written with
# %.0f because Lua's tostring would render a 16-digit microsecond count in exponent form.
_GCRA_LUA = """
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local now
if ARGV[3] then
  now = tonumber(ARGV[3])
else
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then
  tat = now
end
local new_tat = tat + interval
local allow_at = new_tat - burst * interval
if now < allow_at then
  return {0, allow_at - now, 0, tat - now}
end
redis.call('SET', KEYS[1], string.format('%.0f', new_tat),
  'PX', math.ceil((new_tat - now) / 1000))
return {1, 0, math.floor((now - allow_at) / interval), new_tat - now}
"""

_NS_PER_US = 1_000
_US_PER_MS = 1_000


class RedisRateLimiter:
    """GCRA state in Redis, one string key per bucket holding its TAT in microseconds.

    The script is registered once and called with EVALSHA; on NOSCRIPT (after a restart,
    failover or SCRIPT FLUSH) it is loaded again and retried. Each key expires when its
    TAT passes, at which point it would be equivalent to an absent key anyway.

    Time comes from the Redis server's TIME unless ``clock_ns`` is given, in which case
    every check uses it; pass a wall clock (``time.time_ns``) shared by all replicas.
    Any Redis failure raises ``RateLimitBackendError``.
    """

    def __init__(
        self,
        client: Redis,
        prefix: str = "bastion:rl:",
        *,
        clock_ns: Callable[[], int] | None = None,
        owns_client: bool = False,
    ) -> None:
        self._client = client
        self._prefix = prefix
        self._clock_ns = clock_ns
        self._owns_client = owns_client
        self._script = client.register_script(_GCRA_LUA)

    @classmethod
    def from_url(
        cls, url: str, prefix: str = "bastion:rl:", *, timeout_seconds: float = 0.25
    ) -> RedisRateLimiter:
        """A limiter owning a :func:`~bastion.infra.redis.request_path_client`."""
        return cls(
            request_path_client(url, timeout_seconds=timeout_seconds), prefix, owns_client=True
        )

    async def check(self, key: str, rate_per_second: float, burst: int) -> RateDecision:
        interval_us = max(1, emission_interval_ns(rate_per_second, burst) // _NS_PER_US)
        args: list[int] = [interval_us, burst]
        if self._clock_ns is not None:
            args.append(self._clock_ns() // _NS_PER_US)
        try:
            allowed, retry_us, remaining, reset_us = await self._script(
                keys=[self._prefix + key], args=args
            )
        except RedisError as exc:
            raise RateLimitBackendError(
                f"rate limit backend unavailable: {type(exc).__name__}: {exc}"
            ) from exc
        return RateDecision(
            allowed == 1,
            ceil_div(int(retry_us), _US_PER_MS),
            int(remaining),
            ceil_div(int(reset_us), _US_PER_MS),
        )

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()
