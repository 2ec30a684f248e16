from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import structlog

from bastion.domains.users._accounts import AccountService
from bastion.domains.users._repository import UserRepository
from bastion.domains.users._routes import routes
from bastion.domains.users._tenants import TenantService
from bastion.infra.services import AUDIT, ROLES
from bastion.kernel.accounts import ACCOUNTS, TENANTS, AccountAdmin, TenantDirectory
from bastion.kernel.contract import (
    CliCommands,
    EndpointClass,
    Extension,
    ExtensionContext,
    ExtensionMeta,
    ExtensionRouter,
    Maturity,
    Operation,
)
from bastion.kernel.identity import USERS, UserDirectory
from bastion.kernel.ids import RoleName, TenantId
from bastion.kernel.migration import Migration, migrations_from_package
from bastion.kernel.services import ServiceProvider

log = structlog.get_logger("bastion.users")


def _directory(ctx: ExtensionContext) -> UserDirectory:
    return UserRepository(ctx.engine)


def _accounts(ctx: ExtensionContext) -> AccountAdmin:
    return AccountService(UserRepository(ctx.engine), ctx.service(ROLES), ctx.service(AUDIT))


def _tenants(ctx: ExtensionContext) -> TenantDirectory:
    return TenantService(ctx.engine, UserRepository(ctx.engine), ctx.service(AUDIT))


class UsersExtension(Extension):
    """User accounts: each with a role and a tenant. Serves ``/api/v1/users/me``, provides
    ``USERS`` (accounts by name or id), ``ACCOUNTS`` (their administration), ``TENANTS``
    and ``bastion admin users``."""

    meta = ExtensionMeta(
        id="users",
        version="1.0.0",
        depends_on=("core",),
        priority=10,
        description="User accounts, roles and tenants",
        required=True,
        requires=(ROLES, AUDIT),
        maturity=Maturity.GA,
    )

    def migrations(self) -> Sequence[Migration]:
        return migrations_from_package("bastion.domains.users")

    def services(self) -> Sequence[ServiceProvider[Any]]:
        return [
            ServiceProvider(USERS, _directory),
            ServiceProvider(ACCOUNTS, _accounts),
            ServiceProvider(TENANTS, _tenants),
        ]

    def cli(self) -> CliCommands:
        from bastion.domains.users._cli import app

        return CliCommands(app, group="admin")

    async def after_migrate(self, ctx: ExtensionContext) -> None:
        """Create ``security.bootstrap_admin`` when no user exists yet."""
        wanted = ctx.platform.bootstrap_admin
        if wanted is None:
            return
        users = UserRepository(ctx.engine)
        if await users.count() > 0:
            return
        user = await users.create(wanted.name, RoleName("admin"), TenantId(wanted.tenant))
        log.info("bootstrap admin created", user=user.name, user_id=user.id)

    def router(self, ctx: ExtensionContext) -> ExtensionRouter:
        return ExtensionRouter(
            routes=routes(UserRepository(ctx.engine)),
            base_path="/api/v1/users",
            endpoint_class=EndpointClass.API,
            openapi=[Operation("GET", "/me", "The caller's identity", None, dict[str, Any])],
        )
