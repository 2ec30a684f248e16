"""Choose the counter store the settings ask for."""

from __future__ import annotations

from bastion.infra.quota._memory import MemoryQuotaStore
from bastion.infra.quota._settings import QuotaSettings
from bastion.infra.quota._store import QuotaStore


def build_quota_store(settings: QuotaSettings) -> QuotaStore:
    """An in-process store, or a Redis one owning its client (close it with ``aclose``)."""
    if settings.backend == "redis":
        assert settings.redis_url is not None  # enforced by QuotaSettings
        from bastion.infra.quota._redis import RedisQuotaStore  # imports redis

        return RedisQuotaStore.from_url(
            settings.redis_url,
            settings.key_prefix,
            timeout_seconds=settings.redis_timeout_ms / 1000,
        )
    return MemoryQuotaStore()
