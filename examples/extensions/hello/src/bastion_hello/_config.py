from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class HelloConfig(BaseModel):
    """``hello:`` in the profile (a top-level key); every key has a default."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    greeting: str = Field("Hello", min_length=1, max_length=64, description="What to say.")
    retention_days: int = Field(30, ge=1, description="Greetings older than this are pruned.")
