"""Mounting the A2A runtime: the task store, the executors of both kinds of agent, push
notifications and the JSON-RPC endpoint (imported when the agents domain serves, not
when a CLI command only reads the cards)."""

from __future__ import annotations

from collections.abc import Callable

import structlog

from bastion.domains.agents._execution import AgentExecutor
from bastion.domains.agents._native import NativeExecutor
from bastion.domains.agents._protocol import A2AEndpoint
from bastion.domains.agents._push_store import PushConfigStore
from bastion.domains.agents._recorder import Event, is_final
from bastion.domains.agents._remote import RemoteExecutor
from bastion.domains.agents._runtime import TaskRuntime, task_view
from bastion.domains.agents._settings import AgentSettings, AgentsSettings
from bastion.domains.agents._store import TaskRecord, TaskStore
from bastion.infra.services import AUDIT, SECRET_SCANNER
from bastion.kernel.contract import ExtensionContext
from bastion.kernel.governance import GOVERNANCE
from bastion.kernel.inference import INFERENCE
from bastion.kernel.tool_calls import TOOL_CALLS

log = structlog.get_logger("bastion.agents")


def push_store(ctx: ExtensionContext) -> PushConfigStore | None:
    settings = ctx.config_as(AgentsSettings).push_notifications
    return PushConfigStore(ctx.engine, settings) if settings.enabled else None


def _notifier(
    ctx: ExtensionContext, store: PushConfigStore | None
) -> Callable[[TaskRecord, Event], None] | None:
    """What the runtime calls with each task event: a status change goes to the task's
    webhooks (``PushSender``), and when the task ends or needs input, the whole task."""
    settings = ctx.config_as(AgentsSettings)
    pushing = {a.name for a in settings.agents if a.push_notifications}
    if store is None or not pushing:
        return None
    from bastion.domains.agents._push import PushSender

    sender = PushSender.from_settings(store, settings.push_notifications, ctx.secrets)
    ctx.on_shutdown(sender.aclose)

    def notify(record: TaskRecord, event: Event) -> None:
        if record.agent not in pushing or "statusUpdate" not in event:
            return
        sender.notify(record.id, event)
        if is_final(event):
            sender.notify(record.id, {"task": task_view(record.document)})

    return notify


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

    return TaskRuntime(
        TaskStore(ctx.engine),
        ctx.service(GOVERNANCE),
        scanner,
        executor_for,
        on_event=_notifier(ctx, push_store(ctx)),
    )


def a2a_endpoint(ctx: ExtensionContext) -> A2AEndpoint:
    """The ``/{name}/a2a`` routes, mounted with the registry under ``/api/v1/agents``."""
    from bastion.domains.agents._extension import AGENT_TASKS, AGENTS

    settings = ctx.config_as(AgentsSettings)
    push = settings.push_notifications
    if (
        push.enabled
        and push.signing_secret is None
        and any(a.push_notifications for a in settings.agents)
    ):
        log.warning(
            "agents.push_notifications.signing_secret is unset; push notifications are "
            "sent unsigned"
        )

    return A2AEndpoint(
        ctx.service(AGENTS),
        ctx.service(GOVERNANCE),
        ctx.service(AGENT_TASKS),
        push_store(ctx),
        ctx.service(AUDIT),
    )
