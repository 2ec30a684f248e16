"""A task's push-notification configs: the webhooks a client registered for it, in the
``agent_push_configs`` table (migration ``002_push_configs``).

A config is the A2A 1.0 ``TaskPushNotificationConfig``, ProtoJSON
``{id, taskId, url, token, authentication: {scheme, credentials}}``. ``token`` is the
client's own value, sent back in ``X-A2A-Notification-Token`` so the receiver can tell
the notification is for it; ``authentication`` is what Bastion presents to the webhook
(``Authorization: <scheme> <credentials>``). Both are stored as given: Bastion must send
them verbatim, and they authorise calls to the client's endpoint only.

The store refuses a URL the policy refuses (:func:`check_push_url`), so no stored config
names a destination that was not allowed when it was created. Who may manage a task's
configs is the task's visibility, which the protocol layer checks before calling here.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import (
    Column,
    DateTime,
    MetaData,
    RowMapping,
    String,
    Table,
    Text,
    delete,
    func,
    insert,
    select,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bastion.domains.agents._push_urls import InvalidPushConfig, check_push_url
from bastion.domains.agents._settings import PushNotificationSettings

metadata = MetaData()

push_configs = Table(
    "agent_push_configs",
    metadata,
    Column("task_id", String(128), primary_key=True),
    Column("id", String(128), primary_key=True),
    Column("url", Text, nullable=False),
    Column("token", Text),
    Column("authentication", Text),
    Column("created_at", DateTime, nullable=False),
)

_ID = re.compile(r"[A-Za-z0-9._:~-]{1,128}")
# An HTTP auth scheme is a token (RFC 9110 section 11.1).
_SCHEME = re.compile(r"[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}")
_MAX_TOKEN = 4096
_MAX_CREDENTIALS = 8192
_FIELDS = frozenset({"id", "taskId", "url", "token", "authentication", "tenant"})


def _utc_now() -> dt.datetime:
    """Naive UTC, as the table's timestamp column holds."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


@dataclass(frozen=True, slots=True)
class PushAuthentication:
    """How Bastion authenticates to the webhook (A2A ``AuthenticationInfo``)."""

    scheme: str
    credentials: str | None = field(default=None, repr=False)

    @property
    def header(self) -> str | None:
        """The ``Authorization`` value; none without credentials, as the a2a-sdk sends."""
        return f"{self.scheme} {self.credentials}" if self.credentials else None


@dataclass(frozen=True, slots=True)
class PushConfig:
    """One webhook of one task. ``repr`` leaves out the token and the credentials."""

    id: str
    task_id: str
    url: str
    token: str | None = field(default=None, repr=False)
    authentication: PushAuthentication | None = None
    created_at: dt.datetime = field(default_factory=_utc_now, compare=False)

    def to_json(self) -> dict[str, Any]:
        """The A2A 1.0 ``TaskPushNotificationConfig`` (ProtoJSON: unset fields omitted)."""
        out: dict[str, Any] = {"id": self.id, "taskId": self.task_id, "url": self.url}
        if self.token:
            out["token"] = self.token
        if self.authentication is not None:
            auth: dict[str, str] = {"scheme": self.authentication.scheme}
            if self.authentication.credentials:
                auth["credentials"] = self.authentication.credentials
            out["authentication"] = auth
        return out


def parse_push_config(obj: Mapping[str, Any], task_id: str) -> PushConfig:
    """A ``TaskPushNotificationConfig`` object as a config of ``task_id``, its ``id``
    generated when absent; raise :class:`InvalidPushConfig`. Only the form is checked
    here; the URL's policy is :func:`check_push_url`'s."""
    if not isinstance(obj, Mapping):
        raise InvalidPushConfig("push notification config must be an object")
    unknown = sorted(set(obj) - _FIELDS)
    if unknown:
        raise InvalidPushConfig(f"push notification config has unknown field '{unknown[0]}'")
    given_task = obj.get("taskId")
    if given_task not in (None, "", task_id):
        raise InvalidPushConfig("push notification config names another task")
    config_id = obj.get("id") or uuid.uuid4().hex
    if not isinstance(config_id, str) or _ID.fullmatch(config_id) is None:
        raise InvalidPushConfig(
            "push notification config id must be 1-128 letters, digits or '._:~-'"
        )
    url = obj.get("url")
    if not isinstance(url, str) or not url:
        raise InvalidPushConfig("push notification config needs a url")
    return PushConfig(
        id=config_id,
        task_id=task_id,
        url=url,
        token=_header_text(obj.get("token"), "token", _MAX_TOKEN),
        authentication=_authentication(obj.get("authentication")),
    )


def _authentication(value: Any) -> PushAuthentication | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise InvalidPushConfig("push notification authentication must be an object")
    unknown = sorted(set(value) - {"scheme", "credentials"})
    if unknown:
        raise InvalidPushConfig(
            f"push notification authentication has unknown field '{unknown[0]}'"
        )
    scheme = value.get("scheme")
    if not isinstance(scheme, str) or _SCHEME.fullmatch(scheme) is None:
        raise InvalidPushConfig(
            "push notification authentication needs a scheme (an HTTP auth scheme, e.g. Bearer)"
        )
    credentials = _header_text(value.get("credentials"), "credentials", _MAX_CREDENTIALS)
    return PushAuthentication(scheme, credentials)


def _header_text(value: Any, name: str, limit: int) -> str | None:
    """A value sent in a header: printable ASCII, so it cannot end the header early."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InvalidPushConfig(f"push notification {name} must be a string")
    if len(value) > limit or not all(" " <= c <= "~" for c in value):
        raise InvalidPushConfig(
            f"push notification {name} must be printable ASCII of at most {limit} characters"
        )
    return value


class PushConfigStore:
    """Create, read, list and delete the push-notification configs of tasks."""

    def __init__(self, engine: AsyncEngine, settings: PushNotificationSettings) -> None:
        self._engine = engine
        self._settings = settings

    async def create(self, task_id: str, obj: Mapping[str, Any]) -> PushConfig:
        """Store the config ``obj`` (a ``TaskPushNotificationConfig``) for ``task_id`` and
        return it as stored. A config with the id of an existing one of the task replaces
        it (the a2a-sdk's behaviour). Raises :class:`InvalidPushConfig` for a malformed
        config, a refused URL, or a task at ``max_configs_per_task``."""
        config = parse_push_config(obj, task_id)
        await check_push_url(config.url, self._settings)
        try:
            await self._put(config)
        except IntegrityError:
            # Another request stored the same id between our delete and insert: replace it.
            await self._put(config)
        return config

    async def _put(self, config: PushConfig) -> None:
        table = push_configs
        async with self._engine.begin() as conn:
            # The write first: on SQLite a transaction that reads and then writes fails at
            # once ("database is locked") if another write committed in between, where one
            # that writes first waits its turn. A refusal below rolls the delete back.
            await conn.execute(
                delete(table).where(table.c.task_id == config.task_id, table.c.id == config.id)
            )
            others = await self._count(conn, config.task_id, excluding=config.id)
            if others >= self._settings.max_configs_per_task:
                raise InvalidPushConfig(
                    f"task has {others} push notification configs, the most allowed "
                    f"(max_configs_per_task)"
                )
            await conn.execute(insert(table).values(_row(config)))

    @staticmethod
    async def _count(conn: AsyncConnection, task_id: str, *, excluding: str) -> int:
        table = push_configs
        query = select(func.count()).where(table.c.task_id == task_id, table.c.id != excluding)
        return int((await conn.execute(query)).scalar_one())

    async def get(self, task_id: str, config_id: str) -> PushConfig | None:
        table = push_configs
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(
                    select(table).where(table.c.task_id == task_id, table.c.id == config_id)
                )
            ).first()
        return None if row is None else _config(row._mapping)

    async def list(self, task_id: str) -> Sequence[PushConfig]:
        """The task's configs, oldest first (at most ``max_configs_per_task``, so the A2A
        list needs no pages)."""
        table = push_configs
        async with self._engine.connect() as conn:
            rows = await conn.execute(
                select(table)
                .where(table.c.task_id == task_id)
                .order_by(table.c.created_at, table.c.id)
            )
            return [_config(row._mapping) for row in rows]

    async def delete(self, task_id: str, config_id: str) -> bool:
        """Delete one config; False when the task has none of that id."""
        table = push_configs
        async with self._engine.begin() as conn:
            result = await conn.execute(
                delete(table).where(table.c.task_id == task_id, table.c.id == config_id)
            )
        return bool(result.rowcount)

    async def delete_task(self, task_id: str) -> int:
        """Delete every config of a task (the task itself is gone)."""
        table = push_configs
        async with self._engine.begin() as conn:
            result = await conn.execute(delete(table).where(table.c.task_id == task_id))
        return int(result.rowcount or 0)


def _row(config: PushConfig) -> dict[str, Any]:
    auth = config.authentication
    return {
        "task_id": config.task_id,
        "id": config.id,
        "url": config.url,
        "token": config.token,
        "authentication": None
        if auth is None
        else orjson.dumps({"scheme": auth.scheme, "credentials": auth.credentials}).decode(),
        "created_at": config.created_at,
    }


def _config(m: RowMapping) -> PushConfig:
    auth = orjson.loads(m["authentication"]) if m["authentication"] else None
    return PushConfig(
        id=m["id"],
        task_id=m["task_id"],
        url=m["url"],
        token=m["token"],
        authentication=None
        if auth is None
        else PushAuthentication(auth["scheme"], auth.get("credentials")),
        created_at=m["created_at"],
    )
