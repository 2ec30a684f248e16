"""The provider tags Bastion ships.

Each factory imports its provider when the gateway mounts, so registering the tags (which
every boot does, a CLI command's included) does not import the HTTP client."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Literal

from bastion.domains.gateway.upstreams._contract import LlmUpstream, UpstreamServices
from bastion.kernel.contract import UpstreamRegistration

DEFAULT_ENDPOINTS: Mapping[str, str] = MappingProxyType(
    {
        "anthropic": "https://api.anthropic.com",
        "minimax": "https://api.minimax.io/anthropic",
        "openai": "https://api.openai.com/v1",
        "moonshot": "https://api.moonshot.ai/v1",
        "qwen": "https://dashscope-intl.aliyuncs.com/compatible-mode/v1",
        "gemini": "https://generativelanguage.googleapis.com",
    }
)
"""Where each built-in tag sends a route that names no ``endpoint``."""

Factory = Callable[[UpstreamServices], LlmUpstream]


def _anthropic(tag: str) -> Factory:
    def build(services: UpstreamServices) -> LlmUpstream:
        from bastion.domains.gateway.upstreams._anthropic import AnthropicUpstream

        return AnthropicUpstream(services.http, name=tag, default_endpoint=DEFAULT_ENDPOINTS[tag])

    return build


def _openai(tag: str) -> Factory:
    # Only OpenAI's own API needs max_completion_tokens (its reasoning models refuse
    # max_tokens); Moonshot and DashScope document max_tokens.
    field: Literal["max_tokens", "max_completion_tokens"] = (
        "max_completion_tokens" if tag == "openai" else "max_tokens"
    )

    def build(services: UpstreamServices) -> LlmUpstream:
        from bastion.domains.gateway.upstreams._openai import OpenAICompatibleUpstream

        return OpenAICompatibleUpstream(
            services.http, name=tag, default_endpoint=DEFAULT_ENDPOINTS[tag], max_tokens_field=field
        )

    return build


def _gemini(services: UpstreamServices) -> LlmUpstream:
    from bastion.domains.gateway.upstreams._gemini import GeminiUpstream

    return GeminiUpstream(
        services.http, name="gemini", default_endpoint=DEFAULT_ENDPOINTS["gemini"]
    )


def _mock(services: UpstreamServices) -> LlmUpstream:
    from bastion.domains.gateway.upstreams._mock import MockUpstream

    return MockUpstream("mock")


def builtin_upstreams() -> list[UpstreamRegistration]:
    """Every built-in tag: ``anthropic``, ``minimax``, ``openai``, ``moonshot``, ``qwen``,
    ``gemini`` and ``mock``."""
    return [
        UpstreamRegistration("anthropic", _anthropic("anthropic")),
        UpstreamRegistration("minimax", _anthropic("minimax")),
        UpstreamRegistration("openai", _openai("openai")),
        UpstreamRegistration("moonshot", _openai("moonshot")),
        UpstreamRegistration("qwen", _openai("qwen")),
        UpstreamRegistration("gemini", _gemini),
        UpstreamRegistration("mock", _mock),
    ]
