from __future__ import annotations

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


class GatewaySettings(_Strict):
    routes: list[RouteSettings] = Field(default_factory=list, description="First match wins.")
    pricing: dict[str, PriceSettings] = Field(
        default_factory=dict, description="Model -> price, merged over the shipped catalog."
    )
