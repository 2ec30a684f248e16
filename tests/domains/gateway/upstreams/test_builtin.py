"""The built-in provider tags."""

from __future__ import annotations

import aiohttp

from bastion.domains.gateway.upstreams import (
    DEFAULT_ENDPOINTS,
    AnthropicUpstream,
    GeminiUpstream,
    LlmUpstream,
    MockUpstream,
    OpenAICompatibleUpstream,
    UpstreamServices,
    builtin_upstreams,
)
from bastion.kernel.upstream import Upstream, UpstreamHealth


async def test_every_builtin_tag_builds_its_provider(http: aiohttp.ClientSession) -> None:
    services = UpstreamServices(http=http)
    built = {entry.tag: entry.factory(services) for entry in builtin_upstreams()}
    assert {tag: type(upstream) for tag, upstream in built.items()} == {
        "anthropic": AnthropicUpstream,
        "minimax": AnthropicUpstream,
        "openai": OpenAICompatibleUpstream,
        "moonshot": OpenAICompatibleUpstream,
        "qwen": OpenAICompatibleUpstream,
        "gemini": GeminiUpstream,
        "mock": MockUpstream,
    }
    assert all(isinstance(upstream, LlmUpstream) for upstream in built.values())
    assert all(isinstance(upstream, Upstream) for upstream in built.values())
    # Each is named by its tag, and has had no failure yet.
    assert {tag: upstream.name for tag, upstream in built.items()} == {tag: tag for tag in built}
    assert {upstream.health() for upstream in built.values()} == {UpstreamHealth()}


def test_default_endpoints() -> None:
    assert dict(DEFAULT_ENDPOINTS) == {
        "anthropic": "https://api.anthropic.com",
        "minimax": "https://api.minimax.io/anthropic",
        "openai": "https://api.openai.com/v1",
        "moonshot": "https://api.moonshot.ai/v1",
        "qwen": "https://dashscope-intl.aliyuncs.com/compatible-mode/v1",
        "gemini": "https://generativelanguage.googleapis.com",
    }
