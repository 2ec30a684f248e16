"""The ``agents`` domain: A2A v1.0 discovery for agents defined as config as code.

Each agent in ``services/agents/*.yaml`` gets an Agent Card, built once at boot and
served anonymously at ``/.well-known/agent-card.json`` (the default agent),
``/.well-known/agent-cards`` and ``/.well-known/agent-cards/{name}``; the authenticated
``/api/v1/agents/registry`` shows each agent's route, MCP grants and required scopes to
callers who may see it.
"""

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
from bastion.domains.agents._catalog import (
    WELL_KNOWN_CARD,
    WELL_KNOWN_CARDS,
    AgentCatalog,
    AgentEntry,
    base_url,
    build_card,
)
from bastion.domains.agents._extension import AGENTS, AgentsExtension
from bastion.domains.agents._references import Unresolved, unresolved
from bastion.domains.agents._settings import (
    AgentSettings,
    AgentsSettings,
    McpGrant,
    ProviderSettings,
    SkillSettings,
)

__all__ = [
    "AGENTS",
    "PROTOCOL_VERSION",
    "WELL_KNOWN_CARD",
    "WELL_KNOWN_CARDS",
    "AgentCapabilities",
    "AgentCard",
    "AgentCatalog",
    "AgentEntry",
    "AgentInterface",
    "AgentProvider",
    "AgentSettings",
    "AgentSkill",
    "AgentsExtension",
    "AgentsSettings",
    "ApiKeySecurityScheme",
    "HttpAuthSecurityScheme",
    "McpGrant",
    "ProviderSettings",
    "SecurityRequirement",
    "SecurityScheme",
    "SkillSettings",
    "StringList",
    "Unresolved",
    "base_url",
    "build_card",
    "unresolved",
]
