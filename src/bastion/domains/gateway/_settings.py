from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PriceSettings(_Strict):
    """USD per million tokens."""

    input: float = Field(ge=0, description="Input tokens.")
    output: float = Field(ge=0, description="Output tokens.")
    cache_read: float | None = Field(None, ge=0, description="Cache-read input tokens.")
    cache_write: float | None = Field(None, ge=0, description="Cache-write input tokens.")


class RouteSettings(_Strict):
    model_pattern: str = Field(
        min_length=1, description="Exact model name, or `*` as prefix or suffix (`claude-*`)."
    )
    provider: str = Field(min_length=1, description="A registered upstream provider tag.")
    endpoint: str | None = Field(None, description="Upstream base URL (provider default if unset).")
    api_key_secret: str | None = Field(
        None, description="Name of the secret with the upstream key."
    )
    upstream_model: str | None = Field(None, description="Model name sent upstream.")
    extra_headers: dict[str, str] = Field(default_factory=dict, description="Sent upstream.")
    pricing: PriceSettings | None = Field(None, description="Overrides the pricing catalog.")
    timeout_seconds: float = Field(600.0, gt=0, description="Read timeout for the upstream.")
    fallbacks: list[str] = Field(
        default_factory=list, description="Route names (model patterns) tried in order on failure."
    )
    name: str | None = Field(None, description="Route name for ACLs and fallbacks.")


class RetrySettings(_Strict):
    attempts: int = Field(
        3, ge=1, le=10, description="Tries per route before its fallbacks (1 = no retry)."
    )
    backoff_ms: int = Field(200, ge=0, description="First backoff; doubles on each retry.")
    max_backoff_ms: int = Field(
        4000, ge=0, description="Cap on one backoff, including an upstream's Retry-After."
    )


class CoworkSettings(_Strict):
    enabled: bool = Field(True, description="Serve the Claude for Work credential helper API.")
    ttl_seconds: int = Field(
        3600, ge=60, description="Lifetime of the JWT a personal API key is exchanged for."
    )


class GatewaySettings(_Strict):
    routes: list[RouteSettings] = Field(default_factory=list, description="First match wins.")
    retry: RetrySettings = Field(
        default_factory=RetrySettings,
        description="Retries on connect errors, timeouts, 429 and 5xx before the first byte.",
    )
    response_secrets: Literal["redact", "audit"] = Field(
        "redact",
        description="Secrets found in upstream responses: `redact` them (non-streaming "
        "responses) or only record them (`audit`). Streams are always audit-only.",
    )
    connect_timeout_seconds: float = Field(10.0, gt=0, description="Upstream connect timeout.")
    cowork: CoworkSettings = Field(
        default_factory=CoworkSettings, description="Claude for Work credential helper."
    )
    pricing: dict[str, PriceSettings] = Field(
        default_factory=dict, description="Model -> price, merged over the shipped catalog."
    )
