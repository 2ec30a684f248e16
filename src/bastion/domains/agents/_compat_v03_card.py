"""An A2A 1.0 Agent Card as a 0.3 client reads it (``agent/getAuthenticatedExtendedCard``).

0.3 names one endpoint, ``url`` with its ``preferredTransport`` and ``protocolVersion``,
where 1.0 lists ``supportedInterfaces``; it says ``supportsAuthenticatedExtendedCard``
beside the capabilities, ``security`` for ``securityRequirements`` (a scheme's scopes
as a plain list, not a ``StringList``), and tags a security scheme with ``type`` instead
of keying it by its kind. The 0.3 methods are served on the JSON-RPC binding only, so
the card names that interface (one declaring a 0.x version first). The security schemes
are the kinds Bastion's card has (``_card``): HTTP auth and API key. Signatures are
dropped: they sign the 1.0 document, which a 0.3 client does not receive.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

PROTOCOL_VERSION_V03 = "0.3.0"


def _put(out: dict[str, Any], key: str, value: object) -> None:
    if value is not None:
        out[key] = value


def _interface(interfaces: Sequence[Mapping[str, Any]]) -> Mapping[str, Any]:
    jsonrpc = [i for i in interfaces if i.get("protocolBinding") == "JSONRPC"]
    legacy = [i for i in jsonrpc if str(i.get("protocolVersion", "")).startswith("0.")]
    chosen = legacy or jsonrpc
    if not chosen:
        raise ValueError("an agent card without a JSONRPC interface")
    return chosen[0]


def _scheme(scheme10: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any]
    if "httpAuthSecurityScheme" in scheme10:
        http = scheme10["httpAuthSecurityScheme"]
        out = {"type": "http", "scheme": http["scheme"]}
        _put(out, "bearerFormat", http.get("bearerFormat"))
        _put(out, "description", http.get("description"))
        return out
    if "apiKeySecurityScheme" in scheme10:
        key = scheme10["apiKeySecurityScheme"]
        out = {"type": "apiKey", "in": key["location"], "name": key["name"]}
        _put(out, "description", key.get("description"))
        return out
    raise ValueError(f"a security scheme 0.3 translation does not cover: {sorted(scheme10)}")


def _security(
    requirements10: Sequence[Mapping[str, Any]] | None,
) -> list[dict[str, list[str]]] | None:
    if not requirements10:
        return None
    return [
        {name: list(scopes.get("list", ())) for name, scopes in r.get("schemes", {}).items()}
        for r in requirements10
    ]


def _skill(skill10: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": skill10["id"],
        "name": skill10["name"],
        "description": skill10["description"],
        "tags": list(skill10.get("tags", ())),
    }
    for key in ("examples", "inputModes", "outputModes"):
        _put(out, key, skill10.get(key))
    _put(out, "security", _security(skill10.get("securityRequirements")))
    return out


def card_from_v10(card10: Mapping[str, Any]) -> dict[str, Any]:
    """The 0.3 ``AgentCard`` of a 1.0 one (ProtoJSON)."""
    interface = _interface(card10.get("supportedInterfaces", ()))
    capabilities10 = card10.get("capabilities", {})
    capabilities: dict[str, Any] = {}
    for key in ("streaming", "pushNotifications", "extensions"):
        _put(capabilities, key, capabilities10.get(key))
    out: dict[str, Any] = {
        "name": card10["name"],
        "description": card10["description"],
        "version": card10["version"],
        "url": interface["url"],
        "preferredTransport": "JSONRPC",
        "protocolVersion": PROTOCOL_VERSION_V03,
        "capabilities": capabilities,
        "defaultInputModes": list(card10.get("defaultInputModes", ())),
        "defaultOutputModes": list(card10.get("defaultOutputModes", ())),
        "skills": [_skill(s) for s in card10.get("skills", ())],
    }
    _put(out, "supportsAuthenticatedExtendedCard", capabilities10.get("extendedAgentCard"))
    for key in ("provider", "documentationUrl", "iconUrl"):
        _put(out, key, card10.get(key))
    schemes = card10.get("securitySchemes")
    if schemes:
        out["securitySchemes"] = {name: _scheme(s) for name, s in schemes.items()}
    _put(out, "security", _security(card10.get("securityRequirements")))
    return out
