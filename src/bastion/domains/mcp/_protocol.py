"""The protocol revisions Bastion speaks and how a message changes between them.

Handshake era (2025-06-18, 2025-11-25): ``initialize`` opens a session named by
``Mcp-Session-Id``. Modern era (2026-07-28): every request is self-contained, carrying its
protocol version and the client's capabilities in ``params._meta`` (the envelope) and in
the ``MCP-Protocol-Version`` / ``Mcp-Method`` / ``Mcp-Name`` headers; results carry
``resultType`` and, for cacheable methods, ``ttlMs`` and ``cacheScope``.

Bastion terminates the client's protocol and originates its own to the upstream, so a
client of either era can use an upstream of either era.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bastion import __version__

HANDSHAKE_VERSIONS: tuple[str, ...] = ("2025-06-18", "2025-11-25")
MODERN_VERSIONS: tuple[str, ...] = ("2026-07-28",)
LATEST_HANDSHAKE = HANDSHAKE_VERSIONS[-1]
LATEST_MODERN = MODERN_VERSIONS[-1]

PROTOCOL_VERSION_KEY = "io.modelcontextprotocol/protocolVersion"
CLIENT_CAPABILITIES_KEY = "io.modelcontextprotocol/clientCapabilities"
CLIENT_INFO_KEY = "io.modelcontextprotocol/clientInfo"
SERVER_INFO_KEY = "io.modelcontextprotocol/serverInfo"
ENVELOPE_KEYS = frozenset(
    {
        PROTOCOL_VERSION_KEY,
        CLIENT_CAPABILITIES_KEY,
        CLIENT_INFO_KEY,
        "io.modelcontextprotocol/logLevel",
    }
)

CACHEABLE_METHODS = frozenset(
    {
        "prompts/list",
        "resources/list",
        "resources/read",
        "resources/templates/list",
        "server/discover",
        "tools/list",
    }
)
_MODERN_ONLY_RESULT_KEYS = ("resultType", "ttlMs", "cacheScope")

CLIENT_INFO: dict[str, str] = {"name": "bastion", "version": __version__}


def negotiate_handshake(requested: object) -> str:
    """The version to answer an ``initialize`` with: the client's if Bastion speaks it,
    else the newest handshake version (the client then decides whether to go on)."""
    if isinstance(requested, str) and requested in HANDSHAKE_VERSIONS:
        return requested
    return LATEST_HANDSHAKE


def upstream_params(
    params: Mapping[str, Any] | None, *, modern_version: str | None
) -> dict[str, Any] | None:
    """``params`` as Bastion sends them upstream: the client's envelope is dropped (the
    upstream sees Bastion as its client) and, for a modern upstream, Bastion's is stamped."""
    out = dict(params) if params else {}
    meta = out.get("_meta")
    kept = (
        {k: v for k, v in meta.items() if k not in ENVELOPE_KEYS}
        if isinstance(meta, Mapping)
        else {}
    )
    if modern_version is not None:
        kept[PROTOCOL_VERSION_KEY] = modern_version
        kept[CLIENT_CAPABILITIES_KEY] = {}
        kept[CLIENT_INFO_KEY] = CLIENT_INFO
    if kept:
        out["_meta"] = kept
    else:
        out.pop("_meta", None)
    return out or None


def client_result(method: str, result: Mapping[str, Any], *, modern: bool) -> dict[str, Any]:
    """An upstream (or Bastion-built) result shaped for a client of the given era.

    Every cacheable result is marked ``private``: what Bastion returns depends on who asks
    (filtered lists, redacted content), so no shared cache may serve it to someone else.
    """
    out = dict(result)
    if not modern:
        for key in _MODERN_ONLY_RESULT_KEYS:
            out.pop(key, None)
        return out
    out.setdefault("resultType", "complete")
    if method in CACHEABLE_METHODS:
        ttl = out.get("ttlMs")
        out["ttlMs"] = ttl if isinstance(ttl, int) and ttl >= 0 else 0
        out["cacheScope"] = "private"
    return out


def proxy_capabilities(upstream: Mapping[str, Any] | None) -> dict[str, Any]:
    """The capabilities Bastion advertises for a server: the upstream's features, without
    the push channels Bastion does not relay (list-changed notifications, subscriptions)."""
    source = upstream or {"tools": {}}
    out: dict[str, Any] = {}
    for feature in ("tools", "prompts", "resources", "completions", "logging"):
        if feature in source:
            out[feature] = {}
    return out or {"tools": {}}


def server_info(server: str) -> dict[str, str]:
    return {"name": f"bastion/{server}", "version": __version__}
