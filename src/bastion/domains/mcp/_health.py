"""Health of each registered server, as the scheduled job last found it.

A check lists the server's tools as Bastion itself (so a rug pull is caught even when
nobody is listing) within the server's timeout. The result is shown in the registry and
exported as ``bastion_mcp_server_up`` and ``bastion_mcp_server_tools``.
"""

from __future__ import annotations

import enum
import time
from dataclasses import dataclass
from datetime import UTC, datetime


class Health(enum.StrEnum):
    UNKNOWN = "unknown"
    HEALTHY = "healthy"
    UNHEALTHY = "unhealthy"


@dataclass(frozen=True, slots=True)
class HealthStatus:
    status: Health = Health.UNKNOWN
    checked_at: datetime | None = None
    latency_ms: float | None = None
    error: str | None = None

    @classmethod
    def passed(cls, started: float) -> HealthStatus:
        return cls(
            Health.HEALTHY, datetime.now(UTC), round((time.perf_counter() - started) * 1000, 2)
        )

    @classmethod
    def failed(cls, started: float, error: str) -> HealthStatus:
        return cls(
            Health.UNHEALTHY,
            datetime.now(UTC),
            round((time.perf_counter() - started) * 1000, 2),
            error[:300],
        )

    def as_dict(self) -> dict[str, object]:
        return {
            "status": self.status.value,
            "checked_at": self.checked_at.isoformat() if self.checked_at else None,
            "latency_ms": self.latency_ms,
            "error": self.error,
        }
