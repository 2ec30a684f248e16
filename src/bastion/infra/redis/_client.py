"""One Redis client for the request path."""

from __future__ import annotations

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff


def request_path_client(url: str, *, timeout_seconds: float = 0.25) -> Redis:
    """A client built for the request path: short timeouts, one immediate retry (for a
    pooled connection the server closed), no backoff."""
    return Redis.from_url(
        url,
        socket_timeout=timeout_seconds,
        socket_connect_timeout=timeout_seconds,
        retry=Retry(NoBackoff(), 1),
    )
