"""The A2A v1.0 Agent Card, as pydantic models serialised with camelCase names.

Field names, optionality and the JSON shape follow ``a2a.proto`` (package ``lf.a2a.v1``),
the normative definition since v1.0: ``supportedInterfaces`` replaces ``url``,
``preferredTransport`` and ``additionalInterfaces``; ``protocolVersion`` lives on each
interface; a ``SecurityScheme`` is a oneof keyed by its kind (``httpAuthSecurityScheme``);
a ``SecurityRequirement`` maps scheme names to a ``StringList`` (``{"list": [...]}``).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

PROTOCOL_VERSION = "1.0"


class _A2A(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, frozen=True, extra="forbid"
    )

    def as_json(self) -> dict[str, Any]:
        """The wire form: camelCase names, unset optional fields omitted."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class AgentInterface(_A2A):
    url: str = Field(min_length=1)
    protocol_binding: str = Field(min_length=1)
    protocol_version: str = Field(min_length=1)
    tenant: str | None = None


class AgentProvider(_A2A):
    url: str = Field(min_length=1)
    organization: str = Field(min_length=1)


class AgentCapabilities(_A2A):
    streaming: bool | None = None
    push_notifications: bool | None = None
    extended_agent_card: bool | None = None


class AgentSkill(_A2A):
    id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    description: str = Field(min_length=1)
    tags: list[str] = Field(min_length=1)
    examples: list[str] | None = None
    input_modes: list[str] | None = None
    output_modes: list[str] | None = None


class HttpAuthSecurityScheme(_A2A):
    scheme: str = Field(min_length=1)
    bearer_format: str | None = None
    description: str | None = None


class ApiKeySecurityScheme(_A2A):
    location: Literal["header", "query", "cookie"]
    name: str = Field(min_length=1)
    description: str | None = None


class SecurityScheme(_A2A):
    """A oneof: exactly one member is set."""

    api_key_security_scheme: ApiKeySecurityScheme | None = None
    http_auth_security_scheme: HttpAuthSecurityScheme | None = None

    @model_validator(mode="after")
    def _one_of(self) -> SecurityScheme:
        if (self.api_key_security_scheme is None) == (self.http_auth_security_scheme is None):
            raise ValueError("a security scheme sets exactly one kind")
        return self


class StringList(_A2A):
    values: list[str] = Field(default_factory=list, alias="list")


class SecurityRequirement(_A2A):
    schemes: dict[str, StringList] = Field(min_length=1)


class AgentCard(_A2A):
    name: str = Field(min_length=1)
    description: str = Field(min_length=1)
    supported_interfaces: list[AgentInterface] = Field(min_length=1)
    provider: AgentProvider | None = None
    version: str = Field(min_length=1)
    documentation_url: str | None = None
    capabilities: AgentCapabilities
    security_schemes: dict[str, SecurityScheme] | None = None
    security_requirements: list[SecurityRequirement] | None = None
    default_input_modes: list[str] = Field(min_length=1)
    default_output_modes: list[str] = Field(min_length=1)
    skills: list[AgentSkill] = Field(min_length=1)
    icon_url: str | None = None


__all__ = [
    "PROTOCOL_VERSION",
    "AgentCapabilities",
    "AgentCard",
    "AgentInterface",
    "AgentProvider",
    "AgentSkill",
    "ApiKeySecurityScheme",
    "HttpAuthSecurityScheme",
    "SecurityRequirement",
    "SecurityScheme",
    "StringList",
]
