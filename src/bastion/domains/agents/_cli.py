"""``bastion agents``: the agents of the active profile, as their cards describe them
(the agents domain's ``cli()``), their tasks as the operator sees them, and ``run``, a
message to an agent of a running Bastion (``_cli_run``). The listings boot the platform
without mounting or migrating and read the services the routes serve."""

from __future__ import annotations

import typer

from bastion.domains.agents._execution import TaskState, text_of
from bastion.domains.agents._extension import AGENT_TASKS
from bastion.domains.agents._store import MAX_PAGE_SIZE, TaskRecord, TaskStore
from bastion.domains.agents.errors import TaskNotCancelable
from bastion.infra.commands import (
    JSON_OPTION,
    command_context,
    emit,
    fail,
    out,
    record_admin_action,
    run,
)
from bastion.kernel.agents import AGENT_DIRECTORY, AgentView
from bastion.kernel.analytics import Viewer

app = typer.Typer(
    help="A2A agents: what the profile publishes, their tasks, a message to one.",
    no_args_is_help=True,
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
        async with bastion.platform(migrate=False, mount=False) as p:
            return [_row(agent, as_json=as_json) for agent in p.service(AGENT_DIRECTORY).list()]

    emit(run(go), as_json=as_json, title="Agents")


@app.command("run")
def run_(
    agent: str = typer.Argument(..., metavar="NAME", help="The agent to talk to."),
    text: str = typer.Argument(..., metavar="MESSAGE", help="What to say."),
    url: str | None = typer.Option(
        None, "--url", envvar="BASTION_URL", help="The Bastion to call (default local)."
    ),
    key: str | None = typer.Option(
        None, "--key", envvar="BASTION_API_KEY", help="The caller's API key or token."
    ),
    context_id: str | None = typer.Option(None, "--context-id", help="Continue a conversation."),
    task_id: str | None = typer.Option(
        None, "--task-id", help="Answer a task that waits for input."
    ),
    stream: bool = typer.Option(True, "--stream/--no-stream", help="Stream the task (SSE)."),
    as_json: bool = typer.Option(False, "--json", help="Print each event as a JSON line."),
) -> None:
    """Send a message to an agent of a running Bastion and show the task as it runs."""
    from bastion.domains.agents._cli_run import credentials, run_task

    base, credential = credentials(url, key)
    status = run_task(
        base,
        credential,
        agent,
        text,
        context_id=context_id,
        task_id=task_id,
        stream=stream,
        as_json=as_json,
    )
    raise typer.Exit(status)


tasks = typer.Typer(help="A2A tasks in the database, as the operator sees them.")
app.add_typer(tasks, name="tasks")


def _task_row(record: TaskRecord) -> dict[str, object]:
    status = record.document.get("status") or {}
    said = " ".join(
        str(p.get("text"))
        for p in (status.get("message") or {}).get("parts") or ()
        if p.get("text")
    )
    return {
        "id": record.id,
        "agent": record.agent,
        "state": record.state.value.removeprefix("TASK_STATE_").lower(),
        "user_id": record.user_id,
        "context_id": record.context_id,
        "updated_at": record.updated_at.isoformat(timespec="seconds"),
        "status_message": said[:120],
    }


@tasks.command("list")
def tasks_list(
    ctx: typer.Context,
    agent: str | None = typer.Option(None, "--agent", help="Only this agent's tasks."),
    state: str | None = typer.Option(
        None, "--state", help="Only tasks in this state (working, completed, ...)."
    ),
    user: str | None = typer.Option(None, "--user", help="Only this user's tasks."),
    context_id: str | None = typer.Option(None, "--context-id", help="Only this conversation."),
    limit: int = typer.Option(50, "--limit", min=1, max=MAX_PAGE_SIZE, help="How many."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Tasks, the most recently updated first."""
    bastion = command_context(ctx)
    wanted = _state(state)

    async def go() -> list[dict[str, object]]:
        async with bastion.platform(migrate=False, mount=False) as p:
            page = await TaskStore(p.engine).page(
                agent=agent,
                viewer=Viewer.everything(),
                principal=None,
                user_id=user,
                context_id=context_id,
                state=wanted,
                page_size=limit,
            )
        return [_task_row(t) for t in page.tasks]

    emit(run(go), as_json=as_json, title="Tasks")


def _state(value: str | None) -> TaskState | None:
    if value is None:
        return None
    name = "TASK_STATE_" + value.upper().replace("-", "_").removeprefix("TASK_STATE_")
    try:
        return TaskState(name)
    except ValueError:
        choices = ", ".join(s.value.removeprefix("TASK_STATE_").lower() for s in TaskState)
        raise fail(f"--state {value!r}: one of {choices}") from None


@tasks.command("show")
def tasks_show(
    ctx: typer.Context,
    task_id: str = typer.Argument(..., metavar="TASK_ID"),
    as_json: bool = JSON_OPTION,
) -> None:
    """One task: its state, trace, history and artifacts."""
    bastion = command_context(ctx)

    async def go() -> TaskRecord:
        async with bastion.platform(migrate=False, mount=False) as p:
            record = await p.service(AGENT_TASKS).find(task_id)
        if record is None:
            raise fail(f"no task {task_id}")
        return record

    record = run(go)
    if as_json:
        emit(
            [
                {
                    **_task_row(record),
                    "trace_id": record.trace_id,
                    "tenant_id": record.tenant_id,
                    "api_key_id": record.api_key_id,
                    "remote_task_id": record.remote_task_id,
                    "created_at": record.created_at.isoformat(),
                    "task": record.document,
                }
            ],
            as_json=True,
        )
        return
    row = _task_row(record)
    row.update(trace_id=record.trace_id, remote_task_id=record.remote_task_id)
    emit([row], as_json=False, title=f"Task {record.id}")
    said = [
        {
            "role": str(m.get("role", "")).removeprefix("ROLE_").lower(),
            "text": text_of(m),
        }
        for m in record.document.get("history") or ()
    ]
    emit(said, as_json=False, title="History")
    made = [
        {
            "artifact": a.get("name") or a.get("artifactId"),
            "text": "".join(str(p.get("text", "")) for p in a.get("parts") or ()),
        }
        for a in record.document.get("artifacts") or ()
    ]
    emit(made, as_json=False, title="Artifacts")


@tasks.command("cancel")
def tasks_cancel(ctx: typer.Context, task_id: str = typer.Argument(..., metavar="TASK_ID")) -> None:
    """Cancel a task: at once when it waits for input; a working one is flagged, and the
    replica running it stops it within seconds."""
    bastion = command_context(ctx)

    async def go() -> str:
        async with bastion.platform(mount=False) as p:
            runtime = p.service(AGENT_TASKS)
            record = await runtime.find(task_id)
            if record is None:
                raise fail(f"no task {task_id}")
            try:
                task = await runtime.cancel_record(record)
            except TaskNotCancelable as exc:
                raise fail(exc.message) from None
            state = str(task["status"]["state"])
            await record_admin_action(
                p, "agents.task_canceled", task_id, {"agent": record.agent, "state": state}
            )
            return state

    state = run(go)
    if state == TaskState.CANCELED.value:
        out.print(f"task {task_id} canceled", highlight=False)
    else:
        out.print(
            f"task {task_id}: cancel requested; still {state} (the replica running it "
            "stops it at its next heartbeat)",
            highlight=False,
        )
