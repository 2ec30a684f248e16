"""What the HTTP providers share: their tag, the gateway's pooled session, their default
endpoint, and the health they report (their failure, until they answer again)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any

import aiohttp

from bastion.domains.gateway.upstreams._contract import (
    MessagesCall,
    UpstreamResponse,
    UpstreamStream,
    UpstreamTarget,
)
from bastion.domains.gateway.upstreams._request import base_url
from bastion.kernel.errors import UpstreamError
from bastion.kernel.upstream import UpstreamHealth


class HttpProvider(ABC):
    """An ``LlmUpstream`` over the gateway's session. A subclass sends in ``_messages``
    (and ``_count_tokens``, when its API can count); failures are noted here on the way
    out."""

    def __init__(self, http: aiohttp.ClientSession, *, name: str, default_endpoint: str) -> None:
        self.name = name
        self._http = http
        self._default_endpoint = default_endpoint
        self._last_error: str | None = None

    async def messages(
        self, call: MessagesCall, target: UpstreamTarget
    ) -> UpstreamResponse | UpstreamStream:
        try:
            answer = await self._messages(call, target)
        except UpstreamError as exc:
            self._last_error = str(exc)
            raise
        self._last_error = None  # answered again: an earlier failure is no longer its health
        return answer

    async def count_tokens(
        self,
        body: Mapping[str, Any],
        target: UpstreamTarget,
        forward_headers: Mapping[str, str] | None = None,
    ) -> int | None:
        try:
            return await self._count_tokens(body, target, forward_headers)
        except UpstreamError as exc:
            self._last_error = str(exc)
            raise

    def health(self) -> UpstreamHealth:
        return UpstreamHealth(self._last_error)

    async def aclose(self) -> None:
        """Nothing of its own to release: the session is the gateway's, closed with it."""
        return

    def _url(self, target: UpstreamTarget, path: str) -> str:
        return base_url(target, self._default_endpoint) + path

    @abstractmethod
    async def _messages(
        self, call: MessagesCall, target: UpstreamTarget
    ) -> UpstreamResponse | UpstreamStream: ...

    async def _count_tokens(
        self,
        body: Mapping[str, Any],
        target: UpstreamTarget,
        forward_headers: Mapping[str, str] | None,
    ) -> int | None:
        """None: the upstream has no token-count API, the gateway estimates."""
        return None
