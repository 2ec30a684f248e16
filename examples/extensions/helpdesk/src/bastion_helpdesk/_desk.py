"""The ticket desk: the typed service helpdesk's routes and CLI commands share."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Mapping
from typing import Any

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from bastion.extension import ExtensionContext, RequestContext, ServiceKey
from bastion_helpdesk._config import HelpdeskConfig
from bastion_helpdesk._models import NewTicket, Ticket
from bastion_helpdesk._tables import helpdesk_tickets as t
from bastion_helpdesk.errors import (
    TicketAlreadyClosed,
    TicketNotFound,
    TooManyOpenTickets,
    UnknownCategory,
)

_COLUMNS = [t.c[name] for name in Ticket.model_fields]


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    # SQLite hands back the naive UTC time it was given; PostgreSQL an aware one.
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=dt.UTC)


def _ticket(row: Mapping[Any, Any]) -> Ticket:
    values = {name: row[name] for name in Ticket.model_fields}
    values["created_at"] = _utc(values["created_at"])
    values["closed_at"] = _utc(values["closed_at"])
    return Ticket.model_validate(values)


class TicketDesk:
    """Support tickets in helpdesk's own table, under the profile's rules."""

    def __init__(self, engine: AsyncEngine, config: HelpdeskConfig) -> None:
        self._engine = engine
        self.config = config

    def check(self, new: NewTicket) -> None:
        """Raise ``UnknownCategory`` for a category the profile does not list."""
        if new.category not in self.config.categories:
            raise UnknownCategory(new.category, self.config.categories)

    async def open(self, principal: RequestContext, new: NewTicket) -> Ticket:
        """File ``new`` for ``principal``. The open-ticket limit is counted in the insert's
        transaction; two tickets filed at the same instant may both pass it."""
        self.check(new)
        row: dict[str, Any] = {
            "id": "tkt_" + secrets.token_hex(8),
            "trace_id": principal.trace_id,
            "user_id": principal.user_id,
            "tenant_id": principal.tenant_id,
            **new.model_dump(),
            "status": "open",
            "resolution": None,
            "created_at": dt.datetime.now(dt.UTC),
            "closed_at": None,
        }
        async with self._engine.begin() as conn:
            already = await conn.scalar(
                select(func.count())
                .select_from(t)
                .where(t.c.user_id == principal.user_id, t.c.status == "open")
            )
            if (already or 0) >= self.config.max_open_per_user:
                raise TooManyOpenTickets(self.config.max_open_per_user)
            await conn.execute(t.insert().values(**row))
        return _ticket(row)

    async def of_user(self, user_id: str) -> list[Ticket]:
        """``user_id``'s tickets, oldest first."""
        return await self._select(t.c.user_id == user_id)

    async def listed(self, status: str | None = None) -> list[Ticket]:
        """Every ticket, or those with ``status``, oldest first."""
        return await self._select(None if status is None else t.c.status == status)

    async def close(self, ticket_id: str, resolution: str) -> Ticket:
        """Close an open ticket with the operator's ``resolution``."""
        async with self._engine.begin() as conn:
            done = await conn.execute(
                update(t)
                .where(t.c.id == ticket_id, t.c.status == "open")
                .values(status="closed", resolution=resolution, closed_at=dt.datetime.now(dt.UTC))
            )
            row = (await conn.execute(select(*_COLUMNS).where(t.c.id == ticket_id))).first()
        if row is None:
            raise TicketNotFound(ticket_id)
        if done.rowcount == 0:
            raise TicketAlreadyClosed(ticket_id)
        return _ticket(row._mapping)

    async def _select(self, where: ColumnElement[bool] | None) -> list[Ticket]:
        query = select(*_COLUMNS).order_by(t.c.created_at, t.c.id)
        if where is not None:
            query = query.where(where)
        async with self._engine.connect() as conn:
            return [_ticket(row._mapping) for row in await conn.execute(query)]


TICKETS: ServiceKey[TicketDesk] = ServiceKey(
    "helpdesk.tickets", "Support tickets: file, list, close"
)


def build_desk(ctx: ExtensionContext) -> TicketDesk:
    """``TICKETS``' builder, run on first use with helpdesk's context."""
    config = ctx.config
    if not isinstance(config, HelpdeskConfig):  # config() names the model boot validated
        raise TypeError(f"extension config is {type(config).__name__}, not HelpdeskConfig")
    return TicketDesk(ctx.engine, config)
