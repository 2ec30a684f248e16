"""The agents a deployment serves, as a domain other than the agents domain sees them:
``AGENT_DIRECTORY``, provided by the agents domain (config-as-code: read-only)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from bastion.kernel.services import ServiceKey


@dataclass(frozen=True, slots=True)
class AgentToolGrant:
    server: str
    tools: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class AgentView:
    name: str
    display_name: str
    description: str
    version: str
    default: bool
    public: bool
    route: str | None
    mcp: tuple[AgentToolGrant, ...]
    required_scopes: tuple[str, ...]
    skills: tuple[str, ...]
    card_url: str | None
    card: Mapping[str, Any]


class AgentDirectory(Protocol):
    def list(self) -> Sequence[AgentView]:
        """Every configured agent, in profile order."""
        ...

    def get(self, name: str) -> AgentView | None: ...


AGENT_DIRECTORY: ServiceKey[AgentDirectory] = ServiceKey(
    "agents.directory", "The configured agents with their cards, grants and scopes"
)
