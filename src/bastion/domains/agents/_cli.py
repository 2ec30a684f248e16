"""``bastion agents``: the agents of the active profile, as their cards describe them
(the agents domain's ``cli()``). It boots the platform without mounting or migrating and
reads the ``AGENTS`` service, the very catalogue the routes serve."""

from __future__ import annotations

import typer

from bastion.domains.agents._catalog import AgentEntry
from bastion.domains.agents._extension import AGENTS
from bastion.infra.commands import JSON_OPTION, command_context, emit, run

app = typer.Typer(help="A2A agents: what the profile publishes.", no_args_is_help=True)


def _row(entry: AgentEntry, *, as_json: bool) -> dict[str, object]:
    agent = entry.settings
    mcp: object = [{"server": g.server, "tools": list(g.tools)} for g in agent.mcp]
    scopes: object = list(agent.required_scopes)
    skills: object = [s.id for s in agent.skills]
    if not as_json:
        mcp = " ".join(f"{g.server}:{','.join(g.tools)}" for g in agent.mcp)
        scopes = ", ".join(agent.required_scopes)
        skills = ", ".join(s.id for s in agent.skills)
    return {
        "name": agent.name,
        "version": agent.version,
        "default": entry.is_default,
        "public": agent.public,
        "route": agent.route,
        "mcp": mcp,
        "required_scopes": scopes,
        "skills": skills,
        "card_url": entry.card_url,
    }


@app.command("list")
def list_(ctx: typer.Context, as_json: bool = JSON_OPTION) -> None:
    """Every agent: version, default, public, model route, MCP grants, scopes, skills, card."""
    bastion = command_context(ctx)

    async def go() -> list[dict[str, object]]:
        async with bastion.platform(migrate=False, mount=False) as p:
            return [_row(entry, as_json=as_json) for entry in p.service(AGENTS)]

    emit(run(go), as_json=as_json, title="Agents")
