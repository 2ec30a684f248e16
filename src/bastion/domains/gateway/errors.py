"""Gateway errors.

The tree::

    GatewayError                        (BastionError)
    ├── RouteNotFoundError              no route matches the requested model (404)
    ├── ProviderNotRegisteredError      a route names an unknown provider tag (boot)
    └── UpstreamError                   calling the upstream failed
        ├── UpstreamConnectError        could not connect (retryable)
        ├── UpstreamTimeoutError        connect or read timeout (retryable before the first byte)
        ├── UpstreamStatusError         a non-2xx answer; retryable for 429 and 5xx
        └── UpstreamStreamError         the stream broke after bytes reached the caller
"""

from __future__ import annotations

from collections.abc import Mapping

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


class UpstreamError(GatewayError):
    retryable: bool = False
    attempts: int = 0  # how many upstream calls were made in all, set by the dispatcher


class UpstreamConnectError(UpstreamError):
    retryable = True


class UpstreamTimeoutError(UpstreamError):
    retryable = True


class UpstreamStatusError(UpstreamError):
    """``body`` is the upstream's error document, already in Anthropic's error shape when
    the upstream speaks another format."""

    def __init__(self, status: int, body: bytes, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(f"upstream answered {status}")
        self.status = status
        self.body = body
        self.headers = dict(headers or {})
        self.retryable = status == 429 or status >= 500


class UpstreamStreamError(UpstreamError):
    pass
