"""``/users``: list, create, show, disable/enable, set role and tenant (``ACCOUNTS``).

A tenant admin sees and changes only its tenant's accounts, never moves one to another
tenant, and never touches an admin-tier account or grants an admin-tier role."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from bastion.domains.admin._access import AdminScope
from bastion.domains.admin._endpoint import Endpoint, path_param, query
from bastion.domains.admin._models import (
    User,
    UserChange,
    UserCreate,
    UserList,
    UserQuery,
    UserUpdate,
)
from bastion.domains.admin.errors import ForbiddenError
from bastion.infra.security import RoleCatalog
from bastion.kernel.accounts import AccountAdmin, AccountView
from bastion.kernel.errors import NotFoundError
from bastion.kernel.ids import DEFAULT_TENANT
from bastion.kernel.tiers import Tier


class UserEndpoints:
    def __init__(self, accounts: AccountAdmin, roles: RoleCatalog) -> None:
        self._accounts = accounts
        self._roles = roles

    def _admin_role(self, role: str) -> bool:
        found = self._roles.get(role)
        return found is not None and found.tier >= Tier.ADMIN

    def _grantable(self, scope: AdminScope, role: str | None) -> None:
        if role is not None and not scope.is_admin and self._admin_role(role):
            raise ForbiddenError(f"a tenant admin cannot grant the admin-tier role '{role}'")

    async def account(
        self, scope: AdminScope, name_or_id: str, *, manage: bool = True
    ) -> AccountView:
        """The account, if the caller's scope covers it (else 404, as if absent); to
        ``manage`` it (change it, its credentials), a tenant admin's must not be of the
        admin tier (403)."""
        found = await self._accounts.find(name_or_id)
        if found is None or not scope.covers(found.tenant_id):
            raise NotFoundError(f"no user '{name_or_id[:128]}'")
        if manage and not scope.is_admin and self._admin_role(found.role):
            raise ForbiddenError("a tenant admin cannot manage an admin-tier account")
        return found

    async def list_users(self, request: Request, scope: AdminScope, _: None) -> UserList:
        asked = query(request, UserQuery)
        users = await self._accounts.list(scope.tenant_filter(asked.tenant))
        page = users[asked.offset : asked.offset + asked.limit]
        return UserList(users=[User.of(u) for u in page], total=len(users))

    async def create(self, _: Request, scope: AdminScope, body: UserCreate) -> User:
        self._grantable(scope, body.role)
        tenant = scope.tenant_filter(body.tenant) or body.tenant or DEFAULT_TENANT
        return User.of(
            await self._accounts.create(body.name, body.role, tenant, actor=scope.principal)
        )

    async def show(self, request: Request, scope: AdminScope, _: None) -> User:
        return User.of(await self.account(scope, path_param(request, "user"), manage=False))

    async def update(self, request: Request, scope: AdminScope, body: UserUpdate) -> UserChange:
        account = await self.account(scope, path_param(request, "user"))
        self._grantable(scope, body.role)
        if body.tenant is not None:
            scope.tenant_filter(body.tenant)
        change = await self._accounts.update(
            account.id, role=body.role, tenant=body.tenant, actor=scope.principal
        )
        return UserChange(user=User.of(change.account), changed=change.changed)

    async def _set_disabled(
        self, request: Request, scope: AdminScope, disabled: bool
    ) -> UserChange:
        account = await self.account(scope, path_param(request, "user"))
        if disabled and account.id == scope.principal.user_id:
            raise ForbiddenError("a caller cannot disable its own account")
        change = await self._accounts.set_disabled(account.id, disabled, actor=scope.principal)
        return UserChange(user=User.of(change.account), changed=change.changed)

    async def disable(self, request: Request, scope: AdminScope, _: None) -> UserChange:
        return await self._set_disabled(request, scope, True)

    async def enable(self, request: Request, scope: AdminScope, _: None) -> UserChange:
        return await self._set_disabled(request, scope, False)

    def endpoints(self) -> list[Endpoint[Any]]:
        return [
            Endpoint(
                "GET",
                "/users",
                "List users",
                self.list_users,
                UserList,
                query=UserQuery,
                tenant_scoped=True,
            ),
            Endpoint(
                "POST",
                "/users",
                "Create a user",
                self.create,
                User,
                UserCreate,
                status=201,
                tenant_scoped=True,
            ),
            Endpoint("GET", "/users/{user}", "Show a user", self.show, User, tenant_scoped=True),
            Endpoint(
                "PATCH",
                "/users/{user}",
                "Set a user's role and/or tenant",
                self.update,
                UserChange,
                UserUpdate,
                tenant_scoped=True,
            ),
            Endpoint(
                "POST",
                "/users/{user}/disable",
                "Disable a user (refuse its credentials)",
                self.disable,
                UserChange,
                tenant_scoped=True,
            ),
            Endpoint(
                "POST",
                "/users/{user}/enable",
                "Enable a user again",
                self.enable,
                UserChange,
                tenant_scoped=True,
            ),
        ]
