"""Account and tenant administration, as a domain other than the users domain sees it.

The users domain provides both services; the admin API and ``bastion admin users`` are
two front ends of the same implementation. A command that changes state records its
admin event itself (``actor`` is the HTTP caller, None for the CLI), so no front end can
forget to. Refusals are ``RefusedError`` subclasses (not found 404, conflict 409,
invalid input 400).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from bastion.kernel.context import RequestContext
from bastion.kernel.ids import RoleName, TenantId, UserId
from bastion.kernel.services import ServiceKey


@dataclass(frozen=True, slots=True)
class AccountView:
    id: UserId
    name: str
    role: RoleName
    tenant_id: TenantId
    created_at: dt.datetime
    disabled: bool


@dataclass(frozen=True, slots=True)
class AccountChange:
    """An account after a command, and whether the command changed it."""

    account: AccountView
    changed: bool


class AccountAdmin(Protocol):
    async def list(self, tenant: TenantId | None = None) -> Sequence[AccountView]:
        """Every account (of ``tenant``), oldest first."""
        ...

    async def find(self, name_or_id: str) -> AccountView | None:
        """The account named ``name_or_id`` (its name, or its ``usr_...`` id)."""
        ...

    async def create(
        self, name: str, role: str, tenant: str, *, actor: RequestContext | None = None
    ) -> AccountView:
        """A new account; ``InvalidInputError`` for an unknown role, ``ConflictError``
        for a taken name."""
        ...

    async def set_disabled(
        self, name_or_id: str, disabled: bool, *, actor: RequestContext | None = None
    ) -> AccountChange:
        """Disable or enable; ``NotFoundError`` if there is no such account."""
        ...

    async def update(
        self,
        name_or_id: str,
        *,
        role: str | None = None,
        tenant: str | None = None,
        actor: RequestContext | None = None,
    ) -> AccountChange:
        """Set the role and/or the tenant. A credential already issued keeps the claims it
        was issued with: a JWT until it expires, an API key until its cache entry does."""
        ...


@dataclass(frozen=True, slots=True)
class TenantView:
    """A tenant: ``registered`` when created as one, else only named by accounts."""

    id: TenantId
    display_name: str
    registered: bool
    created_at: dt.datetime | None
    members: int


class TenantDirectory(Protocol):
    async def list(self) -> Sequence[TenantView]:
        """Registered tenants and every tenant an account names, by id."""
        ...

    async def get(self, tenant: str) -> TenantView | None: ...

    async def create(
        self, tenant: str, display_name: str = "", *, actor: RequestContext | None = None
    ) -> TenantView:
        """Register a tenant; ``ConflictError`` if it is registered already."""
        ...


ACCOUNTS: ServiceKey[AccountAdmin] = ServiceKey(
    "users.accounts", "User accounts: list, create, disable/enable, set role and tenant"
)
TENANTS: ServiceKey[TenantDirectory] = ServiceKey(
    "users.tenants", "Tenants: registered ones and those accounts name, with member counts"
)
