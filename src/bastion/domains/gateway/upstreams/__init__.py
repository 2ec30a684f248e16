"""LLM upstream providers.

The gateway speaks Anthropic Messages internally: a provider receives an Anthropic
request body (model already rewritten) and returns Anthropic bytes, whole or as SSE.
Providers are the kernel's ``Upstream`` (name, health, aclose) with Anthropic Messages
calls (``LlmUpstream``). They share one pooled aiohttp session
(:func:`create_http_session`), raise the kernel's ``UpstreamError`` family (the one MCP
servers raise too), and never retry: retries and fallbacks belong to the dispatcher,
guided by ``UpstreamError.retryable``.

Built-in tags (:func:`builtin_upstreams`)::

    anthropic, minimax        AnthropicUpstream          byte passthrough, usage tapped
    openai, moonshot, qwen    OpenAICompatibleUpstream   Chat Completions translation
    gemini                    GeminiUpstream             generateContent translation
    mock                      MockUpstream               deterministic, offline
"""

from typing import TYPE_CHECKING

from bastion.domains.gateway.upstreams._builtin import DEFAULT_ENDPOINTS, builtin_upstreams
from bastion.domains.gateway.upstreams._contract import (
    LlmUpstream,
    MessagesCall,
    UpstreamResponse,
    UpstreamServices,
    UpstreamStream,
    UpstreamTarget,
)
from bastion.kernel.lazy import lazy_attributes

if TYPE_CHECKING:
    from bastion.domains.gateway.upstreams._anthropic import AnthropicUpstream
    from bastion.domains.gateway.upstreams._gemini import GeminiUpstream
    from bastion.domains.gateway.upstreams._http import create_http_session
    from bastion.domains.gateway.upstreams._mock import MockUpstream, estimate_tokens
    from bastion.domains.gateway.upstreams._openai import OpenAICompatibleUpstream

# The providers stand on aiohttp: imported when the gateway mounts, not when it registers.
__getattr__ = lazy_attributes(
    __name__,
    {
        "AnthropicUpstream": f"{__name__}._anthropic",
        "GeminiUpstream": f"{__name__}._gemini",
        "create_http_session": f"{__name__}._http",
        "MockUpstream": f"{__name__}._mock",
        "estimate_tokens": f"{__name__}._mock",
        "OpenAICompatibleUpstream": f"{__name__}._openai",
    },
)

__all__ = [
    "DEFAULT_ENDPOINTS",
    "AnthropicUpstream",
    "GeminiUpstream",
    "LlmUpstream",
    "MessagesCall",
    "MockUpstream",
    "OpenAICompatibleUpstream",
    "UpstreamResponse",
    "UpstreamServices",
    "UpstreamStream",
    "UpstreamTarget",
    "builtin_upstreams",
    "create_http_session",
    "estimate_tokens",
]
