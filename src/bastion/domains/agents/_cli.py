"""``bastion agents``: the agents of the active profile, as their cards describe them
(the agents domain's ``cli()``). It boots the platform without mounting or migrating and
reads the ``AGENTS`` service, the very catalogue the routes serve."""

from __future__ import annotations

import typer

from bastion.infra.commands import JSON_OPTION, command_context, emit, run
from bastion.kernel.agents import AGENT_DIRECTORY, AgentView

app = typer.Typer(help="A2A agents: what the profile publishes.", no_args_is_help=True)


def _row(agent: AgentView, *, as_json: bool) -> dict[str, object]:
    mcp: object = [{"server": g.server, "tools": list(g.tools)} for g in agent.mcp]
    scopes: object = list(agent.required_scopes)
    skills: object = list(agent.skills)
    if not as_json:
        mcp = " ".join(f"{g.server}:{','.join(g.tools)}" for g in agent.mcp)
        scopes = ", ".join(agent.required_scopes)
        skills = ", ".join(agent.skills)
    return {
        "name": agent.name,
        "version": agent.version,
        "default": agent.default,
        "public": agent.public,
        "route": agent.route,
        "mcp": mcp,
        "required_scopes": scopes,
        "skills": skills,
        "card_url": agent.card_url,
    }


@app.command("list")
def list_(ctx: typer.Context, as_json: bool = JSON_OPTION) -> None:
    """Every agent: version, default, public, model route, MCP grants, scopes, skills, card."""
    bastion = command_context(ctx)

    async def go() -> list[dict[str, object]]:
        async with bastion.platform(migrate=False, mount=False) as p:
            return [_row(agent, as_json=as_json) for agent in p.service(AGENT_DIRECTORY).list()]

    emit(run(go), as_json=as_json, title="Agents")
