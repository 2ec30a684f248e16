"""The greeting book: the typed service hello's route and its prune job share."""

from __future__ import annotations

import datetime as dt
import secrets

from sqlalchemy import Column, DateTime, MetaData, String, Table, delete, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bastion.extension import ExtensionContext, ServiceKey
from bastion_hello._config import HelloConfig

# The schema's source of truth is migrations/001_greetings.sql; this mirror is for queries.
greetings = Table(
    "hello_greetings",
    MetaData(),
    Column("id", String(32), primary_key=True),
    Column("name", String(128), nullable=False),
    Column("message", String(256), nullable=False),
    Column("user_id", String(64)),
    Column("created_at", DateTime, nullable=False),
)


def _now() -> dt.datetime:
    # The column is a TIMESTAMP without time zone holding UTC.
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class GreetingBook:
    """Every greeting sent, in hello's own table."""

    def __init__(self, engine: AsyncEngine, config: HelloConfig) -> None:
        self._engine = engine
        self.config = config

    async def add(self, name: str, user_id: str | None) -> dict[str, str]:
        """Greet ``name`` on behalf of ``user_id``; the greeting's id and message."""
        greeting_id = secrets.token_hex(8)
        message = f"{self.config.greeting}, {name}!"
        async with self._engine.begin() as conn:
            await conn.execute(
                greetings.insert().values(
                    id=greeting_id, name=name, message=message, user_id=user_id, created_at=_now()
                )
            )
        return {"id": greeting_id, "message": message}

    async def all(self) -> list[dict[str, str]]:
        """Every greeting, oldest first."""
        async with self._engine.connect() as conn:
            rows = await conn.execute(
                select(greetings.c.id, greetings.c.message).order_by(greetings.c.created_at)
            )
            return [{"id": row.id, "message": row.message} for row in rows]

    async def prune(self) -> int:
        """Delete greetings older than ``retention_days``; how many went."""
        cutoff = _now() - dt.timedelta(days=self.config.retention_days)
        async with self._engine.begin() as conn:
            result = await conn.execute(delete(greetings).where(greetings.c.created_at < cutoff))
        return int(result.rowcount)


GREETINGS: ServiceKey[GreetingBook] = ServiceKey("hello.greetings", "The greeting book")


def build_book(ctx: ExtensionContext) -> GreetingBook:
    """``GREETINGS``' builder, run on first use with hello's context."""
    config = ctx.config
    if not isinstance(config, HelloConfig):  # config() names the model boot validated
        raise TypeError(f"extension config is {type(config).__name__}, not HelloConfig")
    return GreetingBook(ctx.engine, config)
