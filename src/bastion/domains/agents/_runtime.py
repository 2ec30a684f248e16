"""The task runtime: what ``SendMessage`` and the other methods do, whatever the wire.

A message is validated against the agent's media types, then governed as target
``agent`` (the whole chain: scopes and the ACL, rate limits, quotas, the secret scan and
blocklist over its text, data, file names and inline file text) before any executor
sees it; a denial is a ``REJECTED`` task whose history keeps the message redacted. An
allowed message starts (or continues) a task that runs in the background, so a dropped
stream does not stop it: ``SubscribeToTask`` follows it again, ``GetTask`` reads it.

Tasks run on the replica that accepted their message. Another replica reads them from
the store: their streams by polling ``agent_task_events``, their cancellation through
the task's ``cancel_requested`` flag, which the running replica checks every
``HEARTBEAT`` seconds while it renews the task's lease. A working task whose lease ran
out was left behind by a replica that stopped: it is finished as ``FAILED`` when read.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import copy
import fnmatch
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import structlog

from bastion.domains.agents._catalog import AgentEntry
from bastion.domains.agents._execution import (
    AgentExecutor,
    JsonObject,
    TaskStart,
    TaskState,
    text_message,
)
from bastion.domains.agents._recorder import (
    Event,
    TaskRecorder,
    apply_status,
    is_final,
    timestamp,
)
from bastion.domains.agents._settings import AgentSettings
from bastion.domains.agents._store import (
    DEFAULT_PAGE_SIZE,
    LEASE,
    MAX_PAGE_SIZE,
    InvalidPageToken,
    TaskPage,
    TaskRecord,
    TaskStore,
    owned_by,
    utcnow,
)
from bastion.domains.agents.errors import (
    ContentTypeNotSupported,
    InvalidParams,
    TaskNotCancelable,
    TaskNotFound,
    UnsupportedOperation,
)
from bastion.infra.scanner import SecretScanner
from bastion.kernel.analytics import Reach, Viewer, VisibilityError
from bastion.kernel.context import RequestContext
from bastion.kernel.governance import Decision, Governance
from bastion.kernel.policy import PolicyContext, PolicyTarget, TargetType

log = structlog.get_logger("bastion.agents")

HEARTBEAT = 2.0
# How long CancelTask waits for the replica running a task to stop it.
CANCEL_GRACE = 2.0
REMOTE_POLL = 0.25

_PART_KINDS = ("text", "data", "url", "raw")


@dataclass(slots=True)
class Execution:
    """A task running on this replica."""

    recorder: TaskRecorder
    start: TaskStart
    executor: AgentExecutor
    streams: set[asyncio.Queue[Event]] = field(default_factory=set)
    runner: asyncio.Task[None] | None = None

    def publish(self, event: Event) -> None:
        for queue in self.streams:
            queue.put_nowait(event)


@dataclass(frozen=True, slots=True)
class SendOptions:
    """``SendMessageRequest.configuration`` as the runtime uses it."""

    return_immediately: bool = False
    history_length: int | None = None
    accepted_output_modes: tuple[str, ...] = ()


def task_view(
    document: Mapping[str, Any],
    *,
    history_length: int | None = None,
    include_artifacts: bool = True,
) -> dict[str, Any]:
    """A task as the wire shows it: ``historyLength`` most recent messages (all when
    unset, none at 0), artifacts unless left out, empty lists omitted."""
    view = {k: v for k, v in document.items() if k not in ("history", "artifacts")}
    history = list(document.get("history") or ())
    if history_length is not None:
        history = history[-history_length:] if history_length > 0 else []
    if history:
        view["history"] = history
    artifacts = document.get("artifacts") or ()
    if include_artifacts and artifacts:
        view["artifacts"] = list(artifacts)
    return view


def _media_accepted(media_type: str, modes: Sequence[str]) -> bool:
    return any(fnmatch.fnmatchcase(media_type, mode) for mode in modes)


def _part_media_type(part: JsonObject) -> str:
    if "text" in part:
        return str(part.get("mediaType") or "text/plain")
    if "data" in part:
        return str(part.get("mediaType") or "application/json")
    return str(part.get("mediaType") or "application/octet-stream")


def validate_message(message: object, agent: AgentSettings) -> dict[str, Any]:
    """The message of a ``SendMessage``: a user message of at least one well-formed
    part, each of a media type the agent takes."""
    if not isinstance(message, Mapping):
        raise InvalidParams("params.message: an object is required")
    if message.get("role") != "ROLE_USER":
        raise InvalidParams("params.message.role: must be ROLE_USER")
    message_id = message.get("messageId")
    if not isinstance(message_id, str) or not message_id:
        raise InvalidParams("params.message.messageId: a non-empty string is required")
    for name in ("taskId", "contextId"):
        value = message.get(name)
        if value is not None and (not isinstance(value, str) or not 0 < len(value) <= 128):
            raise InvalidParams(f"params.message.{name}: a string of 1 to 128 characters")
    parts = message.get("parts")
    if not isinstance(parts, list) or not parts:
        raise InvalidParams("params.message.parts: at least one part is required")
    for index, part in enumerate(parts):
        if not isinstance(part, Mapping):
            raise InvalidParams(f"params.message.parts[{index}]: an object is required")
        kinds = [k for k in _PART_KINDS if k in part]
        if len(kinds) != 1:
            raise InvalidParams(
                f"params.message.parts[{index}]: exactly one of text, data, url, raw"
            )
        kind = kinds[0]
        if kind in ("text", "url", "raw") and not isinstance(part[kind], str):
            raise InvalidParams(f"params.message.parts[{index}].{kind}: a string is required")
        if kind == "raw":
            try:
                base64.b64decode(part["raw"], validate=True)
            except (binascii.Error, ValueError):
                raise InvalidParams(f"params.message.parts[{index}].raw: not base64") from None
        media_type = _part_media_type(part)
        if not _media_accepted(media_type, agent.input_modes):
            raise ContentTypeNotSupported(
                f"params.message.parts[{index}]: agent '{agent.name}' does not take "
                f"{media_type} (it takes {', '.join(agent.input_modes)})"
            )
    return dict(message)


def governed_input(message: JsonObject) -> dict[str, Any]:
    """What the chain scans of a message: its text, data, file names and the text of
    inline text files."""
    texts: list[str] = []
    data: list[object] = []
    names: list[str] = []
    for part in message.get("parts") or ():
        if "text" in part:
            texts.append(str(part["text"]))
        elif "data" in part:
            data.append(part["data"])
        else:
            if part.get("filename"):
                names.append(str(part["filename"]))
            if "url" in part:
                texts.append(str(part["url"]))
            elif str(part.get("mediaType") or "").startswith("text/"):
                raw = base64.b64decode(str(part["raw"]))
                texts.append(raw.decode("utf-8", errors="replace"))
    return {"text": texts, "data": data, "filenames": names}


def answer_message(record: TaskRecord) -> dict[str, Any] | None:
    """An earlier task's answer (its artifacts' text) as an agent message, for the
    transcript of a later task of the same conversation."""
    texts = [
        str(part["text"])
        for artifact in record.document.get("artifacts") or ()
        for part in artifact.get("parts") or ()
        if part.get("text")
    ]
    if not texts:
        return None
    return text_message(
        "ROLE_AGENT",
        "".join(texts),
        task_id=record.id,
        context_id=record.context_id,
        message_id=f"answer-{record.id}",
    )


class TaskRuntime:
    """Runs tasks on this replica and answers for every task in the store."""

    def __init__(
        self,
        store: TaskStore,
        governance: Governance,
        scanner: SecretScanner,
        executor_for: Callable[[AgentSettings], AgentExecutor],
        *,
        on_event: Callable[[TaskRecord, Event], None] | None = None,
    ) -> None:
        self._store = store
        self._governance = governance
        self._scanner = scanner
        self._executor_for = executor_for
        self._on_event = on_event
        self._running: dict[str, Execution] = {}
        self._heartbeat: asyncio.Task[None] | None = None

    @property
    def store(self) -> TaskStore:
        return self._store

    # -- reading ---------------------------------------------------------------------

    async def visible_task(self, principal: RequestContext, task_id: object) -> TaskRecord:
        """The task, if the caller may see it; ``TaskNotFound`` otherwise, the same
        answer for a task that does not exist and one of another user."""
        if not isinstance(task_id, str) or not task_id:
            raise InvalidParams("params.id: a task id is required")
        record = await self._current(task_id)
        if record is None or not record.visible_to(_viewer(principal), principal):
            raise TaskNotFound(f"task '{task_id}' not found")
        return record

    async def find(self, task_id: str) -> TaskRecord | None:
        """The task as it is now, whoever may see it (for an operator's command)."""
        return await self._current(task_id)

    async def _current(self, task_id: str) -> TaskRecord | None:
        running = self._running.get(task_id)
        if running is not None:
            return running.recorder.record
        record = await self._store.get(task_id)
        if record is not None:
            await self._settle_abandoned(record)
        return record

    async def _settle_abandoned(self, record: TaskRecord) -> None:
        if record.state not in (TaskState.SUBMITTED, TaskState.WORKING):
            return
        if record.lease_until is not None and record.lease_until > utcnow():
            return
        recorder = TaskRecorder(record, self._store, lambda _: None)
        await recorder.status(
            TaskState.FAILED,
            self._say(record, "the task stopped: the server running it went away"),
        )

    async def get(
        self, principal: RequestContext, task_id: object, history_length: int | None
    ) -> dict[str, Any]:
        record = await self.visible_task(principal, task_id)
        return task_view(record.document, history_length=history_length)

    async def list_tasks(
        self,
        principal: RequestContext,
        agent: str,
        *,
        context_id: str | None,
        state: TaskState | None,
        updated_after: datetime | None,
        page_size: int | None,
        page_token: str | None,
    ) -> TaskPage:
        size = DEFAULT_PAGE_SIZE if page_size is None else page_size
        if not 1 <= size <= MAX_PAGE_SIZE:
            raise InvalidParams(f"params.pageSize: between 1 and {MAX_PAGE_SIZE}")
        try:
            return await self._store.page(
                agent=agent,
                viewer=_viewer(principal),
                principal=principal,
                context_id=context_id,
                state=state,
                updated_after=updated_after,
                page_size=size,
                page_token=page_token,
            )
        except InvalidPageToken as exc:
            raise InvalidParams(str(exc)) from None

    # -- sending ---------------------------------------------------------------------

    async def send(
        self,
        principal: RequestContext,
        entry: AgentEntry,
        message: object,
        options: SendOptions,
        *,
        on_accept: Callable[[str], Awaitable[None]] | None = None,
    ) -> tuple[TaskRecord, Execution | None]:
        """Govern the message and start or continue its task. Returns the task and,
        unless the message was refused, its execution. ``on_accept(task_id)`` runs once
        the message is allowed and before the task starts (a push config given with the
        message), so its refusal leaves no task behind."""
        agent = entry.settings
        message = validate_message(message, agent)
        if options.accepted_output_modes and not any(
            _media_accepted(mode, agent.output_modes)
            or any(_media_accepted(out, (mode,)) for out in agent.output_modes)
            for mode in options.accepted_output_modes
        ):
            raise ContentTypeNotSupported(
                f"configuration.acceptedOutputModes: agent '{agent.name}' answers in "
                f"{', '.join(agent.output_modes)}"
            )
        record, history, new = await self._task_for(principal, agent, message)
        task_principal = principal.for_task(agent.name, record.id, record.context_id)
        message = {**message, "taskId": record.id, "contextId": record.context_id}
        decision = await self._governance.engine.evaluate(
            PolicyContext(
                task_principal,
                PolicyTarget(TargetType.AGENT, name=agent.name),
                governed_input(message),
            )
        )
        if not decision.allowed:
            await self._reject(record, message, decision, new=new)
            return record, None
        record.document.setdefault("history", []).append(message)
        if record.state.interrupted:  # the answer it waited for: back to work
            record.state = TaskState.WORKING
            record.document["status"] = {"state": record.state.value, "timestamp": timestamp()}
        if on_accept is not None:
            await on_accept(record.id)
        if new:  # one write: the task with its message, once it is allowed
            await self._store.create(record)
        start = TaskStart(
            agent=agent,
            principal=task_principal,
            task_id=record.id,
            context_id=record.context_id,
            message=message,
            history=history,
            remote_task_id=record.remote_task_id,
        )
        return record, await self._launch(record, start, write=not new)

    async def _task_for(
        self, principal: RequestContext, agent: AgentSettings, message: JsonObject
    ) -> tuple[TaskRecord, list[JsonObject], bool]:
        """The task a message continues (its ``taskId``, an interrupted task) or a new
        one (not yet stored: the third value), with the conversation so far."""
        task_id, context_id = message.get("taskId"), message.get("contextId")
        if task_id is None:
            given = context_id is not None
            context_id = context_id or str(uuid.uuid4())
            record = TaskRecord.new(
                principal,
                agent=agent.name,
                task_id=str(uuid.uuid4()),
                context_id=context_id,
                document={
                    "id": "",
                    "contextId": context_id,
                    "status": {"state": TaskState.SUBMITTED.value, "timestamp": timestamp()},
                },
            )
            record.document["id"] = record.id
            record.lease_until = utcnow() + LEASE
            history = await self._conversation(principal, context_id, None) if given else []
            return record, history, True
        record = await self.visible_task(principal, task_id)
        if record.agent != agent.name or not owned_by(record.user_id, record.api_key_id, principal):
            raise TaskNotFound(f"task '{task_id}' not found")
        if context_id is not None and context_id != record.context_id:
            raise InvalidParams(f"params.message.contextId: task '{task_id}' is in another context")
        if record.state.terminal:
            raise UnsupportedOperation(
                f"task '{task_id}' has ended ({record.state.value}); start a new task in "
                "its context instead"
            )
        # Two answers at once (from two replicas, say): the first one continues the task.
        if not record.state.interrupted or not await self._store.claim(record):
            raise UnsupportedOperation(f"task '{task_id}' is still working")
        history = await self._conversation(principal, record.context_id, record.id)
        history.extend(record.document.get("history") or ())
        return record, history, False

    async def _conversation(
        self, principal: RequestContext, context_id: str, current: str | None
    ) -> list[JsonObject]:
        """The caller's earlier tasks of ``context_id``: their messages and answers."""
        said: list[JsonObject] = []
        for earlier in await self._store.context_tasks(context_id, before=current):
            if not owned_by(earlier.user_id, earlier.api_key_id, principal):
                continue
            said.extend(earlier.document.get("history") or ())
            answer = answer_message(earlier)
            if answer is not None:
                said.append(answer)
        return said

    async def _reject(
        self, record: TaskRecord, message: JsonObject, decision: Decision, *, new: bool
    ) -> None:
        redacted, _ = self._scanner.redact_json(dict(message))
        record.document.setdefault("history", []).append(redacted)
        where = f" ({decision.stage})" if decision.stage else ""
        reason = decision.reason or decision.rule or "denied by policy"
        said = self._say(record, f"refused by governance{where}: {reason}")
        event = apply_status(record, TaskState.REJECTED, said)
        if new:
            await self._store.create(record, [event])
        else:
            await self._store.save(record, [event])
        self._notify(record, event)

    async def _launch(self, record: TaskRecord, start: TaskStart, *, write: bool) -> Execution:
        """Run the task in the background; ``write``: store its document first (a
        continued task, whose new message is not stored yet)."""
        execution = Execution(
            recorder=TaskRecorder(record, self._store, lambda e: self._fan_out(record.id, e)),
            start=start,
            executor=self._executor_for(start.agent),
        )
        if write:
            execution.recorder.touch()
            await execution.recorder.flush()
        self._running[record.id] = execution
        execution.runner = asyncio.get_running_loop().create_task(
            self._run(execution), name=f"a2a-task-{record.id}"
        )
        self._ensure_heartbeat()
        return execution

    def _fan_out(self, task_id: str, event: Event) -> None:
        execution = self._running.get(task_id)
        if execution is not None:
            execution.publish(event)
            self._notify(execution.recorder.record, event)

    def _notify(self, record: TaskRecord, event: Event) -> None:
        if self._on_event is not None:
            self._on_event(record, event)

    async def _run(self, execution: Execution) -> None:
        recorder, start = execution.recorder, execution.start
        try:
            await execution.executor.execute(start, recorder)
            if not recorder.finished:
                await recorder.status(
                    TaskState.FAILED, self._say(recorder.record, "the agent ended without a result")
                )
        except asyncio.CancelledError:
            if not recorder.finished:
                reason = "canceled by the caller" if recorder.cancel_flag else "the server stopped"
                state = TaskState.CANCELED if recorder.cancel_flag else TaskState.FAILED
                with contextlib.suppress(Exception):
                    await recorder.status(state, self._say(recorder.record, reason))
            raise
        except Exception as exc:
            log.warning(
                "agents.task_failed",
                agent=start.agent.name,
                task_id=start.task_id,
                error_type=type(exc).__name__,
            )
            if not recorder.finished:
                with contextlib.suppress(Exception):
                    await recorder.status(
                        TaskState.FAILED, self._say(recorder.record, "the agent failed")
                    )
        finally:
            with contextlib.suppress(Exception):
                await recorder.close()
            self._running.pop(start.task_id, None)

    def _say(self, record: TaskRecord, text: str) -> dict[str, Any]:
        return text_message(
            "ROLE_AGENT",
            text,
            task_id=record.id,
            context_id=record.context_id,
            message_id=str(uuid.uuid4()),
        )

    # -- following -------------------------------------------------------------------

    async def wait(self, execution: Execution) -> None:
        """Until the task ends or needs input (a blocking ``SendMessage``)."""
        await execution.recorder.settled.wait()

    def follow(self, record: TaskRecord, execution: Execution | None) -> AsyncIterator[Event]:
        """A task's stream: the task as it is now, then each event until it ends or
        needs input. ``execution`` is the running task when this replica runs it. The
        snapshot is taken here, not when the stream is first read, so no event falls
        between it and the events that follow."""
        execution = execution or self._running.get(record.id)
        if execution is None:
            return self._follow_stored(record)
        queue: asyncio.Queue[Event] = asyncio.Queue()
        execution.streams.add(queue)
        snapshot = {"task": copy.deepcopy(task_view(execution.recorder.record.document))}
        return self._drain(execution, queue, snapshot)

    @staticmethod
    async def _drain(
        execution: Execution, queue: asyncio.Queue[Event], snapshot: Event
    ) -> AsyncIterator[Event]:
        try:
            yield snapshot
            if is_final(snapshot):
                return
            while True:
                event = await queue.get()
                yield event
                if is_final(event):
                    return
        finally:
            execution.streams.discard(queue)

    async def _follow_stored(self, record: TaskRecord) -> AsyncIterator[Event]:
        snapshot = {"task": task_view(record.document)}
        yield snapshot
        seq = record.seq
        if is_final(snapshot):
            return
        while True:
            await asyncio.sleep(REMOTE_POLL)
            for seq_, event in await self._store.events_after(record.id, seq):
                seq = seq_
                yield event
                if is_final(event):
                    return
            current = await self._current(record.id)
            if current is None or current.state.terminal:
                # Settled as abandoned while we waited: its last event is in the store.
                for _, event in await self._store.events_after(record.id, seq):
                    yield event
                return

    async def subscribe(self, principal: RequestContext, task_id: object) -> AsyncIterator[Event]:
        record = await self.visible_task(principal, task_id)
        if record.state.terminal:
            raise UnsupportedOperation(
                f"task '{record.id}' has ended ({record.state.value}): nothing to follow"
            )
        return self.follow(record, None)

    # -- canceling -------------------------------------------------------------------

    async def cancel_record(self, record: TaskRecord) -> dict[str, Any]:
        """Cancel a task whoever runs it (``CancelTask``, or an operator at the CLI): a
        task running here stops where it is, one waiting for input is canceled at once,
        one running on another replica is flagged and awaited a few seconds."""
        if record.state.terminal:
            raise TaskNotCancelable(f"task '{record.id}' has ended ({record.state.value})")
        execution = self._running.get(record.id)
        if execution is not None:
            await self._cancel_running(execution)
        elif record.state.interrupted:
            recorder = TaskRecorder(record, self._store, lambda e: self._notify(record, e))
            await recorder.status(TaskState.CANCELED, self._say(record, "canceled by the caller"))
        else:
            await self._store.request_cancel(record.id)
            record = await self._await_remote_cancel(record)
        return task_view(record.document)

    async def _cancel_running(self, execution: Execution) -> None:
        """Tell the executor (a remote agent cancels its remote task), then stop the
        execution where it is: a model stream or a tool call in flight is abandoned (the
        gateway records the model call as canceled by its caller)."""
        recorder = execution.recorder
        recorder.cancel_flag = True
        try:
            await execution.executor.cancel(execution.start)
        except Exception as exc:
            log.warning(
                "agents.cancel_failed", task_id=recorder.record.id, error_type=type(exc).__name__
            )
        runner = execution.runner
        if not recorder.finished and runner is not None:
            runner.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await runner

    async def _await_remote_cancel(self, record: TaskRecord) -> TaskRecord:
        """Another replica runs the task: it sees the flag at its next heartbeat."""
        deadline = asyncio.get_running_loop().time() + HEARTBEAT + CANCEL_GRACE + 1.0
        while asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(REMOTE_POLL)
            current = await self._current(record.id)
            if current is not None and current.state.terminal:
                return current
        return await self._current(record.id) or record

    # -- liveness --------------------------------------------------------------------

    def _ensure_heartbeat(self) -> None:
        if self._heartbeat is None or self._heartbeat.done():
            self._heartbeat = asyncio.get_running_loop().create_task(
                self._beat(), name="a2a-heartbeat"
            )

    async def _beat(self) -> None:
        renewed = utcnow()
        while self._running:
            await asyncio.sleep(HEARTBEAT)
            ids = list(self._running)
            try:
                for task_id in await self._store.cancels_requested(ids):
                    execution = self._running.get(task_id)
                    if execution is not None and not execution.recorder.cancel_flag:
                        asyncio.get_running_loop().create_task(self._cancel_running(execution))
                if utcnow() - renewed > LEASE / 3:
                    renewed = utcnow()
                    await self._store.renew_leases(ids, renewed + LEASE)
            except Exception as exc:
                log.warning("agents.heartbeat_failed", error_type=type(exc).__name__)

    async def close(self) -> None:
        """At shutdown: the tasks still running end as failed (the server stopped)."""
        runners = [e.runner for e in self._running.values() if e.runner is not None]
        for runner in runners:
            runner.cancel()
        for runner in runners:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await runner
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._heartbeat


def _viewer(principal: RequestContext) -> Viewer:
    try:
        return Viewer.of(principal)
    except VisibilityError:
        # A caller without a user (an API key of no user) sees what its key created.
        return Viewer(Reach.USER, tenant_id=principal.tenant_id, user_id=None)


__all__ = [
    "Execution",
    "SendOptions",
    "TaskRuntime",
    "answer_message",
    "governed_input",
    "task_view",
    "validate_message",
]
