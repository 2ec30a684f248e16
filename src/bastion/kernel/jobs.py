"""Scheduled jobs and their recorded runs, as an extension sees them: the platform
provides ``JOBS`` (``bastion jobs`` and the admin API are its two front ends)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from bastion.kernel.services import ServiceKey


@dataclass(frozen=True, slots=True)
class JobView:
    key: str  # extension.job
    extension_id: str
    name: str
    schedule: str  # "every 30s" or "cron */5 * * * *"


@dataclass(frozen=True, slots=True)
class JobRunView:
    key: str
    started_at: dt.datetime
    duration_ms: float
    outcome: str  # success or error
    error: str | None


class JobBook(Protocol):
    def jobs(self) -> Sequence[JobView]:
        """Every job of this process's extensions, in boot order."""
        ...

    async def runs(self, *, job: str | None = None, limit: int = 50) -> Sequence[JobRunView]:
        """Recorded runs newest first, of every job or of ``extension.job``."""
        ...

    async def last_runs(self) -> dict[str, JobRunView]:
        """The latest recorded run of each job that has one, by key."""
        ...


JOBS: ServiceKey[JobBook] = ServiceKey("jobs", "Scheduled jobs and their recorded runs")
