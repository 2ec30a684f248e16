"""Pieces every HTTP provider builds its request from."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from bastion.domains.gateway.upstreams._contract import UpstreamTarget

ANTHROPIC_VERSION = "2023-06-01"

# The only caller headers that may cross to an Anthropic-compatible upstream.
FORWARDABLE = ("anthropic-version", "anthropic-beta")


def forwarded(forward_headers: Mapping[str, str] | None) -> dict[str, str]:
    """``anthropic-version`` (defaulted) and ``anthropic-beta`` from the caller, and
    nothing else whatever the mapping holds."""
    found = {name.lower(): value for name, value in (forward_headers or {}).items()}
    headers = {"anthropic-version": found.get("anthropic-version") or ANTHROPIC_VERSION}
    if found.get("anthropic-beta"):
        headers["anthropic-beta"] = found["anthropic-beta"]
    return headers


def with_extra(headers: dict[str, str], target: UpstreamTarget) -> dict[str, str]:
    """``headers`` (lower-case names) with the route's ``extra_headers`` laid over them:
    the operator's configuration wins, whatever case it spells a name in."""
    for name, value in target.extra_headers.items():
        headers[name.lower()] = value
    return headers


def streaming_body(body: Mapping[str, Any], stream: bool) -> dict[str, Any]:
    """``body`` with its ``stream`` flag matching the call, copied only if it differs."""
    if isinstance(body, dict) and bool(body.get("stream")) == stream:
        return body
    out = dict(body)
    if stream:
        out["stream"] = True
    else:
        out.pop("stream", None)
    return out


def model_of(body: Mapping[str, Any], target: UpstreamTarget) -> str:
    model = body.get("model")
    return model if isinstance(model, str) and model else target.upstream_model


def base_url(target: UpstreamTarget, default: str) -> str:
    return (target.endpoint or default).rstrip("/")


def dumps(body: Mapping[str, Any], *, sort_keys: bool = False) -> bytes:
    return orjson.dumps(body, default=_plain, option=orjson.OPT_SORT_KEYS if sort_keys else 0)


def _plain(value: Any) -> Any:
    # orjson serialises dict natively; other mappings (a read-only view) come here.
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")
