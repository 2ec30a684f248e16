"""``quotas`` in the profile."""

from __future__ import annotations

import enum
from typing import Annotated, Literal, Self

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from bastion.infra.quota._window import parse_window

Backend = Literal["memory", "redis"]

WindowSeconds = Annotated[int, BeforeValidator(parse_window), Field(gt=0)]


class SubjectType(enum.StrEnum):
    """Whose usage a rule counts: the user, the user's tenant, or the API key used."""

    USER = "user"
    TENANT = "tenant"
    API_KEY = "api_key"


class QuotaMetric(enum.StrEnum):
    """What a window counts, in the order stores keep them."""

    REQUESTS = "requests"
    INPUT_TOKENS = "input_tokens"
    OUTPUT_TOKENS = "output_tokens"
    COST_MICRODOLLARS = "cost_microdollars"


class QuotaLimits(BaseModel):
    """Per-window ceilings; an omitted metric is unlimited."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    requests: int | None = Field(None, ge=0, description="Governed requests admitted per window.")
    input_tokens: int | None = Field(
        None, ge=0, description="Prompt tokens per window, as reported after each response."
    )
    output_tokens: int | None = Field(
        None, ge=0, description="Completion tokens per window, as reported after each response."
    )
    cost_microdollars: int | None = Field(
        None, ge=0, description="Upstream cost per window in millionths of a US dollar."
    )

    @model_validator(mode="after")
    def _at_least_one(self) -> Self:
        if self.as_tuple() == (-1, -1, -1, -1):
            raise ValueError("a quota needs at least one limit")
        return self

    def as_tuple(self) -> tuple[int, int, int, int]:
        """The limits in ``QuotaMetric`` order, -1 for unlimited."""
        return (
            -1 if self.requests is None else self.requests,
            -1 if self.input_tokens is None else self.input_tokens,
            -1 if self.output_tokens is None else self.output_tokens,
            -1 if self.cost_microdollars is None else self.cost_microdollars,
        )


class QuotaRule(BaseModel):
    """Limits on one kind of subject over a fixed window.

    Windows are aligned to the Unix epoch: a ``1d`` window runs from 00:00 UTC to the next
    00:00 UTC, and a ``30d`` window is one of consecutive 30-day blocks counted from
    1970-01-01, not a calendar month. Rules on the same subject and window length share
    one set of counters.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str | None = Field(None, description="Optional label, reported when the rule denies.")
    subject: SubjectType = Field(description="Whose usage is counted: user, tenant or api_key.")
    subject_id: str = Field(
        "*",
        min_length=1,
        description="The one subject this rule applies to, or '*' for each subject separately.",
    )
    window: WindowSeconds = Field(
        description="Window length: seconds, or a count with a unit (s, m, h, d) such as "
        "'1h', '1d' or '30d'."
    )
    limits: QuotaLimits = Field(description="Ceilings per window.")


class QuotaSettings(BaseModel):
    """Request, token and cost quotas per user, tenant or API key over fixed windows.

    A request is counted when the quota stage admits it; tokens and cost are added after
    the response and enforced from the next request on, so one response may overshoot.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = Field(True, description="When false the quota stage allows everything.")
    backend: Backend = Field(
        "memory",
        description="'memory' counts in this process; 'redis' shares counters across replicas.",
    )
    redis_url: str | None = Field(None, description="Redis URL, required when backend is 'redis'.")
    redis_timeout_ms: int = Field(
        250,
        gt=0,
        description="Connect and socket timeout for Redis; a slower Redis fails the "
        "request closed rather than holding it.",
    )
    key_prefix: str = Field("bastion:quota:", description="Prefix of every Redis key.")
    rules: tuple[QuotaRule, ...] = Field(
        (), description="Quota rules; every matching rule is enforced."
    )

    @model_validator(mode="after")
    def _redis_needs_url(self) -> Self:
        if self.backend == "redis" and not self.redis_url:
            raise ValueError("quotas.redis_url is required when backend is 'redis'")
        return self
