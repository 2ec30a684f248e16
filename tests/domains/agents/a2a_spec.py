"""An independent checker of A2A v1.0 Agent Cards, written from the specification.

Sources: ``specification/a2a.proto`` (package ``lf.a2a.v1``; normative since v1.0) and
section 5 of the specification:

- fields annotated ``(google.api.field_behavior) = REQUIRED`` must be present, and
  required arrays "MUST contain at least one element" (5.7);
- JSON field names are camelCase (5.5);
- v1.0 removed ``url``, ``preferredTransport``, ``additionalInterfaces``,
  ``protocolVersion`` (moved to each interface) and ``supportsAuthenticatedExtendedCard``
  (now ``capabilities.extendedAgentCard``) from the card.

It deliberately shares no code with ``bastion.domains.agents``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

# message -> (required fields, every field the message defines), JSON names.
MESSAGES: Mapping[str, tuple[frozenset[str], frozenset[str]]] = {
    "AgentCard": (
        frozenset(
            {
                "name",
                "description",
                "supportedInterfaces",
                "version",
                "capabilities",
                "defaultInputModes",
                "defaultOutputModes",
                "skills",
            }
        ),
        frozenset(
            {
                "name",
                "description",
                "supportedInterfaces",
                "provider",
                "version",
                "documentationUrl",
                "capabilities",
                "securitySchemes",
                "securityRequirements",
                "defaultInputModes",
                "defaultOutputModes",
                "skills",
                "signatures",
                "iconUrl",
            }
        ),
    ),
    "AgentInterface": (
        frozenset({"url", "protocolBinding", "protocolVersion"}),
        frozenset({"url", "protocolBinding", "tenant", "protocolVersion"}),
    ),
    "AgentProvider": (frozenset({"url", "organization"}), frozenset({"url", "organization"})),
    "AgentCapabilities": (
        frozenset(),
        frozenset({"streaming", "pushNotifications", "extensions", "extendedAgentCard"}),
    ),
    "AgentSkill": (
        frozenset({"id", "name", "description", "tags"}),
        frozenset(
            {
                "id",
                "name",
                "description",
                "tags",
                "examples",
                "inputModes",
                "outputModes",
                "securityRequirements",
            }
        ),
    ),
    "HTTPAuthSecurityScheme": (
        frozenset({"scheme"}),
        frozenset({"description", "scheme", "bearerFormat"}),
    ),
    "APIKeySecurityScheme": (
        frozenset({"location", "name"}),
        frozenset({"description", "location", "name"}),
    ),
    "SecurityRequirement": (frozenset({"schemes"}), frozenset({"schemes"})),
    "StringList": (frozenset(), frozenset({"list"})),
}
# The oneof members of SecurityScheme and the message each one carries.
SECURITY_SCHEME_KINDS = {
    "apiKeySecurityScheme": "APIKeySecurityScheme",
    "httpAuthSecurityScheme": "HTTPAuthSecurityScheme",
    "oauth2SecurityScheme": None,
    "openIdConnectSecurityScheme": None,
    "mtlsSecurityScheme": None,
}
REQUIRED_ARRAYS = {
    "AgentCard": ("supportedInterfaces", "defaultInputModes", "defaultOutputModes", "skills"),
    "AgentSkill": ("tags",),
}
REMOVED_IN_V1 = (
    "url",
    "preferredTransport",
    "additionalInterfaces",
    "protocolVersion",
    "supportsAuthenticatedExtendedCard",
    "security",
)
CORE_BINDINGS = {"JSONRPC", "GRPC", "HTTP+JSON"}
CAMEL = re.compile(r"^[a-z][a-zA-Z0-9]*$")
MEDIA_TYPE = re.compile(r"^[\w.+!#$&^-]+/[\w.+!#$&^*-]+$")


def _message(obj: Any, kind: str, path: str, problems: list[str]) -> bool:
    if not isinstance(obj, dict):
        problems.append(f"{path}: {kind} must be an object")
        return False
    required, known = MESSAGES[kind]
    for key in obj:
        if not CAMEL.match(key):
            problems.append(f"{path}.{key}: field name is not camelCase")
        elif key not in known:
            problems.append(f"{path}.{key}: not a field of {kind}")
    for key in sorted(required):
        value = obj.get(key)
        if value is None or (isinstance(value, str) and not value):
            problems.append(f"{path}.{key}: required by {kind}")
    for key in REQUIRED_ARRAYS.get(kind, ()):
        value = obj.get(key)
        if value is not None and (not isinstance(value, list) or not value):
            problems.append(f"{path}.{key}: a required array needs at least one element")
    return True


def _strings(value: Any, path: str, problems: list[str], *, media: bool = False) -> None:
    if value is None:
        return
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        problems.append(f"{path}: must be an array of non-empty strings")
        return
    if media:
        problems.extend(
            f"{path}: '{v}' is not a media type" for v in value if not MEDIA_TYPE.match(v)
        )


def check_card(card: Any) -> list[str]:
    """Every way ``card`` departs from an A2A v1.0 Agent Card; empty when it conforms."""
    problems: list[str] = []
    if not _message(card, "AgentCard", "$", problems):
        return problems
    for key in REMOVED_IN_V1:
        if key in card:
            problems.append(f"$.{key}: removed from the card in A2A v1.0")
    for i, interface in enumerate(card.get("supportedInterfaces") or []):
        path = f"$.supportedInterfaces[{i}]"
        if _message(interface, "AgentInterface", path, problems):
            url = interface.get("url")
            if isinstance(url, str) and not re.match(r"^https?://[^/\s]+", url):
                problems.append(f"{path}.url: must be an absolute http(s) URL")
            version = interface.get("protocolVersion")
            if isinstance(version, str) and not re.match(r"^1\.\d+$", version):
                problems.append(f"{path}.protocolVersion: '{version}' is not a 1.x version")
            binding = interface.get("protocolBinding")
            if isinstance(binding, str) and binding not in CORE_BINDINGS:
                problems.append(f"{path}.protocolBinding: '{binding}' is not a core binding")
    if "provider" in card:
        _message(card["provider"], "AgentProvider", "$.provider", problems)
    if "capabilities" in card:
        caps = card["capabilities"]
        if _message(caps, "AgentCapabilities", "$.capabilities", problems):
            for key in ("streaming", "pushNotifications", "extendedAgentCard"):
                if key in caps and not isinstance(caps[key], bool):
                    problems.append(f"$.capabilities.{key}: must be a boolean")
    _strings(card.get("defaultInputModes"), "$.defaultInputModes", problems, media=True)
    _strings(card.get("defaultOutputModes"), "$.defaultOutputModes", problems, media=True)
    ids: list[str] = []
    for i, skill in enumerate(card.get("skills") or []):
        path = f"$.skills[{i}]"
        if _message(skill, "AgentSkill", path, problems):
            ids.append(skill.get("id"))
            _strings(skill.get("tags"), f"{path}.tags", problems)
            _strings(skill.get("examples"), f"{path}.examples", problems)
            _strings(skill.get("inputModes"), f"{path}.inputModes", problems, media=True)
            _strings(skill.get("outputModes"), f"{path}.outputModes", problems, media=True)
    if len(ids) != len(set(ids)):
        problems.append("$.skills: skill ids must be unique")
    schemes = card.get("securitySchemes") or {}
    if not isinstance(schemes, dict):
        problems.append("$.securitySchemes: must be a map of name to SecurityScheme")
        schemes = {}
    for name, scheme in schemes.items():
        path = f"$.securitySchemes.{name}"
        if not isinstance(scheme, dict) or len(scheme) != 1:
            problems.append(f"{path}: a SecurityScheme sets exactly one member of its oneof")
            continue
        [(kind, body)] = scheme.items()
        if kind not in SECURITY_SCHEME_KINDS:
            problems.append(f"{path}.{kind}: not a SecurityScheme kind")
        elif SECURITY_SCHEME_KINDS[kind] is not None:
            _message(body, SECURITY_SCHEME_KINDS[kind], f"{path}.{kind}", problems)
    for i, requirement in enumerate(card.get("securityRequirements") or []):
        path = f"$.securityRequirements[{i}]"
        if not _message(requirement, "SecurityRequirement", path, problems):
            continue
        for name, scopes in (requirement.get("schemes") or {}).items():
            if name not in schemes:
                problems.append(f"{path}.schemes.{name}: names no declared security scheme")
            if _message(scopes, "StringList", f"{path}.schemes.{name}", problems):
                _strings(scopes.get("list"), f"{path}.schemes.{name}.list", problems)
    return problems


def assert_valid_card(card: Any) -> None:
    problems = check_card(card)
    assert problems == [], "not an A2A v1.0 Agent Card:\n" + "\n".join(problems)
