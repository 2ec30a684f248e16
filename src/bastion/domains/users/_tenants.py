"""``TENANTS``: registered tenants (``users_tenants``) and those accounts name."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Column, DateTime, MetaData, String, Table, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from bastion.domains.users._accounts import tenant_id
from bastion.domains.users._repository import UserRepository
from bastion.infra.audit import AuditTrail, admin_event_row
from bastion.kernel.accounts import TenantView
from bastion.kernel.context import RequestContext
from bastion.kernel.errors import ConflictError, InvalidInputError
from bastion.kernel.ids import TenantId

metadata = MetaData()

tenants = Table(
    "users_tenants",
    metadata,
    Column("id", String(128), primary_key=True),
    Column("display_name", String(255), nullable=False),
    Column("created_at", DateTime, nullable=False),
)


class TenantService:
    """Implements ``TenantDirectory``."""

    def __init__(self, engine: AsyncEngine, users: UserRepository, audit: AuditTrail) -> None:
        self._engine = engine
        self._users = users
        self._audit = audit

    async def _registered(self) -> dict[str, tuple[str, dt.datetime]]:
        async with self._engine.connect() as conn:
            rows = await conn.execute(select(tenants))
            return {r.id: (r.display_name, r.created_at) for r in rows}

    async def list(self) -> list[TenantView]:
        registered = await self._registered()
        members = await self._users.members()
        views = []
        for name in sorted(set(registered) | set(members)):
            display, created = registered.get(name, (name, None))
            views.append(
                TenantView(
                    TenantId(name), display, name in registered, created, members.get(name, 0)
                )
            )
        return views

    async def get(self, tenant: str) -> TenantView | None:
        return next((t for t in await self.list() if t.id == tenant), None)

    async def create(
        self, tenant: str, display_name: str = "", *, actor: RequestContext | None = None
    ) -> TenantView:
        tid = tenant_id(tenant)
        if len(display_name) > 255:
            raise InvalidInputError("display_name: at most 255 characters")
        created = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        try:
            async with self._engine.begin() as conn:
                await conn.execute(
                    tenants.insert().values(
                        id=tid, display_name=display_name or tid, created_at=created
                    )
                )
        except IntegrityError:
            raise ConflictError(f"tenant '{tid}' already exists") from None
        await self._audit.record_event(
            admin_event_row(actor, "tenant.create", tid, {"display_name": display_name or tid})
        )
        members = (await self._users.members()).get(tid, 0)
        return TenantView(tid, display_name or tid, True, created, members)
