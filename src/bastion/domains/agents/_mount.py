"""Mounting the A2A runtime: the task store, the executors of both kinds of agent, push
notifications and the JSON-RPC endpoint (imported when the agents domain serves, not
when a CLI command only reads the cards)."""

from __future__ import annotations

from bastion.domains.agents._execution import AgentExecutor
from bastion.domains.agents._native import NativeExecutor
from bastion.domains.agents._protocol import A2AEndpoint
from bastion.domains.agents._remote import RemoteExecutor
from bastion.domains.agents._runtime import TaskRuntime
from bastion.domains.agents._settings import AgentSettings, AgentsSettings
from bastion.domains.agents._store import TaskStore
from bastion.infra.services import AUDIT, SECRET_SCANNER
from bastion.kernel.contract import ExtensionContext
from bastion.kernel.governance import GOVERNANCE
from bastion.kernel.inference import INFERENCE
from bastion.kernel.tool_calls import TOOL_CALLS


def build_runtime(ctx: ExtensionContext) -> TaskRuntime:
    """The ``AGENT_TASKS`` service."""
    settings = ctx.config_as(AgentsSettings)
    scanner = ctx.service(SECRET_SCANNER)
    native = NativeExecutor(
        ctx.service(INFERENCE) if ctx.has_service(INFERENCE) else None,
        ctx.service(TOOL_CALLS) if ctx.has_service(TOOL_CALLS) else None,
    )
    remote = RemoteExecutor(settings.agents, ctx.secrets, scanner)
    ctx.on_shutdown(remote.aclose)

    def executor_for(agent: AgentSettings) -> AgentExecutor:
        return remote if agent.remote is not None else native

    return TaskRuntime(TaskStore(ctx.engine), ctx.service(GOVERNANCE), scanner, executor_for)


def a2a_endpoint(ctx: ExtensionContext) -> A2AEndpoint:
    """The ``/{name}/a2a`` routes, mounted with the registry under ``/api/v1/agents``."""
    from bastion.domains.agents._extension import AGENT_TASKS, AGENTS

    return A2AEndpoint(
        ctx.service(AGENTS),
        ctx.service(GOVERNANCE),
        ctx.service(AGENT_TASKS),
        None,
        ctx.service(AUDIT),
    )
