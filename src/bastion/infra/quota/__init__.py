"""Quota counter storage: requests, tokens and cost per window, in process or in Redis.

The mechanism only: ``build_quota_store(settings)`` picks the store the settings ask
for. The policy (which rules apply to whom, the chain's ``quota`` stage and the usage
recorded after a response) is the governance domain's.
"""

from typing import TYPE_CHECKING

from bastion.infra.quota._build import build_quota_store
from bastion.infra.quota._errors import QuotaBackendError, QuotaError
from bastion.infra.quota._memory import MemoryQuotaStore
from bastion.infra.quota._settings import (
    Backend,
    QuotaLimits,
    QuotaMetric,
    QuotaRule,
    QuotaSettings,
    SubjectType,
)
from bastion.infra.quota._standing import QuotaBook, QuotaStanding, rule_limits
from bastion.infra.quota._store import (
    CounterWindow,
    Exceeded,
    LimitCheck,
    QuotaStore,
    Usage,
)
from bastion.infra.quota._window import format_window
from bastion.kernel.lazy import lazy_attributes

if TYPE_CHECKING:
    from bastion.infra.quota._redis import RedisQuotaStore

# The Redis client is imported only by a profile whose backend is ``redis``.
__getattr__ = lazy_attributes(__name__, {"RedisQuotaStore": "bastion.infra.quota._redis"})

__all__ = [
    "Backend",
    "CounterWindow",
    "Exceeded",
    "LimitCheck",
    "MemoryQuotaStore",
    "QuotaBackendError",
    "QuotaBook",
    "QuotaError",
    "QuotaLimits",
    "QuotaMetric",
    "QuotaRule",
    "QuotaSettings",
    "QuotaStanding",
    "QuotaStore",
    "RedisQuotaStore",
    "SubjectType",
    "Usage",
    "build_quota_store",
    "format_window",
    "rule_limits",
]
