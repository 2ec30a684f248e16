"""``bastion agents``: the agents of the active profile, as their cards describe them
(the agents domain's ``cli()``). It reads the profile and boots nothing."""

from __future__ import annotations

import typer

from bastion.domains.agents._catalog import AgentCatalog, base_url
from bastion.domains.agents._directory import AgentDirectoryService
from bastion.infra.commands import JSON_OPTION, CommandContext, command_context, emit, run
from bastion.kernel.agents import AgentView
from bastion.kernel.policy import TargetType

app = typer.Typer(help="A2A agents: what the profile publishes.", no_args_is_help=True)


def _catalog(bastion: CommandContext) -> AgentCatalog:
    profile = bastion.profile().profile
    requirement = profile.governance.scope_check.requirements.get(TargetType.AGENT)
    return AgentCatalog.build(
        profile.agents,
        base_url(profile.agents, profile.server),
        requirement.scopes if requirement is not None else (),
    )


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
        directory = AgentDirectoryService(_catalog(bastion))
        return [_row(agent, as_json=as_json) for agent in directory.list()]

    emit(run(go), as_json=as_json, title="Agents")
