from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import structlog

from bastion.domains.agents._catalog import API_BASE, AgentCatalog, base_url
from bastion.domains.agents._directory import AgentDirectoryService
from bastion.domains.agents._references import warn_unresolved
from bastion.domains.agents._routes import registry_routes, well_known_routes
from bastion.domains.agents._settings import AgentsSettings
from bastion.infra.services import AUDIT, SECRET_SCANNER
from bastion.kernel.agents import AGENT_DIRECTORY, AgentDirectory
from bastion.kernel.contract import (
    ConfigSpec,
    EndpointClass,
    Extension,
    ExtensionContext,
    ExtensionMeta,
    ExtensionRouter,
    Maturity,
    Operation,
)
from bastion.kernel.governance import GOVERNANCE
from bastion.kernel.inference import INFERENCE
from bastion.kernel.migration import Migration, migrations_from_package
from bastion.kernel.policy import TargetType
from bastion.kernel.services import ServiceKey, ServiceProvider
from bastion.kernel.tool_calls import TOOL_CALLS

if TYPE_CHECKING:
    import typer

    from bastion.domains.agents._runtime import TaskRuntime

log = structlog.get_logger("bastion.agents")

_DOC = dict[str, Any]

AGENTS: ServiceKey[AgentCatalog] = ServiceKey("agents", "The agent cards this deployment serves")
AGENT_TASKS: ServiceKey[TaskRuntime] = ServiceKey(
    "agent_tasks", "The A2A task runtime: sends, streams, reads and cancels tasks"
)


def _build(ctx: ExtensionContext) -> AgentCatalog:
    """The ``AGENTS`` service. Built when the agents domain mounts (priority 90: after the
    domains whose entities agents name), so their catalogue entries exist to check."""
    settings = ctx.config_as(AgentsSettings)
    governance = ctx.service(GOVERNANCE)
    catalog = AgentCatalog.build(
        settings,
        base_url(settings, ctx.platform),
        governance.scope.required_scopes(TargetType.AGENT),
    )
    if len(catalog) and settings.public_base_url is None:
        log.warning(
            "agents.public_base_url is unset; cards advertise the listener address",
            base_url=base_url(settings, ctx.platform),
        )
    warn_unresolved(catalog, governance.catalog)
    governance.catalog.register("agent", catalog.__contains__)
    return catalog


def _directory(ctx: ExtensionContext) -> AgentDirectory:
    return AgentDirectoryService(ctx.service(AGENTS))


def _tasks(ctx: ExtensionContext) -> TaskRuntime:
    from bastion.domains.agents._mount import build_runtime

    return build_runtime(ctx)


async def _close_tasks(runtime: TaskRuntime) -> None:
    await runtime.close()


class AgentsExtension(Extension):
    """A2A discovery: agent cards at ``/.well-known`` (anonymous) and the agent registry at
    ``/api/v1/agents/registry`` (filtered by the caller's scopes and the ACL).

    Priority 90 puts it after the domains whose entities agents name (gateway routes, MCP
    servers), so their entries in the entity catalog exist when the references are checked.
    """

    meta = ExtensionMeta(
        id="agents",
        version="1.0.0",
        depends_on=("core", "governance"),
        priority=90,
        description="A2A discovery: agent cards and the agent registry",
        required=False,
        requires=(GOVERNANCE, AUDIT, SECRET_SCANNER),
        optional=(INFERENCE, TOOL_CALLS),
        maturity=Maturity.GA,
    )

    def config(self) -> ConfigSpec:
        return "agents", AgentsSettings

    def services(self) -> Sequence[ServiceProvider[Any]]:
        return [
            ServiceProvider(AGENTS, _build),
            ServiceProvider(AGENT_DIRECTORY, _directory),
            ServiceProvider(AGENT_TASKS, _tasks, close=_close_tasks),
        ]

    def migrations(self) -> Sequence[Migration]:
        return migrations_from_package("bastion.domains.agents")

    def router(self, ctx: ExtensionContext) -> Sequence[ExtensionRouter]:
        catalog = ctx.service(AGENTS)
        governance = ctx.service(GOVERNANCE)
        operations = [Operation("GET", "/registry", "The agents the caller may use", None, _DOC)]
        routes = registry_routes(catalog, governance)
        on_refused = None
        if len(catalog):  # the runtime is built (and imported) only to serve some agent
            from bastion.domains.agents._mount import a2a_endpoint

            a2a = a2a_endpoint(ctx)
            routes = [*routes, *a2a.routes()]
            on_refused = a2a.refused_by_core
            operations.append(
                Operation(
                    "POST",
                    "/{name}/a2a",
                    "The agent's A2A JSON-RPC endpoint (1.0 and 0.3; SSE for streams)",
                    _DOC,
                    _DOC,
                )
            )
        return [
            ExtensionRouter(
                well_known_routes(catalog),
                "/.well-known",
                EndpointClass.PUBLIC,
                openapi=[
                    Operation("GET", "/agent-card.json", "The default agent card", None, _DOC),
                    Operation("GET", "/agent-cards", "Every agent card", None, _DOC),
                    Operation("GET", "/agent-cards/{name}", "One agent card", None, _DOC),
                ],
            ),
            ExtensionRouter(
                routes,
                API_BASE,
                EndpointClass.API,
                on_refused=on_refused,
                openapi=operations,
            ),
        ]

    def cli(self) -> typer.Typer:
        from bastion.domains.agents._cli import app

        return app
