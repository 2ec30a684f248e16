"""Gateway errors.

The tree::

    GatewayError                        (BastionError)
    ├── RouteNotFoundError              no route matches the requested model (404)
    ├── ProviderNotRegisteredError      a route names an unknown provider tag (boot)
    └── InvalidProviderError            an llm_upstreams() factory built no LlmUpstream (boot)

Calling a provider fails with the kernel's upstream family, the one MCP servers fail
with too (``bastion.kernel.errors``): ``UpstreamUnavailable``, ``UpstreamTimeout``,
``UpstreamRejected``, ``UpstreamProtocolError`` before any byte reached the caller, and
``UpstreamStreamError`` after. ``Gateway._upstream_failed`` maps them onto the caller's
wire format.
"""

from __future__ import annotations

from collections.abc import Sequence

from bastion.kernel.errors import BastionError


class GatewayError(BastionError):
    pass


class RouteNotFoundError(GatewayError):
    def __init__(self, model: str) -> None:
        super().__init__(f"no gateway route matches model '{model}'")
        self.model = model


class ProviderNotRegisteredError(GatewayError):
    def __init__(self, provider: str) -> None:
        super().__init__(f"Gateway provider '{provider}' is not registered")
        self.provider = provider


class InvalidProviderError(GatewayError):
    def __init__(
        self, provider: str, extension_id: str, built: object, missing: Sequence[str]
    ) -> None:
        super().__init__(
            f"extension '{extension_id}': the factory of provider '{provider}' built a "
            f"{type(built).__name__}, which has no {', '.join(missing)}; an llm_upstreams() "
            "factory returns an LlmUpstream (name, messages, count_tokens, health, aclose)"
        )
        self.provider = provider
        self.extension_id = extension_id
