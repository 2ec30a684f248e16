"""One running task's ``TaskUpdates``: applies each update to the task's document, keeps
it in the store, and fans it out to the task's streams.

A task's end (a terminal state, or one that waits for its caller) is written before it is
published, so what a stream has shown as an outcome is in the database. Everything on
the way there (a working state, artifact chunks such as a model's text deltas) is
published as it arrives and written together at most ``FLUSH_DELAY`` later, or with the
end: a fast task costs one write for its whole run, and a slow one a write per
``FLUSH_DELAY`` at most. An event is the ``StreamResponse`` the wire carries
(``{"statusUpdate": ...}`` or ``{"artifactUpdate": ...}``).
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import structlog

from bastion.domains.agents._execution import JsonObject, TaskState
from bastion.domains.agents._store import TaskRecord, TaskStore

log = structlog.get_logger("bastion.agents")

FLUSH_DELAY = 0.1

Event = dict[str, Any]


def timestamp() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def is_final(event: JsonObject) -> bool:
    """Whether a stream ends with this event: a terminal or interrupted status."""
    status = (event.get("statusUpdate") or event.get("task") or {}).get("status") or {}
    state = status.get("state")
    if state is None:
        return False
    task_state = TaskState(state)
    return task_state.terminal or task_state.interrupted


def apply_status(record: TaskRecord, state: TaskState, message: JsonObject | None = None) -> Event:
    """Move ``record`` to ``state`` (``message``, an agent message, joins its history);
    the ``statusUpdate`` event that says so."""
    ids = {"taskId": record.id, "contextId": record.context_id}
    status: dict[str, Any] = {"state": state.value, "timestamp": timestamp()}
    if message is not None:
        said = {**message, **ids}
        status["message"] = said
        record.document.setdefault("history", []).append(said)
    record.document["status"] = status
    record.state = state
    return {"statusUpdate": {**ids, "status": status}}


def merge_artifact(document: dict[str, Any], artifact: JsonObject, *, append: bool) -> None:
    """Add ``artifact`` to the task, or append its parts to the one of its id; adjacent
    text parts are joined, so a streamed answer is stored as one part."""
    artifacts: list[dict[str, Any]] = document.setdefault("artifacts", [])
    artifact_id = artifact.get("artifactId")
    existing = next((a for a in artifacts if a.get("artifactId") == artifact_id), None)
    if existing is None or not append:
        if existing is not None:
            artifacts.remove(existing)
        artifacts.append(copy.deepcopy(dict(artifact)))
        return
    parts: list[dict[str, Any]] = existing.setdefault("parts", [])
    for part in artifact.get("parts") or ():
        if parts and set(part) == {"text"} and set(parts[-1]) == {"text"}:
            parts[-1] = {"text": parts[-1]["text"] + part["text"]}
        elif part != {"text": ""}:
            parts.append(copy.deepcopy(dict(part)))


class TaskRecorder:
    """``TaskUpdates`` for one execution (``_execution.TaskUpdates``)."""

    def __init__(
        self, record: TaskRecord, store: TaskStore, publish: Callable[[Event], None]
    ) -> None:
        self.record = record
        self._store = store
        self._publish = publish
        self._pending: list[Event] = []
        self._dirty = False
        self._lock = asyncio.Lock()
        self._flush_later: asyncio.TimerHandle | None = None
        self._flushing: set[asyncio.Task[None]] = set()
        self.settled = asyncio.Event()
        self.cancel_flag = False

    @property
    def cancel_requested(self) -> bool:
        return self.cancel_flag

    @property
    def finished(self) -> bool:
        return self.settled.is_set()

    def _ids(self) -> dict[str, str]:
        return {"taskId": self.record.id, "contextId": self.record.context_id}

    async def status(self, state: TaskState, message: JsonObject | None = None) -> None:
        if self.finished:
            raise RuntimeError(f"task {self.record.id} has already ended ({self.record.state})")
        event = apply_status(self.record, state, message)
        self._pending.append(event)
        if not (state.terminal or state.interrupted):
            self._publish(event)
            self._flush_soon_after()
            return
        await self.flush()
        self._publish(event)
        self.settled.set()

    async def artifact(
        self, artifact: JsonObject, *, append: bool = False, last_chunk: bool = False
    ) -> None:
        if self.finished:
            raise RuntimeError(f"task {self.record.id} has already ended ({self.record.state})")
        merge_artifact(self.record.document, artifact, append=append)
        event = {
            "artifactUpdate": {
                **self._ids(),
                "artifact": dict(artifact),
                "append": append,
                "lastChunk": last_chunk,
            }
        }
        self._pending.append(event)
        self._publish(event)
        self._flush_soon_after()

    def touch(self) -> None:
        """The document changed outside an update (a continuing message): write it with
        the next flush."""
        self._dirty = True

    def _flush_soon_after(self) -> None:
        if self._flush_later is None:
            loop = asyncio.get_running_loop()
            self._flush_later = loop.call_later(FLUSH_DELAY, self._flush_soon)

    def remote_task(self, remote_task_id: str) -> None:
        self.record.remote_task_id = remote_task_id
        self._dirty = True

    def _flush_soon(self) -> None:
        self._flush_later = None
        task = asyncio.get_running_loop().create_task(self._flush_logged())
        self._flushing.add(task)
        task.add_done_callback(self._flushing.discard)

    async def _flush_logged(self) -> None:
        """A deferred write's failure is logged: the chunks stay pending, written with
        the next status change, which fails the task if the store is still down."""
        try:
            await self.flush()
        except Exception as exc:
            log.warning(
                "agents.task_write_failed", task_id=self.record.id, error_type=type(exc).__name__
            )

    async def flush(self) -> None:
        """Write the document and the pending events."""
        if self._flush_later is not None:
            self._flush_later.cancel()
            self._flush_later = None
        async with self._lock:
            if not self._pending and not self._dirty:
                return
            events, self._pending, self._dirty = self._pending, [], False
            try:
                await self._store.save(self.record, events)
            except BaseException:
                self._pending[:0] = events
                self._dirty = True
                raise

    async def close(self) -> None:
        await self.flush()
        for task in list(self._flushing):
            await task


__all__ = [
    "FLUSH_DELAY",
    "Event",
    "TaskRecorder",
    "apply_status",
    "is_final",
    "merge_artifact",
    "timestamp",
]
