from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bastion.domains.users._repository import UserRepository
from bastion.domains.users._routes import routes
from bastion.kernel.contract import (
    EndpointClass,
    Extension,
    ExtensionContext,
    ExtensionMeta,
    ExtensionRouter,
    Maturity,
    Operation,
)
from bastion.kernel.migration import Migration, migrations_from_package


class UsersExtension(Extension):
    """User accounts: each with a role and a tenant. Serves ``/api/v1/users/me``."""

    meta = ExtensionMeta(
        id="users",
        version="1.0.0",
        depends_on=("core",),
        priority=10,
        description="User accounts, roles and tenants",
        required=True,
        maturity=Maturity.GA,
    )

    def migrations(self) -> Sequence[Migration]:
        return migrations_from_package("bastion.domains.users")

    def router(self, ctx: ExtensionContext) -> ExtensionRouter:
        return ExtensionRouter(
            routes=routes(UserRepository(ctx.engine)),
            base_path="/api/v1/users",
            endpoint_class=EndpointClass.API,
            openapi=[Operation("GET", "/me", "The caller's identity", None, dict[str, Any])],
        )
