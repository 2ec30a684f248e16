"""``AGENT_DIRECTORY``: the catalogue's agents as kernel views, for ``bastion agents`` and
the admin API alike."""

from __future__ import annotations

from bastion.domains.agents._catalog import AgentCatalog, AgentEntry
from bastion.kernel.agents import AgentToolGrant, AgentView


def agent_view(entry: AgentEntry) -> AgentView:
    agent = entry.settings
    return AgentView(
        name=agent.name,
        display_name=entry.card.name,
        description=agent.description,
        version=agent.version,
        default=entry.is_default,
        public=agent.public,
        route=agent.route,
        mcp=tuple(AgentToolGrant(g.server, tuple(g.tools)) for g in agent.mcp),
        required_scopes=tuple(agent.required_scopes),
        skills=tuple(s.id for s in agent.skills),
        card_url=entry.card_url,
        card=entry.card.as_json(),
    )


class AgentDirectoryService:
    """Implements ``AgentDirectory`` over a catalogue."""

    def __init__(self, catalog: AgentCatalog) -> None:
        self._catalog = catalog

    def list(self) -> list[AgentView]:
        return [agent_view(e) for e in self._catalog]

    def get(self, name: str) -> AgentView | None:
        entry = self._catalog.get(name)
        return None if entry is None else agent_view(entry)
