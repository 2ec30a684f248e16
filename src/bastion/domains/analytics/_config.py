"""``extensions.analytics`` in the profile; every key has a default."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class AnalyticsConfig(BaseModel):
    """How the hourly usage rollups are kept."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rollup_interval_seconds: float = Field(
        60.0,
        gt=0,
        description="How often the rollup job runs (it rolls up every hour closed since).",
    )
    settle_seconds: int = Field(
        120,
        ge=0,
        le=3600,
        description="How long after an hour closes the job waits before rolling it up, so "
        "rows still in the audit writer's batches land first.",
    )
    reconcile_hours: float = Field(
        2.0,
        ge=0,
        le=24 * 7,
        description="For how long after it rolled an hour up each run re-counts that "
        "hour's raw rows, recomputing it if rows written late (a spill file replayed "
        "after an outage) changed it. Rows later still need `bastion analytics rebuild`.",
    )
