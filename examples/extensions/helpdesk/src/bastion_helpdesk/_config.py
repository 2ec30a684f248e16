from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

Category = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]*$", max_length=32)]


class HelpdeskConfig(BaseModel):
    """``helpdesk:`` in the profile (a top-level key); every key has a default."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    categories: tuple[Category, ...] = Field(
        ("access", "incident", "question"),
        min_length=1,
        description="The categories a ticket may be filed under.",
    )
    max_open_per_user: int = Field(
        5, ge=1, le=1000, description="Open tickets one user may have at a time."
    )
