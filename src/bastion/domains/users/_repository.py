from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    MetaData,
    Row,
    String,
    Table,
    func,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from bastion.kernel.ids import RoleName, TenantId, UserId, new_user_id

metadata = MetaData()

accounts = Table(
    "users_accounts",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", String(128), nullable=False, unique=True),
    Column("role", String(64), nullable=False),
    Column("tenant_id", String(128), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("disabled", Boolean, nullable=False),
)


class UserExistsError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class User:
    id: UserId
    name: str
    role: RoleName
    tenant_id: TenantId
    created_at: dt.datetime
    disabled: bool


def _user(row: Row[Any]) -> User:
    m = row._mapping
    return User(
        UserId(m["id"]),
        m["name"],
        RoleName(m["role"]),
        TenantId(m["tenant_id"]),
        m["created_at"],
        bool(m["disabled"]),
    )


class UserRepository:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def create(self, name: str, role: RoleName, tenant: TenantId) -> User:
        user = User(
            new_user_id(), name, role, tenant, dt.datetime.now(dt.UTC).replace(tzinfo=None), False
        )
        try:
            async with self._engine.begin() as conn:
                await conn.execute(
                    accounts.insert().values(
                        id=user.id,
                        name=user.name,
                        role=user.role,
                        tenant_id=user.tenant_id,
                        created_at=user.created_at,
                        disabled=False,
                    )
                )
        except IntegrityError:
            raise UserExistsError(f"a user named {name!r} already exists") from None
        return user

    async def get(self, user_id: UserId) -> User | None:
        async with self._engine.connect() as conn:
            row = (await conn.execute(select(accounts).where(accounts.c.id == user_id))).first()
        return _user(row) if row else None

    async def find(self, name_or_id: str) -> User | None:
        """Look a user up by id, falling back to name."""
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(
                    select(accounts).where(
                        (accounts.c.id == name_or_id) | (accounts.c.name == name_or_id)
                    )
                )
            ).first()
        return _user(row) if row else None

    async def set_disabled(self, name_or_id: str, disabled: bool) -> tuple[User, bool] | None:
        """Disable or enable a user (by id, falling back to name): the user as it is now,
        and whether this call changed it; None if there is no such user."""
        user = await self.find(name_or_id)
        if user is None:
            return None
        if user.disabled == disabled:
            return user, False
        async with self._engine.begin() as conn:
            result = await conn.execute(
                update(accounts)
                .where(accounts.c.id == user.id)
                .where(accounts.c.disabled.is_(not disabled))
                .values(disabled=disabled)
            )
        return replace(user, disabled=disabled), bool(result.rowcount)

    async def update(
        self, user: User, *, role: RoleName | None = None, tenant: TenantId | None = None
    ) -> tuple[User, bool]:
        """Set ``user``'s role and/or tenant: the user as it is now, and whether it changed."""
        values: dict[str, str] = {}
        if role is not None and role != user.role:
            values["role"] = role
        if tenant is not None and tenant != user.tenant_id:
            values["tenant_id"] = tenant
        if not values:
            return user, False
        async with self._engine.begin() as conn:
            await conn.execute(update(accounts).where(accounts.c.id == user.id).values(**values))
        return replace(
            user,
            role=RoleName(values.get("role", user.role)),
            tenant_id=TenantId(values.get("tenant_id", user.tenant_id)),
        ), True

    async def members(self) -> dict[str, int]:
        """Accounts per tenant."""
        query = select(accounts.c.tenant_id, func.count()).group_by(accounts.c.tenant_id)
        async with self._engine.connect() as conn:
            return {str(r[0]): int(r[1]) for r in await conn.execute(query)}

    async def list(self, tenant: TenantId | None = None) -> list[User]:
        query = select(accounts).order_by(accounts.c.created_at, accounts.c.name)
        if tenant is not None:
            query = query.where(accounts.c.tenant_id == tenant)
        async with self._engine.connect() as conn:
            return [_user(r) for r in await conn.execute(query)]

    async def count(self) -> int:
        async with self._engine.connect() as conn:
            return int(
                (await conn.execute(select(func.count()).select_from(accounts))).scalar_one()
            )
