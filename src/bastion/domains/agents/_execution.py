"""What runs a task, and how it reports: the contract between the A2A protocol layer
(which persists tasks and streams their events) and the two kinds of agent, native (the
loop in ``_native``) and remote (the proxy in ``_remote``).

Messages, parts and artifacts are A2A 1.0 JSON objects (the ProtoJSON form of the
protocol's types: ``messageId``, ``contextId``, ``role: "ROLE_USER"``,
``parts: [{"text": ...}]``), the shapes the wire carries and the store keeps.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from bastion.domains.agents._settings import AgentSettings
from bastion.kernel.context import RequestContext

JsonObject = Mapping[str, Any]


class TaskState(enum.StrEnum):
    """A2A 1.0 task states (their ProtoJSON names)."""

    SUBMITTED = "TASK_STATE_SUBMITTED"
    WORKING = "TASK_STATE_WORKING"
    INPUT_REQUIRED = "TASK_STATE_INPUT_REQUIRED"
    AUTH_REQUIRED = "TASK_STATE_AUTH_REQUIRED"
    COMPLETED = "TASK_STATE_COMPLETED"
    FAILED = "TASK_STATE_FAILED"
    CANCELED = "TASK_STATE_CANCELED"
    REJECTED = "TASK_STATE_REJECTED"

    @property
    def terminal(self) -> bool:
        return self in _TERMINAL

    @property
    def interrupted(self) -> bool:
        """The task waits for its caller: a new message continues it."""
        return self in (TaskState.INPUT_REQUIRED, TaskState.AUTH_REQUIRED)


_TERMINAL = frozenset(
    {TaskState.COMPLETED, TaskState.FAILED, TaskState.CANCELED, TaskState.REJECTED}
)


@dataclass(frozen=True, slots=True)
class TaskStart:
    """One message for an agent to work on.

    ``principal`` is the caller as the task acts for it (``RequestContext.for_task``:
    its agent, task and context ids set), so every governed call the executor makes is
    recorded against the task. ``history`` is the conversation so far: the messages of
    the earlier tasks of the same ``contextId`` and of this task, oldest first, without
    ``message``.
    """

    agent: AgentSettings
    principal: RequestContext
    task_id: str
    context_id: str
    message: JsonObject
    history: Sequence[JsonObject] = ()
    remote_task_id: str | None = None


class TaskUpdates(Protocol):
    """Where an executor reports. Each update is persisted before it is published to the
    task's streams and subscribers; ``status`` with a terminal or interrupted state ends
    the execution (later updates are refused with ``RuntimeError``)."""

    async def status(self, state: TaskState, message: JsonObject | None = None) -> None:
        """Move the task to ``state``; ``message`` (an agent message) explains it."""
        ...

    async def artifact(
        self, artifact: JsonObject, *, append: bool = False, last_chunk: bool = False
    ) -> None:
        """Add an artifact, or with ``append`` add parts to the one of its
        ``artifactId`` (a chunk of streamed text); ``last_chunk`` marks its end."""
        ...

    def remote_task(self, remote_task_id: str) -> None:
        """Remember the remote agent's id for this task (a remote agent only)."""
        ...

    @property
    def cancel_requested(self) -> bool:
        """``CancelTask`` was called: stop at the next step and report ``CANCELED``."""
        ...


class AgentExecutor(Protocol):
    async def execute(self, start: TaskStart, updates: TaskUpdates) -> None:
        """Work on ``start.message`` until the task completes, fails, is rejected,
        canceled, or needs input, reporting through ``updates``. An agent's own failure
        (a limit, a refusal, a remote error) is reported as a state, not raised; the
        runtime reports an exception that escapes as ``FAILED``, without its text."""
        ...

    async def cancel(self, start: TaskStart) -> None:
        """Called with ``CancelTask``, besides ``cancel_requested``: a remote agent
        cancels its remote task; a native one has nothing more to do."""
        ...


def text_message(
    role: str, text: str, *, task_id: str, context_id: str, message_id: str
) -> dict[str, Any]:
    """An A2A message of one text part (``role``: ``ROLE_USER`` or ``ROLE_AGENT``)."""
    return {
        "messageId": message_id,
        "contextId": context_id,
        "taskId": task_id,
        "role": role,
        "parts": [{"text": text}],
    }


def text_of(message: JsonObject | None) -> str:
    """The text parts of a message, joined with spaces ("" for none)."""
    parts = (message or {}).get("parts") or ()
    return " ".join(str(part["text"]) for part in parts if part.get("text"))
