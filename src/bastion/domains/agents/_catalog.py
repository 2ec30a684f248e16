"""The agents of a profile, each with its A2A card built and rendered once."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from bastion.domains.agents._card import (
    PROTOCOL_VERSION,
    AgentCapabilities,
    AgentCard,
    AgentInterface,
    AgentProvider,
    AgentSkill,
    ApiKeySecurityScheme,
    HttpAuthSecurityScheme,
    SecurityRequirement,
    SecurityScheme,
    StringList,
)
from bastion.domains.agents._settings import AgentSettings, AgentsSettings
from bastion.kernel.config import PlatformSettings

BEARER_SCHEME = "bearer"
API_KEY_SCHEME = "apiKey"
WELL_KNOWN_CARD = "/.well-known/agent-card.json"
WELL_KNOWN_CARDS = "/.well-known/agent-cards"
API_BASE = "/api/v1/agents"

_SECURITY_SCHEMES = {
    BEARER_SCHEME: SecurityScheme(
        http_auth_security_scheme=HttpAuthSecurityScheme(
            scheme="Bearer",
            bearer_format="JWT",
            description="A Bastion JWT, or a Bastion API key (bst_...), as a Bearer token "
            "in the Authorization header.",
        )
    ),
    API_KEY_SCHEME: SecurityScheme(
        api_key_security_scheme=ApiKeySecurityScheme(
            location="header",
            name="x-api-key",
            description="A Bastion API key (bst_...) or JWT in the x-api-key header.",
        )
    ),
}


def base_url(settings: AgentsSettings, server: PlatformSettings) -> str:
    """Where clients reach Bastion: ``public_base_url``, else the listener's address."""
    if settings.public_base_url:
        return settings.public_base_url.rstrip("/")
    host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(server.host, server.host)
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{server.port}"


def _unique(values: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(values))


def build_card(
    agent: AgentSettings, settings: AgentsSettings, base: str, scopes: Sequence[str]
) -> AgentCard:
    """The A2A v1.0 card of ``agent``; ``scopes`` are those a caller needs to invoke it."""
    provider = agent.provider or settings.provider
    required = StringList(values=_unique(scopes))
    return AgentCard(
        name=agent.display_name or agent.name,
        description=agent.description,
        supported_interfaces=[
            AgentInterface(
                url=agent.url or f"{base}{API_BASE}/{agent.name}/a2a",
                protocol_binding=agent.protocol_binding,
                protocol_version=PROTOCOL_VERSION,
            )
        ],
        provider=(
            AgentProvider(url=provider.url, organization=provider.organization)
            if provider
            else None
        ),
        version=agent.version,
        documentation_url=agent.documentation_url,
        capabilities=AgentCapabilities(
            streaming=agent.streaming,
            push_notifications=agent.push_notifications and settings.push_notifications.enabled,
            extended_agent_card=True,
        ),
        security_schemes=_SECURITY_SCHEMES,
        # Either scheme will do (the list is OR); the scopes are Bastion's, not OAuth's.
        security_requirements=[
            SecurityRequirement(schemes={BEARER_SCHEME: required}),
            SecurityRequirement(schemes={API_KEY_SCHEME: required}),
        ],
        default_input_modes=list(agent.input_modes),
        default_output_modes=list(agent.output_modes),
        skills=[
            AgentSkill(
                id=skill.id,
                name=skill.name,
                description=skill.description,
                tags=list(skill.tags),
                examples=list(skill.examples) or None,
                input_modes=list(skill.input_modes) if skill.input_modes else None,
                output_modes=list(skill.output_modes) if skill.output_modes else None,
            )
            for skill in agent.skills
        ],
        icon_url=agent.icon_url,
    )


@dataclass(frozen=True, slots=True)
class AgentEntry:
    """One agent: its settings, its card and the card's rendered JSON."""

    settings: AgentSettings
    card: AgentCard
    card_json: bytes
    card_url: str | None  # the anonymous well-known URL; None for a non-public agent
    is_default: bool

    @property
    def name(self) -> str:
        return self.settings.name

    def registry_row(self) -> dict[str, Any]:
        """What ``/api/v1/agents/registry`` shows of this agent."""
        agent = self.settings
        return {
            "name": agent.name,
            "display_name": self.card.name,
            "description": agent.description,
            "version": agent.version,
            "default": self.is_default,
            "public": agent.public,
            "route": agent.route,
            "mcp": [{"server": g.server, "tools": list(g.tools)} for g in agent.mcp],
            "required_scopes": list(agent.required_scopes),
            "skills": [s.id for s in agent.skills],
            "card_url": self.card_url,
            "card": self.card.as_json(),
        }


class AgentCatalog:
    """The configured agents in profile order, looked up by name."""

    def __init__(self, entries: Sequence[AgentEntry]) -> None:
        self._entries = list(entries)
        self._by_name = {e.name: e for e in self._entries}
        self.default = next((e for e in self._entries if e.is_default), None)
        self.public_cards_json = orjson.dumps(
            [e.card.as_json() for e in self._entries if e.settings.public]
        )

    @classmethod
    def build(
        cls, settings: AgentsSettings, base: str, invoke_scopes: Sequence[str] = ()
    ) -> AgentCatalog:
        """Every card, built once. ``invoke_scopes`` are the scopes governance demands of
        any agent call; each card lists them with the agent's own ``required_scopes``."""
        public = [a for a in settings.agents if a.public]
        default = next((a for a in public if a.default), public[0] if public else None)
        entries = []
        for agent in settings.agents:
            card = build_card(agent, settings, base, [*invoke_scopes, *agent.required_scopes])
            entries.append(
                AgentEntry(
                    settings=agent,
                    card=card,
                    card_json=orjson.dumps(card.as_json()),
                    card_url=f"{base}{WELL_KNOWN_CARDS}/{agent.name}" if agent.public else None,
                    is_default=agent is default,
                )
            )
        return cls(entries)

    def __iter__(self) -> Iterator[AgentEntry]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def get(self, name: str) -> AgentEntry | None:
        return self._by_name.get(name)

    def public(self, name: str) -> AgentEntry | None:
        """The agent if its card may be served anonymously."""
        entry = self._by_name.get(name)
        return entry if entry is not None and entry.settings.public else None


__all__ = [
    "API_BASE",
    "WELL_KNOWN_CARD",
    "WELL_KNOWN_CARDS",
    "AgentCatalog",
    "AgentEntry",
    "base_url",
    "build_card",
]
