"""What every LLM upstream provider implements: the kernel's ``Upstream`` (name, health,
aclose), and calls in Anthropic Messages. The gateway speaks Anthropic Messages
internally: a provider receives an Anthropic request and returns Anthropic bytes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from bastion.domains.gateway.translate import Usage
from bastion.kernel.upstream import Upstream

if TYPE_CHECKING:
    import aiohttp


@dataclass(frozen=True, slots=True)
class UpstreamTarget:
    """A resolved route: where to send the call and with which credentials."""

    route_name: str
    provider: str
    endpoint: str | None
    upstream_model: str
    api_key: str | None = field(default=None, repr=False)
    extra_headers: Mapping[str, str] = field(default_factory=dict)
    timeout_seconds: float = 600.0
    connect_timeout_seconds: float = 10.0

    @property
    def label(self) -> str:
        """How an ``UpstreamError`` of this call names its upstream."""
        return f"upstream {self.provider!r} (route {self.route_name!r})"


@dataclass(frozen=True, slots=True)
class MessagesCall:
    """An Anthropic Messages request on its way upstream. ``body["model"]`` is already the
    upstream model; ``forward_headers`` holds only what may cross (``anthropic-version``,
    ``anthropic-beta``) — never the caller's credentials or identity headers."""

    body: Mapping[str, Any]
    stream: bool
    forward_headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class UpstreamResponse:
    """A complete (non-streaming) Anthropic Messages response."""

    status: int
    body: bytes
    usage: Usage
    model: str | None = None


class UpstreamStream(Protocol):
    """Anthropic SSE bytes from an upstream that answered 200.

    The bytes always end in a terminal event: ``message_stop``, or an Anthropic ``error``
    event when the stream broke (the upstream's own in-band error, relayed, or one the
    provider wrote for a dropped connection or a read timeout). After yielding that
    ``error`` event, iteration raises ``UpstreamStreamError`` so the caller can record the
    failure; the caller must not append another ``error`` event. ``usage`` is final once
    iteration ends. ``aclose`` releases the connection at any point and may be called
    more than once."""

    usage: Usage

    def __aiter__(self) -> AsyncIterator[bytes]: ...

    async def aclose(self) -> None: ...


@dataclass(frozen=True, slots=True)
class UpstreamServices:
    """What a provider factory receives: the shared, pooled HTTP client. aiohttp was
    chosen by measurement (bench/http_clients.py): on loopback it served 4-5x the
    requests of httpx at concurrency 1 and about 25x at concurrency 50."""

    http: aiohttp.ClientSession


@runtime_checkable
class LlmUpstream(Upstream, Protocol):
    """A provider. One instance per tag, shared by every route that names it; the gateway
    calls ``aclose`` when it stops (the shared ``UpstreamServices.http`` is the gateway's
    to close, not the provider's)."""

    async def messages(
        self, call: MessagesCall, target: UpstreamTarget
    ) -> UpstreamResponse | UpstreamStream:
        """Send the call. Raises ``UpstreamUnavailable``, ``UpstreamTimeout``,
        ``UpstreamRejected`` (its ``body`` an Anthropic error document) or
        ``UpstreamProtocolError`` before any byte is returned, each naming
        ``target.label``, and ``TranslationError`` when the request cannot be expressed in
        the upstream's wire format."""
        ...

    async def count_tokens(
        self,
        body: Mapping[str, Any],
        target: UpstreamTarget,
        forward_headers: Mapping[str, str] | None = None,
    ) -> int | None:
        """Input tokens as the upstream counts them, or None when it has no such API.
        ``forward_headers`` holds what ``MessagesCall.forward_headers`` may hold. Raises
        the same errors as ``messages``."""
        ...
