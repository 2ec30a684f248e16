from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bastion.domains.admin._access import TENANT_ADMIN_SCOPE
from bastion.domains.admin._credentials import CredentialEndpoints
from bastion.domains.admin._endpoint import Endpoint, operations_of, routes_of
from bastion.domains.admin._tenants import TenantEndpoints
from bastion.domains.admin._users import UserEndpoints
from bastion.infra.config import Profile
from bastion.infra.security import BUILTIN_ROLES
from bastion.infra.services import AUDIT, ROLES
from bastion.kernel.accounts import ACCOUNTS, TENANTS
from bastion.kernel.contract import (
    EndpointClass,
    Extension,
    ExtensionContext,
    ExtensionMeta,
    ExtensionRouter,
    Maturity,
    RoleDefinition,
)
from bastion.kernel.credentials import CREDENTIALS
from bastion.kernel.ids import RoleName
from bastion.kernel.tiers import Tier

BASE_PATH = "/api/v1/admin"
TENANT_ADMIN_ROLE = RoleName("tenant-admin")


def _user_scopes() -> frozenset[str]:
    return next(r.scopes for r in BUILTIN_ROLES if r.name == "user")


class AdminExtension(Extension):
    """The HTTP admin API at ``/api/v1/admin``: users, keys, tokens, tenants, and read-only
    views of what config-as-code owns. It reaches the other domains only through their
    typed services, the ones their CLIs use, and contributes the ``tenant-admin`` role."""

    meta = ExtensionMeta(
        id="admin",
        version="1.0.0",
        depends_on=("core", "users", "auth"),
        priority=90,
        description="The admin API: users, credentials, tenants, audit search, read-only views",
        requires=(ACCOUNTS, TENANTS, CREDENTIALS, ROLES, AUDIT),
        maturity=Maturity.GA,
    )

    def roles(self) -> Sequence[RoleDefinition]:
        return [
            RoleDefinition(
                TENANT_ADMIN_ROLE,
                Tier.USER,
                _user_scopes() | {TENANT_ADMIN_SCOPE},
                "A user who administers the users, keys and audit trail of its own tenant.",
            )
        ]

    def endpoints(self, ctx: ExtensionContext) -> list[Endpoint[Any]]:
        profile: Profile = ctx.settings
        accounts = ctx.service(ACCOUNTS)
        users = UserEndpoints(accounts, ctx.service(ROLES))
        return [
            *users.endpoints(),
            *CredentialEndpoints(ctx.service(CREDENTIALS), accounts, users).endpoints(),
            *TenantEndpoints(ctx.service(TENANTS), accounts, profile.governance.quota).endpoints(),
        ]

    def router(self, ctx: ExtensionContext) -> ExtensionRouter:
        endpoints = self.endpoints(ctx)
        return ExtensionRouter(
            routes=routes_of(endpoints),
            base_path=BASE_PATH,
            endpoint_class=EndpointClass.ADMIN,
            # A tenant admin is of the user tier; each endpoint decides (``_access``).
            min_tier=Tier.USER,
            openapi=operations_of(endpoints),
        )
