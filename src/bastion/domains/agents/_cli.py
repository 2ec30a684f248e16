"""``bastion agents``: the agents of the active profile, as their cards describe them
(the agents domain's ``cli()``). It reads the profile and boots nothing."""

from __future__ import annotations

import typer

from bastion.domains.agents._catalog import AgentCatalog, AgentEntry, base_url
from bastion.infra.commands import JSON_OPTION, CommandContext, command_context, emit, run
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
        return [_row(entry, as_json=as_json) for entry in _catalog(bastion)]

    emit(run(go), as_json=as_json, title="Agents")
