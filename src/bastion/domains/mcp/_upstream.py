"""What every upstream transport provides: one request at a time, per principal.

An ``McpUpstream`` fronts one registered server: the kernel's ``Upstream`` (name,
health, aclose), as an LLM provider is, with MCP requests. It keeps each principal's conversation
apart (a handshake-era session or a process is never shared between two principals),
speaks whichever protocol era the server does, and turns a request into the server's
JSON-RPC response, relaying request-scoped notifications (progress, log messages) to
the caller as they arrive. Failures are the kernel's upstream family, named by
``ServerSpec.label``.
"""

from __future__ import annotations

import itertools
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from mcp.shared.inbound import (
    MCP_METHOD_HEADER,
    MCP_NAME_HEADER,
    MCP_PROTOCOL_VERSION_HEADER,
    NAME_BEARING_METHODS,
    encode_header_value,
    find_invalid_x_mcp_header,
    mcp_param_headers,
    x_mcp_header_map,
)

from bastion.domains.mcp._jsonrpc import Message
from bastion.domains.mcp._protocol import LATEST_MODERN, SERVER_INFO_KEY
from bastion.domains.mcp._registry import ServerSpec
from bastion.kernel.upstream import Upstream, UpstreamHealth

NotificationSink = Callable[[Message], Awaitable[None]]
Era = Literal["modern", "legacy"]
# Requests the health job and the proxy make on their own behalf use this principal.
SYSTEM_PRINCIPAL = "system:bastion"


@dataclass(frozen=True, slots=True)
class UpstreamInfo:
    """What the server said about itself when the conversation opened."""

    era: Era
    protocol_version: str
    capabilities: Mapping[str, Any]
    instructions: str | None = None
    server_info: Mapping[str, Any] | None = None


@dataclass(slots=True)
class Call:
    """One request for the upstream. ``params`` are the client's (envelope included or
    not): the transport re-stamps them for the upstream's era."""

    method: str
    params: Mapping[str, Any] | None
    timeout: float
    on_notification: NotificationSink | None = None
    tool_schema: Mapping[str, Any] | None = None


@dataclass(slots=True)
class ProgressBinding:
    """The client's ``progressToken`` replaced by one unique on the upstream connection,
    so two clients' tokens never collide there."""

    upstream_token: str
    client_token: object | None = None
    sink: NotificationSink | None = None

    def bind(self, params: dict[str, Any] | None) -> dict[str, Any] | None:
        if params is None:
            return None
        meta = params.get("_meta")
        if not isinstance(meta, Mapping) or "progressToken" not in meta:
            return params
        self.client_token = meta["progressToken"]
        return {**params, "_meta": {**meta, "progressToken": self.upstream_token}}

    async def relay(self, message: Message) -> None:
        if self.sink is None:
            return
        params = message.get("params")
        if (
            message.get("method") == "notifications/progress"
            and isinstance(params, dict)
            and params.get("progressToken") == self.upstream_token
        ):
            if self.client_token is None:
                return
            message = {**message, "params": {**params, "progressToken": self.client_token}}
        await self.sink(message)


_tokens = itertools.count(1)


def progress_binding(sink: NotificationSink | None) -> ProgressBinding:
    return ProgressBinding(f"bastion-{next(_tokens)}", sink=sink)


# Input schema -> its x-mcp-header map (None: none to mirror). Keyed by identity: the
# catalog keeps each listed schema object until the next listing replaces it.
_PARAM_MAPS: dict[int, tuple[Mapping[str, Any], dict[tuple[str, ...], str] | None]] = {}
_PARAM_MAPS_MAX = 4096


def _param_map(schema: Mapping[str, Any]) -> dict[tuple[str, ...], str] | None:
    cached = _PARAM_MAPS.get(id(schema))
    if cached is not None and cached[0] is schema:
        return cached[1]
    header_map = x_mcp_header_map(schema) if find_invalid_x_mcp_header(schema) is None else None
    if len(_PARAM_MAPS) >= _PARAM_MAPS_MAX:
        _PARAM_MAPS.clear()
    _PARAM_MAPS[id(schema)] = (schema, header_map or None)
    return header_map or None


def modern_headers(call: Call, params: Mapping[str, Any] | None) -> dict[str, str]:
    """The routing headers of a 2026-07-28 request, mirrored from its body (``Mcp-Param-*``
    too, for tool arguments whose schema declares ``x-mcp-header``)."""
    headers = {MCP_PROTOCOL_VERSION_HEADER: LATEST_MODERN, MCP_METHOD_HEADER: call.method}
    key = NAME_BEARING_METHODS.get(call.method)
    if key is not None and params is not None and isinstance(params.get(key), str):
        headers[MCP_NAME_HEADER] = encode_header_value(params[key])
    if call.method == "tools/call" and call.tool_schema is not None and params is not None:
        header_map = _param_map(call.tool_schema)
        arguments = params.get("arguments")
        if header_map is not None and isinstance(arguments, Mapping):
            headers.update(mcp_param_headers(header_map, arguments))
    return headers


@dataclass(frozen=True, slots=True)
class UpstreamState(UpstreamHealth):
    """A server's health as the registry shows it: its last error, and its connections."""

    era: Era | None = None
    protocol_version: str | None = None
    sessions: int = 0
    processes: int = 0
    restarts: int = 0


def discover_info(result: object) -> UpstreamInfo | None:
    """The info in a ``server/discover`` result, or None unless it offers 2026-07-28."""
    if not isinstance(result, dict):
        return None
    versions = result.get("supportedVersions")
    if not isinstance(versions, list) or LATEST_MODERN not in versions:
        return None
    return UpstreamInfo(
        "modern",
        LATEST_MODERN,
        _mapping(result.get("capabilities")),
        _text(result.get("instructions")),
        _mapping(_mapping(result.get("_meta")).get(SERVER_INFO_KEY)),
    )


def initialize_info(result: object) -> UpstreamInfo | None:
    """The info in an ``initialize`` result, or None if it is not one."""
    if not isinstance(result, dict) or not isinstance(result.get("protocolVersion"), str):
        return None
    return UpstreamInfo(
        "legacy",
        result["protocolVersion"],
        _mapping(result.get("capabilities")),
        _text(result.get("instructions")),
        _mapping(result.get("serverInfo")),
    )


def _mapping(value: object) -> dict[str, Any]:
    return dict(value) if isinstance(value, dict) else {}


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


class McpUpstream(Upstream, ABC):
    """One registered server, as Bastion's client of it."""

    def __init__(self, spec: ServerSpec) -> None:
        self.spec = spec

    @property
    def name(self) -> str:
        return self.spec.name

    @abstractmethod
    async def request(self, principal: str, call: Call) -> Message:
        """The server's JSON-RPC response (``result`` or ``error``) to ``call``, made in
        ``principal``'s own conversation. Raises an ``UpstreamError`` when there is none."""

    @abstractmethod
    async def info(self, principal: str) -> UpstreamInfo:
        """Open ``principal``'s conversation if needed and return the server's self-description."""

    @abstractmethod
    async def release(self, principal: str) -> None:
        """End ``principal``'s conversation now (its client ended its session)."""

    @abstractmethod
    async def reap(self, idle_seconds: float) -> int:
        """End conversations idle for ``idle_seconds``; return how many."""

    @abstractmethod
    async def aclose(self) -> None:
        """End every conversation and stop every process."""

    @abstractmethod
    def health(self) -> UpstreamState: ...
