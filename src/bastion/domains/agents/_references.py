"""Boot-time checks of what agents name in other domains.

An agent may name a gateway route or an MCP server that does not exist (the gateway or
MCP domain may be disabled, or the server added later), so these are warnings, never
errors. Existence is asked of the governance entity catalog, where each domain registers
the entities it owns; ``None`` from it means no loaded domain manages that kind.
"""

from __future__ import annotations

from dataclasses import dataclass

import structlog

from bastion.domains.agents._catalog import AgentCatalog
from bastion.kernel.governance import EntityCatalog

log = structlog.get_logger("bastion.agents")


@dataclass(frozen=True, slots=True)
class Unresolved:
    agent: str
    kind: str  # "route" or "server"
    name: str
    managed: bool  # False: no loaded domain manages this kind at all

    def message(self) -> str:
        what = "gateway route" if self.kind == "route" else "MCP server"
        if self.managed:
            return f"agent '{self.agent}' names {what} '{self.name}', which does not exist"
        owner = "gateway" if self.kind == "route" else "mcp"
        return (
            f"agent '{self.agent}' names {what} '{self.name}', but the '{owner}' "
            "domain is not loaded"
        )


def unresolved(catalog: AgentCatalog, entities: EntityCatalog) -> list[Unresolved]:
    """Every route and MCP server an agent names that no loaded domain knows."""
    found: list[Unresolved] = []
    for entry in catalog:
        agent = entry.settings
        wanted = [("route", agent.route)] if agent.route else []
        wanted += [("server", grant.server) for grant in agent.mcp]
        for kind, name in wanted:
            known = entities.knows(kind, name)
            if known is not True:
                found.append(Unresolved(agent.name, kind, name, managed=known is not None))
    return found


def warn_unresolved(catalog: AgentCatalog, entities: EntityCatalog) -> list[Unresolved]:
    found = unresolved(catalog, entities)
    for item in found:
        log.warning(item.message(), agent=item.agent, kind=item.kind, name=item.name)
    return found
