"""The wire shapes: each validates (or is built from) what it describes in OpenAPI."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class NewTicket(BaseModel):
    """``POST /api/v1/helpdesk/tickets``."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    category: str = Field(min_length=1, max_length=32)
    subject: str = Field(min_length=1, max_length=200)
    body: str = Field(min_length=1, max_length=20_000)
    about_trace_id: str | None = Field(
        None,
        max_length=128,
        description="The trace of the request the ticket is about (a denied call, say).",
    )


class Ticket(BaseModel):
    """A ticket as the API and the CLI show it."""

    model_config = ConfigDict(frozen=True)

    id: str
    category: str
    subject: str
    status: Literal["open", "closed"]
    user_id: str | None
    trace_id: str
    about_trace_id: str | None
    resolution: str | None
    created_at: dt.datetime
    closed_at: dt.datetime | None
