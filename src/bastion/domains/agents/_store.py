"""The task store: every A2A task, its status, history and artifacts, in the database.

``agent_tasks`` holds one row per task: who created it (the principal columns, so a
task is in its request's trace and visible only to its creator, their tenant admins and
admins), its agent, ``contextId`` and state, and ``document``, the task as the wire shows
it (``id``, ``contextId``, ``status``, ``artifacts``, ``history``). ``agent_task_events``
holds what the task's streams carried, numbered per task (``seq``), so a subscriber on
another replica, or after a dropped stream, follows the task from where its snapshot
ends. A document and the events up to its ``seq`` commit in one transaction.

``lease_until`` is renewed by the replica running the task; a working task whose lease
ran out was left behind by a replica that stopped, and readers finish it as failed.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    and_,
    bindparam,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncEngine

from bastion.domains.agents._execution import TaskState
from bastion.infra.audit import principal_columns
from bastion.kernel.analytics import Reach, Viewer
from bastion.kernel.context import RequestContext

metadata = MetaData()

TASK_PRINCIPAL = ("trace_id", "user_id", "tenant_id", "api_key_id", "client_id")

agent_tasks = Table(
    "agent_tasks",
    metadata,
    Column("id", String(128), primary_key=True),
    Column("agent", String(64), nullable=False),
    Column("context_id", String(128), nullable=False),
    Column("state", String(32), nullable=False),
    *principal_columns(names=TASK_PRINCIPAL),
    Column("remote_task_id", String(128)),
    Column("document", Text, nullable=False),
    Column("seq", Integer, nullable=False),
    Column("cancel_requested", Boolean, nullable=False),
    Column("lease_until", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

agent_task_events = Table(
    "agent_task_events",
    metadata,
    Column("task_id", String(128), primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("event", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# What a save rewrites: everything but the task's identity and who created it, and the
# cancel flag (set by CancelTask, possibly on another replica).
_SAVED = (
    "agent",
    "context_id",
    "state",
    "client_id",
    "remote_task_id",
    "document",
    "seq",
    "lease_until",
    "updated_at",
)
# Built once: ``.values(**row)`` per call would coerce a bound parameter per column, a
# sizeable share of a task's CPU.
_INSERT_TASK = agent_tasks.insert()
_INSERT_EVENTS = agent_task_events.insert()
_UPDATE_TASK = (
    update(agent_tasks)
    .where(agent_tasks.c.id == bindparam("task_id_"))
    .values({name: bindparam(name) for name in _SAVED})
)

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 50
# How long a task's runner holds it without renewing (it renews every few seconds).
LEASE = timedelta(seconds=30)


def utcnow() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


@dataclass(slots=True)
class TaskRecord:
    """One ``agent_tasks`` row, ``document`` parsed."""

    id: str
    agent: str
    context_id: str
    state: TaskState
    trace_id: str
    user_id: str | None
    tenant_id: str | None
    api_key_id: str | None
    client_id: str | None
    remote_task_id: str | None
    document: dict[str, Any]
    seq: int
    cancel_requested: bool
    lease_until: datetime | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def new(
        cls,
        principal: RequestContext,
        *,
        agent: str,
        task_id: str,
        context_id: str,
        document: dict[str, Any],
    ) -> TaskRecord:
        now = utcnow()
        return cls(
            id=task_id,
            agent=agent,
            context_id=context_id,
            state=TaskState(document["status"]["state"]),
            trace_id=principal.trace_id,
            user_id=principal.user_id,
            tenant_id=principal.tenant_id,
            api_key_id=principal.api_key_id,
            client_id=principal.client_id,
            remote_task_id=None,
            document=document,
            seq=0,
            cancel_requested=False,
            lease_until=None,
            created_at=now,
            updated_at=now,
        )

    def visible_to(self, viewer: Viewer, principal: RequestContext) -> bool:
        """The creator (its user, or for a caller without one its API key), the
        creator's tenant admins, and admins."""
        if viewer.reach is Reach.ALL:
            return True
        if viewer.reach is Reach.TENANT:
            return self.tenant_id is not None and self.tenant_id == viewer.tenant_id
        return owned_by(self.user_id, self.api_key_id, principal)

    def _row(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "agent": self.agent,
            "context_id": self.context_id,
            "state": self.state.value,
            "trace_id": self.trace_id,
            "user_id": self.user_id,
            "tenant_id": self.tenant_id,
            "api_key_id": self.api_key_id,
            "client_id": self.client_id,
            "remote_task_id": self.remote_task_id,
            "document": orjson.dumps(self.document).decode(),
            "seq": self.seq,
            "cancel_requested": self.cancel_requested,
            "lease_until": self.lease_until,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }

    @classmethod
    def _of(cls, row: Any) -> TaskRecord:
        lease = row["lease_until"]
        return cls(
            id=row["id"],
            agent=row["agent"],
            context_id=row["context_id"],
            state=TaskState(row["state"]),
            trace_id=row["trace_id"],
            user_id=row["user_id"],
            tenant_id=row["tenant_id"],
            api_key_id=row["api_key_id"],
            client_id=row["client_id"],
            remote_task_id=row["remote_task_id"],
            document=orjson.loads(row["document"]),
            seq=int(row["seq"]),
            cancel_requested=bool(row["cancel_requested"]),
            lease_until=None if lease is None else _aware(lease),
            created_at=_aware(row["created_at"]),
            updated_at=_aware(row["updated_at"]),
        )


def owned_by(user_id: str | None, api_key_id: str | None, principal: RequestContext) -> bool:
    if principal.user_id is not None:
        return user_id == principal.user_id
    return principal.api_key_id is not None and api_key_id == principal.api_key_id


@dataclass(frozen=True, slots=True)
class TaskPage:
    tasks: Sequence[TaskRecord]
    next_page_token: str
    total_size: int


class InvalidPageToken(ValueError):
    """A ``pageToken`` this store did not hand out."""


def _encode_token(at: datetime, task_id: str) -> str:
    raw = orjson.dumps([at.isoformat(), task_id])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_token(token: str) -> tuple[datetime, str]:
    try:
        padded = token + "=" * (-len(token) % 4)
        at, task_id = orjson.loads(base64.urlsafe_b64decode(padded))
        return _aware(datetime.fromisoformat(at)), str(task_id)
    except (ValueError, TypeError) as exc:
        raise InvalidPageToken("pageToken: not a token this server issued") from exc


class TaskStore:
    """Reads and writes ``agent_tasks`` and ``agent_task_events``."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def create(self, record: TaskRecord, events: Sequence[dict[str, Any]] = ()) -> None:
        record.seq = len(events)
        async with self._engine.begin() as conn:
            await conn.execute(_INSERT_TASK, record._row())
            if events:
                await conn.execute(_INSERT_EVENTS, self._event_rows(record.id, 0, events))

    async def save(self, record: TaskRecord, events: Sequence[dict[str, Any]] = ()) -> None:
        """Write the task's current document and state, with the events that led to it
        (numbered after ``record.seq``), in one transaction."""
        first = record.seq
        row = record._row()
        values = {name: row[name] for name in _SAVED}
        values["seq"] = first + len(events)
        values["updated_at"] = utcnow()
        async with self._engine.begin() as conn:
            await conn.execute(_UPDATE_TASK, {**values, "task_id_": record.id})
            if events:
                await conn.execute(_INSERT_EVENTS, self._event_rows(record.id, first, events))
        record.seq, record.updated_at = values["seq"], values["updated_at"]

    @staticmethod
    def _event_rows(
        task_id: str, first: int, events: Sequence[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        now = utcnow()
        return [
            {
                "task_id": task_id,
                "seq": first + offset + 1,
                "event": orjson.dumps(event).decode(),
                "created_at": now,
            }
            for offset, event in enumerate(events)
        ]

    async def get(self, task_id: str) -> TaskRecord | None:
        async with self._engine.connect() as conn:
            row = (
                (await conn.execute(select(agent_tasks).where(agent_tasks.c.id == task_id)))
                .mappings()
                .first()
            )
        return None if row is None else TaskRecord._of(row)

    async def events_after(self, task_id: str, seq: int) -> list[tuple[int, dict[str, Any]]]:
        query = (
            select(agent_task_events.c.seq, agent_task_events.c.event)
            .where(agent_task_events.c.task_id == task_id, agent_task_events.c.seq > seq)
            .order_by(agent_task_events.c.seq)
        )
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [(int(s), orjson.loads(e)) for s, e in rows]

    async def claim(self, record: TaskRecord) -> bool:
        """Move an interrupted task back to work, if it still is in the state read: one
        of two concurrent answers wins."""
        lease = utcnow() + LEASE
        async with self._engine.begin() as conn:
            claimed = await conn.execute(
                update(agent_tasks)
                .where(agent_tasks.c.id == record.id, agent_tasks.c.state == record.state.value)
                .values(state=TaskState.WORKING.value, lease_until=lease)
            )
        if claimed.rowcount != 1:
            return False
        record.lease_until = lease
        return True

    async def request_cancel(self, task_id: str) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(
                update(agent_tasks).where(agent_tasks.c.id == task_id).values(cancel_requested=True)
            )

    async def cancels_requested(self, task_ids: Sequence[str]) -> set[str]:
        if not task_ids:
            return set()
        query = select(agent_tasks.c.id).where(
            agent_tasks.c.id.in_(task_ids), agent_tasks.c.cancel_requested.is_(True)
        )
        async with self._engine.connect() as conn:
            return {str(r) for r in (await conn.execute(query)).scalars()}

    async def renew_leases(self, task_ids: Sequence[str], until: datetime) -> None:
        if not task_ids:
            return
        async with self._engine.begin() as conn:
            await conn.execute(
                update(agent_tasks).where(agent_tasks.c.id.in_(task_ids)).values(lease_until=until)
            )

    async def context_tasks(
        self, context_id: str, *, before: str | None = None
    ) -> list[TaskRecord]:
        """The tasks of a conversation, oldest first (without ``before``, a task id)."""
        query = (
            select(agent_tasks)
            .where(agent_tasks.c.context_id == context_id)
            .order_by(agent_tasks.c.created_at, agent_tasks.c.id)
        )
        if before is not None:
            query = query.where(agent_tasks.c.id != before)
        async with self._engine.connect() as conn:
            return [TaskRecord._of(r) for r in (await conn.execute(query)).mappings()]

    async def page(
        self,
        *,
        agent: str | None,
        viewer: Viewer,
        principal: RequestContext | None,
        user_id: str | None = None,
        context_id: str | None = None,
        state: TaskState | None = None,
        updated_after: datetime | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
        page_token: str | None = None,
    ) -> TaskPage:
        """The tasks ``viewer`` may see (a user's reach needs its ``principal``), the
        most recently updated first."""
        t = agent_tasks.c
        where: list[Any] = []
        if agent is not None:
            where.append(t.agent == agent)
        if viewer.reach is Reach.TENANT:
            where.append(t.tenant_id == viewer.tenant_id)
        elif viewer.reach is Reach.USER:
            if principal is None:
                raise ValueError("a user's reach needs the principal")
            if principal.user_id is not None:
                where.append(t.user_id == principal.user_id)
            else:
                where.append(t.api_key_id == principal.api_key_id)
        if user_id is not None:
            where.append(t.user_id == user_id)
        if context_id is not None:
            where.append(t.context_id == context_id)
        if state is not None:
            where.append(t.state == state.value)
        if updated_after is not None:
            where.append(t.updated_at > updated_after)
        page = list(where)
        if page_token:
            at, task_id = _decode_token(page_token)
            page.append(or_(t.updated_at < at, and_(t.updated_at == at, t.id < task_id)))
        query = (
            select(agent_tasks)
            .where(*page)
            .order_by(t.updated_at.desc(), t.id.desc())
            .limit(page_size + 1)
        )
        async with self._engine.connect() as conn:
            rows = [TaskRecord._of(r) for r in (await conn.execute(query)).mappings()]
            total = int(
                (
                    await conn.execute(select(func.count()).select_from(agent_tasks).where(*where))
                ).scalar_one()
            )
        more = len(rows) > page_size
        rows = rows[:page_size]
        token = _encode_token(rows[-1].updated_at, rows[-1].id) if more else ""
        return TaskPage(rows, token, total)


__all__ = [
    "DEFAULT_PAGE_SIZE",
    "LEASE",
    "MAX_PAGE_SIZE",
    "InvalidPageToken",
    "TaskPage",
    "TaskRecord",
    "TaskStore",
    "agent_task_events",
    "agent_tasks",
    "metadata",
    "owned_by",
    "utcnow",
]
