"""``ACCOUNTS``: account administration, the one implementation behind ``bastion admin
users`` and the admin API. Each change records its admin event."""

from __future__ import annotations

import re

from bastion.domains.users._repository import User, UserExistsError, UserRepository
from bastion.infra.audit import AuditTrail, admin_event_row
from bastion.infra.security import RoleCatalog, UnknownRoleError
from bastion.kernel.accounts import AccountChange, AccountView
from bastion.kernel.context import RequestContext
from bastion.kernel.errors import ConflictError, InvalidInputError, NotFoundError
from bastion.kernel.ids import RoleName, TenantId

_TENANT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def tenant_id(value: str) -> TenantId:
    """``value`` as a tenant id, or ``InvalidInputError``."""
    if not _TENANT.match(value):
        raise InvalidInputError(
            f"tenant {value[:130]!r}: use 1-128 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return TenantId(value)


def account_name(value: str) -> str:
    if not value.strip() or len(value) > 128 or _CONTROL.search(value):
        raise InvalidInputError("name: use 1-128 printable characters")
    return value


def view(user: User) -> AccountView:
    return AccountView(
        user.id, user.name, user.role, user.tenant_id, user.created_at, user.disabled
    )


class AccountService:
    """Implements ``AccountAdmin``."""

    def __init__(self, repository: UserRepository, roles: RoleCatalog, audit: AuditTrail) -> None:
        self._users = repository
        self._roles = roles
        self._audit = audit

    def _role(self, role: str) -> RoleName:
        try:
            return RoleName(self._roles.resolve(role).name)
        except UnknownRoleError as exc:
            raise InvalidInputError(str(exc)) from None

    async def _existing(self, name_or_id: str) -> User:
        user = await self._users.find(name_or_id)
        if user is None:
            raise NotFoundError(f"no user '{name_or_id[:128]}'")
        return user

    async def list(self, tenant: TenantId | None = None) -> list[AccountView]:
        return [view(u) for u in await self._users.list(tenant)]

    async def find(self, name_or_id: str) -> AccountView | None:
        user = await self._users.find(name_or_id)
        return None if user is None else view(user)

    async def create(
        self, name: str, role: str, tenant: str, *, actor: RequestContext | None = None
    ) -> AccountView:
        role_name = self._role(role)
        try:
            user = await self._users.create(account_name(name), role_name, tenant_id(tenant))
        except UserExistsError as exc:
            raise ConflictError(str(exc)) from None
        await self._audit.record_event(
            admin_event_row(
                actor, "user.create", user.id, {"name": name, "role": role, "tenant": tenant}
            )
        )
        return view(user)

    async def set_disabled(
        self, name_or_id: str, disabled: bool, *, actor: RequestContext | None = None
    ) -> AccountChange:
        changed = await self._users.set_disabled(name_or_id, disabled)
        if changed is None:
            raise NotFoundError(f"no user '{name_or_id[:128]}'")
        user, did = changed
        if did:
            action = "user.disable" if disabled else "user.enable"
            await self._audit.record_event(
                admin_event_row(actor, action, user.id, {"name": user.name})
            )
        return AccountChange(view(user), did)

    async def update(
        self,
        name_or_id: str,
        *,
        role: str | None = None,
        tenant: str | None = None,
        actor: RequestContext | None = None,
    ) -> AccountChange:
        role_name = None if role is None else self._role(role)
        tenant_value = None if tenant is None else tenant_id(tenant)
        before = await self._existing(name_or_id)
        user, did = await self._users.update(before, role=role_name, tenant=tenant_value)
        if did:
            details: dict[str, object] = {"name": user.name}
            if user.role != before.role:
                details["role"] = {"from": before.role, "to": user.role}
            if user.tenant_id != before.tenant_id:
                details["tenant"] = {"from": before.tenant_id, "to": user.tenant_id}
            await self._audit.record_event(admin_event_row(actor, "user.update", user.id, details))
        return AccountChange(view(user), did)
