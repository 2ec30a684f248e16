"""Quota windows: requests, tokens and cost per user, tenant or API key.

Wire one enforcer into both the chain and the code that sees responses::

    enforcer = QuotaEnforcer(settings, build_quota_store(settings))
    stage = QuotaStage(enforcer)
    ...
    await enforcer.record_usage(principal, input_tokens, output_tokens, cost_microdollars)
"""

from typing import TYPE_CHECKING

from bastion.infra.governance.quota._build import build_quota_store
from bastion.infra.governance.quota._enforcer import QuotaBreach, QuotaEnforcer
from bastion.infra.governance.quota._errors import QuotaBackendError, QuotaError
from bastion.infra.governance.quota._memory import MemoryQuotaStore
from bastion.infra.governance.quota._settings import (
    Backend,
    QuotaLimits,
    QuotaMetric,
    QuotaRule,
    QuotaSettings,
    SubjectType,
)
from bastion.infra.governance.quota._stage import QuotaStage
from bastion.infra.governance.quota._store import (
    CounterWindow,
    Exceeded,
    LimitCheck,
    QuotaStore,
    Usage,
)
from bastion.infra.governance.quota._window import format_window
from bastion.kernel.lazy import lazy_attributes

if TYPE_CHECKING:
    from bastion.infra.governance.quota._redis import RedisQuotaStore

# The Redis client is imported only by a profile whose backend is ``redis``.
__getattr__ = lazy_attributes(
    __name__, {"RedisQuotaStore": "bastion.infra.governance.quota._redis"}
)

__all__ = [
    "Backend",
    "CounterWindow",
    "Exceeded",
    "LimitCheck",
    "MemoryQuotaStore",
    "QuotaBackendError",
    "QuotaBreach",
    "QuotaEnforcer",
    "QuotaError",
    "QuotaLimits",
    "QuotaMetric",
    "QuotaRule",
    "QuotaSettings",
    "QuotaStage",
    "QuotaStore",
    "RedisQuotaStore",
    "SubjectType",
    "Usage",
    "build_quota_store",
    "format_window",
]
