"""Quota counters in Redis hashes, shared by every replica."""

from __future__ import annotations

import math
from collections.abc import Sequence

from redis.asyncio import Redis
from redis.exceptions import RedisError

from bastion.infra.quota._errors import QuotaBackendError
from bastion.infra.quota._store import (
    METRICS,
    CounterWindow,
    Exceeded,
    LimitCheck,
    Usage,
)
from bastion.infra.redis import request_path_client

_FIELDS = tuple(metric.value for metric in METRICS)

# KEYS: counter hashes. ARGV[1..#KEYS]: TTL per key (s); then, per check, five
# values: the 1-based key index and four limits (-1 = none) in metric order.
# Returns {0, 0, 0, 0} when admitted (one request counted in every key), else
# {check number (1-based), metric number (1-based), limit, used}.
_ADMIT_LUA = """
local n = #KEYS
local used = {}
for i = 1, n do
  local v = redis.call('HMGET', KEYS[i],
    'requests', 'input_tokens', 'output_tokens', 'cost_microdollars')
  used[i] = {tonumber(v[1]) or 0, tonumber(v[2]) or 0, tonumber(v[3]) or 0, tonumber(v[4]) or 0}
end
local check = 0
for j = n + 1, #ARGV, 5 do
  check = check + 1
  local u = used[tonumber(ARGV[j])]
  for m = 1, 4 do
    local limit = tonumber(ARGV[j + m])
    if limit >= 0 and u[m] >= limit then
      return {check, m, limit, u[m]}
    end
  end
end
for i = 1, n do
  redis.call('HINCRBY', KEYS[i], 'requests', 1)
  redis.call('EXPIRE', KEYS[i], ARGV[i])
end
return {0, 0, 0, 0}
"""

# KEYS: counter hashes. ARGV[1..4]: increments in metric order; ARGV[5..]: TTL per key (s).
_ADD_LUA = """
local fields = {'requests', 'input_tokens', 'output_tokens', 'cost_microdollars'}
for i = 1, #KEYS do
  for m = 1, 4 do
    if ARGV[m] ~= '0' then
      redis.call('HINCRBY', KEYS[i], fields[m], ARGV[m])
    end
  end
  redis.call('EXPIRE', KEYS[i], ARGV[4 + i])
end
return #KEYS
"""

# TTLs are relative (the window's remainder by this replica's clock, plus a grace period)
# so that a difference between this replica's clock and the server's cannot expire a
# window's counters before the replica itself has moved on to the next window.
_EXPIRY_GRACE_SECONDS = 300


def _ttls(counters: Sequence[CounterWindow], now: float) -> list[int]:
    return [math.ceil(c.expires_at - now) + _EXPIRY_GRACE_SECONDS for c in counters]


class RedisQuotaStore:
    """One hash per ``CounterWindow`` (fields ``requests``, ``input_tokens``,
    ``output_tokens``, ``cost_microdollars``) expiring a grace period after its window ends.

    Both writes are Lua scripts registered once and called with EVALSHA, reloaded on
    NOSCRIPT. Any Redis failure raises ``QuotaBackendError``.
    """

    def __init__(
        self, client: Redis, prefix: str = "bastion:quota:", *, owns_client: bool = False
    ) -> None:
        self._client = client
        self._prefix = prefix
        self._owns_client = owns_client
        self._admit = client.register_script(_ADMIT_LUA)
        self._add = client.register_script(_ADD_LUA)

    @classmethod
    def from_url(
        cls, url: str, prefix: str = "bastion:quota:", *, timeout_seconds: float = 0.25
    ) -> RedisQuotaStore:
        """A store owning a :func:`~bastion.infra.redis.request_path_client`."""
        return cls(
            request_path_client(url, timeout_seconds=timeout_seconds), prefix, owns_client=True
        )

    async def admit(
        self, counters: Sequence[CounterWindow], checks: Sequence[LimitCheck], now: float
    ) -> Exceeded | None:
        if not counters:
            return None
        args = _ttls(counters, now)
        for check in checks:
            args.append(check.counter + 1)
            args.extend(check.limits)
        try:
            failed, metric, limit, used = await self._admit(keys=self._keys(counters), args=args)
        except RedisError as exc:
            raise _backend_error(exc) from exc
        if failed == 0:
            return None
        return Exceeded(int(failed) - 1, METRICS[int(metric) - 1], int(limit), int(used))

    async def add_usage(self, counters: Sequence[CounterWindow], usage: Usage, now: float) -> None:
        if not counters:
            return
        args = [*usage.as_tuple(), *_ttls(counters, now)]
        try:
            await self._add(keys=self._keys(counters), args=args)
        except RedisError as exc:
            raise _backend_error(exc) from exc

    async def usage(self, counter: CounterWindow, now: float) -> Usage:
        try:
            values = await self._client.hmget(self._prefix + counter.key, list(_FIELDS))
        except RedisError as exc:
            raise _backend_error(exc) from exc
        requests, input_tokens, output_tokens, cost = (int(v or 0) for v in values)
        return Usage(requests, input_tokens, output_tokens, cost)

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    def _keys(self, counters: Sequence[CounterWindow]) -> list[str]:
        return [self._prefix + c.key for c in counters]


def _backend_error(exc: RedisError) -> QuotaBackendError:
    return QuotaBackendError(f"quota backend unavailable: {type(exc).__name__}: {exc}")
