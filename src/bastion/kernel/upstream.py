"""What every upstream Bastion calls implements, an LLM provider and an MCP server alike,
as httpx has one transport abstraction under every client.

An ``Upstream`` has a ``name`` (a provider tag, a server name), says what it knows of
its own ``health`` without calling out, and releases what it holds on ``aclose``
(connections of its own, processes). What a call looks like is each kind's own: the
gateway's ``LlmUpstream`` adds ``messages`` and ``count_tokens``, the MCP domain's
upstreams ``request``. Every failure is an ``UpstreamError`` of one family
(``bastion.kernel.errors``): ``UpstreamUnavailable``, ``UpstreamTimeout``,
``UpstreamRejected``, ``UpstreamProtocolError``, ``UpstreamStreamError``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable


@dataclass(frozen=True, slots=True)
class UpstreamHealth:
    """``last_error``: the message of the upstream's most recent failure, None while it
    has had none."""

    last_error: str | None = None


@runtime_checkable
class Upstream(Protocol):
    @property
    def name(self) -> str: ...

    def health(self) -> UpstreamHealth: ...

    async def aclose(self) -> None:
        """Release what the upstream holds; safe to call more than once."""
        ...
