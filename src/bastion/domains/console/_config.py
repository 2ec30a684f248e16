from __future__ import annotations

from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator


class ConsoleConfig(BaseModel):
    """``console:`` in the profile; every key has a default."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    idle_timeout_seconds: int = Field(
        1800,
        ge=60,
        le=86_400,
        description="A console session unused this long ends; the operator signs in again.",
    )
    absolute_timeout_seconds: int = Field(
        28_800,
        ge=300,
        le=604_800,
        description="A console session ends this long after sign-in, however busy it is.",
    )
    tail_poll_seconds: float = Field(
        1.0,
        ge=0.2,
        le=30,
        description="How often the live tail of decisions looks for new ones.",
    )

    @model_validator(mode="after")
    def _idle_within_absolute(self) -> Self:
        if self.idle_timeout_seconds > self.absolute_timeout_seconds:
            raise ValueError("console.idle_timeout_seconds exceeds absolute_timeout_seconds")
        return self
