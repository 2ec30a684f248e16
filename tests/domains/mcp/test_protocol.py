"""How messages change between the client's era and the upstream's."""

from __future__ import annotations

from mcp_types import methods

from bastion.domains.mcp._protocol import (
    client_result,
    negotiate_handshake,
    proxy_capabilities,
    upstream_params,
)

ENVELOPE = {
    "io.modelcontextprotocol/protocolVersion": "2026-07-28",
    "io.modelcontextprotocol/clientCapabilities": {"sampling": {}},
    "io.modelcontextprotocol/clientInfo": {"name": "claude-code", "version": "9"},
}


def test_the_clients_envelope_never_reaches_the_upstream() -> None:
    params = {"name": "echo", "_meta": {**ENVELOPE, "progressToken": 5}}
    legacy = upstream_params(params, modern_version=None)
    assert legacy == {"name": "echo", "_meta": {"progressToken": 5}}
    modern = upstream_params(params, modern_version="2026-07-28")
    assert modern is not None
    meta = modern["_meta"]
    assert meta["progressToken"] == 5
    assert meta["io.modelcontextprotocol/clientCapabilities"] == {}
    assert meta["io.modelcontextprotocol/clientInfo"]["name"] == "bastion"
    assert upstream_params({"_meta": dict(ENVELOPE)}, modern_version=None) is None
    assert params["_meta"]["io.modelcontextprotocol/clientInfo"]["name"] == "claude-code"


def test_results_validate_for_the_clients_era() -> None:
    listing = {"tools": [], "nextCursor": None}
    modern = client_result(
        "tools/list", {**listing, "cacheScope": "public", "ttlMs": 60_000}, modern=True
    )
    methods.validate_server_result("tools/list", "2026-07-28", modern)
    assert (modern["cacheScope"], modern["ttlMs"]) == ("private", 60_000)
    called = client_result("tools/call", {"content": []}, modern=True)
    methods.validate_server_result("tools/call", "2026-07-28", called)
    legacy = client_result(
        "tools/list", {**listing, "resultType": "complete", "ttlMs": 0}, modern=False
    )
    assert legacy == listing


def test_handshake_negotiation_and_capabilities() -> None:
    assert negotiate_handshake("2025-06-18") == "2025-06-18"
    assert negotiate_handshake("2024-11-05") == "2025-11-25"
    assert negotiate_handshake(None) == "2025-11-25"
    upstream = {
        "tools": {"listChanged": True},
        "resources": {"subscribe": True},
        "experimental": {},
    }
    assert proxy_capabilities(upstream) == {"tools": {}, "resources": {}}
    assert proxy_capabilities(None) == {"tools": {}}
